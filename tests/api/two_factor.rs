//! The two-factor plugin (`[plugins.two_factor]`) on every backend: enrolment (password, first
//! code), the sign-in challenge (no session until the second factor), TOTP codes computed here
//! by an HOTP of the tests' own, backup codes spent once, OTPs by mail, trusted devices,
//! disabling, attempt limits, the account lockout, the rate limit, and bad input.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::helpers::*;

const TWO_FACTOR: &str = "[plugins.two_factor]\nenabled = true\n";
const WITH_OTP: &str =
    "[plugins.two_factor]\nenabled = true\n[plugins.two_factor.otp_options]\nsend_otp = true\n";

/// RFC 4226 HOTP, SHA-1, six digits: written here, not taken from the service.
fn hotp(key: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let n = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    format!("{:06}", n % 1_000_000)
}

/// RFC 4648 Base32 without padding.
fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buf, mut bits, mut out) = (0u64, 0, Vec::new());
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u64;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// The code of the service's clock `steps` periods away.
fn code(app: &TestApp, key: &[u8], steps: i64) -> String {
    let now = app.state.clock.now().timestamp() + steps * 30;
    hotp(key, (now / 30) as u64)
}

/// The HMAC key in an otpauth URI.
fn key_of(uri: &str) -> Vec<u8> {
    let url = url::Url::parse(uri).unwrap();
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .unwrap()
        .1
        .into_owned();
    base32_decode(&secret)
}

/// The user's `twoFactor` row as the store reads it.
async fn row(
    app: &TestApp,
    user_id: &str,
) -> Option<better_auth_rs::store::two_factors::TwoFactorRow> {
    app.state.store.find_two_factor(user_id).await.unwrap()
}

async fn two_factor_rows(app: &TestApp) -> i64 {
    let table = match app.state.store.backend() {
        sea_orm::DatabaseBackend::MySql => "`twoFactor`",
        _ => "\"twoFactor\"",
    };
    count_rows(app, table).await
}

async fn session_rows(app: &TestApp) -> i64 {
    count_rows(app, "session").await
}

