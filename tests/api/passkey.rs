//! The passkey plugin (`[plugins.passkey]`) on every backend, with a software authenticator
//! of the test's own (a P-256 key, attestation `none`, built here with openssl): registration,
//! list, rename, sign-in, deletion; a cloned authenticator (counter not growing), a wrong
//! origin or RP id, another user's passkey and malformed input are refused with Better Auth's
//! codes, 4xx never 500, and nothing is written.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::Private;
use openssl::sha::sha256;
use serde_cbor_2::Value as Cbor;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::helpers::*;

const PASSKEY: &str = "[plugins.passkey]\nenabled = true\n";
const CHALLENGE_COOKIE: &str = "better-auth.better-auth-passkey";

/// A platform authenticator in software: one P-256 credential and its signature counter.
struct SoftAuthenticator {
    key: EcKey<Private>,
    credential_id: Vec<u8>,
    counter: u32,
    rp_id: String,
}

impl SoftAuthenticator {
    fn new() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        Self {
            key: EcKey::generate(&group).unwrap(),
            credential_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            counter: 0,
            rp_id: "localhost".into(),
        }
    }

    fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    /// The credential's COSE_Key (EC2, ES256), as authenticators encode it.
    fn cose_key(&self) -> Vec<u8> {
        let group = self.key.group();
        let mut ctx = BigNumContext::new().unwrap();
        let point = self
            .key
            .public_key()
            .to_bytes(group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let mut m = BTreeMap::new();
        m.insert(Cbor::Integer(1), Cbor::Integer(2));
        m.insert(Cbor::Integer(3), Cbor::Integer(-7));
        m.insert(Cbor::Integer(-1), Cbor::Integer(1));
        m.insert(Cbor::Integer(-2), Cbor::Bytes(point[1..33].to_vec()));
        m.insert(Cbor::Integer(-3), Cbor::Bytes(point[33..65].to_vec()));
        serde_cbor_2::to_vec(&Cbor::Map(m)).unwrap()
    }

    fn auth_data(&self, flags: u8, attested: bool) -> Vec<u8> {
        let mut d = sha256(self.rp_id.as_bytes()).to_vec();
        d.push(flags);
        d.extend(self.counter.to_be_bytes());
        if attested {
            d.extend([0u8; 16]);
            d.extend((self.credential_id.len() as u16).to_be_bytes());
            d.extend(&self.credential_id);
            d.extend(self.cose_key());
        }
        d
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create()`'s JSON (simplewebauthn's `startRegistration`).
    fn register(&self, options: &Value, origin: &str) -> Value {
        let challenge = options["challenge"].as_str().unwrap();
        let client_data = Self::client_data("webauthn.create", challenge, origin);
        let mut att = BTreeMap::new();
        att.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        att.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        // UP | UV | AT
        att.insert(
            Cbor::Text("authData".into()),
            Cbor::Bytes(self.auth_data(0x45, true)),
        );
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": { "credProps": { "rk": true } },
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
                "attestationObject": URL_SAFE_NO_PAD.encode(serde_cbor_2::to_vec(&Cbor::Map(att)).unwrap()),
                "transports": ["internal", "hybrid"],
            },
        })
    }

    /// `navigator.credentials.get()`'s JSON, signed at the current counter plus one.
    fn assert(&mut self, options: &Value, origin: &str) -> Value {
        self.counter += 1;
        self.sign(options, origin)
    }

    /// An assertion at the counter as it stands (a clone that did not see the last use).
    fn sign(&self, options: &Value, origin: &str) -> Value {
        let challenge = options["challenge"].as_str().unwrap();
        let client_data = Self::client_data("webauthn.get", challenge, origin);
        let auth_data = self.auth_data(0x05, false);
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let pkey = openssl::pkey::PKey::from_ec_key(self.key.clone()).unwrap();
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &pkey).unwrap();
        signer.update(&signed).unwrap();
        let signature = signer.sign_to_vec().unwrap();
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "signature": URL_SAFE_NO_PAD.encode(signature),
                "userHandle": URL_SAFE_NO_PAD.encode(b"user-handle"),
            },
        })
    }
}

/// A signed-up user's browser.
async fn signed_up(app: &TestApp) -> (reqwest::Client, String) {
    let browser = app.browser();
    let res = app
        .post_as(
            &browser,
            "/sign-up/email",
            &json!({ "email": unique_email(), "password": PASSWORD, "name": "Pat" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (browser, body["user"]["id"].as_str().unwrap().to_owned())
}

async fn options(app: &TestApp, browser: &reqwest::Client, path: &str) -> Value {
    let res = app.get_as(browser, path).await;
    assert_eq!(res.status(), 200, "{path}");
    let cookies = set_cookies(&res);
    let challenge = cookie(&cookies, CHALLENGE_COOKIE).expect("challenge cookie");
    assert!(challenge.contains("Max-Age=300"), "{challenge}");
    assert!(challenge.contains("HttpOnly"), "{challenge}");
    res.json().await.unwrap()
}

/// Registers `auth` for the browser's user; returns the passkey's JSON.
async fn register(app: &TestApp, browser: &reqwest::Client, auth: &SoftAuthenticator) -> Value {
    let opts = options(app, browser, "/passkey/generate-register-options").await;
    let res = app
        .post_as(
            browser,
            "/passkey/verify-registration",
            &json!({ "response": auth.register(&opts, ORIGIN) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Overwrites the `publicKey` of the passkey `id` with `cose_key` (base64, as stored).
async fn set_public_key(app: &TestApp, id: &str, cose_key: &[u8]) {
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::ConnectionTrait;
    let db = app.state.store.connection();
    let q = Query::update()
        .table(Alias::new("passkey"))
        .value(Alias::new("publicKey"), STANDARD.encode(cose_key))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let res = db.execute(db.get_database_backend().build(&q)).await;
    assert_eq!(res.map(|r| r.rows_affected()).ok(), Some(1));
}

async fn counter_in_db(app: &TestApp, id: &str) -> i64 {
    app.state
        .store
        .find_passkey(id)
        .await
        .unwrap()
        .unwrap()
        .counter
}

#[apply(backends)]
#[tokio::test]
async fn a_passkey_registers_lists_renames_signs_in_and_is_deleted(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, PASSKEY, &[]).await else {
        return;
    };
    let (browser, user_id) = signed_up(&app).await;
    let mut auth = SoftAuthenticator::new();

    // Options as simplewebauthn writes them, the challenge kept in a verification row.
    let rows_before = count_rows(&app, "verification").await;
    let opts = options(
        &app,
        &browser,
        "/passkey/generate-register-options?name=laptop",
    )
    .await;
    assert_eq!(
        opts["rp"],
        json!({ "name": "Better Auth", "id": "localhost" })
    );
    assert_eq!(opts["user"]["name"], "laptop");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(opts["user"]["id"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(opts["challenge"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        opts["pubKeyCredParams"],
        json!([{"alg": -8, "type": "public-key"}, {"alg": -7, "type": "public-key"}, {"alg": -257, "type": "public-key"}])
    );
    assert_eq!(opts["timeout"], 60000);
    assert_eq!(opts["attestation"], "none");
    assert_eq!(opts["excludeCredentials"], json!([]));
    assert_eq!(
        opts["authenticatorSelection"],
        json!({"residentKey": "preferred", "userVerification": "preferred", "requireResidentKey": false})
    );
    assert_eq!(opts["extensions"], json!({ "credProps": true }));
    assert_eq!(opts["hints"], json!([]));
    assert_eq!(count_rows(&app, "verification").await, rows_before + 1);

    let res = app
        .post_as(
            &browser,
            "/passkey/verify-registration",
            &json!({ "response": auth.register(&opts, ORIGIN), "name": "  Laptop  " }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let passkey: Value = res.json().await.unwrap();
    assert_eq!(passkey["name"], "Laptop");
    assert_eq!(passkey["userId"], user_id.as_str());
    assert_eq!(passkey["credentialID"], auth.id());
    assert_eq!(passkey["publicKey"], STANDARD.encode(auth.cose_key()));
    assert_eq!(passkey["counter"], 0);
    assert_eq!(passkey["deviceType"], "singleDevice");
    assert_eq!(passkey["backedUp"], false);
    assert_eq!(passkey["transports"], "internal,hybrid");
    assert_eq!(passkey["aaguid"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(
        count_rows(&app, "verification").await,
        rows_before,
        "challenge consumed"
    );
    let id = passkey["id"].as_str().unwrap().to_owned();
    let row = app.state.store.find_passkey(&id).await.unwrap().unwrap();
    assert_eq!(row.public_key, STANDARD.encode(auth.cose_key()));

    // Its credential is excluded from the next registration.
    let again = options(&app, &browser, "/passkey/generate-register-options").await;
    assert_eq!(
        again["excludeCredentials"],
        json!([{ "id": auth.id(), "transports": ["internal", "hybrid"], "type": "public-key" }])
    );

    let res = app.get_as(&browser, "/passkey/list-user-passkeys").await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list, json!([passkey]));

    let res = app
        .post_as(
            &browser,
            "/passkey/update-passkey",
            &json!({ "id": id, "name": " Work " }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["passkey"]["name"], "Work");
    assert_eq!(body["passkey"]["id"], id.as_str());

    // Sign-in from a browser with no session: no allowCredentials, then a session.
    let other = app.browser();
    let opts = options(&app, &other, "/passkey/generate-authenticate-options").await;
    assert_eq!(opts["rpId"], "localhost");
    assert_eq!(opts["userVerification"], "preferred");
    assert!(opts.get("allowCredentials").is_none());
    let response = auth.assert(&opts, ORIGIN);
    let res = app
        .post_as(
            &other,
            "/passkey/verify-authentication",
            &json!({ "response": response }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    assert!(cookie(&cookies, "better-auth.session_token").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], user_id.as_str());
    assert_eq!(body["session"]["userId"], user_id.as_str());
    assert_eq!(
        app.get_session_as(&other).await["user"]["id"],
        user_id.as_str()
    );
    assert_eq!(counter_in_db(&app, &id).await, 1);

    // The challenge served once: replaying the same assertion finds none.
    let res = app
        .post_as(
            &other,
            "/passkey/verify-authentication",
            &json!({ "response": response }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "CHALLENGE_NOT_FOUND".into(),
            "Challenge not found".into()
        )
    );

    // Signed in, the options list the user's credentials.
    let opts = options(&app, &browser, "/passkey/generate-authenticate-options").await;
    assert_eq!(
        opts["allowCredentials"],
        json!([{ "id": auth.id(), "transports": ["internal", "hybrid"], "type": "public-key" }])
    );

    // `createSession: true`: the new passkey with a new session and its cookie.
    let second = SoftAuthenticator::new();
    let opts = options(&app, &browser, "/passkey/generate-register-options").await;
    let res = app
        .post_as(
            &browser,
            "/passkey/verify-registration",
            &json!({ "response": second.register(&opts, ORIGIN), "createSession": true }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let token = cookie(&set_cookies(&res), "better-auth.session_token")
        .expect("session cookie")
        .clone();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["credentialID"], second.id());
    assert_eq!(body["user"]["id"], user_id.as_str());
    assert_eq!(body["session"]["userId"], user_id.as_str());
    assert!(token.starts_with(&format!(
        "better-auth.session_token={}.",
        body["session"]["token"].as_str().unwrap()
    )));
    let second_id = body["id"].as_str().unwrap().to_owned();
    let res = app
        .post_as(
            &browser,
            "/passkey/delete-passkey",
            &json!({ "id": second_id }),
        )
        .await;
    assert_eq!(res.status(), 200);

    let res = app
        .post_as(&browser, "/passkey/delete-passkey", &json!({ "id": id }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    assert_eq!(count_rows(&app, "passkey").await, 0);
    let list: Value = app
        .get_as(&browser, "/passkey/list-user-passkeys")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
}

#[apply(backends)]
#[tokio::test]
async fn clones_wrong_origins_and_other_users_passkeys_are_refused(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, PASSKEY, &[]).await else {
        return;
    };
    let (browser, _) = signed_up(&app).await;
    let mut auth = SoftAuthenticator::new();
    let passkey = register(&app, &browser, &auth).await;
    let id = passkey["id"].as_str().unwrap().to_owned();
    let anon = app.browser();

    let attempt = |response: Value| {
        let app = &app;
        let anon = &anon;
        async move {
            let res = app
                .post_as(
                    anon,
                    "/passkey/verify-authentication",
                    &json!({ "response": response }),
                )
                .await;
            let cookies = set_cookies(&res);
            assert!(cookie(&cookies, "better-auth.session_token").is_none());
            error_code(res).await
        }
    };
    let failed = (
        400,
        "AUTHENTICATION_FAILED".to_owned(),
        "Authentication failed".to_owned(),
    );

    // A good sign-in moves the counter to 1.
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    let res = app
        .post_as(
            &anon,
            "/passkey/verify-authentication",
            &json!({ "response": auth.assert(&opts, ORIGIN) }),
        )
        .await;
    assert_eq!(res.status(), 200);

    // A clone still at counter 1 (or behind) is refused, and the counter stays.
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    assert_eq!(attempt(auth.sign(&opts, ORIGIN)).await, failed);
    assert_eq!(counter_in_db(&app, &id).await, 1);

    // Another origin, another RP id.
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    assert_eq!(
        attempt(auth.assert(&opts, "https://evil.example")).await,
        failed
    );
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    auth.rp_id = "evil.example".into();
    assert_eq!(attempt(auth.assert(&opts, ORIGIN)).await, failed);
    auth.rp_id = "localhost".into();
    // A signature over another challenge.
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    let mut stale = opts.clone();
    stale["challenge"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    assert_eq!(attempt(auth.assert(&stale, ORIGIN)).await, failed);
    assert_eq!(counter_in_db(&app, &id).await, 1);

    // The stored key edited off the curve (one bit of y): refused like a bad signature (400,
    // never a 500), the counter unchanged.
    let Ok(Cbor::Map(mut edited)) = serde_cbor_2::from_slice::<Cbor>(&auth.cose_key()) else {
        panic!("the COSE key is a map");
    };
    if let Some(Cbor::Bytes(y)) = edited.get_mut(&Cbor::Integer(-3)) {
        y[31] ^= 1;
    }
    let edited = serde_cbor_2::to_vec(&Cbor::Map(edited)).unwrap();
    set_public_key(&app, &id, &edited).await;
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    assert_eq!(attempt(auth.assert(&opts, ORIGIN)).await, failed);
    assert_eq!(counter_in_db(&app, &id).await, 1);
    set_public_key(&app, &id, &auth.cose_key()).await;

    // No challenge cookie; a registration challenge used to sign in.
    let res = app
        .post_as(
            &app.browser(),
            "/passkey/verify-authentication",
            &json!({ "response": auth.assert(&opts, ORIGIN) }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "CHALLENGE_NOT_FOUND");
    let reg = options(&app, &browser, "/passkey/generate-register-options").await;
    let res = app
        .post_as(
            &browser,
            "/passkey/verify-authentication",
            &json!({ "response": auth.assert(&reg, ORIGIN) }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "CHALLENGE_NOT_FOUND");

    // An unknown credential.
    let stranger = SoftAuthenticator::new();
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    assert_eq!(
        attempt(stranger.sign(&opts, ORIGIN)).await,
        (401, "PASSKEY_NOT_FOUND".into(), "Passkey not found".into())
    );

    // Registration from another origin: refused, nothing stored.
    let second = SoftAuthenticator::new();
    let opts = options(&app, &browser, "/passkey/generate-register-options").await;
    let res = app
        .post_as(
            &browser,
            "/passkey/verify-registration",
            &json!({ "response": second.register(&opts, "https://evil.example") }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "FAILED_TO_VERIFY_REGISTRATION".into(),
            "Failed to verify registration".into()
        )
    );
    assert_eq!(count_rows(&app, "passkey").await, 1);

    // A challenge issued to one user cannot register a passkey for another.
    let (mallory, _) = signed_up(&app).await;
    let res = app
        .post_as(
            &app.anonymous(),
            "/sign-up/email",
            &json!({ "email": unique_email(), "password": PASSWORD, "name": "Eve" }),
        )
        .await;
    let eve_session = cookie(&set_cookies(&res), "better-auth.session_token")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let res = app
        .get_as(&browser, "/passkey/generate-register-options")
        .await;
    let challenge_cookie = cookie(&set_cookies(&res), CHALLENGE_COOKIE)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let opts: Value = res.json().await.unwrap();
    let res = app
        .anonymous()
        .post(app.url("/passkey/verify-registration"))
        .header("origin", ORIGIN)
        .header("cookie", format!("{eve_session}; {challenge_cookie}"))
        .json(&json!({ "response": second.register(&opts, ORIGIN) }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await.1,
        "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY"
    );
    assert_eq!(count_rows(&app, "passkey").await, 1);

    // Another user's passkey can be neither renamed nor deleted; an unknown id is not found.
    let res = app
        .post_as(
            &mallory,
            "/passkey/update-passkey",
            &json!({ "id": id, "name": "mine" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            401,
            "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY".into(),
            "You are not allowed to register this passkey".into()
        )
    );
    let res = app
        .post_as(&mallory, "/passkey/delete-passkey", &json!({ "id": id }))
        .await;
    assert_eq!(res.status(), 401);
    let res = app
        .post_as(
            &mallory,
            "/passkey/delete-passkey",
            &json!({ "id": "nope" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (404, "PASSKEY_NOT_FOUND".into(), "Passkey not found".into())
    );
    let list: Value = app
        .get_as(&mallory, "/passkey/list-user-passkeys")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    let row = app.state.store.find_passkey(&id).await.unwrap().unwrap();
    assert_eq!(row.name, None);

    // Without a session.
    let res = app
        .get_as(&app.anonymous(), "/passkey/list-user-passkeys")
        .await;
    assert_eq!(error_code(res).await.1, "UNAUTHORIZED");
    let res = app
        .get_as(&app.anonymous(), "/passkey/generate-register-options")
        .await;
    assert_eq!(error_code(res).await.1, "UNAUTHORIZED");
}

/// Makes a registration response from the options.
type MakeResponse<'a> = dyn Fn(&Value) -> Value + 'a;

#[apply(backends)]
#[tokio::test]
async fn malformed_input_is_a_4xx_and_writes_nothing(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, PASSKEY, &[]).await else {
        return;
    };
    let (browser, _) = signed_up(&app).await;
    let auth = SoftAuthenticator::new();
    let good = |opts: &Value| auth.register(opts, ORIGIN);
    let garbage: Vec<Box<MakeResponse>> = vec![
        Box::new(|_| json!("a string")),
        Box::new(|_| json!(null)),
        Box::new(|_| json!({})),
        Box::new(|_| json!({ "id": 5, "response": [] })),
        Box::new(move |o| {
            let mut r = good(o);
            r["response"]["attestationObject"] = json!("!!not base64!!");
            r
        }),
        Box::new(move |o| {
            let mut r = good(o);
            r["response"]["attestationObject"] = json!(URL_SAFE_NO_PAD.encode(b"\xa1\x63fmt"));
            r
        }),
        Box::new(move |o| {
            let mut r = good(o);
            r["response"]["clientDataJSON"] = json!(URL_SAFE_NO_PAD.encode(b"{not json"));
            r
        }),
        Box::new(move |o| {
            let mut r = good(o);
            r["response"]["transports"] = json!("usb");
            r["response"]["clientDataJSON"] = json!(12);
            r
        }),
    ];
    for make in &garbage {
        let opts = options(&app, &browser, "/passkey/generate-register-options").await;
        let res = app
            .post_as(
                &browser,
                "/passkey/verify-registration",
                &json!({ "response": make(&opts) }),
            )
            .await;
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{status}");
        let body: Value = res.json().await.unwrap();
        assert!(body["code"].is_string(), "{body}");
    }
    // Bodies that fail validation.
    for (path, body) in [
        (
            "/passkey/verify-registration",
            json!({ "response": {}, "name": 5 }),
        ),
        (
            "/passkey/verify-registration",
            json!({ "response": {}, "createSession": "yes" }),
        ),
        ("/passkey/verify-registration", json!([1, 2])),
        ("/passkey/verify-authentication", json!({ "response": "x" })),
        ("/passkey/verify-authentication", json!({})),
        (
            "/passkey/update-passkey",
            json!({ "id": "x", "name": "   " }),
        ),
        ("/passkey/update-passkey", json!({ "id": 1 })),
        ("/passkey/delete-passkey", json!({})),
    ] {
        let res = app.post_as(&browser, path, &body).await;
        assert_eq!(error_code(res).await.1, "VALIDATION_ERROR", "{path} {body}");
    }
    let res = browser
        .post(app.url("/passkey/verify-authentication"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .body("{\"response\": ")
        .send()
        .await
        .unwrap();
    assert!((400..500).contains(&res.status().as_u16()));
    let res = app
        .get_as(
            &browser,
            "/passkey/generate-register-options?authenticatorAttachment=usb",
        )
        .await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
    // An assertion that is not one.
    let opts = options(&app, &browser, "/passkey/generate-authenticate-options").await;
    let _ = opts;
    let res = app
        .post_as(
            &browser,
            "/passkey/verify-authentication",
            &json!({ "response": { "id": 1 } }),
        )
        .await;
    assert_eq!(error_code(res).await.1, "PASSKEY_NOT_FOUND");
    assert_eq!(count_rows(&app, "passkey").await, 0);
}

/// With Redis as secondary storage the challenge lives in Redis only, under
/// `verification:<token>`, in Better Auth's JSON, and is taken once.
#[tokio::test]
async fn with_redis_the_challenge_lives_in_redis() {
    let Some(mut keys) = connect_redis().await else {
        return;
    };
    let toml = format!("[redis]\nkey_prefix = \"{}\"\n{PASSKEY}", keys.prefix);
    let Some(app) =
        spawn_app_with(Backend::Sqlite, &toml, &[("REDIS_URL", &test_redis_url())]).await
    else {
        return;
    };
    let (browser, user_id) = signed_up(&app).await;
    let mut auth = SoftAuthenticator::new();
    let rows = count_rows(&app, "verification").await;
    let opts = options(&app, &browser, "/passkey/generate-register-options").await;
    let stored = keys.scan("verification:*").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let value = keys.json(&stored[0]).await;
    let value: Value = match value {
        Value::String(s) => serde_json::from_str(&s).unwrap(),
        other => other,
    };
    let inner = value
        .get("value")
        .and_then(Value::as_str)
        .map(|v| serde_json::from_str::<Value>(v).unwrap())
        .unwrap_or(value.clone());
    assert_eq!(inner["type"], "registration", "{value}");
    assert_eq!(inner["expectedChallenge"], opts["challenge"]);
    assert_eq!(inner["userData"]["id"], user_id.as_str());
    assert_eq!(count_rows(&app, "verification").await, rows);
    let res = app
        .post_as(
            &browser,
            "/passkey/verify-registration",
            &json!({ "response": auth.register(&opts, ORIGIN) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(keys.scan("verification:*").await.is_empty());
    let anon = app.browser();
    let opts = options(&app, &anon, "/passkey/generate-authenticate-options").await;
    let res = app
        .post_as(
            &anon,
            "/passkey/verify-authentication",
            &json!({ "response": auth.assert(&opts, ORIGIN) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(keys.scan("verification:*").await.is_empty());
}
