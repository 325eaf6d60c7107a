//! Teams, with `[plugins.organization.teams] enabled` (Better Auth's `routes/crud-team.ts`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{
    active_organization, caller, org_error, plugin, OrganizationPlugin, ACTIVE_TEAM, BAD, FORBIDDEN,
};
use crate::auth::crypto::{generate_id, iso};
use crate::error::ApiError;
use crate::flows::session::session_cookies;
use crate::http::extract::{js_string, query_object, read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::Current;
use crate::openapi::builder::{array_of, object, string, Op};
use crate::state::AppState;
use crate::store::teams::{Team, TeamMember};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/organization/create-team", create_team))
        .service(get("/organization/list-teams", list_teams))
        .service(post("/organization/update-team", update_team))
        .service(post("/organization/remove-team", remove_team))
        .service(post("/organization/set-active-team", set_active_team))
        .service(get("/organization/list-user-teams", list_user_teams))
        .service(get("/organization/list-team-members", list_team_members))
        .service(post("/organization/add-team-member", add_team_member))
        .service(post("/organization/remove-team-member", remove_team_member));
}

type Answer = Result<(Value, Vec<Cookie<'static>>), ApiError>;

pub(super) fn team_json(t: &Team) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "organizationId": t.organization_id,
        "createdAt": iso(&t.created_at),
        "updatedAt": t.updated_at.as_ref().map(iso),
    })
}

fn team_member_json(m: &TeamMember) -> Value {
    json!({
        "id": m.id,
        "teamId": m.team_id,
        "userId": m.user_id,
        "createdAt": m.created_at.as_ref().map(iso),
    })
}