/// A signed-up (and signed-in) user in `browser` who completed TOTP enrolment: (id, email,
/// key, backup codes).
async fn enrolled(
    app: &TestApp,
    browser: &reqwest::Client,
) -> (String, String, Vec<u8>, Vec<String>) {
    let email = unique_email();
    let res = app
        .post_as(
            browser,
            "/sign-up/email",
            &json!({"email": email, "password": PASSWORD, "name": "Two"}),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_as(
            browser,
            "/two-factor/enable",
            &json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let key = key_of(body["totpURI"].as_str().unwrap());
    let codes: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
    // The log scan of `scripts/test.sh` fails if any of these reaches the service's log.
    remember_secrets(
        codes
            .iter()
            .chain([&String::from_utf8(key.clone()).unwrap()]),
    );
    let res = app
        .post_as(
            browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(app, &key, 0) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    (id, email, key, codes)
}

/// A password sign-in of an enrolled user in a new browser, answered with the challenge.
async fn challenged(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = app.browser();
    let res = app.sign_in_as(&browser, email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["twoFactorRedirect"], true, "{body}");
    assert!(body.get("token").is_none() && body.get("user").is_none());
    let two_factor = cookie(&cookies, "better-auth.two_factor").expect("two_factor cookie");
    assert!(two_factor.contains("Max-Age=600") && two_factor.contains("HttpOnly"));
    let token = cookie(&cookies, "better-auth.session_token").expect("session cookie expired");
    assert!(token.contains("Max-Age=0"), "{token}");
    browser
}

#[apply(backends)]
#[tokio::test]
async fn enrolment_needs_the_password_and_a_first_code(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let email = unique_email();
    let res = app.sign_up(&email).await;
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["user"]["twoFactorEnabled"], false);
    let id = user["user"]["id"].as_str().unwrap().to_owned();

    let res = app
        .post(
            "/two-factor/enable",
            &json!({ "password": "wrong password" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_PASSWORD".into(), "Invalid password".into())
    );
    assert_eq!(two_factor_rows(&app).await, 0, "nothing written");

    let res = app
        .post(
            "/two-factor/enable",
            &json!({ "password": PASSWORD, "issuer": "My App" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["method"], "totp");
    let uri = body["totpURI"].as_str().unwrap();
    let prefix = format!(
        "otpauth://totp/My%20App:{}?secret=",
        email.replace('@', "%40")
    );
    assert!(uri.starts_with(&prefix), "{uri}");
    assert!(uri.ends_with("&issuer=My+App&digits=6&period=30"), "{uri}");
    let key = key_of(uri);
    assert_eq!(key.len(), 32);
    let codes = body["backupCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes
        .iter()
        .all(|c| c.as_str().unwrap().len() == 11 && &c.as_str().unwrap()[5..6] == "-"));

    // Stored as Better Auth stores it: the secret encrypted (symmetricEncrypt), unverified.
    let stored = row(&app, &id).await.unwrap();
    assert_eq!(stored.verified, Some(false));
    assert!(stored.secret.bytes().all(|b| b.is_ascii_hexdigit()));
    let opened =
        better_auth_rs::auth::keyseal::decrypt_value(&app.state.settings.secrets, &stored.secret)
            .unwrap();
    assert_eq!(opened.as_bytes(), key.as_slice());
    let stored_codes = better_auth_rs::auth::keyseal::decrypt_value(
        &app.state.settings.secrets,
        &stored.backup_codes,
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&stored_codes).unwrap(),
        json!(codes)
    );
    assert_eq!(app.get_session().await["user"]["twoFactorEnabled"], false);

    let res = app
        .post(
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, -3) }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (401, "INVALID_CODE".into(), "Invalid code".into())
    );
    assert_eq!(row(&app, &id).await.unwrap().verified, Some(false));

    let res = app
        .post(
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, 0) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    assert!(
        cookie(&cookies, "better-auth.session_token").is_some(),
        "session replaced"
    );
    assert_eq!(row(&app, &id).await.unwrap().verified, Some(true));
    let session = app.get_session().await;
    assert_eq!(session["user"]["twoFactorEnabled"], true);
    assert_eq!(session_rows(&app).await, 1, "the old session was replaced");

    let res = app
        .post("/two-factor/enable", &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(error_code(res).await.1, "TOTP_ALREADY_ENABLED");
    let res = app
        .post("/two-factor/get-totp-uri", &json!({ "password": PASSWORD }))
        .await;
    let again: Value = res.json().await.unwrap();
    assert_eq!(key_of(again["totpURI"].as_str().unwrap()), key);
    assert!(again["totpURI"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Better%20Auth:"));
}

#[apply(backends)]
#[tokio::test]
async fn a_sign_in_waits_for_the_totp_code(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let (id, email, key, _) = enrolled(&app, &app.client).await;
    let sessions = session_rows(&app).await;
    let browser = challenged(&app, &email).await;
    assert_eq!(session_rows(&app).await, sessions, "no session yet");
    let res = app.get_as(&browser, "/get-session").await;
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);

    for wrong in [code(&app, &key, -3), code(&app, &key, 3), "12345".into()] {
        let res = app
            .post_as(
                &browser,
                "/two-factor/verify-totp",
                &json!({ "code": wrong }),
            )
            .await;
        assert_eq!(error_code(res).await.1, "INVALID_CODE");
    }
    assert_eq!(session_rows(&app).await, sessions);

    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, -1) }),
        )
        .await;
    assert_eq!(res.status(), 200, "one step back is inside the window");
    let cookies = set_cookies(&res);
    assert!(cookie(&cookies, "better-auth.two_factor")
        .unwrap()
        .contains("Max-Age=0"));
    assert!(cookie(&cookies, "better-auth.trust_device").is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], id);
    assert_eq!(body["user"]["twoFactorEnabled"], true);
    let session = app.get_session_as(&browser).await;
    assert_eq!(session["session"]["token"], body["token"]);

    // The challenge is spent: the same request again is refused.
    let replay = app.anonymous();
    let res = replay
        .post(app.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let two_factor = cookie(&set_cookies(&res), "better-auth.two_factor")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let verify = |code: String| {
        replay
            .post(app.url("/two-factor/verify-totp"))
            .header("origin", ORIGIN)
            .header("cookie", two_factor.clone())
            .json(&json!({ "code": code }))
            .send()
    };
    assert_eq!(verify(code(&app, &key, 0)).await.unwrap().status(), 200);
    let res = verify(code(&app, &key, 0)).await.unwrap();
    assert_eq!(
        error_code(res).await,
        (
            401,
            "INVALID_TWO_FACTOR_COOKIE".into(),
            "Invalid two factor cookie".into()
        )
    );
}

#[apply(backends)]
#[tokio::test]
async fn each_backup_code_works_once(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let (id, email, _, codes) = enrolled(&app, &app.client).await;
    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-backup-code",
            &json!({ "code": codes[0] }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_session_as(&browser).await["user"]["id"], id);
    let left = better_auth_rs::auth::keyseal::decrypt_value(
        &app.state.settings.secrets,
        &row(&app, &id).await.unwrap().backup_codes,
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&left).unwrap(),
        codes[1..]
    );

    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-backup-code",
            &json!({ "code": codes[0] }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            401,
            "INVALID_BACKUP_CODE".into(),
            "Invalid backup code".into()
        )
    );
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-backup-code",
            &json!({ "code": codes[1] }),
        )
        .await;
    assert_eq!(res.status(), 200);

    // New codes replace the old ones.
    let res = app
        .post(
            "/two-factor/generate-backup-codes",
            &json!({ "password": "wrong password" }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_PASSWORD");
    let res = app
        .post(
            "/two-factor/generate-backup-codes",
            &json!({ "password": PASSWORD }),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], true);
    let fresh: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
    assert_eq!(fresh.len(), 10);
    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-backup-code",
            &json!({ "code": codes[2] }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_BACKUP_CODE");
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-backup-code",
            &json!({ "code": fresh[9] }),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[apply(backends)]
#[tokio::test]
async fn otps_are_mailed_expire_and_allow_five_tries(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, WITH_OTP).await else {
        return;
    };
    let (_, email, _, _) = enrolled(&app, &app.client).await;
    let browser = app.browser();
    let res = app.sign_in_as(&browser, &email, PASSWORD).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["twoFactorMethods"], json!(["totp", "otp"]));

    let res = app
        .post_as(&browser, "/two-factor/send-otp", &json!({}))
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    let mail = app.last_mail("two-factor-otp", &email);
    let otp = mail["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 6);
    assert!(mail.get("url").is_none());
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-otp",
            &json!({ "code": "000000x" }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_CODE");
    let res = app
        .post_as(&browser, "/two-factor/verify-otp", &json!({ "code": otp }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_session_as(&browser).await["user"]["email"], email);

    // Expired after three minutes.
    let browser = challenged(&app, &email).await;
    app.post_as(&browser, "/two-factor/send-otp", &json!({}))
        .await;
    let otp = app.last_mail("two-factor-otp", &email)["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance(181);
    let res = app
        .post_as(&browser, "/two-factor/verify-otp", &json!({ "code": otp }))
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "OTP_HAS_EXPIRED".into(), "OTP has expired".into())
    );

    // Five wrong codes, then even the right one needs a new code.
    app.post_as(&browser, "/two-factor/send-otp", &json!({}))
        .await;
    let otp = app.last_mail("two-factor-otp", &email)["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if otp == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        let res = app
            .post_as(
                &browser,
                "/two-factor/verify-otp",
                &json!({ "code": wrong }),
            )
            .await;
        assert_eq!(error_code(res).await.1, "INVALID_CODE");
    }
    let res = app
        .post_as(&browser, "/two-factor/verify-otp", &json!({ "code": otp }))
        .await;
    assert_eq!(
        error_code(res).await.1,
        "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"
    );
    assert!(app
        .get_as(&browser, "/get-session")
        .await
        .json::<Value>()
        .await
        .unwrap()
        .is_null());
}

#[apply(backends)]
#[tokio::test]
async fn a_trusted_device_skips_the_second_factor_for_thirty_days(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let (id, email, key, _) = enrolled(&app, &app.client).await;
    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, 0), "trustDevice": true }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let trust = cookie(&cookies, "better-auth.trust_device").expect("trust cookie");
    assert!(
        trust.contains("Max-Age=2592000") && trust.contains("HttpOnly"),
        "{trust}"
    );

    app.post_as(&browser, "/sign-out", &json!({})).await;
    let res = app.sign_in_as(&browser, &email, PASSWORD).await;
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["user"]["id"], id,
        "signed in without a second factor: {body}"
    );
    let renewed = cookie(&cookies, "better-auth.trust_device").expect("renewed");
    assert_ne!(renewed, trust);

    // Another browser, and this one after thirty days, are asked again.
    challenged(&app, &email).await;
    app.post_as(&browser, "/sign-out", &json!({})).await;
    app.advance(2_592_001);
    let res = app.sign_in_as(&browser, &email, PASSWORD).await;
    let cookies = set_cookies(&res);
    assert_eq!(
        res.json::<Value>().await.unwrap()["twoFactorRedirect"],
        true
    );
    assert!(cookie(&cookies, "better-auth.trust_device")
        .unwrap()
        .contains("Max-Age=0"));
}

