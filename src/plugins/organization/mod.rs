//! The organization plugin (Better Auth's `organization()`,
//! `packages/better-auth/src/plugins/organization/`):
//!
//! - config: `[plugins.organization]` ([`config::OrganizationSettings`]);
//! - schema: the `organization`, `member` and `invitation` tables and
//!   `session.activeOrganizationId`, as Better Auth's generator writes them;
//! - routes: `/organization/*` ([`orgs`]: create, check-slug, update, delete, get-organization,
//!   get-full-organization, set-active, list; [`members`]: list-members, get-active-member,
//!   get-active-member-role, update-member-role, remove-member, leave; [`invitations`]:
//!   invite-member, accept/reject/cancel-invitation, get-invitation, list-invitations,
//!   list-user-invitations) and `has-permission`;
//! - roles: Better Auth's default owner/admin/member statements (`access/statement.ts`), or the
//!   configured ones, checked with `crate::auth::access`.
//!
//! `add-member` is server-only in Better Auth (no HTTP route), and so is absent here.

pub mod config;
mod invitations;
mod members;
mod orgs;
mod teams;

use std::sync::Arc;

use anyhow::Context;

use actix_web::http::StatusCode;
use actix_web::web;
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::auth::access::{authorize, statements, Actions, Connector, Statements};
use crate::auth::crypto::iso;
use crate::auth::fields::{AdditionalField, FieldType};
use crate::config::Settings;
use crate::error::ApiError;
use crate::http::Current;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema, Table};
use crate::state::AppState;
use crate::store::organizations::{Invitation, Member, MemberUser, Organization};
use config::OrganizationSettings;

