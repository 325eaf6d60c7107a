//! Organizations (Better Auth's `routes/crud-org.ts`) and `has-permission`
//! (`organization.ts`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use indexmap::IndexMap;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{
    active_organization, caller, member_json, org_error, organization_json, plugin,
    set_active_organization, Metadata, OrganizationPlugin, BAD, FORBIDDEN,
};
use crate::auth::access::Actions;
use crate::auth::crypto::generate_id;
use crate::error::ApiError;
use crate::flows::session::session_cookies;
use crate::http::extract::{query_object, read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::Current;
use crate::openapi::builder::{boolean, object, string, typed, Op};
use crate::state::AppState;
use crate::store::organizations::{FullOrganization, Member, Organization, OrganizationUpdate};
use utoipa::openapi::schema::Type;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/organization/create", create))
        .service(post("/organization/check-slug", check_slug))
        .service(post("/organization/update", update))
        .service(post("/organization/delete", delete))
        .service(get("/organization/get-organization", get_organization))
        .service(get(
            "/organization/get-full-organization",
            get_full_organization,
        ))
        .service(post("/organization/set-active", set_active))
        .service(get("/organization/list", list))
        .service(post("/organization/has-permission", has_permission));
}

type Answer = Result<(Value, Vec<Cookie<'static>>), ApiError>;

fn empty_401() -> ApiError {
    ApiError::EmptyJson(StatusCode::UNAUTHORIZED)
}

/// `z.string().nullish()`: absent, null, or a string.
fn nullish_string(v: &mut Validator<'_>, key: &str) -> Option<Option<String>> {
    match v.raw(key) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(other) => {
            let got = crate::auth::fields::received(other);
            v.invalid(
                key,
                &format!("Invalid input: expected string, received {got}"),
            );
            None
        }
    }
}

/// `z.record(z.string(), z.any()).optional()`, as the text stored in `metadata`.
fn metadata_input(v: &mut Validator<'_>, key: &str) -> Option<String> {
    match v.raw(key) {
        None => None,
        Some(Value::Object(m)) => Some(Value::Object(m.clone()).to_string()),
        Some(other) => {
            let got = crate::auth::fields::received(other);
            v.invalid(
                key,
                &format!("Invalid input: expected record, received {got}"),
            );
            None
        }
    }
}

#[tracing::instrument(name = "organization.create", skip_all)]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let name = v.non_empty_string("name");
    let slug = v.non_empty_string("slug");
    let logo = nullish_string(&mut v, "logo");
    let metadata = metadata_input(&mut v, "metadata");
    let keep_active = v.opt_bool("keepCurrentActiveOrganization");
    v.finish()?;
    // `userId` is for server calls only: over HTTP the creator is the caller.
    let mut current = caller(&state, &req, Some(empty_401)).await?;
    let org = Organization {
        id: generate_id(),
        name,
        slug,
        logo: logo.flatten(),
        created_at: state.clock.now(),
        metadata,
    };
    let result = create_organization(&state, &mut current, org, keep_active == Some(true)).await;
    current.answer_with(result)
}

async fn create_organization(
    state: &AppState,
    current: &mut Current,
    org: Organization,
    keep_active: bool,
) -> Answer {
    let plugin = plugin(state)?;
    let settings = &plugin.settings;
    if !settings.allow_user_to_create_organization {
        return Err(org_error(
            FORBIDDEN,
            "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION",
        ));
    }
    if let Some(limit) = settings.organization_limit {
        let count = state
            .store
            .list_organizations_of(&current.user.id)
            .await?
            .len();
        if count as u64 >= limit {
            return Err(org_error(
                FORBIDDEN,
                "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS",
            ));
        }
    }
    let exists = || org_error(BAD, "ORGANIZATION_ALREADY_EXISTS");
    if state
        .store
        .find_organization_by_slug(&org.slug)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let member = Member {
        id: generate_id(),
        organization_id: org.id.clone(),
        user_id: current.user.id.clone(),
        role: settings.creator_role.clone(),
        created_at: org.created_at,
    };
    match state.store.insert_organization(&org, &member).await {
        Ok(()) => {}
        // Two creations of one slug at once: the unique index refuses the second.
        Err(crate::store::StoreError::Conflict) => return Err(exists()),
        Err(e) => return Err(e.into()),
    }
    let default_team = if settings.teams.enabled && settings.teams.default_team.enabled {
        let team = crate::store::teams::Team {
            id: generate_id(),
            name: org.name.clone(),
            organization_id: org.id.clone(),
            created_at: org.created_at,
            updated_at: None,
            member_count: 0,
        };
        let now = state.clock.now();
        Some(
            state
                .store
                .insert_team_with_member(&team, &current.user.id, now)
                .await?,
        )
    } else {
        None
    };
    if !keep_active {
        set_active_organization(state, current, Some(&org.id)).await?;
        if let Some(member) = &default_team {
            super::teams::set_active_team_of(state, current, Some(&member.team_id)).await?;
        }
    }
    let mut body = organization_json(&org, Metadata::Parsed);
    body.insert("members".into(), json!([member_json(&member, None)]));
    Ok((Value::Object(body), Vec::new()))
}

