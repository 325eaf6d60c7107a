//! `/two-factor/*` (Better Auth's `two-factor/index.ts`, `totp/index.ts`, `otp/index.ts`,
//! `backup-codes/index.ts`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::Post;

use super::challenge::{forget_trusted_device, Challenge};
use super::codes::{
    check_totp, hash_otp, new_backup_codes, new_otp, new_secret, otpauth_uri, totp_key,
};
use super::{is_enabled, TwoFactorError, TwoFactorPlugin, ENABLED_FIELD};
use crate::auth::crypto::ct_eq;
use crate::auth::keyseal::{decrypt_value, encrypt_value};
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::check_user_password;
use crate::flows::session::replace_session;
use crate::http::extract::{read_checked_body, Validator};
use crate::http::route::post;
use crate::http::{request_cookies, ClientInfo, Current, Need};
use crate::mail::{Mail, MailKind};
use crate::openapi::builder::{array_of, boolean, object, string, user, Op};
use crate::state::AppState;
use crate::store::json::user_json;
use crate::store::two_factors::TwoFactorRow;
use crate::store::users::UserUpdate;
use crate::store::User;

/// Failed attempts a pending sign-in may make with TOTP or backup codes (`beginAttempt(5)`).
const SIGN_IN_ATTEMPTS: u32 = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/two-factor/enable", enable))
        .service(post("/two-factor/disable", disable))
        .service(post("/two-factor/get-totp-uri", get_totp_uri))
        .service(post("/two-factor/verify-totp", verify_totp))
        .service(post("/two-factor/send-otp", send_otp))
        .service(post("/two-factor/verify-otp", verify_otp))
        .service(post(
            "/two-factor/generate-backup-codes",
            generate_backup_codes,
        ))
        .service(post("/two-factor/verify-backup-code", verify_backup_code));
}

fn plugin(state: &AppState) -> Result<&TwoFactorPlugin, ApiError> {
    state
        .plugins
        .get::<TwoFactorPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the two-factor plugin is not enabled").into())
}

/// Better Auth's `symmetricEncrypt` with the configured secrets.
fn seal(state: &AppState, plaintext: &str) -> Result<String, ApiError> {
    let s = &state.settings;
    encrypt_value(&s.secrets, s.versioned_secrets, plaintext)
        .map_err(|e| anyhow::anyhow!("encrypting a two-factor value: {e}").into())
}

fn open(state: &AppState, sealed: &str) -> Result<String, ApiError> {
    decrypt_value(&state.settings.secrets, sealed).ok_or_else(|| {
        anyhow::anyhow!("no configured secret decrypts this two-factor value").into()
    })
}

/// The HMAC key of the user's stored TOTP secret.
fn secret_key(state: &AppState, row: &TwoFactorRow) -> Result<Vec<u8>, ApiError> {
    totp_key(&open(state, &row.secret)?)
        .ok_or_else(|| anyhow::anyhow!("stored base32 TOTP secret is not Base32").into())
}

/// The stored backup codes (`getBackupCodes`); `None` when they do not parse.
fn backup_codes_of(
    state: &AppState,
    p: &TwoFactorPlugin,
    row: &TwoFactorRow,
) -> Result<Option<Vec<String>>, ApiError> {
    let json = if p.settings.backup_code_options.store_backup_codes == "encrypted" {
        open(state, &row.backup_codes)?
    } else {
        row.backup_codes.clone()
    };
    Ok(serde_json::from_str::<Vec<String>>(&json).ok())
}

fn encode_backup_codes(
    state: &AppState,
    p: &TwoFactorPlugin,
    codes: &[String],
) -> Result<String, ApiError> {
    let json = serde_json::to_string(codes).map_err(anyhow::Error::from)?;
    if p.settings.backup_code_options.store_backup_codes == "encrypted" {
        seal(state, &json)
    } else {
        Ok(json)
    }
}