pub const KIND: Kind<AppState> = Kind {
    id: "organization",
    enabled: |s| s.plugins.organization.enabled,
    schema: |s| schema(s.plugins.organization.teams.enabled),
    build: |b| {
        let settings = b.settings.plugins.organization.clone();
        Box::pin(async move {
            if settings.teams.enabled {
                // An `invitation` table made before teams were on lacks `teamId`.
                let fields = Arc::new(IndexMap::from([("teamId".to_owned(), optional_string())]));
                crate::store::schema::add_missing_columns(
                    b.store.connection(),
                    "invitation",
                    &fields,
                )
                .await
                .context("adding invitation.teamId")?;
            }
            Ok(Arc::new(OrganizationPlugin { settings }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

/// The session column holding the active organization.
pub const ACTIVE_ORGANIZATION: &str = "activeOrganizationId";
/// The session column holding the active team (with teams on).
pub const ACTIVE_TEAM: &str = "activeTeamId";

/// Better Auth's tables, as its migration generator writes them for each dialect (in this
/// order: `member` and `invitation` reference `organization`).
const TABLES: [Table; 2] = [
    Table {
        name: "organization",
        sqlite: &[
            r#"create table "organization" ("id" text not null primary key, "name" text not null, "slug" text not null unique, "logo" text, "createdAt" date not null, "metadata" text)"#,
        ],
        postgres: &[
            r#"create table "organization" ("id" text not null primary key, "name" text not null, "slug" text not null unique, "logo" text, "createdAt" timestamptz not null, "metadata" text)"#,
        ],
        mysql: &[
            r#"create table `organization` (`id` varchar(36) not null primary key, `name` varchar(255) not null, `slug` varchar(255) not null unique, `logo` text, `createdAt` timestamp(3) not null, `metadata` text)"#,
        ],
    },
    Table {
        name: "member",
        sqlite: &[
            r#"create table "member" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "userId" text not null references "user" ("id") on delete cascade, "role" text not null, "createdAt" date not null)"#,
            r#"create index "member_organizationId_idx" on "member" ("organizationId")"#,
            r#"create index "member_userId_idx" on "member" ("userId")"#,
        ],
        postgres: &[
            r#"create table "member" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "userId" text not null references "user" ("id") on delete cascade, "role" text not null, "createdAt" timestamptz not null)"#,
            r#"create index "member_organizationId_idx" on "member" ("organizationId")"#,
            r#"create index "member_userId_idx" on "member" ("userId")"#,
        ],
        mysql: &[
            r#"create table `member` (`id` varchar(36) not null primary key, `organizationId` varchar(36) not null references `organization` (`id`) on delete cascade, `userId` varchar(36) not null references `user` (`id`) on delete cascade, `role` varchar(255) not null, `createdAt` timestamp(3) not null)"#,
            r#"create index `member_organizationId_idx` on `member` (`organizationId`)"#,
            r#"create index `member_userId_idx` on `member` (`userId`)"#,
        ],
    },
];

/// `invitation` without teams.
const INVITATION: Table = Table {
    name: "invitation",
    sqlite: &[
        r#"create table "invitation" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "email" text not null, "role" text, "status" text not null, "expiresAt" date not null, "createdAt" date not null, "inviterId" text not null references "user" ("id") on delete cascade)"#,
        r#"create index "invitation_organizationId_idx" on "invitation" ("organizationId")"#,
        r#"create index "invitation_email_idx" on "invitation" ("email")"#,
    ],
    postgres: &[
        r#"create table "invitation" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "email" text not null, "role" text, "status" text not null, "expiresAt" timestamptz not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "inviterId" text not null references "user" ("id") on delete cascade)"#,
        r#"create index "invitation_organizationId_idx" on "invitation" ("organizationId")"#,
        r#"create index "invitation_email_idx" on "invitation" ("email")"#,
    ],
    mysql: &[
        r#"create table `invitation` (`id` varchar(36) not null primary key, `organizationId` varchar(36) not null references `organization` (`id`) on delete cascade, `email` varchar(255) not null, `role` varchar(255), `status` varchar(255) not null, `expiresAt` timestamp(3) not null, `createdAt` timestamp(3) default CURRENT_TIMESTAMP(3) not null, `inviterId` varchar(36) not null references `user` (`id`) on delete cascade)"#,
        r#"create index `invitation_organizationId_idx` on `invitation` (`organizationId`)"#,
        r#"create index `invitation_email_idx` on `invitation` (`email`)"#,
    ],
};

/// `invitation` with teams: its `teamId` holds comma-separated team ids.
const INVITATION_WITH_TEAMS: Table = Table {
    name: "invitation",
    sqlite: &[
        r#"create table "invitation" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "email" text not null, "role" text, "teamId" text, "status" text not null, "expiresAt" date not null, "createdAt" date not null, "inviterId" text not null references "user" ("id") on delete cascade)"#,
        r#"create index "invitation_organizationId_idx" on "invitation" ("organizationId")"#,
        r#"create index "invitation_email_idx" on "invitation" ("email")"#,
    ],
    postgres: &[
        r#"create table "invitation" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "email" text not null, "role" text, "teamId" text, "status" text not null, "expiresAt" timestamptz not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "inviterId" text not null references "user" ("id") on delete cascade)"#,
        r#"create index "invitation_organizationId_idx" on "invitation" ("organizationId")"#,
        r#"create index "invitation_email_idx" on "invitation" ("email")"#,
    ],
    mysql: &[
        r#"create table `invitation` (`id` varchar(36) not null primary key, `organizationId` varchar(36) not null references `organization` (`id`) on delete cascade, `email` varchar(255) not null, `role` varchar(255), `teamId` varchar(255), `status` varchar(255) not null, `expiresAt` timestamp(3) not null, `createdAt` timestamp(3) default CURRENT_TIMESTAMP(3) not null, `inviterId` varchar(36) not null references `user` (`id`) on delete cascade)"#,
        r#"create index `invitation_organizationId_idx` on `invitation` (`organizationId`)"#,
        r#"create index `invitation_email_idx` on `invitation` (`email`)"#,
    ],
};

/// The tables of teams (`team` references `organization`, `teamMember` references `team`).
const TEAM_TABLES: [Table; 2] = [
    Table {
        name: "team",
        sqlite: &[
            r#"create table "team" ("id" text not null primary key, "name" text not null, "memberCount" integer not null, "organizationId" text not null references "organization" ("id") on delete cascade, "createdAt" date not null, "updatedAt" date)"#,
            r#"create index "team_organizationId_idx" on "team" ("organizationId")"#,
        ],
        postgres: &[
            r#"create table "team" ("id" text not null primary key, "name" text not null, "memberCount" integer not null, "organizationId" text not null references "organization" ("id") on delete cascade, "createdAt" timestamptz not null, "updatedAt" timestamptz)"#,
            r#"create index "team_organizationId_idx" on "team" ("organizationId")"#,
        ],
        mysql: &[
            r#"create table `team` (`id` varchar(36) not null primary key, `name` text not null, `memberCount` integer not null, `organizationId` varchar(36) not null references `organization` (`id`) on delete cascade, `createdAt` timestamp(3) not null, `updatedAt` timestamp(3))"#,
            r#"create index `team_organizationId_idx` on `team` (`organizationId`)"#,
        ],
    },
    Table {
        name: "teamMember",
        sqlite: &[
            r#"create table "teamMember" ("id" text not null primary key, "teamId" text not null references "team" ("id") on delete cascade, "userId" text not null references "user" ("id") on delete cascade, "membershipKey" text unique, "createdAt" date)"#,
            r#"create index "teamMember_teamId_idx" on "teamMember" ("teamId")"#,
            r#"create index "teamMember_userId_idx" on "teamMember" ("userId")"#,
        ],
        postgres: &[
            r#"create table "teamMember" ("id" text not null primary key, "teamId" text not null references "team" ("id") on delete cascade, "userId" text not null references "user" ("id") on delete cascade, "membershipKey" text unique, "createdAt" timestamptz)"#,
            r#"create index "teamMember_teamId_idx" on "teamMember" ("teamId")"#,
            r#"create index "teamMember_userId_idx" on "teamMember" ("userId")"#,
        ],
        mysql: &[
            r#"create table `teamMember` (`id` varchar(36) not null primary key, `teamId` varchar(36) not null references `team` (`id`) on delete cascade, `userId` varchar(36) not null references `user` (`id`) on delete cascade, `membershipKey` varchar(255) unique, `createdAt` timestamp(3))"#,
            r#"create index `teamMember_teamId_idx` on `teamMember` (`teamId`)"#,
            r#"create index `teamMember_userId_idx` on `teamMember` (`userId`)"#,
        ],
    },
];

fn optional_string() -> AdditionalField {
    AdditionalField {
        field_type: FieldType::String,
        required: Some(false),
        default: None,
        input: false,
        returned: true,
    }
}

/// Better Auth's `organization()` schema, with its team tables and columns when `teams`.
fn schema(teams: bool) -> Schema {
    let mut tables = TABLES.to_vec();
    let mut session_fields = IndexMap::from([(ACTIVE_ORGANIZATION.to_owned(), optional_string())]);
    if teams {
        tables.push(INVITATION_WITH_TEAMS);
        tables.extend(TEAM_TABLES);
        session_fields.insert(ACTIVE_TEAM.to_owned(), optional_string());
    } else {
        tables.push(INVITATION);
    }
    Schema {
        tables,
        user_fields: IndexMap::new(),
        session_fields,
    }
}

/// Better Auth's `ORGANIZATION_ERROR_CODES` (`error-codes.ts`) that this plugin answers.
const ERROR_MESSAGES: &[(&str, &str)] = &[
    (
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION",
        "You are not allowed to create a new organization",
    ),
    (
        "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS",
        "You have reached the maximum number of organizations",
    ),
    ("ORGANIZATION_ALREADY_EXISTS", "Organization already exists"),
    (
        "ORGANIZATION_SLUG_ALREADY_TAKEN",
        "Organization slug already taken",
    ),
    ("ORGANIZATION_NOT_FOUND", "Organization not found"),
    (
        "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
        "User is not a member of the organization",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION",
        "You are not allowed to update this organization",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
        "You are not allowed to delete this organization",
    ),
    ("NO_ACTIVE_ORGANIZATION", "No active organization"),
    (
        "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
        "User is already a member of this organization",
    ),
    ("MEMBER_NOT_FOUND", "Member not found"),
    ("ROLE_NOT_FOUND", "Role not found"),
    (
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
        "You cannot leave the organization as the only owner",
    ),
    (
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
        "You cannot leave the organization without an owner",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER",
        "You are not allowed to delete this member",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
        "You are not allowed to invite users to this organization",
    ),
    (
        "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION",
        "User is already invited to this organization",
    ),
    ("INVITATION_NOT_FOUND", "Invitation not found"),
    (
        "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
        "You are not the recipient of the invitation",
    ),
    (
        "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
        "Email verification required before accepting or rejecting invitation",
    ),
    (
        "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
        "Email verification required to view or list invitations for the session email",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION",
        "You are not allowed to cancel this invitation",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS",
        "You are not allowed to list invitations for this organization",
    ),
    (
        "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION",
        "Inviter is no longer a member of the organization",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE",
        "You are not allowed to invite a user with this role",
    ),
    (
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
        "You are not allowed to update this member",
    ),
    (
        "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED",
        "Organization membership limit reached",
    ),
    ("INVITATION_LIMIT_REACHED", "Invitation limit reached"),
    (
        "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION",
        "You are not a member of this organization",
    ),
];

/// Better Auth's `APIError.from(status, ORGANIZATION_ERROR_CODES.<code>)`.
fn org_error(status: StatusCode, code: &'static str) -> ApiError {
    let message = ERROR_MESSAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, m)| m);
    ApiError::Custom {
        status,
        code,
        message: message.into(),
    }
}

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;

/// Better Auth's `access/statement.ts` `defaultRoles`.
fn default_roles() -> IndexMap<String, Statements> {
    let crud: &[&str] = &["create", "update", "delete"];
    let ac: &[&str] = &["create", "read", "update", "delete"];
    let invitation: &[&str] = &["create", "cancel"];
    IndexMap::from([
        (
            "admin".to_owned(),
            statements(&[
                ("organization", &["update"]),
                ("invitation", invitation),
                ("member", crud),
                ("team", crud),
                ("ac", ac),
            ]),
        ),
        (
            "owner".to_owned(),
            statements(&[
                ("organization", &["update", "delete"]),
                ("member", crud),
                ("invitation", invitation),
                ("team", crud),
                ("ac", ac),
            ]),
        ),
        (
            "member".to_owned(),
            statements(&[
                ("organization", &[]),
                ("member", &[]),
                ("invitation", &[]),
                ("team", &[]),
                ("ac", &["read"]),
            ]),
        ),
    ])
}

/// Better Auth's `parseRoleList`: a comma-separated role value as trimmed, non-empty names.
pub fn parse_roles(roles: &str) -> Vec<&str> {
    roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect()
}

pub struct OrganizationPlugin {
    settings: OrganizationSettings,
}

impl OrganizationPlugin {
    fn creator_role(&self) -> &str {
        &self.settings.creator_role
    }

    fn is_creator(&self, role: &str) -> bool {
        parse_roles(role).contains(&self.creator_role())
    }

    /// Better Auth's `hasPermission` (`permission.ts`): the configured roles, else the defaults;
    /// one of the member's roles must grant every requested action. With
    /// `allow_creator_all`, the creator role may do anything (update-member-role).
    pub fn has_permission(
        &self,
        role: &str,
        permissions: &IndexMap<String, Actions>,
        allow_creator_all: bool,
    ) -> bool {
        if allow_creator_all && self.is_creator(role) {
            return true;
        }
        let configured;
        let roles = if self.settings.roles.is_empty() {
            configured = default_roles();
            &configured
        } else {
            &self.settings.roles
        };
        parse_roles(role)
            .into_iter()
            .filter_map(|r| roles.get(r))
            .any(|s| authorize(s, permissions, Connector::And).success)
    }

    /// Whether `role` may do `action` on `resource`.
    fn may(&self, role: &str, resource: &str, action: &str) -> bool {
        let request =
            IndexMap::from([(resource.to_owned(), Actions::from(vec![action.to_owned()]))]);
        self.has_permission(role, &request, false)
    }

    /// The role names invitations and role updates accept: the defaults and the configured.
    fn role_known(&self, role: &str) -> bool {
        default_roles().contains_key(role) || self.settings.roles.contains_key(role)
    }

    /// Better Auth's `withoutCreatorRoleInvitations`: invitations granting the creator role
    /// are shown only to a member holding it.
    fn visible_invitations(&self, role: &str, invitations: Vec<Invitation>) -> Vec<Invitation> {
        if self.is_creator(role) {
            return invitations;
        }
        invitations
            .into_iter()
            .filter(|i| !i.role.as_deref().is_some_and(|r| self.is_creator(r)))
            .collect()
    }
}

fn plugin(state: &AppState) -> Result<&OrganizationPlugin, ApiError> {
    state
        .plugins
        .get::<OrganizationPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the organization plugin is not enabled").into())
}

/// The session's active organization (`""` counts as none, as JavaScript's `||` does).
fn active_organization(current: &Current) -> Option<String> {
    current
        .session
        .extra
        .get(ACTIVE_ORGANIZATION)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Better Auth's `adapter.setActiveOrganization`: the session row (or Redis entry), and the
/// caller's session as the response's cookies will describe it.
async fn set_active_organization(
    state: &AppState,
    current: &mut Current,
    organization_id: Option<&str>,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let value = organization_id.map_or(Value::Null, |id| Value::String(id.to_owned()));
    let values = Map::from_iter([(ACTIVE_ORGANIZATION.to_owned(), value.clone())]);
    state
        .store
        .update_session_extra(&current.session.token, &values, now)
        .await?;
    current
        .session
        .extra
        .insert(ACTIVE_ORGANIZATION.to_owned(), value);
    current.session.updated_at = now;
    Ok(())
}

/// How an answer writes `metadata`: Better Auth returns it parsed after create and update,
/// and as the stored text everywhere else.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Metadata {
    Stored,
    /// Parsed; left out when there is none.
    Parsed,
}

fn organization_json(org: &Organization, metadata: Metadata) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(org.id));
    m.insert("name".into(), json!(org.name));
    m.insert("slug".into(), json!(org.slug));
    m.insert("logo".into(), json!(org.logo));
    m.insert("createdAt".into(), json!(iso(&org.created_at)));
    match metadata {
        Metadata::Stored => {
            m.insert("metadata".into(), json!(org.metadata));
        }
        Metadata::Parsed => {
            if let Some(text) = org.metadata.as_deref().filter(|s| !s.is_empty()) {
                let parsed =
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
                m.insert("metadata".into(), parsed);
            }
        }
    }
    m
}

fn member_json(member: &Member, user: Option<&MemberUser>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(member.id));
    m.insert("organizationId".into(), json!(member.organization_id));
    m.insert("userId".into(), json!(member.user_id));
    m.insert("role".into(), json!(member.role));
    m.insert("createdAt".into(), json!(iso(&member.created_at)));
    if let Some(u) = user {
        m.insert(
            "user".into(),
            json!({ "id": u.id, "name": u.name, "email": u.email, "image": u.image }),
        );
    }
    Value::Object(m)
}

/// An invitation's JSON; with teams on, its `teamId` too (read from the row).
async fn invitation_body(
    state: &AppState,
    plugin: &OrganizationPlugin,
    i: &Invitation,
) -> Result<Map<String, Value>, ApiError> {
    let mut one = invitation_maps(state, plugin, std::slice::from_ref(i)).await?;
    Ok(one.pop().unwrap_or_default())
}

/// Each invitation's JSON (`invitation_body`).
async fn invitations_body(
    state: &AppState,
    plugin: &OrganizationPlugin,
    list: &[Invitation],
) -> Result<Vec<Value>, ApiError> {
    let maps = invitation_maps(state, plugin, list).await?;
    Ok(maps.into_iter().map(Value::Object).collect())
}

/// Each invitation's JSON object, in order; with teams on, the `teamId` of each, all read by
/// one query.
async fn invitation_maps(
    state: &AppState,
    plugin: &OrganizationPlugin,
    list: &[Invitation],
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut teams = if plugin.settings.teams.enabled && !list.is_empty() {
        let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
        Some(state.store.invitations_teams(&ids).await?)
    } else {
        None
    };
    Ok(list
        .iter()
        .map(|i| {
            let mut m = invitation_json(i);
            if let Some(teams) = teams.as_mut() {
                m.insert("teamId".into(), json!(teams.remove(&i.id).flatten()));
            }
            m
        })
        .collect())
}

fn invitation_json(i: &Invitation) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(i.id));
    m.insert("organizationId".into(), json!(i.organization_id));
    m.insert("email".into(), json!(i.email));
    m.insert("role".into(), json!(i.role));
    m.insert("status".into(), json!(i.status));
    m.insert("expiresAt".into(), json!(iso(&i.expires_at)));
    m.insert("createdAt".into(), json!(iso(&i.created_at)));
    m.insert("inviterId".into(), json!(i.inviter_id));
    m
}

