//! Invitations (Better Auth's `routes/crud-invites.ts`). An invitation's id is what its mail
//! carries: whoever holds it and signs in with the invited email may accept it.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{
    active_organization, caller, invitation_body, invitation_maps, invitations_body, member_json,
    org_error, plugin, role_list, roles_input, set_active_organization, OrganizationPlugin, BAD,
    FORBIDDEN,
};
use crate::auth::crypto::generate_id;
use crate::error::{ApiError, ErrorCode};
use crate::http::extract::{query_object, read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::Current;
use crate::mail::{Mail, MailKind};
use crate::openapi::builder::{array_of, boolean, object, string, Op};
use crate::state::AppState;
use crate::store::organizations::{Invitation, Member, Organization};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/organization/invite-member", invite_member))
        .service(post("/organization/accept-invitation", accept_invitation))
        .service(post("/organization/reject-invitation", reject_invitation))
        .service(post("/organization/cancel-invitation", cancel_invitation))
        .service(get("/organization/get-invitation", get_invitation))
        .service(get("/organization/list-invitations", list_invitations))
        .service(get(
            "/organization/list-user-invitations",
            list_user_invitations,
        ));
}

type Answer = Result<(Value, Vec<Cookie<'static>>), ApiError>;

fn not_authenticated() -> ApiError {
    ApiError::message_only(StatusCode::UNAUTHORIZED, "Not authenticated")
}

struct Invite {
    email: String,
    roles: Vec<String>,
    organization_id: Option<String>,
    resend: bool,
    /// `teamId`: one id or several.
    team_ids: Vec<String>,
}

#[tracing::instrument(name = "organization.invite_member", skip_all)]
async fn invite_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let roles = roles_input(&mut v, "role");
    let organization_id = v.opt_string("organizationId");
    let resend = v.opt_bool("resend");
    let team_ids = match v.raw("teamId") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            v.invalid("teamId", "Invalid input");
            Vec::new()
        }
    };
    v.finish()?;
    let request = Invite {
        email,
        roles: roles.unwrap_or_default(),
        organization_id,
        resend: resend == Some(true),
        team_ids,
    };
    let current = caller(&state, &req, None).await?;
    let result = invite(&state, &current, request).await;
    current.answer_with(result)
}