/// Better Auth's `shouldRequirePassword` then `validatePassword` / `checkPassword`: a wrong,
/// missing or unverifiable password is `400 INVALID_PASSWORD` (`PASSWORD_TOO_LONG` first).
async fn check_password(
    state: &AppState,
    p: &TwoFactorPlugin,
    user_id: &str,
    password: Option<String>,
) -> Result<(), ApiError> {
    let required = !p.settings.allow_passwordless
        || state
            .store
            .find_credential_account(user_id)
            .await?
            .is_some_and(|a| a.password.is_some());
    if !required {
        return Ok(());
    }
    let Some(password) = password else {
        return Err(ErrorCode::InvalidPassword.into());
    };
    match check_user_password(state, user_id, password).await {
        Ok(_) => Ok(()),
        Err(ApiError::Code(ErrorCode::CredentialAccountNotFound)) => {
            Err(ErrorCode::InvalidPassword.into())
        }
        Err(e) => Err(e),
    }
}

/// The password field: required unless `allow_passwordless`.
fn password_field(v: &mut Validator<'_>, p: &TwoFactorPlugin) -> Option<String> {
    if p.settings.allow_passwordless {
        v.opt_string("password")
    } else {
        Some(v.string("password"))
    }
}

fn enabled_update(on: bool) -> UserUpdate {
    let mut extra = Map::new();
    extra.insert(ENABLED_FIELD.into(), Value::Bool(on));
    UserUpdate {
        extra,
        ..UserUpdate::default()
    }
}

/// `twoFactorEnabled` set, and the session replaced so that it shows the change.
async fn set_enabled(
    state: &AppState,
    current: &Current,
    on: bool,
) -> Result<(User, String, Vec<Cookie<'static>>), ApiError> {
    let now = state.clock.now();
    let user = state
        .store
        .update_user(&current.user.id, &enabled_update(on), now)
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    let (session, cookies) =
        replace_session(state, &current.session, &user, current.dont_remember).await?;
    Ok((user, session.token, cookies))
}

// --- account lockout (`verify-two-factor.ts`) --------------------------------------------------

/// `429 ACCOUNT_TEMPORARILY_LOCKED` while the lock holds; an ended lock is lifted.
async fn assert_not_locked(
    state: &AppState,
    p: &TwoFactorPlugin,
    row: &TwoFactorRow,
) -> Result<(), ApiError> {
    let Some(until) = row
        .locked_until
        .filter(|_| p.settings.account_lockout.enabled)
    else {
        return Ok(());
    };
    let now = state.clock.now();
    if until > now {
        tracing::info!("second factor refused: the account is locked");
        return Err(TwoFactorError::AccountTemporarilyLocked.into());
    }
    state
        .store
        .clear_two_factor_failures(&row.id, Some(now))
        .await?;
    Ok(())
}

async fn record_failure(
    state: &AppState,
    p: &TwoFactorPlugin,
    row: &TwoFactorRow,
) -> Result<(), ApiError> {
    let lockout = &p.settings.account_lockout;
    if !lockout.enabled {
        return Ok(());
    }
    let until = state.clock.now() + chrono::Duration::seconds(lockout.duration_seconds);
    state
        .store
        .record_two_factor_failure(&row.id, lockout.max_failed_attempts, until)
        .await?;
    Ok(())
}

async fn reset_failures(
    state: &AppState,
    p: &TwoFactorPlugin,
    row: &TwoFactorRow,
) -> Result<(), ApiError> {
    if p.settings.account_lockout.enabled {
        state.store.clear_two_factor_failures(&row.id, None).await?;
    }
    Ok(())
}

// --- enable / disable ------------------------------------------------------------------------

#[tracing::instrument(name = "two_factor.enable", skip_all)]
async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let password = password_field(&mut v, p);
    let method = match v.raw("method") {
        None => "totp",
        Some(Value::String(m)) if m == "otp" || m == "totp" => m.as_str(),
        Some(_) => {
            v.invalid("method", "Invalid option: expected one of \"otp\"|\"totp\"");
            "totp"
        }
    };
    let issuer = v.opt_string("issuer");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    let result = enable_for(&state, p, &current, password, method, issuer).await;
    match result {
        Ok((cookies, body)) => Ok(current.respond(cookies, &body)),
        Err(e) => Err(current.fail(e)),
    }
}

