//! The admin plugin (Better Auth's `admin()`, `packages/better-auth/src/plugins/admin/`):
//!
//! - config: `[plugins.admin]` ([`config::AdminSettings`]);
//! - schema: `user.role`, `user.banned`, `user.banReason`, `user.banExpires`,
//!   `session.impersonatedBy`;
//! - routes: `/admin/*` ([`routes`]): users, roles, bans, sessions, impersonation, permissions;
//! - hooks: new users get the default role (or the first admin role when their email is in
//!   `admin_emails`); a banned user gets no session (`403 BANNED_USER`) until the ban expires;
//!   impersonation sessions are left out of the impersonated user's `list-sessions`.

pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web;
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::auth::access::{authorize, statements, Actions, Connector, Statements};
use crate::auth::fields::{AdditionalField, FieldType};
use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema};
use crate::state::AppState;
use crate::store::{Session, User};
use config::AdminSettings;

pub const KIND: Kind<AppState> = Kind {
    id: "admin",
    enabled: |s| s.plugins.admin.enabled,
    schema: |_| schema(),
    build: |b| {
        let settings = b.settings.plugins.admin.clone();
        Box::pin(async move { Ok(Arc::new(AdminPlugin { settings }) as Arc<dyn Plugin<AppState>>) })
    },
};

fn field(field_type: FieldType, default: Option<Value>) -> AdditionalField {
    AdditionalField {
        field_type,
        required: Some(false),
        default,
        input: false,
        returned: true,
    }
}

/// Better Auth's `admin/schema.ts`.
fn schema() -> Schema {
    Schema {
        tables: Vec::new(),
        user_fields: IndexMap::from([
            ("role".to_owned(), field(FieldType::String, None)),
            (
                "banned".to_owned(),
                field(FieldType::Boolean, Some(json!(false))),
            ),
            ("banReason".to_owned(), field(FieldType::String, None)),
            ("banExpires".to_owned(), field(FieldType::Date, None)),
        ]),
        session_fields: IndexMap::from([(
            "impersonatedBy".to_owned(),
            field(FieldType::String, None),
        )]),
    }
}

/// The plugin's error codes (Better Auth's `ADMIN_ERROR_CODES`).
#[derive(Debug, Clone, Copy)]
pub enum AdminError {
    UserAlreadyExistsUseAnotherEmail,
    YouCannotBanYourself,
    NotAllowedToChangeRole,
    NotAllowedToCreateUsers,
    NotAllowedToListUsers,
    NotAllowedToListUsersSessions,
    NotAllowedToBanUsers,
    NotAllowedToImpersonateUsers,
    NotAllowedToRevokeUsersSessions,
    NotAllowedToDeleteUsers,
    NotAllowedToSetUsersPassword,
    BannedUser,
    NotAllowedToGetUser,
    NoDataToUpdate,
    NotAllowedToUpdateUsers,
    YouCannotRemoveYourself,
    NotAllowedToSetNonExistentValue,
    YouCannotImpersonateAdmins,
    InvalidRoleType,
    NotAllowedToSetUsersEmail,
    NotAllowedToSetUsersPhoneNumber,
    PasswordCannotBeUpdatedViaUpdateUser,
    UserIdCannotBeUpdated,
}

impl AdminError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use AdminError::*;
        const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        match self {
            UserAlreadyExistsUseAnotherEmail => (
                BAD,
                "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
                "User already exists. Use another email.",
            ),
            YouCannotBanYourself => (BAD, "YOU_CANNOT_BAN_YOURSELF", "You cannot ban yourself"),
            NotAllowedToChangeRole => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
                "You are not allowed to change users role",
            ),
            NotAllowedToCreateUsers => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS",
                "You are not allowed to create users",
            ),
            NotAllowedToListUsers => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
                "You are not allowed to list users",
            ),
            NotAllowedToListUsersSessions => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
                "You are not allowed to list users sessions",
            ),
            NotAllowedToBanUsers => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS",
                "You are not allowed to ban users",
            ),
            NotAllowedToImpersonateUsers => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS",
                "You are not allowed to impersonate users",
            ),
            NotAllowedToRevokeUsersSessions => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS",
                "You are not allowed to revoke users sessions",
            ),
            NotAllowedToDeleteUsers => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS",
                "You are not allowed to delete users",
            ),
            NotAllowedToSetUsersPassword => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD",
                "You are not allowed to set users password",
            ),
            BannedUser => (
                FORBIDDEN,
                "BANNED_USER",
                "You have been banned from this application",
            ),
            NotAllowedToGetUser => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_GET_USER",
                "You are not allowed to get user",
            ),
            NoDataToUpdate => (BAD, "NO_DATA_TO_UPDATE", "No data to update"),
            NotAllowedToUpdateUsers => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS",
                "You are not allowed to update users",
            ),
            YouCannotRemoveYourself => (
                BAD,
                "YOU_CANNOT_REMOVE_YOURSELF",
                "You cannot remove yourself",
            ),
            NotAllowedToSetNonExistentValue => (
                BAD,
                "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE",
                "You are not allowed to set a non-existent role value",
            ),
            YouCannotImpersonateAdmins => (
                FORBIDDEN,
                "YOU_CANNOT_IMPERSONATE_ADMINS",
                "You cannot impersonate admins",
            ),
            InvalidRoleType => (BAD, "INVALID_ROLE_TYPE", "Invalid role type"),
            NotAllowedToSetUsersEmail => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL",
                "You are not allowed to update users email",
            ),
            NotAllowedToSetUsersPhoneNumber => (
                FORBIDDEN,
                "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PHONE_NUMBER",
                "You are not allowed to update users phone number",
            ),
            PasswordCannotBeUpdatedViaUpdateUser => (
                BAD,
                "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
                "Password cannot be updated through update-user. Use the set-user-password \
                 endpoint instead",
            ),
            UserIdCannotBeUpdated => (
                BAD,
                "USER_ID_CANNOT_BE_UPDATED",
                "User id cannot be updated",
            ),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let (status, code, message) = e.parts();
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }
}

