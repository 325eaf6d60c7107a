//! The second factor of a sign-in, and who is answering it (Better Auth's
//! `two-factor/verify-two-factor.ts` and the sign-in hook of `two-factor/index.ts`):
//!
//! - a sign-in of an enrolled user leaves a signed `two_factor` cookie naming a verification
//!   value (`2fa-<20 chars>` → user id) and an attempt counter (`2fa-attempts-<id>` → "0"),
//!   both living `two_factor_cookie_max_age` seconds;
//! - a verify route then finds the caller: a signed-in user (enrolling, or checking a code), or
//!   the pending sign-in of that cookie, whose success creates the session;
//! - `trustDevice` leaves a signed `trust_device` cookie `<HMAC>!trust-device-<32 chars>` whose
//!   verification value (→ user id) lets that browser skip the second factor, renewed at each
//!   such sign-in.

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use serde_json::json;

use super::codes::random_token;
use super::config::TwoFactorSettings;
use super::TwoFactorError;
use crate::auth::cookies::{RequestCookies, DONT_REMEMBER, SESSION_DATA, SESSION_TOKEN};
use crate::auth::crypto::{b64url, ct_eq, hmac_sha256, Signed};
use crate::auth::session::ClientInfo;
use crate::error::ApiError;
use crate::flows::session::{create_session, last_per_name, session_cookies};
use crate::http::{json_with_cookies, request_cookies, Current, Need};
use crate::state::AppState;
use crate::store::json::user_json;
use crate::store::User;

pub const TWO_FACTOR: &str = "two_factor";
pub const TRUST_DEVICE: &str = "trust_device";

fn secret(state: &AppState) -> &[u8] {
    state.settings.secret.expose_secret().as_bytes()
}

/// What the request's `trust_device` cookie says.
#[derive(Debug, PartialEq, Eq)]
pub enum Trust {
    /// No cookie, or one whose signature does not hold.
    None,
    /// A signed cookie that does not (or no longer) vouch for this user.
    Untrusted,
    /// A cookie that does, with its verification identifier.
    Trusted(String),
}

/// `HMAC-SHA256(secret, "<userId>!<identifier>")`, base64url without padding.
fn trust_token(state: &AppState, user_id: &str, identifier: &str) -> String {
    b64url(&hmac_sha256(
        secret(state),
        format!("{user_id}!{identifier}").as_bytes(),
    ))
}

/// Whether the request's trust-device cookie vouches for `user_id` (Better Auth's
/// `readSignInTwoFactorState`).
pub async fn read_trusted_device(
    state: &AppState,
    jar: &RequestCookies,
    user_id: &str,
) -> Result<Trust, ApiError> {
    let Signed::Valid(value) = jar.signed(secret(state), &state.cookies.name(TRUST_DEVICE)) else {
        return Ok(Trust::None);
    };
    let Some((token, identifier)) = value.split_once('!') else {
        return Ok(Trust::Untrusted);
    };
    if token.is_empty()
        || identifier.is_empty()
        || !ct_eq(
            token.as_bytes(),
            trust_token(state, user_id, identifier).as_bytes(),
        )
    {
        return Ok(Trust::Untrusted);
    }
    let now = state.clock.now();
    let record = state.store.find_verification(identifier, now).await?;
    Ok(match record {
        Some(v) if v.value == user_id && v.expires_at > now => {
            Trust::Trusted(identifier.to_owned())
        }
        _ => Trust::Untrusted,
    })
}

/// A new trusted-device record for `user_id` and the cookie that names it.
pub async fn trust_device(
    state: &AppState,
    settings: &TwoFactorSettings,
    user_id: &str,
) -> Result<Cookie<'static>, ApiError> {
    let identifier = format!("trust-device-{}", random_token(32));
    let max_age = settings.trust_device_max_age;
    let now = state.clock.now();
    state
        .store
        .create_verification(&identifier, user_id, now + Duration::seconds(max_age), now)
        .await?;
    let value = format!("{}!{identifier}", trust_token(state, user_id, &identifier));
    Ok(state
        .cookies
        .signed(secret(state), TRUST_DEVICE, &value, Some(max_age)))
}

/// A trusted sign-in: the old record replaced by a new one, for another full period.
pub async fn renew_trusted_device(
    state: &AppState,
    settings: &TwoFactorSettings,
    user_id: &str,
    identifier: &str,
) -> Result<Cookie<'static>, ApiError> {
    state
        .store
        .consume_verification(identifier, state.clock.now())
        .await?;
    trust_device(state, settings, user_id).await
}