async fn enable_for(
    state: &AppState,
    p: &TwoFactorPlugin,
    current: &Current,
    password: Option<String>,
    method: &str,
    issuer: Option<String>,
) -> Result<(Vec<Cookie<'static>>, Value), ApiError> {
    let user = &current.user;
    check_password(state, p, &user.id, password).await?;
    let s = &p.settings;
    if method == "otp" && !s.otp_options.send_otp {
        return Err(TwoFactorError::OtpNotConfigured.into());
    }
    if method == "totp" && s.totp_options.disable {
        return Err(TwoFactorError::TotpNotConfigured.into());
    }
    if method == "otp" {
        let (_, _, cookies) = set_enabled(state, current, true).await?;
        tracing::info!(user_id = %user.id, "two-factor enabled (otp)");
        return Ok((cookies, json!({ "method": "otp" })));
    }
    let existing = state.store.find_two_factor(&user.id).await?;
    if existing.as_ref().is_some_and(|r| r.verified != Some(false)) {
        return Err(TwoFactorError::TotpAlreadyEnabled.into());
    }
    let codes = new_backup_codes(s.backup_code_options.amount, s.backup_code_options.length);
    let sealed_codes = encode_backup_codes(state, p, &codes)?;
    let secret = new_secret();
    let sealed_secret = seal(state, &secret)?;
    let mut cookies = Vec::new();
    if s.skip_verification_on_enable {
        cookies = set_enabled(state, current, true).await?.2;
    }
    state
        .store
        .save_two_factor(
            existing.as_ref().map(|r| r.id.as_str()),
            &user.id,
            &sealed_secret,
            &sealed_codes,
            s.skip_verification_on_enable,
        )
        .await?;
    let issuer = issuer
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| s.issuer().to_owned());
    let uri = otpauth_uri(
        secret.as_bytes(),
        &issuer,
        &user.email,
        s.totp_options.digits,
        s.totp_options.period,
    );
    tracing::info!(user_id = %user.id, "two-factor enrolment started (totp)");
    Ok((
        cookies,
        json!({ "method": "totp", "totpURI": uri, "backupCodes": codes }),
    ))
}

#[tracing::instrument(name = "two_factor.disable", skip_all)]
async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let password = password_field(&mut v, p);
    v.finish()?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    let result = async {
        check_password(&state, p, &current.user.id, password).await?;
        let (user, _, mut cookies) = set_enabled(&state, &current, false).await?;
        state.store.delete_two_factor(&user.id).await?;
        cookies.extend(forget_trusted_device(&state, &request_cookies(&req)).await?);
        tracing::info!(user_id = %user.id, "two-factor disabled");
        Ok::<_, ApiError>(cookies)
    }
    .await;
    match result {
        Ok(cookies) => Ok(current.respond(cookies, &json!({ "status": true }))),
        Err(e) => Err(current.fail(e)),
    }
}

// --- TOTP ------------------------------------------------------------------------------------

#[tracing::instrument(name = "two_factor.get_totp_uri", skip_all)]
async fn get_totp_uri(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let password = password_field(&mut v, p);
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        let s = &p.settings;
        if s.totp_options.disable {
            return Err(TwoFactorError::TotpNotConfiguredRoute.into());
        }
        let row = state
            .store
            .find_two_factor(&current.user.id)
            .await?
            .ok_or(TwoFactorError::TotpNotEnabled)?;
        let key = secret_key(&state, &row)?;
        check_password(&state, p, &current.user.id, password).await?;
        let uri = otpauth_uri(
            &key,
            s.issuer(),
            &current.user.email,
            s.totp_options.digits,
            s.totp_options.period,
        );
        Ok::<_, ApiError>(json!({ "totpURI": uri }))
    }
    .await;
    current.answer(result)
}

/// `{code, trustDevice?}` of the verify routes.
fn code_body(body: Option<&Value>) -> Result<(String, bool, bool), ApiError> {
    let mut v = Validator::body(body);
    let code = v.string("code");
    let trust = v.opt_bool("trustDevice").unwrap_or(false);
    let disable_session = v.opt_bool("disableSession").unwrap_or(false);
    v.finish()?;
    Ok((code, trust, disable_session))
}