#[tracing::instrument(name = "organization.check_slug", skip_all)]
async fn check_slug(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let slug = v.string("slug");
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        if state
            .store
            .find_organization_by_slug(&slug)
            .await?
            .is_some()
        {
            return Err(org_error(BAD, "ORGANIZATION_SLUG_ALREADY_TAKEN"));
        }
        Ok((json!({ "status": true }), Vec::new()))
    };
    let result = result.await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.update", skip_all)]
async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let organization_id = v.opt_string("organizationId");
    let data = match v.raw("data") {
        Some(Value::Object(m)) => Some(m.clone()),
        other => {
            let got = other
                .map(crate::auth::fields::received)
                .unwrap_or("undefined");
            v.invalid(
                "data",
                &format!("Invalid input: expected object, received {got}"),
            );
            None
        }
    };
    v.finish()?;
    let data = data.unwrap_or_default();
    let data_value = Value::Object(data);
    let mut d = Validator::body(Some(&data_value));
    let update = OrganizationUpdate {
        name: d.raw("name").map(|_| d.non_empty_string("name")),
        slug: d.raw("slug").map(|_| d.non_empty_string("slug")),
        logo: nullish_string(&mut d, "logo"),
        metadata: metadata_input(&mut d, "metadata").map(Some),
    };
    d.finish().map_err(|e| match e {
        ApiError::Custom { message, .. } => {
            ApiError::validation(message.replace("[body.", "[body.data."))
        }
        other => other,
    })?;
    let user_not_found = || ApiError::message_only(StatusCode::UNAUTHORIZED, "User not found");
    let current = caller(&state, &req, Some(user_not_found)).await?;
    let result = update_organization(&state, &current, organization_id, update).await;
    current.answer_with(result)
}