fn active_team(current: &Current) -> Option<String> {
    current
        .session
        .extra
        .get(ACTIVE_TEAM)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Better Auth's `adapter.setActiveTeam`.
pub(super) async fn set_active_team_of(
    state: &AppState,
    current: &mut Current,
    team_id: Option<&str>,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let value = team_id.map_or(Value::Null, |id| Value::String(id.to_owned()));
    let values = Map::from_iter([(ACTIVE_TEAM.to_owned(), value.clone())]);
    state
        .store
        .update_session_extra(&current.session.token, &values, now)
        .await?;
    current.session.extra.insert(ACTIVE_TEAM.to_owned(), value);
    current.session.updated_at = now;
    Ok(())
}

/// The organization a team route names, else the active one.
fn organization_or_active(current: &Current, id: Option<String>) -> Result<String, ApiError> {
    id.filter(|s| !s.is_empty())
        .or_else(|| active_organization(current))
        .ok_or_else(|| org_error(BAD, "NO_ACTIVE_ORGANIZATION"))
}

/// The caller's role in the organization, or `error` when they are not a member.
async fn role_in(
    state: &AppState,
    current: &Current,
    organization_id: &str,
    error: ApiError,
) -> Result<String, ApiError> {
    match state
        .store
        .find_member(organization_id, &current.user.id)
        .await?
    {
        Some((m, _)) => Ok(m.role),
        None => Err(error),
    }
}

fn team_not_found() -> ApiError {
    org_error(BAD, "TEAM_NOT_FOUND")
}

#[tracing::instrument(name = "organization.create_team", skip_all)]
async fn create_team(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let name = v.string("name");
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let current = caller(
        &state,
        &req,
        Some(|| ApiError::EmptyJson(StatusCode::UNAUTHORIZED)),
    )
    .await?;
    let result = async {
        let plugin = plugin(&state)?;
        let organization_id = organization_or_active(&current, organization_id)?;
        let role = role_in(
            &state,
            &current,
            &organization_id,
            org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
            ),
        )
        .await?;
        if !plugin.may(&role, "team", "create") {
            return Err(org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION",
            ));
        }
        let existing = state.store.list_teams(&organization_id).await?;
        if let Some(max) = plugin.settings.teams.maximum_teams.filter(|m| *m > 0) {
            if existing.len() as u64 >= max {
                return Err(org_error(
                    BAD,
                    "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS",
                ));
            }
        }
        if state
            .store
            .find_organization(&organization_id)
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        }
        let now = state.clock.now();
        let team = Team {
            id: generate_id(),
            name,
            organization_id,
            created_at: now,
            updated_at: Some(now),
            member_count: 0,
        };
        state.store.insert_team(&team).await?;
        Ok((team_json(&team), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.list_teams", skip_all)]
async fn list_teams(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let organization_id = organization_or_active(&current, organization_id)?;
        role_in(
            &state,
            &current,
            &organization_id,
            org_error(FORBIDDEN, "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION"),
        )
        .await?;
        let teams = state.store.list_teams(&organization_id).await?;
        Ok((
            Value::Array(teams.iter().map(team_json).collect()),
            Vec::new(),
        ))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.update_team", skip_all)]
async fn update_team(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let team_id = v.string("teamId");
    let data = match v.raw("data") {
        Some(Value::Object(m)) => m.clone(),
        other => {
            let got = other
                .map(crate::auth::fields::received)
                .unwrap_or("undefined");
            v.invalid(
                "data",
                &format!("Invalid input: expected object, received {got}"),
            );
            Map::new()
        }
    };
    v.finish()?;
    let data = Value::Object(data);
    let mut d = Validator::body(Some(&data));
    let name = d.raw("name").map(|_| d.non_empty_string("name"));
    let organization_id = d.opt_string("organizationId");
    d.finish().map_err(|e| match e {
        ApiError::Custom { message, .. } => {
            ApiError::validation(message.replace("[body.", "[body.data."))
        }
        other => other,
    })?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let organization_id = organization_or_active(&current, organization_id)?;
        let not_allowed = || org_error(FORBIDDEN, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM");
        let role = role_in(&state, &current, &organization_id, not_allowed()).await?;
        if !plugin.may(&role, "team", "update") {
            return Err(not_allowed());
        }
        let Some(team) = state
            .store
            .find_team(&team_id, Some(&organization_id))
            .await?
        else {
            return Err(team_not_found());
        };
        if state
            .store
            .find_organization(&organization_id)
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        }
        let now = state.clock.now();
        let updated = state
            .store
            .rename_team(&team.id, name.as_deref(), now)
            .await?
            .ok_or_else(team_not_found)?;
        Ok((team_json(&updated), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.remove_team", skip_all)]
async fn remove_team(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let team_id = v.string("teamId");
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let current = caller(
        &state,
        &req,
        Some(|| ApiError::EmptyJson(StatusCode::UNAUTHORIZED)),
    )
    .await?;
    let result = async {
        let plugin = plugin(&state)?;
        let organization_id = organization_or_active(&current, organization_id)?;
        let not_allowed = || org_error(FORBIDDEN, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM");
        let role = role_in(&state, &current, &organization_id, not_allowed()).await?;
        if active_team(&current).as_deref() == Some(team_id.as_str()) {
            return Err(not_allowed());
        }
        if !plugin.may(&role, "team", "delete") {
            return Err(org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION",
            ));
        }
        let Some(team) = state
            .store
            .find_team(&team_id, Some(&organization_id))
            .await?
        else {
            return Err(team_not_found());
        };
        if !plugin.settings.teams.allow_removing_all_teams
            && state.store.list_teams(&organization_id).await?.len() <= 1
        {
            return Err(org_error(BAD, "UNABLE_TO_REMOVE_LAST_TEAM"));
        }
        if state
            .store
            .find_organization(&organization_id)
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        }
        state.store.delete_team(&team).await?;
        Ok((
            json!({ "message": "Team removed successfully." }),
            Vec::new(),
        ))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.set_active_team", skip_all)]
async fn set_active_team(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let team_id = match v.raw("teamId") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(other) => {
            let got = crate::auth::fields::received(other);
            v.invalid(
                "teamId",
                &format!("Invalid input: expected string, received {got}"),
            );
            None
        }
    };
    v.finish()?;
    let mut current = caller(&state, &req, None).await?;
    let result = activate_team(&state, &mut current, team_id).await;
    current.answer_with(result)
}

async fn activate_team(
    state: &AppState,
    current: &mut Current,
    team_id: Option<Option<String>>,
) -> Answer {
    let reissue = |current: &Current| {
        session_cookies(
            state,
            &current.session,
            &current.user,
            current.dont_remember,
        )
    };
    if team_id == Some(None) {
        if active_team(current).is_none() {
            return Ok((Value::Null, Vec::new()));
        }
        set_active_team_of(state, current, None).await?;
        return Ok((Value::Null, reissue(current)));
    }
    let Some(team_id) = team_id
        .flatten()
        .filter(|s| !s.is_empty())
        .or_else(|| active_team(current))
    else {
        return Ok((Value::Null, Vec::new()));
    };
    let Some(organization_id) = active_organization(current) else {
        return Err(org_error(BAD, "NO_ACTIVE_ORGANIZATION"));
    };
    let Some(team) = state
        .store
        .find_team(&team_id, Some(&organization_id))
        .await?
    else {
        return Err(team_not_found());
    };
    if state
        .store
        .find_team_member(&team_id, &current.user.id)
        .await?
        .is_none()
    {
        return Err(org_error(FORBIDDEN, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM"));
    }
    set_active_team_of(state, current, Some(&team.id)).await?;
    Ok((team_json(&team), reissue(current)))
}

#[tracing::instrument(name = "organization.list_user_teams", skip_all)]
async fn list_user_teams(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let user_id = v.opt_string("userId");
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let target = user_id
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| current.user.id.clone());
        let explicit = organization_id.as_deref().is_some_and(|s| !s.is_empty());
        let organization_id = organization_id
            .filter(|s| !s.is_empty())
            .or_else(|| active_organization(&current));
        let not_a_member = || org_error(FORBIDDEN, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION");
        let in_org = |teams: Vec<Team>, org: &str| -> Value {
            Value::Array(
                teams
                    .iter()
                    .filter(|t| t.organization_id == org)
                    .map(team_json)
                    .collect(),
            )
        };
        if target != current.user.id {
            let org = organization_id.ok_or_else(|| org_error(BAD, "NO_ACTIVE_ORGANIZATION"))?;
            let role = role_in(&state, &current, &org, not_a_member()).await?;
            if !plugin.may(&role, "member", "update") {
                return Err(org_error(
                    FORBIDDEN,
                    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
                ));
            }
            if state.store.find_member(&org, &target).await?.is_none() {
                return Err(org_error(BAD, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"));
            }
            let teams = state.store.teams_of_user(&target).await?;
            return Ok((in_org(teams, &org), Vec::new()));
        }
        let teams = state.store.teams_of_user(&current.user.id).await?;
        if let (true, Some(org)) = (explicit, organization_id) {
            role_in(&state, &current, &org, not_a_member()).await?;
            return Ok((in_org(teams, &org), Vec::new()));
        }
        // Only teams of organizations the caller is still a member of.
        let mut out = Vec::new();
        for team in &teams {
            if state
                .store
                .find_member(&team.organization_id, &current.user.id)
                .await?
                .is_some()
            {
                out.push(team_json(team));
            }
        }
        Ok((Value::Array(out), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.list_team_members", skip_all)]
async fn list_team_members(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let team_id = v.opt_string("teamId");
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let Some(team_id) = team_id
            .filter(|s| !s.is_empty())
            .or_else(|| active_team(&current))
        else {
            return Err(org_error(BAD, "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM"));
        };
        let Some(team) = state.store.find_team(&team_id, None).await? else {
            return Err(team_not_found());
        };
        let not_in_team = || org_error(BAD, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM");
        if state
            .store
            .find_member(&team.organization_id, &current.user.id)
            .await?
            .is_none()
            || state
                .store
                .find_team_member(&team_id, &current.user.id)
                .await?
                .is_none()
        {
            return Err(not_in_team());
        }
        let members = state.store.list_team_members(&team_id).await?;
        Ok((
            Value::Array(members.iter().map(team_member_json).collect()),
            Vec::new(),
        ))
    }
    .await;
    current.answer_with(result)
}

/// The body of add-team-member and remove-team-member.
struct TeamMemberBody {
    team_id: String,
    user_id: String,
    organization_id: Option<String>,
}

async fn team_member_body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<TeamMemberBody, ApiError> {
    let body = read_checked_body(state, req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let team_id = v.string("teamId");
    let user_id = js_string(v.raw("userId"));
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    Ok(TeamMemberBody {
        team_id,
        user_id,
        organization_id,
    })
}

/// The checks add-team-member and remove-team-member share: the caller may `member: action`
/// in the organization, and the user and the team belong to it.
async fn team_member_checks(
    state: &AppState,
    plugin: &OrganizationPlugin,
    current: &Current,
    body: &TeamMemberBody,
    action: &str,
    refused: &'static str,
) -> Result<Team, ApiError> {
    let organization_id = organization_or_active(current, body.organization_id.clone())?;
    let not_member = || org_error(BAD, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    let role = role_in(state, current, &organization_id, not_member()).await?;
    if !plugin.may(&role, "member", action) {
        return Err(org_error(FORBIDDEN, refused));
    }
    if state
        .store
        .find_member(&organization_id, &body.user_id)
        .await?
        .is_none()
    {
        return Err(not_member());
    }
    let Some(team) = state
        .store
        .find_team(&body.team_id, Some(&organization_id))
        .await?
    else {
        return Err(team_not_found());
    };
    Ok(team)
}

#[tracing::instrument(name = "organization.add_team_member", skip_all)]
async fn add_team_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = team_member_body(&state, &req, payload).await?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let team = team_member_checks(
            &state,
            plugin,
            &current,
            &body,
            "update",
            "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER",
        )
        .await?;
        let limit = plugin.settings.teams.maximum_members_per_team;
        let now = state.clock.now();
        let Some(member) = state
            .store
            .add_team_member(&team.id, &body.user_id, limit, now)
            .await?
        else {
            return Err(org_error(FORBIDDEN, "TEAM_MEMBER_LIMIT_REACHED"));
        };
        Ok((team_member_json(&member), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.remove_team_member", skip_all)]
async fn remove_team_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = team_member_body(&state, &req, payload).await?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let team = team_member_checks(
            &state,
            plugin,
            &current,
            &body,
            "delete",
            "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER",
        )
        .await?;
        if state
            .store
            .find_team_member(&team.id, &body.user_id)
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM"));
        }
        state
            .store
            .remove_team_member(&team.id, &body.user_id)
            .await?;
        Ok((
            json!({ "message": "Team member removed successfully." }),
            Vec::new(),
        ))
    }
    .await;
    current.answer_with(result)
}

pub fn openapi() -> Vec<Op> {
    let team = || {
        object(
            vec![
                ("id", string()),
                ("name", string()),
                ("organizationId", string()),
            ],
            &["id", "name", "organizationId"],
            true,
        )
        .into()
    };
    let team_member = || {
        object(
            vec![("id", string()), ("teamId", string()), ("userId", string())],
            &["id", "teamId", "userId"],
            true,
        )
        .into()
    };
    let message = || object(vec![("message", string())], &["message"], true).into();
    let member_body = || {
        vec![
            ("teamId", string()),
            ("userId", string()),
            ("organizationId", string()),
        ]
    };
    let nullable =
        || crate::openapi::builder::typed(utoipa::openapi::schema::Type::Object, true).into();
    let tag = "Organization";
    vec![
        Op::new(Post, "/organization/create-team", tag, "Create a team")
            .body(
                vec![("name", string()), ("organizationId", string())],
                &["name"],
            )
            .ok(team()),
        Op::new(
            Get,
            "/organization/list-teams",
            tag,
            "List an organization's teams",
        )
        .query("organizationId", false)
        .ok(array_of(team())),
        Op::new(Post, "/organization/update-team", tag, "Update a team")
            .body(
                vec![
                    ("teamId", string()),
                    ("data", object(Vec::<(String, _)>::new(), &[], true).into()),
                ],
                &["teamId", "data"],
            )
            .ok(team()),
        Op::new(Post, "/organization/remove-team", tag, "Remove a team")
            .body(
                vec![("teamId", string()), ("organizationId", string())],
                &["teamId"],
            )
            .ok(message()),
        Op::new(
            Post,
            "/organization/set-active-team",
            tag,
            "Set the active team",
        )
        .body(vec![("teamId", string())], &[])
        .ok(nullable()),
        Op::new(
            Get,
            "/organization/list-user-teams",
            tag,
            "List a user's teams",
        )
        .query("userId", false)
        .query("organizationId", false)
        .ok(array_of(team())),
        Op::new(
            Get,
            "/organization/list-team-members",
            tag,
            "List a team's members",
        )
        .query("teamId", false)
        .ok(array_of(team_member())),
        Op::new(
            Post,
            "/organization/add-team-member",
            tag,
            "Add a user to a team",
        )
        .body(member_body(), &["teamId", "userId"])
        .ok(team_member()),
        Op::new(
            Post,
            "/organization/remove-team-member",
            tag,
            "Remove a user from a team",
        )
        .body(member_body(), &["teamId", "userId"])
        .ok(message()),
    ]
}
