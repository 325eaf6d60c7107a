//! Members (Better Auth's `routes/crud-members.ts`). `add-member` is server-only there (no
//! HTTP route), so it has none here either.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{
    active_organization, caller, member_json, org_error, plugin, role_list, roles_input,
    set_active_organization, OrganizationPlugin, BAD, FORBIDDEN,
};
use crate::error::ApiError;
use crate::http::extract::{query_object, read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::Current;
use crate::openapi::builder::{array_of, object, string, Op};
use crate::state::AppState;
use crate::store::organizations::{MemberQuery, MEMBER_COLUMNS};
use crate::store::user_list::Operator;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get("/organization/list-members", list_members))
        .service(get("/organization/get-active-member", get_active_member))
        .service(get(
            "/organization/get-active-member-role",
            get_active_member_role,
        ))
        .service(post("/organization/update-member-role", update_member_role))
        .service(post("/organization/remove-member", remove_member))
        .service(post("/organization/leave", leave));
}

type Answer = Result<(Value, Vec<Cookie<'static>>), ApiError>;

/// How many members of the organization hold the creator role.
async fn creators(
    state: &AppState,
    plugin: &OrganizationPlugin,
    organization_id: &str,
) -> Result<usize, ApiError> {
    let roles = state.store.member_roles(organization_id).await?;
    Ok(roles.iter().filter(|r| plugin.is_creator(r)).count())
}

/// The organization a members' GET names: `organizationSlug`, else `organizationId`, else the
/// active one.
async fn organization_of_query(
    state: &AppState,
    current: &Current,
    id: Option<String>,
    slug: Option<String>,
) -> Result<String, ApiError> {
    let mut organization_id = id
        .filter(|s| !s.is_empty())
        .or_else(|| active_organization(current));
    if let Some(slug) = slug.filter(|s| !s.is_empty()) {
        let Some(org) = state.store.find_organization_by_slug(&slug).await? else {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        };
        organization_id = Some(org.id);
    }
    organization_id.ok_or_else(|| org_error(BAD, "NO_ACTIVE_ORGANIZATION"))
}

/// A list query's `filterValue`: a string, number, boolean or array of them, as text.
fn filter_values(value: Option<&Value>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(scalar).collect(),
        Some(v) => vec![scalar(v)],
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tracing::instrument(name = "organization.list_members", skip_all)]
async fn list_members(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let limit = v.opt_string("limit");
    let offset = v.opt_string("offset");
    let sort_by = v.opt_string("sortBy");
    let direction = v.opt_string("sortDirection");
    let filter_field = v.opt_string("filterField");
    let filter_operator = v.opt_string("filterOperator");
    let filter_value = filter_values(v.raw("filterValue"));
    let id = v.opt_string("organizationId");
    let slug = v.opt_string("organizationSlug");
    if direction
        .as_deref()
        .is_some_and(|d| d != "asc" && d != "desc")
    {
        v.invalid(
            "sortDirection",
            "Invalid option: expected one of \"asc\"|\"desc\"",
        );
    }
    let operator = match filter_operator.as_deref() {
        None => Some(Operator::Eq),
        Some(name) => {
            let op = Operator::parse(name);
            if op.is_none() {
                v.invalid("filterOperator", "Invalid option");
            }
            op
        }
    };
    // Better Auth's adapter fails on a column `member` lacks (a 500); this answers 400.
    for (key, field) in [("sortBy", &sort_by), ("filterField", &filter_field)] {
        if field
            .as_deref()
            .is_some_and(|f| !f.is_empty() && !MEMBER_COLUMNS.contains(&f))
        {
            v.invalid(key, "Invalid input: not a member field");
        }
    }
    v.finish()?;
    let number = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n > 0.0)
            .map(|n| n as u64)
    };
    let (limit, offset) = (number(&limit), number(&offset));
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let organization_id = organization_of_query(&state, &current, id, slug).await?;
        if state
            .store
            .find_member(&organization_id, &current.user.id)
            .await?
            .is_none()
        {
            return Err(org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION",
            ));
        }
        let query = MemberQuery {
            filter: filter_field
                .filter(|f| !f.is_empty())
                .zip(operator)
                .map(|(f, op)| (f, op, filter_value)),
            sort: sort_by
                .filter(|f| !f.is_empty())
                .map(|f| (f, direction.as_deref() == Some("desc"))),
            limit: limit.unwrap_or(plugin.settings.membership_limit()),
            offset: offset.unwrap_or(0),
        };
        let (members, total) = state.store.list_members(&organization_id, &query).await?;
        let members: Vec<Value> = members
            .iter()
            .map(|(m, u)| member_json(m, Some(u)))
            .collect();
        Ok((json!({ "members": members, "total": total }), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.get_active_member", skip_all)]
async fn get_active_member(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let current = caller(&state, &req, None).await?;
    let result = async {
        let Some(organization_id) = active_organization(&current) else {
            return Err(org_error(BAD, "NO_ACTIVE_ORGANIZATION"));
        };
        let Some((member, user)) = state
            .store
            .find_member(&organization_id, &current.user.id)
            .await?
        else {
            return Err(org_error(BAD, "MEMBER_NOT_FOUND"));
        };
        Ok((member_json(&member, Some(&user)), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.get_active_member_role", skip_all)]
async fn get_active_member_role(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let user_id = v.opt_string("userId");
    let id = v.opt_string("organizationId");
    let slug = v.opt_string("organizationSlug");
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let organization_id = organization_of_query(&state, &current, id, slug).await?;
        let not_member = || org_error(FORBIDDEN, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION");
        let Some((own, _)) = state
            .store
            .find_member(&organization_id, &current.user.id)
            .await?
        else {
            return Err(not_member());
        };
        let role = match user_id.filter(|s| !s.is_empty()) {
            None => own.role,
            Some(user_id) => {
                let other = state.store.find_member(&organization_id, &user_id).await?;
                other.ok_or_else(not_member)?.0.role
            }
        };
        Ok((json!({ "role": role }), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.update_member_role", skip_all)]
async fn update_member_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let roles = roles_input(&mut v, "role");
    let member_id = v.string("memberId");
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let roles = roles.unwrap_or_default();
    let current = caller(&state, &req, None).await?;
    let result = change_role(&state, &current, roles, member_id, organization_id).await;
    current.answer_with(result)
}

async fn change_role(
    state: &AppState,
    current: &Current,
    roles: Vec<String>,
    member_id: String,
    organization_id: Option<String>,
) -> Answer {
    let plugin = plugin(state)?;
    // `!ctx.body.role`: an empty string (an empty array is truthy, caught below).
    if roles.len() == 1 && roles[0].is_empty() {
        return Err(ApiError::EmptyJson(StatusCode::BAD_REQUEST));
    }
    let Some(organization_id) = organization_id
        .filter(|s| !s.is_empty())
        .or_else(|| active_organization(current))
    else {
        return Err(org_error(BAD, "NO_ACTIVE_ORGANIZATION"));
    };
    let role_to_set = role_list(&roles);
    if role_to_set.is_empty() {
        return Err(ApiError::EmptyJson(StatusCode::BAD_REQUEST));
    }
    let Some((member, _)) = state
        .store
        .find_member(&organization_id, &current.user.id)
        .await?
    else {
        return Err(org_error(BAD, "MEMBER_NOT_FOUND"));
    };
    let target = if member.id == member_id {
        member.clone()
    } else {
        match state.store.find_member_by_id(&member_id).await? {
            Some((m, _)) => m,
            None => return Err(org_error(BAD, "MEMBER_NOT_FOUND")),
        }
    };
    let not_allowed = || org_error(FORBIDDEN, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER");
    // Another organization's member is not this caller's to change.
    if target.organization_id != organization_id {
        return Err(not_allowed());
    }
    let updater_is_creator = plugin.is_creator(&member.role);
    let setting_creator = role_to_set.iter().any(|r| r == plugin.creator_role());
    if (plugin.is_creator(&target.role) || setting_creator) && !updater_is_creator {
        return Err(not_allowed());
    }
    if updater_is_creator
        && member.id == target.id
        && !setting_creator
        && creators(state, plugin, &organization_id).await? <= 1
    {
        return Err(org_error(
            BAD,
            "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
        ));
    }
    let update = indexmap::IndexMap::from([(
        "member".to_owned(),
        crate::auth::access::Actions::from(vec!["update".to_owned()]),
    )]);
    if !plugin.has_permission(&member.role, &update, true) {
        return Err(not_allowed());
    }
    let unknown: Vec<&str> = role_to_set
        .iter()
        .map(String::as_str)
        .filter(|r| !plugin.role_known(r))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Custom {
            status: BAD,
            code: "ROLE_NOT_FOUND",
            message: format!("ROLE_NOT_FOUND: {}", unknown.join(", ")).into(),
        });
    }
    if state
        .store
        .find_organization(&organization_id)
        .await?
        .is_none()
    {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    }
    let updated = state
        .store
        .update_member_role(&member_id, &role_to_set.join(","))
        .await?
        .ok_or_else(|| org_error(BAD, "MEMBER_NOT_FOUND"))?;
    Ok((member_json(&updated, None), Vec::new()))
}

#[tracing::instrument(name = "organization.remove_member", skip_all)]
async fn remove_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let member_id_or_email = v.string("memberIdOrEmail");
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let mut current = caller(&state, &req, None).await?;
    let result = remove(&state, &mut current, member_id_or_email, organization_id).await;
    current.answer_with(result)
}

async fn remove(
    state: &AppState,
    current: &mut Current,
    member_id_or_email: String,
    organization_id: Option<String>,
) -> Answer {
    let plugin = plugin(state)?;
    let Some(organization_id) = organization_id
        .filter(|s| !s.is_empty())
        .or_else(|| active_organization(current))
    else {
        return Err(org_error(BAD, "NO_ACTIVE_ORGANIZATION"));
    };
    let not_found = || org_error(BAD, "MEMBER_NOT_FOUND");
    let Some((member, _)) = state
        .store
        .find_member(&organization_id, &current.user.id)
        .await?
    else {
        return Err(not_found());
    };
    let target = if member_id_or_email.contains('@') {
        state
            .store
            .find_member_by_email(&organization_id, &member_id_or_email)
            .await?
    } else {
        state.store.find_member_by_id(&member_id_or_email).await?
    };
    let Some((target, _)) = target else {
        return Err(not_found());
    };
    if plugin.is_creator(&target.role)
        && (!plugin.is_creator(&member.role)
            || creators(state, plugin, &organization_id).await? <= 1)
    {
        return Err(org_error(
            BAD,
            "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
        ));
    }
    if !plugin.may(&member.role, "member", "delete") {
        return Err(org_error(
            StatusCode::UNAUTHORIZED,
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER",
        ));
    }
    // Another organization's member: not found here.
    if target.organization_id != organization_id {
        return Err(not_found());
    }
    if state
        .store
        .find_organization(&organization_id)
        .await?
        .is_none()
    {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    }
    state.store.delete_member(&target.id).await?;
    if plugin.settings.teams.enabled {
        state
            .store
            .remove_from_teams(&organization_id, &target.user_id)
            .await?;
    }
    if target.user_id == current.user.id
        && active_organization(current).as_deref() == Some(&target.organization_id)
    {
        set_active_organization(state, current, None).await?;
    }
    Ok((json!({ "member": member_json(&target, None) }), Vec::new()))
}

#[tracing::instrument(name = "organization.leave", skip_all)]
async fn leave(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let organization_id = v.string("organizationId");
    v.finish()?;
    let mut current = caller(&state, &req, None).await?;
    let result = leave_organization(&state, &mut current, &organization_id).await;
    current.answer_with(result)
}

async fn leave_organization(
    state: &AppState,
    current: &mut Current,
    organization_id: &str,
) -> Answer {
    let plugin = plugin(state)?;
    let Some((member, user)) = state
        .store
        .find_member(organization_id, &current.user.id)
        .await?
    else {
        return Err(org_error(BAD, "MEMBER_NOT_FOUND"));
    };
    if plugin.is_creator(&member.role) && creators(state, plugin, organization_id).await? <= 1 {
        return Err(org_error(
            BAD,
            "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
        ));
    }
    state.store.delete_member(&member.id).await?;
    if plugin.settings.teams.enabled {
        state
            .store
            .remove_from_teams(organization_id, &member.user_id)
            .await?;
    }
    if active_organization(current).as_deref() == Some(organization_id) {
        set_active_organization(state, current, None).await?;
    }
    Ok((member_json(&member, Some(&user)), Vec::new()))
}

pub fn openapi() -> Vec<Op> {
    let member = || {
        object(
            vec![
                ("id", string()),
                ("userId", string()),
                ("organizationId", string()),
                ("role", string()),
            ],
            &["id", "userId", "organizationId", "role"],
            true,
        )
        .into()
    };
    let tag = "Organization";
    vec![
        Op::new(Get, "/organization/list-members", tag, "List members")
            .query("limit", false)
            .query("offset", false)
            .query("organizationId", false)
            .ok(object(vec![("members", array_of(member()))], &["members"], true).into()),
        Op::new(
            Get,
            "/organization/get-active-member",
            tag,
            "Get the caller's membership of the active organization",
        )
        .ok(member()),
        Op::new(
            Get,
            "/organization/get-active-member-role",
            tag,
            "Get a member's role",
        )
        .query("userId", false)
        .query("organizationId", false)
        .ok(object(vec![("role", string())], &["role"], true).into()),
        Op::new(
            Post,
            "/organization/update-member-role",
            tag,
            "Update a member's role",
        )
        .body(
            vec![
                ("role", string()),
                ("memberId", string()),
                ("organizationId", string()),
            ],
            &["role", "memberId"],
        )
        .ok(member()),
        Op::new(Post, "/organization/remove-member", tag, "Remove a member")
            .body(
                vec![("memberIdOrEmail", string()), ("organizationId", string())],
                &["memberIdOrEmail"],
            )
            .ok(object(vec![("member", member())], &["member"], true).into()),
        Op::new(Post, "/organization/leave", tag, "Leave an organization")
            .body(vec![("organizationId", string())], &["organizationId"])
            .ok(member()),
    ]
}