#[tracing::instrument(name = "two_factor.verify_totp", skip_all)]
async fn verify_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let (code, trust, _) = code_body(body.as_ref())?;
    let s = &p.settings;
    if s.totp_options.disable {
        return Err(TwoFactorError::TotpNotConfiguredRoute.into());
    }
    let challenge = Challenge::find(&state, &req).await?;
    let sign_in = challenge.is_sign_in();
    let Some(row) = state.store.find_two_factor(&challenge.user.id).await? else {
        return Err(challenge.fail(TwoFactorError::TotpNotEnabled));
    };
    if sign_in && row.verified == Some(false) {
        return Err(TwoFactorError::TotpNotEnabled.into());
    }
    if sign_in {
        assert_not_locked(&state, p, &row).await?;
    }
    let attempt = challenge.begin_attempt(&state, SIGN_IN_ATTEMPTS).await?;
    let key = match secret_key(&state, &row) {
        Ok(key) => key,
        Err(e) => {
            if let Some(a) = &attempt {
                a.restore(&state).await;
            }
            return Err(e);
        }
    };
    let now = u64::try_from(state.clock.now().timestamp()).unwrap_or(0);
    if !check_totp(
        &key,
        s.totp_options.digits,
        s.totp_options.period,
        &code,
        now,
    ) {
        if let Some(a) = &attempt {
            a.record_failure(&state).await;
        }
        if sign_in {
            record_failure(&state, p, &row).await?;
        }
        tracing::info!("second factor refused: wrong TOTP code");
        return Err(challenge.fail(TwoFactorError::InvalidCode));
    }
    if sign_in {
        reset_failures(&state, p, &row).await?;
    }
    let mut cookies = Vec::new();
    if row.verified != Some(true) {
        if let (false, super::challenge::Caller::Session(current)) =
            (is_enabled(&challenge.user), &challenge.caller)
        {
            cookies = set_enabled(&state, current, true).await?.2;
            tracing::info!(user_id = %challenge.user.id, "two-factor enabled (totp)");
        }
        state.store.set_two_factor_verified(&row.id).await?;
    }
    challenge.complete(&state, s, &client, trust, cookies).await
}

// --- OTP -------------------------------------------------------------------------------------

#[tracing::instrument(name = "two_factor.send_otp", skip_all)]
async fn send_otp(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    if body.is_some() {
        let mut v = Validator::body(body.as_ref());
        v.opt_bool("trustDevice");
        v.finish()?;
    }
    let o = &p.settings.otp_options;
    if !o.send_otp {
        return Err(TwoFactorError::OtpNotConfiguredRoute.into());
    }
    let challenge = Challenge::find(&state, &req).await?;
    let otp = new_otp(o.digits);
    let stored = match o.store_otp.as_str() {
        "hashed" => hash_otp(&otp),
        "encrypted" => seal(&state, &otp).map_err(|e| challenge.fail(e))?,
        _ => otp.clone(),
    };
    let now = state.clock.now();
    state
        .store
        .create_verification(
            &format!("2fa-otp-{}", challenge.key()),
            &format!("{stored}:0"),
            now + chrono::Duration::minutes(o.period),
            now,
        )
        .await
        .map_err(|e| challenge.fail(e))?;
    state
        .mailer
        .send(Mail {
            kind: MailKind::TwoFactorOtp,
            email: challenge.user.email.clone(),
            user_id: challenge.user.id.clone(),
            url: String::new(),
            token: otp,
            at: now,
            extra: Default::default(),
        })
        .await;
    let body = json!({ "status": true });
    Ok(match challenge.caller {
        super::challenge::Caller::Session(current) => current.respond(Vec::new(), &body),
        super::challenge::Caller::Pending(_) => HttpResponse::Ok().json(body),
    })
}