async fn invite(state: &AppState, current: &Current, invite: Invite) -> Answer {
    let plugin = plugin(state)?;
    let settings = &plugin.settings;
    let Some(organization_id) = invite
        .organization_id
        .filter(|s| !s.is_empty())
        .or_else(|| active_organization(current))
    else {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    };
    let email = invite.email.to_lowercase();
    if !crate::auth::email::is_valid(&email) {
        return Err(ErrorCode::InvalidEmail.into());
    }
    let Some((member, _)) = state
        .store
        .find_member(&organization_id, &current.user.id)
        .await?
    else {
        return Err(org_error(BAD, "MEMBER_NOT_FOUND"));
    };
    if !plugin.may(&member.role, "invitation", "create") {
        return Err(org_error(
            FORBIDDEN,
            "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
        ));
    }
    let roles = role_list(&invite.roles);
    if roles.is_empty() {
        return Err(org_error(BAD, "ROLE_NOT_FOUND"));
    }
    let unknown: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| !plugin.role_known(r))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::message_only(
            BAD,
            format!("ROLE_NOT_FOUND: {}", unknown.join(", ")),
        ));
    }
    let with_creator_role = roles.iter().any(|r| r == plugin.creator_role());
    if with_creator_role && !plugin.is_creator(&member.role) {
        return Err(org_error(
            FORBIDDEN,
            "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE",
        ));
    }
    if state
        .store
        .find_member_by_email(&organization_id, &email)
        .await?
        .is_some()
    {
        return Err(org_error(
            BAD,
            "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
        ));
    }
    let now = state.clock.now();
    let pending = state
        .store
        .pending_invitations(&organization_id, Some(&email), now)
        .await?;
    if !pending.is_empty() && !invite.resend && !settings.cancel_pending_invitations_on_re_invite {
        return Err(org_error(
            BAD,
            "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION",
        ));
    }
    let Some(org) = state.store.find_organization(&organization_id).await? else {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    };
    let expires_at = now + Duration::seconds(settings.invitation_expires_in);
    if let (Some(existing), true) = (pending.first(), invite.resend) {
        if existing
            .role
            .as_deref()
            .is_some_and(|r| plugin.is_creator(r))
            && !plugin.is_creator(&member.role)
        {
            return Err(org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE",
            ));
        }
        state
            .store
            .set_invitation_expiry(&existing.id, expires_at)
            .await?;
        let updated = Invitation {
            expires_at,
            ..existing.clone()
        };
        send_invitation(state, plugin, &updated, &org, current).await;
        let body = invitation_body(state, plugin, &updated).await?;
        return Ok((Value::Object(body), Vec::new()));
    }
    if let (Some(existing), true) = (
        pending.first(),
        settings.cancel_pending_invitations_on_re_invite,
    ) {
        state
            .store
            .set_invitation_status(&existing.id, "canceled", None)
            .await?;
    }
    let open = state
        .store
        .pending_invitations(&organization_id, None, now)
        .await?;
    if open.len() as u64 >= settings.invitation_limit {
        return Err(org_error(FORBIDDEN, "INVITATION_LIMIT_REACHED"));
    }
    let team_ids = if settings.teams.enabled {
        invited_teams(state, plugin, &organization_id, &invite.team_ids).await?
    } else {
        Vec::new()
    };
    let invitation = Invitation {
        id: generate_id(),
        organization_id,
        email,
        role: Some(roles.join(",")),
        status: "pending".into(),
        expires_at,
        created_at: now,
        inviter_id: current.user.id.clone(),
    };
    state.store.insert_invitation(&invitation).await?;
    if !team_ids.is_empty() {
        state
            .store
            .set_invitation_teams(&invitation.id, Some(team_ids.join(",")))
            .await?;
    }
    send_invitation(state, plugin, &invitation, &org, current).await;
    let body = invitation_body(state, plugin, &invitation).await?;
    Ok((Value::Object(body), Vec::new()))
}

/// The teams an invitation names, each checked to be the organization's and not full.
async fn invited_teams(
    state: &AppState,
    plugin: &OrganizationPlugin,
    organization_id: &str,
    team_ids: &[String],
) -> Result<Vec<String>, ApiError> {
    if team_ids.iter().any(|t| t.contains(',')) {
        return Err(org_error(BAD, "INVALID_TEAM_ID"));
    }
    let ids: Vec<String> = team_ids.iter().filter(|t| !t.is_empty()).cloned().collect();
    for id in &ids {
        if state
            .store
            .find_team(id, Some(organization_id))
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "TEAM_NOT_FOUND"));
        }
        if let Some(max) = plugin.settings.teams.maximum_members_per_team {
            if state.store.list_team_members(id).await?.len() as u64 >= max {
                return Err(org_error(FORBIDDEN, "TEAM_MEMBER_LIMIT_REACHED"));
            }
        }
    }
    Ok(ids)
}

/// `sendInvitationEmail`, through `[email]` as an `organization-invitation` mail.
async fn send_invitation(
    state: &AppState,
    plugin: &OrganizationPlugin,
    invitation: &Invitation,
    org: &Organization,
    inviter: &Current,
) {
    if !plugin.settings.send_invitation_email {
        return;
    }
    let extra = Map::from_iter([
        ("invitationId".to_owned(), json!(invitation.id)),
        ("organizationId".to_owned(), json!(org.id)),
        ("organizationName".to_owned(), json!(org.name)),
        ("inviter".to_owned(), json!(inviter.user.email)),
        ("role".to_owned(), json!(invitation.role)),
    ]);
    state
        .mailer
        .send(Mail {
            kind: MailKind::OrganizationInvitation,
            email: invitation.email.clone(),
            user_id: String::new(),
            url: String::new(),
            token: String::new(),
            at: state.clock.now(),
            extra,
        })
        .await;
}