/// `z.union([z.string(), z.array(z.string())])` of roles, as one list; `None` (with zod's
/// issue recorded) otherwise.
fn roles_input(v: &mut crate::http::extract::Validator<'_>, key: &str) -> Option<Vec<String>> {
    match v.raw(key) {
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => {
            v.invalid(key, "Invalid input");
            None
        }
    }
}

/// The roles of a request, parsed (`parseRoleList` over every item).
fn role_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| parse_roles(s))
        .map(str::to_owned)
        .collect()
}

#[async_trait]
impl Plugin<AppState> for OrganizationPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        orgs::configure(cfg);
        members::configure(cfg);
        invitations::configure(cfg);
        if self.settings.teams.enabled {
            teams::configure(cfg);
        }
    }

    fn openapi(&self, _settings: &Settings) -> Vec<Op> {
        let mut ops = orgs::openapi();
        ops.extend(members::openapi());
        ops.extend(invitations::openapi());
        if self.settings.teams.enabled {
            ops.extend(teams::openapi());
        }
        ops
    }
}

/// The caller's session (Better Auth's `orgSessionMiddleware`: 401 `UNAUTHORIZED`), or
/// `missing` instead of that 401 where a route answers its own.
async fn caller(
    state: &AppState,
    req: &actix_web::HttpRequest,
    missing: Option<fn() -> ApiError>,
) -> Result<Current, ApiError> {
    use crate::error::ErrorCode;
    let result = Current::require(state, req, crate::http::Need::Session).await;
    let Some(missing) = missing else {
        return result;
    };
    match result {
        Err(ApiError::Code(ErrorCode::Unauthorized)) => Err(missing()),
        Err(ApiError::WithCookies(inner, cookies))
            if matches!(*inner, ApiError::Code(ErrorCode::Unauthorized)) =>
        {
            Err(missing().with_cookies(cookies))
        }
        other => other,
    }
}