#[tracing::instrument(name = "two_factor.verify_otp", skip_all)]
async fn verify_otp(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let (code, trust, _) = code_body(body.as_ref())?;
    let challenge = Challenge::find(&state, &req).await?;
    let row = if challenge.is_sign_in() {
        let row = state.store.find_two_factor(&challenge.user.id).await?;
        if let Some(row) = &row {
            assert_not_locked(&state, p, row).await?;
        }
        row
    } else {
        None
    };
    let identifier = format!("2fa-otp-{}", challenge.key());
    let now = state.clock.now();
    let Some(consumed) = state.store.consume_verification(&identifier, now).await? else {
        return Err(challenge.fail(TwoFactorError::OtpHasExpired));
    };
    let (stored, counter) = consumed
        .value
        .split_once(':')
        .unwrap_or((consumed.value.as_str(), ""));
    let o = &p.settings.otp_options;
    let attempts = counter.parse::<u32>().unwrap_or(0);
    if attempts >= o.allowed_attempts {
        return Err(challenge.fail(TwoFactorError::TooManyAttemptsRequestNewCode));
    }
    let matches = match o.store_otp.as_str() {
        "hashed" => ct_eq(stored.as_bytes(), hash_otp(&code).as_bytes()),
        "encrypted" => ct_eq(open(&state, stored)?.as_bytes(), code.as_bytes()),
        _ => ct_eq(stored.as_bytes(), code.as_bytes()),
    };
    if !matches {
        state
            .store
            .create_verification(
                &identifier,
                &format!("{stored}:{}", attempts + 1),
                consumed.expires_at,
                now,
            )
            .await?;
        if let Some(row) = &row {
            record_failure(&state, p, row).await?;
        }
        tracing::info!("second factor refused: wrong OTP");
        return Err(challenge.fail(TwoFactorError::InvalidCode));
    }
    if let Some(row) = &row {
        reset_failures(&state, p, row).await?;
    }
    if !is_enabled(&challenge.user) {
        let super::challenge::Caller::Session(current) = challenge.caller else {
            return Err(ApiError::with_status(
                ErrorCode::FailedToCreateSession,
                StatusCode::BAD_REQUEST,
            ));
        };
        let (user, token, cookies) = set_enabled(&state, &current, true).await?;
        tracing::info!(user_id = %user.id, "two-factor enabled (otp)");
        let body = json!({ "token": token, "user": user_json(&user, state.store.user_fields()) });
        return Ok(current.respond(cookies, &body));
    }
    challenge
        .complete(&state, &p.settings, &client, trust, Vec::new())
        .await
}

// --- backup codes ----------------------------------------------------------------------------

#[tracing::instrument(name = "two_factor.generate_backup_codes", skip_all)]
async fn generate_backup_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let password = password_field(&mut v, p);
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        if !is_enabled(&current.user) {
            return Err(TwoFactorError::TwoFactorNotEnabled.into());
        }
        check_password(&state, p, &current.user.id, password).await?;
        let row = state
            .store
            .find_two_factor(&current.user.id)
            .await?
            .ok_or(TwoFactorError::TwoFactorNotEnabled)?;
        let o = &p.settings.backup_code_options;
        let codes = new_backup_codes(o.amount, o.length);
        let sealed = encode_backup_codes(&state, p, &codes)?;
        state.store.set_backup_codes(&row.id, None, &sealed).await?;
        tracing::info!(user_id = %current.user.id, "new backup codes");
        Ok::<_, ApiError>(json!({ "status": true, "backupCodes": codes }))
    }
    .await;
    current.answer(result)
}

