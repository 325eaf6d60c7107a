//! `[plugins.admin]`: Better Auth's `admin()` options (`packages/better-auth/src/plugins/admin/`).

use indexmap::IndexMap;
use serde::Deserialize;

use crate::auth::access::Statements;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    pub enabled: bool,
    /// The role of new users (`defaultRole`).
    pub default_role: String,
    /// Roles that count as admins (`adminRoles`): they may not be impersonated without
    /// `impersonate-admins`, and `admin_emails` get the first.
    pub admin_roles: Vec<String>,
    /// Users with every permission whatever their role (`adminUserIds`).
    pub admin_user_ids: Vec<String>,
    /// Bootstrap: a user created with a matching email (exact, or `*@domain`) gets
    /// `admin_roles[0]`. This service's own option.
    pub admin_emails: Vec<String>,
    /// Lifetime of an impersonation session, seconds (`impersonationSessionDuration`).
    pub impersonation_session_duration: i64,
    pub default_ban_reason: Option<String>,
    /// Seconds; unset: bans do not expire (`defaultBanExpiresIn`).
    pub default_ban_expires_in: Option<i64>,
    pub banned_user_message: String,
    pub allow_impersonating_admins: bool,
    /// Custom roles, resource → actions (`roles`); they replace the default `admin` and `user`.
    pub roles: IndexMap<String, Statements>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            default_role: "user".into(),
            admin_roles: vec!["admin".into()],
            admin_user_ids: Vec::new(),
            admin_emails: Vec::new(),
            impersonation_session_duration: 3600,
            default_ban_reason: None,
            default_ban_expires_in: None,
            banned_user_message: "You have been banned from this application. Please contact \
                                  support if you believe this is an error."
                .into(),
            allow_impersonating_admins: false,
            roles: IndexMap::new(),
        }
    }
}

impl AdminSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        // Better Auth refuses admin roles its roles do not define.
        let defined: Vec<String> = if self.roles.is_empty() {
            vec!["admin".into(), "user".into()]
        } else {
            self.roles.keys().map(|r| r.to_lowercase()).collect()
        };
        let invalid: Vec<&str> = self
            .admin_roles
            .iter()
            .filter(|r| !defined.contains(&r.to_lowercase()))
            .map(String::as_str)
            .collect();
        if !invalid.is_empty() {
            errors.push(format!(
                "plugins.admin.admin_roles: {} not defined in plugins.admin.roles",
                invalid.join(", ")
            ));
        }
        if self.admin_roles.is_empty() {
            errors.push("plugins.admin.admin_roles: at least one role".into());
        }
        if self.impersonation_session_duration <= 0
            || self.default_ban_expires_in.is_some_and(|s| s <= 0)
        {
            errors.push(
                "plugins.admin.impersonation_session_duration / default_ban_expires_in: must be \
                 positive"
                    .into(),
            );
        }
        for pattern in &self.admin_emails {
            let valid = match pattern.strip_prefix("*@") {
                Some(domain) => !domain.is_empty() && !domain.contains('@'),
                None => crate::auth::email::is_valid(pattern),
            };
            if !valid {
                errors.push(format!(
                    "plugins.admin.admin_emails: `{pattern}` is neither an email nor `*@domain`"
                ));
            }
        }
    }

    /// Whether `email` (normalised) matches `admin_emails`.
    pub fn is_admin_email(&self, email: &str) -> bool {
        self.admin_emails
            .iter()
            .any(|p| match p.strip_prefix("*@") {
                Some(domain) => email
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain)),
                None => p.eq_ignore_ascii_case(email),
            })
    }
}