/// One invitation id from a body.
async fn invitation_id(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<String, ApiError> {
    let body = read_checked_body(state, req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let id = v.string("invitationId");
    v.finish()?;
    Ok(id)
}

/// The recipient checks of accept, reject and get: the invited email, verified when required.
fn check_recipient(
    plugin: &OrganizationPlugin,
    current: &Current,
    invitation: &Invitation,
    unverified: &'static str,
) -> Result<(), ApiError> {
    if !invitation
        .email
        .eq_ignore_ascii_case(&current.user.email.to_lowercase())
    {
        return Err(org_error(
            FORBIDDEN,
            "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
        ));
    }
    if plugin.settings.require_email_verification_on_invitation && !current.user.email_verified {
        return Err(org_error(FORBIDDEN, unverified));
    }
    Ok(())
}

#[tracing::instrument(name = "organization.accept_invitation", skip_all)]
async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = invitation_id(&state, &req, payload).await?;
    let mut current = caller(&state, &req, None).await?;
    let result = accept(&state, &mut current, &id).await;
    current.answer_with(result)
}

async fn accept(state: &AppState, current: &mut Current, id: &str) -> Answer {
    let plugin = plugin(state)?;
    let now = state.clock.now();
    let not_found = || org_error(BAD, "INVITATION_NOT_FOUND");
    let invitation = state.store.find_invitation(id).await?;
    let Some(invitation) = invitation.filter(|i| i.expires_at >= now && i.status == "pending")
    else {
        return Err(not_found());
    };
    check_recipient(
        plugin,
        current,
        &invitation,
        "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
    )?;
    let count = state
        .store
        .count_members(&invitation.organization_id)
        .await?;
    if state
        .store
        .find_organization(&invitation.organization_id)
        .await?
        .is_none()
    {
        return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
    }
    if count >= plugin.settings.membership_limit() {
        return Err(org_error(
            FORBIDDEN,
            "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED",
        ));
    }
    let teams = if plugin.settings.teams.enabled {
        let list = state.store.invitation_teams(id).await?.unwrap_or_default();
        let teams: Vec<String> = list
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        for team in &teams {
            let found = state
                .store
                .find_team(team, Some(&invitation.organization_id))
                .await?;
            if found.is_none() {
                return Err(org_error(BAD, "TEAM_NOT_FOUND"));
            }
        }
        teams
    } else {
        Vec::new()
    };
    let member = Member {
        id: generate_id(),
        organization_id: invitation.organization_id.clone(),
        user_id: current.user.id.clone(),
        role: role_list(&[invitation.role.clone().unwrap_or_default()]).join(","),
        created_at: now,
    };
    // The status moves from pending in the same transaction as the membership is added:
    // an invitation is used once.
    let Some(accepted) = state.store.accept_invitation(id, &member).await? else {
        return Err(not_found());
    };
    let limit = plugin.settings.teams.maximum_members_per_team;
    for team in &teams {
        let added = state
            .store
            .add_team_member(team, &current.user.id, limit, now)
            .await?;
        if added.is_none() {
            // As Better Auth's transaction does: no member, and the invitation is pending again.
            state.store.delete_member(&member.id).await?;
            state
                .store
                .set_invitation_status(id, "pending", Some("accepted"))
                .await?;
            return Err(org_error(FORBIDDEN, "TEAM_MEMBER_LIMIT_REACHED"));
        }
    }
    let mut cookies = Vec::new();
    if let [team] = teams.as_slice() {
        super::teams::set_active_team_of(state, current, Some(team)).await?;
        cookies = crate::flows::session::session_cookies(
            state,
            &current.session,
            &current.user,
            current.dont_remember,
        );
    }
    set_active_organization(state, current, Some(&accepted.organization_id)).await?;
    Ok((
        json!({
            "invitation": invitation_body(state, plugin, &accepted).await?,
            "member": member_json(&member, None),
        }),
        cookies,
    ))
}

#[tracing::instrument(name = "organization.reject_invitation", skip_all)]
async fn reject_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = invitation_id(&state, &req, payload).await?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let invitation = state.store.find_invitation(&id).await?;
        let Some(invitation) = invitation.filter(|i| i.status == "pending") else {
            return Err(ApiError::Custom {
                status: BAD,
                code: "INVITATION_NOT_FOUND",
                message: "Invitation not found!".into(),
            });
        };
        check_recipient(
            plugin,
            &current,
            &invitation,
            "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
        )?;
        if state
            .store
            .find_organization(&invitation.organization_id)
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        }
        let rejected = state
            .store
            .set_invitation_status(&id, "rejected", None)
            .await?;
        let invitation = match rejected {
            Some(i) => Value::Object(invitation_body(&state, plugin, &i).await?),
            None => Value::Null,
        };
        Ok((
            json!({ "invitation": invitation, "member": null }),
            Vec::new(),
        ))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.cancel_invitation", skip_all)]
