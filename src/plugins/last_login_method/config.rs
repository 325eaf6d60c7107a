//! `[plugins.last_login_method]`: Better Auth's `lastLoginMethod()` options
//! (`packages/better-auth/src/plugins/last-login-method/index.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LastLoginMethodSettings {
    pub enabled: bool,
    /// `cookieName`: the full name, no prefix added.
    pub cookie_name: String,
    /// `maxAge`, seconds.
    pub max_age: i64,
    /// `storeInDatabase`: also `user.lastLoginMethod`.
    pub store_in_database: bool,
}

impl Default for LastLoginMethodSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            cookie_name: "better-auth.last_used_login_method".into(),
            max_age: 2_592_000,
            store_in_database: false,
        }
    }
}

impl LastLoginMethodSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        let valid_name = !self.cookie_name.is_empty()
            && self
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !valid_name {
            errors.push("plugins.last_login_method.cookie_name: not a cookie name".into());
        }
        if self.max_age <= 0 {
            errors.push("plugins.last_login_method.max_age: must be positive".into());
        }
    }
}
