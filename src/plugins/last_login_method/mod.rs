//! The last-login-method plugin (Better Auth's `lastLoginMethod()`,
//! `packages/better-auth/src/plugins/last-login-method/index.ts`):
//!
//! - config: `[plugins.last_login_method]` ([`config::LastLoginMethodSettings`]);
//! - schema: `user.lastLoginMethod` with `store_in_database`;
//! - hook: a response of a sign-in route that sets the session cookie also sets the readable
//!   cookie `better-auth.last_used_login_method` to the method (`email`, `magic-link`,
//!   `email-otp`, a social provider's id, ...), and with `store_in_database` the user's
//!   `lastLoginMethod` becomes it.

pub mod config;

use std::sync::Arc;

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::auth::cookies::{RequestCookies, SESSION_TOKEN};
use crate::auth::fields::{AdditionalField, FieldType};
use crate::plugin::{Kind, Plugin, Schema};
use crate::state::AppState;
use crate::store::users::UserUpdate;
use config::LastLoginMethodSettings;

/// The column, as Better Auth names it.
pub const LAST_LOGIN_METHOD: &str = "lastLoginMethod";

pub const KIND: Kind<AppState> = Kind {
    id: "last_login_method",
    enabled: |s| s.plugins.last_login_method.enabled,
    schema: |s| {
        if !s.plugins.last_login_method.store_in_database {
            return Schema::default();
        }
        Schema {
            user_fields: IndexMap::from([(
                LAST_LOGIN_METHOD.to_owned(),
                AdditionalField {
                    field_type: FieldType::String,
                    required: Some(false),
                    default: None,
                    input: false,
                    returned: true,
                },
            )]),
            ..Schema::default()
        }
    },
    build: |b| {
        let settings = b.settings.plugins.last_login_method.clone();
        let secure = b.settings.secure_cookies();
        Box::pin(async move {
            Ok(Arc::new(LastLoginMethodPlugin { settings, secure }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

/// Better Auth's `defaultResolveMethod`: the sign-in method a path stands for.
pub fn method_of(path: &str) -> Option<&str> {
    if let Some(provider) = path.strip_prefix("/callback/") {
        return provider.rsplit('/').next().filter(|p| !p.is_empty());
    }
    match path {
        "/one-tap/callback" => Some("google"),
        "/sign-in/email" | "/sign-up/email" => Some("email"),
        "/sign-in/email-otp" => Some("email-otp"),
        _ if path.contains("siwe") => Some("siwe"),
        _ if path.contains("/passkey/verify-authentication") => Some("passkey"),
        _ if path.starts_with("/magic-link/verify") => Some("magic-link"),
        _ => None,
    }
}

pub struct LastLoginMethodPlugin {
    settings: LastLoginMethodSettings,
    secure: bool,
}

#[async_trait]
impl Plugin<AppState> for LastLoginMethodPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn watches_responses(&self) -> bool {
        true
    }

    /// Better Auth's `hooks.after`: when the answer sets the session cookie (its name appears
    /// in a `Set-Cookie`), the method cookie with the session cookie's attributes, readable by
    /// scripts; and `databaseHooks.session.create.after`: the user's column.
    async fn after_response(
        &self,
        state: &AppState,
        path: &str,
        _request: &RequestCookies,
        response: &mut HeaderMap,
    ) {
        let Some(method) = method_of(path) else {
            return;
        };
        let session_cookie = state.cookies.name(SESSION_TOKEN);
        let token = response
            .get_all(SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.contains(&session_cookie))
            .map(|v| {
                let value = v
                    .split(';')
                    .next()
                    .and_then(|p| p.split_once('='))
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            });
        let Some(token) = token else {
            return;
        };
        let mut cookie = Cookie::new(self.settings.cookie_name.clone(), method.to_owned());
        cookie.set_path("/");
        cookie.set_same_site(SameSite::Lax);
        cookie.set_http_only(false);
        cookie.set_secure(self.secure);
        cookie.set_max_age(Duration::seconds(self.settings.max_age));
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            response.append(SET_COOKIE, v);
        }
        if !self.settings.store_in_database || token.is_empty() {
            return;
        }
        let user_id = match state.store.find_session_with_user(&token).await {
            Ok(Some((session, _))) => session.user_id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the new session for lastLoginMethod");
                return;
            }
        };
        let update = UserUpdate {
            name: None,
            image: None,
            extra: Map::from_iter([(LAST_LOGIN_METHOD.to_owned(), Value::String(method.into()))]),
        };
        if let Err(e) = state
            .store
            .update_user(&user_id, &update, state.clock.now())
            .await
        {
            tracing::error!(error = %e, "could not store lastLoginMethod");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::method_of;

    #[test]
    fn paths_name_better_auths_methods() {
        assert_eq!(method_of("/sign-in/email"), Some("email"));
        assert_eq!(method_of("/sign-up/email"), Some("email"));
        assert_eq!(method_of("/callback/github"), Some("github"));
        assert_eq!(method_of("/magic-link/verify"), Some("magic-link"));
        assert_eq!(method_of("/sign-in/email-otp"), Some("email-otp"));
        assert_eq!(method_of("/passkey/verify-authentication"), Some("passkey"));
        assert_eq!(method_of("/sign-in/username"), None);
        assert_eq!(method_of("/sign-in/anonymous"), None);
    }
}