#[apply(backends)]
#[tokio::test]
async fn disabling_needs_the_password_and_forgets_everything(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let (id, email, _, _) = enrolled(&app, &app.client).await;
    let res = app
        .post(
            "/two-factor/disable",
            &json!({ "password": "wrong password" }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_PASSWORD");
    assert!(row(&app, &id).await.is_some());
    let res = app
        .post("/two-factor/disable", &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    assert!(row(&app, &id).await.is_none());
    assert_eq!(app.get_session().await["user"]["twoFactorEnabled"], false);
    let res = app.sign_in_as(&app.browser(), &email, PASSWORD).await;
    assert!(res.json::<Value>().await.unwrap()["token"].is_string());
}

#[apply(backends)]
#[tokio::test]
async fn guessing_ends_the_challenge_then_locks_the_account(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let (id, email, key, codes) = enrolled(&app, &app.client).await;
    let wrong = |n: u64| {
        format!(
            "{:06}",
            (code(&app, &key, 0).parse::<u64>().unwrap() + n) % 1_000_000
        )
    };
    let browser = challenged(&app, &email).await;
    for n in 1..=5 {
        let res = app
            .post_as(
                &browser,
                "/two-factor/verify-totp",
                &json!({ "code": wrong(n) }),
            )
            .await;
        assert_eq!(error_code(res).await.1, "INVALID_CODE");
    }
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, 0) }),
        )
        .await;
    let cookies = set_cookies(&res);
    assert_eq!(
        error_code(res).await,
        (
            400,
            "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE".into(),
            "Too many attempts. Please request a new code.".into()
        )
    );
    assert!(cookie(&cookies, "better-auth.two_factor")
        .unwrap()
        .contains("Max-Age=0"));
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, 0) }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_TWO_FACTOR_COOKIE");

    // Ten failures in a row, across challenges, lock the account for fifteen minutes.
    let browser = challenged(&app, &email).await;
    for n in 6..=10 {
        let res = app
            .post_as(
                &browser,
                "/two-factor/verify-backup-code",
                &json!({ "code": format!("wrong-{n}") }),
            )
            .await;
        assert_eq!(error_code(res).await.1, "INVALID_BACKUP_CODE");
    }
    assert!(row(&app, &id).await.unwrap().locked_until.is_some());
    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-backup-code",
            &json!({ "code": codes[0] }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            429,
            "ACCOUNT_TEMPORARILY_LOCKED".into(),
            "Too many failed verification attempts. Your account is temporarily locked. Please try again later.".into()
        )
    );
    app.advance(901);
    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, 0) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after = row(&app, &id).await.unwrap();
    assert_eq!(
        (after.failed_verification_count, after.locked_until),
        (0, None)
    );
}