/// Better Auth's `admin/access/statement.ts` default roles.
fn default_roles() -> IndexMap<String, Statements> {
    let session: &[&str] = &["list", "revoke", "delete"];
    IndexMap::from([
        (
            "admin".to_owned(),
            statements(&[
                (
                    "user",
                    &[
                        "create",
                        "list",
                        "set-role",
                        "ban",
                        "impersonate",
                        "delete",
                        "set-password",
                        "set-email",
                        "set-phone",
                        "get",
                        "update",
                    ],
                ),
                ("session", session),
            ]),
        ),
        (
            "user".to_owned(),
            statements(&[("user", &[]), ("session", &[])]),
        ),
    ])
}

pub struct AdminPlugin {
    settings: AdminSettings,
}

impl AdminPlugin {
    /// The roles permissions are checked against: the configured ones, else the defaults.
    fn roles(&self) -> IndexMap<String, Statements> {
        if self.settings.roles.is_empty() {
            default_roles()
        } else {
            self.settings.roles.clone()
        }
    }

    /// Whether a role is defined (custom roles only: with the defaults any value goes, as in
    /// Better Auth).
    fn role_exists(&self, role: &str) -> bool {
        self.settings.roles.is_empty() || self.settings.roles.contains_key(role)
    }

    /// Better Auth's `hasPermission`: `admin_user_ids` may do anything; otherwise one of the
    /// user's roles (comma-separated, default role when none) must grant every permission.
    pub fn has_permission(
        &self,
        user_id: &str,
        role: Option<&str>,
        permissions: &IndexMap<String, Actions>,
    ) -> bool {
        if self.settings.admin_user_ids.iter().any(|id| id == user_id) {
            return true;
        }
        let roles = self.roles();
        role.unwrap_or(&self.settings.default_role)
            .split(',')
            .filter_map(|r| roles.get(r))
            .any(|statements| authorize(statements, permissions, Connector::And).success)
    }

    /// Whether `user` may do `action` on `resource`.
    fn may(&self, user: &User, resource: &str, action: &str) -> bool {
        let request =
            IndexMap::from([(resource.to_owned(), Actions::from(vec![action.to_owned()]))]);
        self.has_permission(&user.id, role_of(user), &request)
    }

    /// Whether `user` holds one of the admin roles or is an admin by id.
    fn is_admin(&self, user: &User) -> bool {
        let roles = role_of(user).unwrap_or(&self.settings.default_role);
        roles
            .split(',')
            .any(|r| self.settings.admin_roles.iter().any(|a| a.trim() == r))
            || self.settings.admin_user_ids.contains(&user.id)
    }
}

/// The user's `role` column.
fn role_of(user: &User) -> Option<&str> {
    user.extra.get("role").and_then(Value::as_str)
}

#[async_trait]
impl Plugin<AppState> for AdminPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, settings: &Settings) -> Vec<Op> {
        routes::openapi(settings)
    }

    /// Sessions made by impersonation are left out of the impersonated user's own list
    /// (Better Auth's `hooks.after` on `/list-sessions`).
    fn listed(&self, session: &Session) -> bool {
        session
            .extra
            .get("impersonatedBy")
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
    }

    /// `databaseHooks.user.create.before`: the default role, unless one is given; this
    /// service's `admin_emails` bootstrap gives the first admin role.
    async fn on_user_create(&self, _state: &AppState, user: &mut User) -> Result<(), ApiError> {
        let role = if self.settings.is_admin_email(&user.email) {
            self.settings.admin_roles.first().cloned()
        } else {
            None
        };
        let slot = user.extra.entry("role").or_insert(Value::Null);
        if let Some(role) = role {
            *slot = Value::String(role);
        } else if slot.is_null() {
            *slot = Value::String(self.settings.default_role.clone());
        }
        Ok(())
    }

    /// `databaseHooks.session.create.before`: no session for a banned user; an expired ban is
    /// lifted instead.
    async fn before_session_create(
        &self,
        state: &AppState,
        session: &mut Session,
    ) -> Result<(), ApiError> {
        let Some(user) = state.store.find_user_by_id(&session.user_id).await? else {
            return Ok(());
        };
        if user.extra.get("banned") != Some(&Value::Bool(true)) {
            return Ok(());
        }
        let now = state.clock.now();
        let expired = user
            .extra
            .get("banExpires")
            .and_then(Value::as_str)
            .and_then(crate::auth::fields::parse_date)
            .is_some_and(|at| at < now);
        if expired {
            state
                .store
                .update_user(&user.id, &crate::flows::operator::unbanned(), now)
                .await?;
            return Ok(());
        }
        tracing::info!("session refused: the user is banned");
        Err(ApiError::Custom {
            status: StatusCode::FORBIDDEN,
            code: "BANNED_USER",
            message: self.settings.banned_user_message.clone().into(),
        })
    }
}