/// Forgets the request's trusted device (disable): its record deleted and its cookie expired.
pub async fn forget_trusted_device(
    state: &AppState,
    jar: &RequestCookies,
) -> Result<Option<Cookie<'static>>, ApiError> {
    let Signed::Valid(value) = jar.signed(secret(state), &state.cookies.name(TRUST_DEVICE)) else {
        return Ok(None);
    };
    if let Some((_, identifier)) = value.split_once('!').filter(|(_, id)| !id.is_empty()) {
        state
            .store
            .consume_verification(identifier, state.clock.now())
            .await?;
    }
    Ok(Some(
        state.cookies.removal(&state.cookies.name(TRUST_DEVICE)),
    ))
}

/// The challenge of a sign-in waiting for its second factor: the records and the cookies of
/// the answer (session cookies expired, `two_factor` set; `dont_remember` kept for the session
/// to come).
pub async fn begin(
    state: &AppState,
    settings: &TwoFactorSettings,
    user_id: &str,
    dont_remember: bool,
) -> Result<Vec<Cookie<'static>>, ApiError> {
    let max_age = settings.two_factor_cookie_max_age;
    let now = state.clock.now();
    let expires_at = now + Duration::seconds(max_age);
    let identifier = format!("2fa-{}", random_token(20));
    state
        .store
        .create_verification(&identifier, user_id, expires_at, now)
        .await?;
    state
        .store
        .create_verification(&format!("2fa-attempts-{identifier}"), "0", expires_at, now)
        .await?;
    // In Better Auth's order: the sign-in's `dont_remember`, its session cookies expired.
    let mut cookies = Vec::new();
    if dont_remember {
        cookies.push(state.cookies.dont_remember(secret(state)));
    }
    cookies.push(state.cookies.removal(&state.cookies.name(SESSION_TOKEN)));
    cookies.push(state.cookies.removal(&state.cookies.name(SESSION_DATA)));
    cookies.push(
        state
            .cookies
            .signed(secret(state), TWO_FACTOR, &identifier, Some(max_age)),
    );
    Ok(cookies)
}

/// A sign-in waiting for its second factor.
pub struct Pending {
    identifier: String,
    expires_at: DateTime<Utc>,
    dont_remember: bool,
}

/// Who answers a verify route.
pub enum Caller {
    /// A signed-in user: codes are checked, no session is made.
    Session(Box<Current>),
    /// The sign-in of the request's `two_factor` cookie.
    Pending(Pending),
}

/// The user a code is checked for, and who asks.
pub struct Challenge {
    pub user: User,
    pub caller: Caller,
}

fn two_factor_removal(state: &AppState) -> Cookie<'static> {
    state.cookies.removal(&state.cookies.name(TWO_FACTOR))
}

/// A failed attempt's counter, to re-arm (Better Auth's `beginAttempt`).
pub struct Attempt {
    identifier: String,
    attempts: u32,
    expires_at: DateTime<Utc>,
}

impl Attempt {
    async fn rearm(&self, state: &AppState, count: u32) {
        let now = state.clock.now();
        if let Err(e) = state
            .store
            .create_verification(&self.identifier, &count.to_string(), self.expires_at, now)
            .await
        {
            tracing::warn!(error = %e, "could not keep the two-factor attempt count");
        }
    }

    pub async fn record_failure(&self, state: &AppState) {
        self.rearm(state, self.attempts + 1).await;
    }

    pub async fn restore(&self, state: &AppState) {
        self.rearm(state, self.attempts).await;
    }
}

impl Challenge {
    /// The caller: the signed-in user (read from the database), else the pending sign-in of a
    /// valid `two_factor` cookie; `401 INVALID_TWO_FACTOR_COOKIE` otherwise.
    pub async fn find(state: &AppState, req: &HttpRequest) -> Result<Self, ApiError> {
        match Current::require(state, req, Need::Sensitive).await {
            Ok(current) => {
                return Ok(Self {
                    user: current.user.clone(),
                    caller: Caller::Session(Box::new(current)),
                })
            }
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
            Err(_) => {}
        }
        let jar = request_cookies(req);
        let invalid = || ApiError::from(TwoFactorError::InvalidTwoFactorCookie);
        let Signed::Valid(identifier) = jar.signed(secret(state), &state.cookies.name(TWO_FACTOR))
        else {
            return Err(invalid());
        };
        let now = state.clock.now();
        let Some(record) = state
            .store
            .find_verification(identifier, now)
            .await?
            .filter(|v| v.expires_at > now)
        else {
            return Err(invalid());
        };
        let Some(user) = state.store.find_user_by_id(&record.value).await? else {
            return Err(invalid());
        };
        let dont_remember = matches!(
            jar.signed(secret(state), &state.cookies.name(DONT_REMEMBER)),
            Signed::Valid(_)
        );
        Ok(Self {
            user,
            caller: Caller::Pending(Pending {
                identifier: identifier.to_owned(),
                expires_at: record.expires_at,
                dont_remember,
            }),
        })
    }

