//! `[plugins.anonymous]`: Better Auth's `anonymous()` options
//! (`packages/better-auth/src/plugins/anonymous/index.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnonymousSettings {
    pub enabled: bool,
    /// `emailDomainName`: anonymous users get `temp-<id>@<domain>`; unset:
    /// `<id>@anonymous.placeholder.invalid`.
    pub email_domain_name: Option<String>,
    /// `disableDeleteAnonymousUser`: keep the anonymous user when it signs in otherwise, and
    /// refuse `/delete-anonymous-user`.
    pub disable_delete_anonymous_user: bool,
}

impl AnonymousSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if let Some(domain) = &self.email_domain_name {
            if !crate::auth::email::is_valid(&format!("temp-x@{domain}")) {
                errors.push(format!(
                    "plugins.anonymous.email_domain_name: `{domain}` is not a mail domain"
                ));
            }
        }
    }
}