async fn update_organization(
    state: &AppState,
    current: &Current,
    organization_id: Option<String>,
    update: OrganizationUpdate,
) -> Answer {
    let plugin = plugin(state)?;
    let Some(organization_id) = organization_id
        .filter(|s| !s.is_empty())
        .or_else(|| active_organization(current))
    else {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    };
    let Some((member, _)) = state
        .store
        .find_member(&organization_id, &current.user.id)
        .await?
    else {
        return Err(org_error(BAD, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"));
    };
    if !plugin.may(&member.role, "organization", "update") {
        return Err(org_error(
            FORBIDDEN,
            "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION",
        ));
    }
    if let Some(slug) = &update.slug {
        let taken = state.store.find_organization_by_slug(slug).await?;
        if taken.is_some_and(|o| o.id != organization_id) {
            return Err(org_error(BAD, "ORGANIZATION_SLUG_ALREADY_TAKEN"));
        }
    }
    // Better Auth's adapter fails an update without fields (a 500); this answers 400.
    if update.is_empty() {
        return Err(crate::http::extract::no_fields_to_update());
    }
    let updated = match state
        .store
        .update_organization(&organization_id, &update)
        .await
    {
        Ok(o) => o,
        Err(crate::store::StoreError::Conflict) => {
            return Err(org_error(BAD, "ORGANIZATION_SLUG_ALREADY_TAKEN"))
        }
        Err(e) => return Err(e.into()),
    };
    let body = match updated {
        Some(org) => Value::Object(organization_json(&org, Metadata::Parsed)),
        None => Value::Null,
    };
    Ok((body, Vec::new()))
}

#[tracing::instrument(name = "organization.delete", skip_all)]
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let organization_id = v.string("organizationId");
    v.finish()?;
    let plugin = plugin(&state)?;
    if plugin.settings.disable_organization_deletion {
        return Err(ApiError::Custom {
            status: StatusCode::NOT_FOUND,
            code: "ORGANIZATION_DELETION_DISABLED",
            message: "Organization deletion is disabled".into(),
        });
    }
    let mut current = caller(&state, &req, Some(empty_401)).await?;
    let result = delete_organization(&state, plugin, &mut current, &organization_id).await;
    current.answer_with(result)
}

async fn delete_organization(
    state: &AppState,
    plugin: &OrganizationPlugin,
    current: &mut Current,
    organization_id: &str,
) -> Answer {
    if organization_id.is_empty() {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    }
    let Some((member, _)) = state
        .store
        .find_member(organization_id, &current.user.id)
        .await?
    else {
        return Err(org_error(BAD, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"));
    };
    if !plugin.may(&member.role, "organization", "delete") {
        return Err(org_error(
            FORBIDDEN,
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
        ));
    }
    let Some(org) = state.store.find_organization(organization_id).await? else {
        return Err(ApiError::EmptyJson(StatusCode::BAD_REQUEST));
    };
    state.store.delete_organization(organization_id).await?;
    if active_organization(current).as_deref() == Some(organization_id) {
        set_active_organization(state, current, None).await?;
    }
    Ok((
        Value::Object(organization_json(&org, Metadata::Stored)),
        Vec::new(),
    ))
}

/// The organization a GET names (`organizationSlug`, else `organizationId`, else the active
/// one), checked to have the caller as a member; `None` when nothing names one.
async fn named_organization(
    state: &AppState,
    current: &mut Current,
    id: Option<String>,
    slug: Option<String>,
) -> Result<Option<(Organization, Member)>, ApiError> {
    let Some(org) = find_named_organization(state, current, id, slug).await? else {
        return Ok(None);
    };
    let member = state
        .store
        .find_member(&org.id, &current.user.id)
        .await?
        .map(|(m, _)| m);
    Ok(Some((
        org,
        caller_membership(state, current, member).await?,
    )))
}

/// The caller's membership, or (Better Auth's `checkMembership` failing) the active
/// organization cleared and `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`.
async fn caller_membership(
    state: &AppState,
    current: &mut Current,
    member: Option<Member>,
) -> Result<Member, ApiError> {
    match member {
        Some(m) => Ok(m),
        None => {
            set_active_organization(state, current, None).await?;
            Err(org_error(
                FORBIDDEN,
                "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
            ))
        }
    }
}

/// How a GET names its organization: `organizationSlug`, else `organizationId`, else the
/// active one, as (column, value); `None` when nothing names one.
fn organization_named(
    current: &Current,
    id: Option<String>,
    slug: Option<String>,
) -> Option<(&'static str, String)> {
    if let Some(slug) = slug.filter(|s| !s.is_empty()) {
        return Some(("slug", slug));
    }
    id.filter(|s| !s.is_empty())
        .or_else(|| active_organization(current))
        .map(|id| ("id", id))
}

/// The organization a GET names, whoever asks; `ORGANIZATION_NOT_FOUND` when the name or id
/// matches none.
async fn find_named_organization(
    state: &AppState,
    current: &Current,
    id: Option<String>,
    slug: Option<String>,
) -> Result<Option<Organization>, ApiError> {
    let Some((column, value)) = organization_named(current, id, slug) else {
        return Ok(None);
    };
    let org = match column {
        "slug" => state.store.find_organization_by_slug(&value).await?,
        _ => state.store.find_organization(&value).await?,
    };
    match org {
        Some(org) => Ok(Some(org)),
        None => Err(org_error(BAD, "ORGANIZATION_NOT_FOUND")),
    }
}

#[tracing::instrument(name = "organization.get_organization", skip_all)]
async fn get_organization(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let id = v.opt_string("organizationId");
    let slug = v.opt_string("organizationSlug");
    v.finish()?;
    let mut current = caller(&state, &req, None).await?;
    let result = async {
        let found = named_organization(&state, &mut current, id, slug).await?;
        let body = found.map_or(Value::Null, |(org, _)| {
            Value::Object(organization_json(&org, Metadata::Stored))
        });
        Ok((body, Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.get_full_organization", skip_all)]
async fn get_full_organization(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let id = v.opt_string("organizationId");
    let slug = v.opt_string("organizationSlug");
    let members_limit = v.opt_string("membersLimit");
    v.finish()?;
    // `z.string().transform(parseInt)`: leading digits, else NaN (no limit).
    let members_limit = members_limit.and_then(|s| {
        let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok().filter(|n| *n > 0)
    });
    let mut current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let Some((column, value)) = organization_named(&current, id, slug) else {
            return Ok((Value::Null, Vec::new()));
        };
        let limit = members_limit.unwrap_or(plugin.settings.membership_limit());
        // The organization, its members and its invitations in one read.
        let Some(FullOrganization {
            organization: org,
            members,
            invitations,
        }) = state
            .store
            .organization_with_members(column, &value, limit)
            .await?
        else {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        };
        // The caller's membership from the page when it is there, or when the page holds every
        // member (then there is none); else looked up.
        let user_id = &current.user.id;
        let listed = members.iter().find(|(m, _)| &m.user_id == user_id);
        let member = match listed {
            Some((m, _)) => Some(m.clone()),
            None if (members.len() as u64) < limit => None,
            None => state
                .store
                .find_member(&org.id, user_id)
                .await?
                .map(|(m, _)| m),
        };
        let member = caller_membership(&state, &mut current, member).await?;
        let invitations = if plugin.may(&member.role, "invitation", "create") {
            plugin.visible_invitations(&member.role, invitations)
        } else {
            Vec::new()
        };
        let mut body = organization_json(&org, Metadata::Stored);
        body.insert(
            "invitations".into(),
            Value::Array(super::invitations_body(&state, plugin, &invitations).await?),
        );
        body.insert(
            "members".into(),
            Value::Array(
                members
                    .iter()
                    .map(|(m, u)| member_json(m, Some(u)))
                    .collect(),
            ),
        );
        if plugin.settings.teams.enabled {
            let teams = state.store.list_teams(&org.id).await?;
            body.insert(
                "teams".into(),
                // Better Auth leaves `memberCount` in these (only there).
                Value::Array(
                    teams
                        .iter()
                        .map(|t| {
                            let mut v = super::teams::team_json(t);
                            v["memberCount"] = json!(t.member_count);
                            v
                        })
                        .collect(),
                ),
            );
        }
        Ok((Value::Object(body), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.set_active", skip_all)]
async fn set_active(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let id = nullish_string(&mut v, "organizationId");
    let slug = v.opt_string("organizationSlug");
    v.finish()?;
    let mut current = caller(&state, &req, None).await?;
    let result = activate(&state, &mut current, id, slug).await;
    current.answer_with(result)
}

async fn activate(
    state: &AppState,
    current: &mut Current,
    id: Option<Option<String>>,
    slug: Option<String>,
) -> Answer {
    let reissue = |current: &Current| {
        session_cookies(
            state,
            &current.session,
            &current.user,
            current.dont_remember,
        )
    };
    if id == Some(None) {
        if active_organization(current).is_none() {
            return Ok((Value::Null, Vec::new()));
        }
        set_active_organization(state, current, None).await?;
        return Ok((Value::Null, reissue(current)));
    }
    let mut organization_id = id.flatten().filter(|s| !s.is_empty());
    let slug = slug.filter(|s| !s.is_empty());
    if organization_id.is_none() && slug.is_none() {
        match active_organization(current) {
            Some(active) => organization_id = Some(active),
            None => return Ok((Value::Null, Vec::new())),
        }
    }
    if let (None, Some(slug)) = (&organization_id, &slug) {
        let Some(org) = state.store.find_organization_by_slug(slug).await? else {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        };
        organization_id = Some(org.id);
    }
    let Some(organization_id) = organization_id else {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    };
    if state
        .store
        .find_member(&organization_id, &current.user.id)
        .await?
        .is_none()
    {
        set_active_organization(state, current, None).await?;
        return Err(org_error(
            FORBIDDEN,
            "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
        ));
    }
    let Some(org) = state.store.find_organization(&organization_id).await? else {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    };
    set_active_organization(state, current, Some(&org.id)).await?;
    Ok((
        Value::Object(organization_json(&org, Metadata::Stored)),
        reissue(current),
    ))
}

#[tracing::instrument(name = "organization.list", skip_all)]
async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let current = caller(&state, &req, None).await?;
    let result = async {
        let orgs = state.store.list_organizations_of(&current.user.id).await?;
        let body = orgs
            .iter()
            .map(|o| Value::Object(organization_json(o, Metadata::Stored)))
            .collect();
        Ok((Value::Array(body), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

/// `z.record(z.string(), z.array(z.string()))`.
fn permissions_input(v: &mut Validator<'_>, key: &str) -> Option<IndexMap<String, Actions>> {
    let ok = match v.raw(key)? {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                let list = v.as_array()?;
                let actions = list
                    .iter()
                    .map(|a| a.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?;
                Some((k.clone(), Actions::from(actions)))
            })
            .collect::<Option<IndexMap<_, _>>>(),
        _ => None,
    };
    if ok.is_none() {
        v.invalid(key, "Invalid input");
    }
    ok
}

#[tracing::instrument(name = "organization.has_permission", skip_all)]
async fn has_permission(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let organization_id = v.opt_string("organizationId");
    let legacy = v.raw("permission").is_some();
    let modern = v.raw("permissions").is_some();
    if legacy {
        permissions_input(&mut v, "permission");
    }
    let permissions = permissions_input(&mut v, "permissions");
    // `z.xor`: exactly one of `permission` and `permissions`.
    if legacy == modern && v.object().is_some() {
        return Err(ApiError::validation("[body] Invalid input"));
    }
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let Some(organization_id) = organization_id
            .filter(|s| !s.is_empty())
            .or_else(|| active_organization(&current))
        else {
            return Err(org_error(BAD, "NO_ACTIVE_ORGANIZATION"));
        };
        let Some((member, _)) = state
            .store
            .find_member(&organization_id, &current.user.id)
            .await?
        else {
            return Err(org_error(
                StatusCode::UNAUTHORIZED,
                "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
            ));
        };
        // The deprecated `permission` is accepted and grants nothing, as in Better Auth.
        let success = permissions
            .as_ref()
            .is_some_and(|p| plugin.has_permission(&member.role, p, false));
        Ok((json!({ "error": null, "success": success }), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

pub fn openapi() -> Vec<Op> {
    let org_body = || {
        object(
            vec![
                ("id", string()),
                ("name", string()),
                ("slug", string()),
                ("createdAt", string()),
            ],
            &["id", "name", "slug", "createdAt"],
            true,
        )
        .into()
    };
    let open = || object(Vec::<(String, _)>::new(), &[], true).into();
    // `null` when no organization is named or active.
    let nullable = || typed(Type::Object, true).into();
    let tag = "Organization";
    vec![
        Op::new(Post, "/organization/create", tag, "Create an organization")
            .body(
                vec![
                    ("name", string()),
                    ("slug", string()),
                    ("logo", string()),
                    ("metadata", open()),
                    ("keepCurrentActiveOrganization", boolean()),
                ],
                &["name", "slug"],
            )
            .ok(org_body()),
        Op::new(Post, "/organization/check-slug", tag, "Check a slug")
            .body(vec![("slug", string())], &["slug"])
            .ok(object(vec![("status", boolean())], &["status"], true).into()),
        Op::new(Post, "/organization/update", tag, "Update an organization")
            .body(
                vec![("data", open()), ("organizationId", string())],
                &["data"],
            )
            .ok(org_body()),
        Op::new(Post, "/organization/delete", tag, "Delete an organization")
            .body(vec![("organizationId", string())], &["organizationId"])
            .ok(org_body()),
        Op::new(
            Get,
            "/organization/get-organization",
            tag,
            "Get an organization",
        )
        .query("organizationId", false)
        .query("organizationSlug", false)
        .ok(nullable()),
        Op::new(
            Get,
            "/organization/get-full-organization",
            tag,
            "Get an organization with its members and invitations",
        )
        .query("organizationId", false)
        .query("organizationSlug", false)
        .query("membersLimit", false)
        .ok(nullable()),
        Op::new(
            Post,
            "/organization/set-active",
            tag,
            "Set the active organization",
        )
        .body(
            vec![("organizationId", string()), ("organizationSlug", string())],
            &[],
        )
        .ok(nullable()),
        Op::new(
            Get,
            "/organization/list",
            tag,
            "List the caller's organizations",
        )
        .ok(crate::openapi::builder::array_of(org_body())),
        Op::new(
            Post,
            "/organization/has-permission",
            tag,
            "Check the caller's permissions",
        )
        .body(
            vec![("permissions", open()), ("organizationId", string())],
            &["permissions"],
        )
        .ok(object(vec![("success", boolean())], &["success"], true).into()),
    ]
}