async fn cancel_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = invitation_id(&state, &req, payload).await?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let Some(invitation) = state.store.find_invitation(&id).await? else {
            return Err(org_error(BAD, "INVITATION_NOT_FOUND"));
        };
        // Only a member of the invitation's own organization may cancel it.
        let Some((member, _)) = state
            .store
            .find_member(&invitation.organization_id, &current.user.id)
            .await?
        else {
            return Err(org_error(BAD, "MEMBER_NOT_FOUND"));
        };
        if !plugin.may(&member.role, "invitation", "cancel") {
            return Err(org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION",
            ));
        }
        if state
            .store
            .find_organization(&invitation.organization_id)
            .await?
            .is_none()
        {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        }
        let canceled = state
            .store
            .set_invitation_status(&id, "canceled", None)
            .await?;
        let body = match canceled {
            Some(i) => Value::Object(invitation_body(&state, plugin, &i).await?),
            None => Value::Null,
        };
        Ok((body, Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.get_invitation", skip_all)]
async fn get_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let id = v.string("id");
    v.finish()?;
    let current = caller(&state, &req, Some(not_authenticated)).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let now = state.clock.now();
        let invitation = state.store.find_invitation(&id).await?;
        let Some(invitation) = invitation.filter(|i| i.status == "pending" && i.expires_at >= now)
        else {
            return Err(org_error(BAD, "INVITATION_NOT_FOUND"));
        };
        check_recipient(
            plugin,
            &current,
            &invitation,
            "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
        )?;
        let Some(org) = state
            .store
            .find_organization(&invitation.organization_id)
            .await?
        else {
            return Err(org_error(BAD, "ORGANIZATION_NOT_FOUND"));
        };
        let Some((_, inviter)) = state
            .store
            .find_member(&invitation.organization_id, &invitation.inviter_id)
            .await?
        else {
            return Err(org_error(
                BAD,
                "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION",
            ));
        };
        let mut body = invitation_body(&state, plugin, &invitation).await?;
        body.insert("organizationName".into(), json!(org.name));
        body.insert("organizationSlug".into(), json!(org.slug));
        body.insert("inviterEmail".into(), json!(inviter.email));
        Ok((Value::Object(body), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.list_invitations", skip_all)]
async fn list_invitations(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let organization_id = v.opt_string("organizationId");
    v.finish()?;
    let current = caller(&state, &req, None).await?;
    let result = async {
        let plugin = plugin(&state)?;
        let Some(organization_id) = organization_id
            .filter(|s| !s.is_empty())
            .or_else(|| active_organization(&current))
        else {
            return Err(ApiError::message_only(BAD, "Organization ID is required"));
        };
        let Some((member, _)) = state
            .store
            .find_member(&organization_id, &current.user.id)
            .await?
        else {
            return Err(ApiError::message_only(
                FORBIDDEN,
                "You are not a member of this organization",
            ));
        };
        // Invitation ids work as links: only those who may invite see them.
        if !plugin.may(&member.role, "invitation", "create") {
            return Err(org_error(
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS",
            ));
        }
        let all = state.store.list_invitations(&organization_id).await?;
        let visible = plugin.visible_invitations(&member.role, all);
        let body = invitations_body(&state, plugin, &visible).await?;
        Ok((Value::Array(body), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

#[tracing::instrument(name = "organization.list_user_invitations", skip_all)]
async fn list_user_invitations(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let email = v.opt_string("email");
    v.finish()?;
    if email.is_some() {
        return Err(ApiError::message_only(
            BAD,
            "User email cannot be passed for client side API calls.",
        ));
    }
    let missing =
        || ApiError::message_only(BAD, "Missing session headers, or email query parameter.");
    let current = caller(&state, &req, Some(missing)).await?;
    let result = async {
        let plugin = plugin(&state)?;
        if !current.user.email_verified {
            return Err(org_error(
                FORBIDDEN,
                "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
            ));
        }
        let all = state.store.invitations_to(&current.user.email).await?;
        let (pending, names): (Vec<Invitation>, Vec<String>) = all
            .into_iter()
            .filter(|(i, _)| i.status == "pending")
            .unzip();
        let maps = invitation_maps(&state, plugin, &pending).await?;
        let body = maps
            .into_iter()
            .zip(names)
            .map(|(mut m, name)| {
                m.insert("organizationName".into(), json!(name));
                Value::Object(m)
            })
            .collect();
        Ok((Value::Array(body), Vec::new()))
    }
    .await;
    current.answer_with(result)
}

pub fn openapi() -> Vec<Op> {
    let invitation = || {
        object(
            vec![
                ("id", string()),
                ("email", string()),
                ("organizationId", string()),
                ("inviterId", string()),
                ("status", string()),
                ("expiresAt", string()),
                ("createdAt", string()),
            ],
            &["id", "email", "organizationId", "inviterId", "status"],
            true,
        )
        .into()
    };
    let open = || object(Vec::<(String, _)>::new(), &[], true).into();
    let id_body = || (vec![("invitationId", string())], ["invitationId"]);
    let tag = "Organization";
    let (accept, req) = id_body();
    let (reject, req2) = id_body();
    let (cancel, req3) = id_body();
    vec![
        Op::new(
            Post,
            "/organization/invite-member",
            tag,
            "Invite a user to an organization",
        )
        .body(
            vec![
                ("email", string()),
                ("role", string()),
                ("organizationId", string()),
                ("resend", boolean()),
            ],
            &["email", "role"],
        )
        .ok(invitation()),
        Op::new(
            Post,
            "/organization/accept-invitation",
            tag,
            "Accept an invitation",
        )
        .body(accept, &req)
        .ok(open()),
        Op::new(
            Post,
            "/organization/reject-invitation",
            tag,
            "Reject an invitation",
        )
        .body(reject, &req2)
        .ok(open()),
        Op::new(
            Post,
            "/organization/cancel-invitation",
            tag,
            "Cancel an invitation",
        )
        .body(cancel, &req3)
        .ok(invitation()),
        Op::new(
            Get,
            "/organization/get-invitation",
            tag,
            "Get an invitation",
        )
        .query("id", true)
        .ok(invitation()),
        Op::new(
            Get,
            "/organization/list-invitations",
            tag,
            "List an organization's invitations",
        )
        .query("organizationId", false)
        .ok(array_of(invitation())),
        Op::new(
            Get,
            "/organization/list-user-invitations",
            tag,
            "List the invitations the caller received",
        )
        .ok(array_of(invitation())),
    ]
}