#[apply(backends)]
#[tokio::test]
async fn two_factor_routes_are_limited_to_three_requests_in_ten_seconds(#[case] backend: Backend) {
    let toml = format!("{TWO_FACTOR}[rate_limit]\nenabled = true\nstorage = \"database\"\n");
    let Some(app) = spawn_app_with(backend, &toml, &[]).await else {
        return;
    };
    for _ in 0..3 {
        let res = app
            .post("/two-factor/verify-totp", &json!({ "code": "123456" }))
            .await;
        assert_eq!(error_code(res).await.1, "INVALID_TWO_FACTOR_COOKIE");
    }
    let res = app
        .post(
            "/two-factor/verify-backup-code",
            &json!({ "code": "123456" }),
        )
        .await;
    assert_eq!(res.status(), 401, "each path has its own bucket");
    let res = app
        .post("/two-factor/verify-totp", &json!({ "code": "123456" }))
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("x-retry-after").is_some());
}

#[apply(backends)]
#[tokio::test]
async fn bad_input_gets_a_4xx_and_writes_nothing(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let res = app
        .post("/two-factor/enable", &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(res.status(), 401, "no session");
    let email = unique_email();
    app.sign_up(&email).await;
    for (path, body) in [
        ("/two-factor/enable", json!({ "password": 12 })),
        (
            "/two-factor/enable",
            json!({ "password": PASSWORD, "method": "sms" }),
        ),
        (
            "/two-factor/enable",
            json!({ "password": PASSWORD, "issuer": ["x"] }),
        ),
        ("/two-factor/enable", json!([1, 2])),
        ("/two-factor/disable", json!({})),
        ("/two-factor/verify-totp", json!({})),
        ("/two-factor/verify-totp", json!({ "code": 123456 })),
        (
            "/two-factor/verify-totp",
            json!({ "code": "123456", "trustDevice": "yes" }),
        ),
        ("/two-factor/verify-otp", json!({ "code": null })),
        (
            "/two-factor/verify-backup-code",
            json!({ "code": "x", "disableSession": 1 }),
        ),
        ("/two-factor/send-otp", json!({ "trustDevice": "yes" })),
        ("/two-factor/verify-totp", json!({ "code": "a\u{0}b" })),
    ] {
        let res = app.post(path, &body).await;
        assert_eq!(error_code(res).await.1, "VALIDATION_ERROR", "{path} {body}");
    }
    let res = app
        .client
        .post(app.url("/two-factor/verify-totp"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    for (path, code) in [
        ("/two-factor/get-totp-uri", "TOTP_NOT_ENABLED"),
        (
            "/two-factor/generate-backup-codes",
            "TWO_FACTOR_NOT_ENABLED",
        ),
        ("/two-factor/send-otp", "OTP_NOT_CONFIGURED"),
        ("/two-factor/verify-totp", "TOTP_NOT_ENABLED"),
        ("/two-factor/verify-backup-code", "BACKUP_CODES_NOT_ENABLED"),
        ("/two-factor/verify-otp", "OTP_HAS_EXPIRED"),
    ] {
        let res = app
            .post(
                path,
                &json!({ "password": PASSWORD, "code": "x".repeat(10_000) }),
            )
            .await;
        let (status, got, _) = error_code(res).await;
        assert_eq!((status, got.as_str()), (400, code), "{path}");
    }
    let res = app
        .post(
            "/two-factor/enable",
            &json!({ "password": PASSWORD, "method": "otp" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "OTP_NOT_CONFIGURED".into(),
            "OTP is not available".into()
        )
    );
    // Without a session: the two-factor cookie decides, and a forged one counts for nothing.
    let anonymous = app.anonymous();
    for cookie in [
        "",
        "better-auth.two_factor=2fa-abc.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE=",
    ] {
        let res = anonymous
            .post(app.url("/two-factor/verify-totp"))
            .header("origin", ORIGIN)
            .header("cookie", cookie)
            .json(&json!({ "code": "123456" }))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res).await.1, "INVALID_TWO_FACTOR_COOKIE");
    }
    assert_eq!(two_factor_rows(&app).await, 0);
    assert_eq!(app.get_session().await["user"]["twoFactorEnabled"], false);
}

#[apply(backends)]
#[tokio::test]
async fn the_otp_method_enables_at_once_and_keeps_codes_hashed(#[case] backend: Backend) {
    let toml = format!("{WITH_OTP}store_otp = \"hashed\"\n");
    let Some(app) = spawn_mail_app(backend, &toml).await else {
        return;
    };
    let email = unique_email();
    let id = app.sign_up(&email).await.json::<Value>().await.unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            "/two-factor/enable",
            &json!({ "password": PASSWORD, "method": "otp" }),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "method": "otp" })
    );
    assert_eq!(app.get_session().await["user"]["twoFactorEnabled"], true);
    assert!(row(&app, &id).await.is_none(), "no TOTP secret");

    let browser = app.browser();
    let res = app.sign_in_as(&browser, &email, PASSWORD).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["twoFactorMethods"], json!(["otp"]));
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": "123456" }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "TOTP_NOT_ENABLED");
    app.post_as(&browser, "/two-factor/send-otp", &json!({}))
        .await;
    let otp = app.last_mail("two-factor-otp", &email)["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    // Stored as Better Auth's `storeOTP: "hashed"`: base64url SHA-256 of the code, then the tries.
    use base64::Engine;
    use sha2::Digest;
    let hashed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&otp));
    let rows = |value: String| {
        let app = &app;
        async move { count_rows(app, &format!("verification WHERE value = '{value}'")).await }
    };
    assert_eq!(rows(format!("{otp}:0")).await, 0, "not in plain text");
    assert_eq!(rows(format!("{hashed}:0")).await, 1);
    let res = app
        .post_as(&browser, "/two-factor/verify-otp", &json!({ "code": otp }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_session_as(&browser).await["user"]["id"], id);
}