#[tracing::instrument(name = "two_factor.verify_backup_code", skip_all)]
async fn verify_backup_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let (code, trust, disable_session) = code_body(body.as_ref())?;
    let challenge = Challenge::find(&state, &req).await?;
    let sign_in = challenge.is_sign_in();
    let Some(row) = state.store.find_two_factor(&challenge.user.id).await? else {
        return Err(challenge.fail(TwoFactorError::BackupCodesNotEnabled));
    };
    if sign_in {
        assert_not_locked(&state, p, &row).await?;
    }
    let attempt = challenge.begin_attempt(&state, SIGN_IN_ATTEMPTS).await?;
    let codes = match backup_codes_of(&state, p, &row) {
        Ok(codes) => codes,
        Err(e) => {
            if let Some(a) = &attempt {
                a.restore(&state).await;
            }
            return Err(e);
        }
    };
    // Every stored code compared, in constant time each.
    let found = codes.as_ref().is_some_and(|codes| {
        codes
            .iter()
            .fold(false, |hit, c| ct_eq(c.as_bytes(), code.as_bytes()) | hit)
    });
    let Some(codes) = codes.filter(|_| found) else {
        if let Some(a) = &attempt {
            a.record_failure(&state).await;
        }
        if sign_in {
            record_failure(&state, p, &row).await?;
        }
        tracing::info!("second factor refused: wrong backup code");
        return Err(challenge.fail(TwoFactorError::InvalidBackupCode));
    };
    let remaining: Vec<String> = codes.into_iter().filter(|c| *c != code).collect();
    let sealed = encode_backup_codes(&state, p, &remaining)?;
    if !state
        .store
        .set_backup_codes(&row.id, Some(&row.backup_codes), &sealed)
        .await?
    {
        return Err(challenge.fail(ApiError::message_only(
            StatusCode::CONFLICT,
            "Failed to verify backup code. Please try again.",
        )));
    }
    if sign_in {
        reset_failures(&state, p, &row).await?;
    }
    tracing::info!(user_id = %challenge.user.id, "backup code used");
    if !disable_session {
        return challenge
            .complete(&state, &p.settings, &client, trust, Vec::new())
            .await;
    }
    let user = user_json(&challenge.user, state.store.user_fields());
    Ok(match challenge.caller {
        super::challenge::Caller::Session(current) => {
            let body = json!({ "token": current.session.token, "user": user });
            current.respond(Vec::new(), &body)
        }
        super::challenge::Caller::Pending(_) => HttpResponse::Ok().json(json!({ "user": user })),
    })
}

// --- OpenAPI ---------------------------------------------------------------------------------

pub fn openapi(settings: &Settings) -> Vec<Op> {
    let token_user = || -> utoipa::openapi::Schema {
        object(
            vec![("token", string()), ("user", user(settings))],
            &["token", "user"],
            true,
        )
        .into()
    };
    let status = || -> utoipa::openapi::Schema {
        object(vec![("status", boolean())], &["status"], true).into()
    };
    let code_body = || vec![("code", string()), ("trustDevice", boolean())];
    let password = || vec![("password", string())];
    let tag = "Two factor";
    vec![
        Op::new(
            Post,
            "/two-factor/enable",
            tag,
            "Enable two factor authentication",
        )
        .body(
            vec![
                ("password", string()),
                ("method", string()),
                ("issuer", string()),
            ],
            &["password"],
        )
        .ok(object(
            vec![
                ("method", string()),
                ("totpURI", string()),
                ("backupCodes", array_of(string())),
            ],
            &["method"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/two-factor/disable",
            tag,
            "Disable two factor authentication",
        )
        .body(password(), &["password"])
        .ok(status()),
        Op::new(Post, "/two-factor/get-totp-uri", tag, "Get TOTP URI")
            .body(password(), &["password"])
            .ok(object(vec![("totpURI", string())], &["totpURI"], true).into()),
        Op::new(
            Post,
            "/two-factor/verify-totp",
            tag,
            "Verify two factor TOTP",
        )
        .body(code_body(), &["code"])
        .ok(token_user()),
        Op::new(Post, "/two-factor/send-otp", tag, "Send two factor OTP")
            .body(vec![("trustDevice", boolean())], &[])
            .ok(status()),
        Op::new(Post, "/two-factor/verify-otp", tag, "Verify two factor OTP")
            .body(code_body(), &["code"])
            .ok(token_user()),
        Op::new(
            Post,
            "/two-factor/generate-backup-codes",
            tag,
            "Generate new backup codes for two-factor authentication",
        )
        .body(password(), &["password"])
        .ok(object(
            vec![("status", boolean()), ("backupCodes", array_of(string()))],
            &["status", "backupCodes"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/two-factor/verify-backup-code",
            tag,
            "Verify a backup code for two-factor authentication",
        )
        .body(
            vec![
                ("code", string()),
                ("disableSession", boolean()),
                ("trustDevice", boolean()),
            ],
            &["code"],
        )
        .ok(token_user()),
    ]
}