    pub fn is_sign_in(&self) -> bool {
        matches!(self.caller, Caller::Pending(_))
    }

    /// What the OTP is stored under: the challenge, or the user's session.
    pub fn key(&self) -> String {
        match &self.caller {
            Caller::Pending(p) => p.identifier.clone(),
            Caller::Session(c) => format!("{}!{}", c.user.id, c.session.id),
        }
    }

    /// `e`, with the cookies the caller's session queued.
    pub fn fail(&self, e: impl Into<ApiError>) -> ApiError {
        match &self.caller {
            Caller::Session(c) => c.fail(e),
            Caller::Pending(_) => e.into(),
        }
    }

    /// A sign-in's attempt, counted: `allowed` failed ones end the challenge
    /// (`400 TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`, the cookie expired). Signed-in users are
    /// not counted.
    pub async fn begin_attempt(
        &self,
        state: &AppState,
        allowed: u32,
    ) -> Result<Option<Attempt>, ApiError> {
        let Caller::Pending(pending) = &self.caller else {
            return Ok(None);
        };
        let identifier = format!("2fa-attempts-{}", pending.identifier);
        let now = state.clock.now();
        let Some(consumed) = state.store.consume_verification(&identifier, now).await? else {
            return Err(TwoFactorError::InvalidTwoFactorCookie.into());
        };
        let attempts = consumed.value.parse::<u32>().unwrap_or(allowed);
        if attempts >= allowed {
            state
                .store
                .consume_verification(&pending.identifier, now)
                .await?;
            tracing::info!("two-factor challenge ended: too many attempts");
            return Err(
                ApiError::from(TwoFactorError::TooManyAttemptsRequestNewCode)
                    .with_cookies(vec![two_factor_removal(state)]),
            );
        }
        Ok(Some(Attempt {
            identifier,
            attempts,
            expires_at: pending.expires_at,
        }))
    }

    /// The code was right: a pending sign-in gets its session (and, with `trust_device`, the
    /// trusted-device cookie); a signed-in user gets `{token, user}` of the session and user
    /// the request began with (as Better Auth answers, even when enabling replaced them), with
    /// `cookies` (the replacing session's).
    pub async fn complete(
        self,
        state: &AppState,
        settings: &TwoFactorSettings,
        client: &ClientInfo,
        trust: bool,
        cookies: Vec<Cookie<'static>>,
    ) -> Result<HttpResponse, ApiError> {
        let user = self.user;
        let pending = match self.caller {
            Caller::Session(current) => {
                let body = json!({
                    "token": current.session.token,
                    "user": user_json(&user, state.store.user_fields()),
                });
                return Ok(current.respond(cookies, &body));
            }
            Caller::Pending(p) => p,
        };
        let now = state.clock.now();
        let consumed = state
            .store
            .consume_verification(&pending.identifier, now)
            .await?;
        if consumed.is_none_or(|v| v.value != user.id) {
            return Err(ApiError::from(TwoFactorError::InvalidTwoFactorCookie)
                .with_cookies(vec![two_factor_removal(state)]));
        }
        let session = create_session(state, &user.id, client, pending.dont_remember).await?;
        let mut cookies = session_cookies(state, &session, &user, pending.dont_remember);
        cookies.push(two_factor_removal(state));
        if trust {
            cookies.push(trust_device(state, settings, &user.id).await?);
            cookies.push(state.cookies.removal(&state.cookies.name(DONT_REMEMBER)));
        }
        tracing::info!(user_id = %user.id, "second factor verified; signed in");
        let body = json!({
            "token": session.token,
            "user": user_json(&user, state.store.user_fields()),
        });
        Ok(json_with_cookies(last_per_name(cookies), &body))
    }
}