#[apply(backends)]
#[tokio::test]
async fn secrets_survive_a_switch_to_versioned_secrets(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TWO_FACTOR, &[]).await else {
        return;
    };
    let (id, email, key, codes) = enrolled(&app, &app.client).await;
    assert!(row(&app, &id)
        .await
        .unwrap()
        .secret
        .bytes()
        .all(|b| b.is_ascii_hexdigit()));
    // The same database under `BETTER_AUTH_SECRETS`, the old secret as version 1.
    let secrets = format!("2:rotated-secret-0123456789abcdefghijklmnop,1:{SECRET}");
    let app = start(app._db, TWO_FACTOR, &[("BETTER_AUTH_SECRETS", &secrets)]).await;
    let browser = challenged(&app, &email).await;
    let res = app
        .post_as(
            &browser,
            "/two-factor/verify-totp",
            &json!({ "code": code(&app, &key, 0) }),
        )
        .await;
    assert_eq!(res.status(), 200, "the bare-hex secret still opens");
    let res = app
        .post(
            "/sign-in/email",
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post(
            "/two-factor/verify-backup-code",
            &json!({ "code": codes[0] }),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Rewritten codes are sealed with the current secret, in Better Auth's envelope.
    assert!(row(&app, &id)
        .await
        .unwrap()
        .backup_codes
        .starts_with("$ba$2$"));
}
