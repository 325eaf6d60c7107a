//! Social sign-in against a real OpenID provider on loopback (`social_idp`): the redirect
//! flow, every error redirect, linking rules, ID-token sign-in, link-social and the token
//! routes, on the three databases where the storage matters.

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::social_idp::{Idp, IdpUser};

const CALLBACK: &str = "http://localhost:3000/dashboard";
const NEW_USER: &str = "http://localhost:3000/welcome";
const ERRORS: &str = "http://localhost:3000/login?failed=1";

fn providers(idp: &Idp) -> String {
    let b = &idp.base;
    format!(
        r#"
[account]
provider_timeout = 2

[social_providers.github]
client_id = "gh-client"
client_secret = "gh-secret"
authorization_endpoint = "{b}/authorize"
token_endpoint = "{b}/token"
user_info_endpoint = "{b}/user"

[social_providers.google]
client_id = "google-client"
client_secret = "google-secret"
authorization_endpoint = "{b}/authorize"
token_endpoint = "{b}/token"
jwks_endpoint = "{b}/jwks"

[social_providers.gitlab]
client_id = "gl-client"
client_secret = "gl-secret"
issuer = "http://127.0.0.1:9"

[[plugins.generic_oauth.config]]
provider_id = "acme"
discovery_url = "{b}/.well-known/openid-configuration"
client_id = "acme-client"
client_secret = "acme-secret"
scopes = ["openid", "email", "profile"]
"#
    )
}

async fn spawn(backend: Backend, idp: &Idp, extra: &str) -> Option<TestApp> {
    // Later keys of the same table win in neither direction in TOML: `extra` adds tables.
    spawn_app_with(backend, &format!("{}\n{extra}", providers(idp)), &[]).await
}

/// `http://localhost:3001/...` (the configured base URL) on the test server's real address.
fn local(app: &TestApp, location: &str) -> String {
    location.replacen("http://localhost:3001", &app.address, 1)
}

fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// POST /sign-in/social as `client`, 200 with the authorization URL.
async fn begin(app: &TestApp, client: &reqwest::Client, body: Value) -> String {
    let res = app.post_as(client, "/sign-in/social", &body).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let json: Value = res.json().await.unwrap();
    json["url"].as_str().unwrap().to_owned()
}

/// The browser at the provider: its redirect back to our callback (not yet followed).
async fn at_provider(url: &str) -> String {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    location(&res)
}

/// The whole redirect flow for `provider`; the callback's response.
async fn flow(app: &TestApp, client: &reqwest::Client, provider: &str, extra: Value) -> Response {
    let mut body = json!({
        "provider": provider, "callbackURL": CALLBACK, "newUserCallbackURL": NEW_USER,
        "errorCallbackURL": ERRORS,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let url = begin(app, client, body).await;
    let back = at_provider(&url).await;
    client.get(local(app, &back)).send().await.unwrap()
}

fn error_of(res: &Response) -> (String, Option<String>, String) {
    assert_eq!(res.status(), 302);
    let loc = location(res);
    let q = query_of(&loc);
    (
        q.get("error").cloned().unwrap_or_default(),
        q.get("error_description").cloned(),
        loc,
    )
}

#[apply(backends)]
#[tokio::test]
async fn github_signs_up_then_signs_in_and_stores_the_account(#[case] backend: Backend) {
    let idp = Idp::start().await;
    let Some(app) = spawn(backend, &idp, "").await else {
        return;
    };
    let email = unique_email();
    let user = IdpUser::new(&email, true);
    idp.set_user(user.clone());

    let res = flow(&app, &app.client, "github", json!({})).await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), NEW_USER);
    let cookies = set_cookies(&res);
    assert!(cookie(&cookies, "better-auth.session_token").is_some());
    let state_cleared = cookie(&cookies, "better-auth.state").unwrap();
    assert!(state_cleared.contains("Max-Age=0"), "{state_cleared}");
    let session = app.get_session().await;
    assert_eq!(session["user"]["email"], email.as_str());
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(session["user"]["name"], "Ada Lovelace");
    assert_eq!(session["user"]["image"], "https://avatars.test/ada.png");

    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let accounts = app.state.store.list_accounts(&user_id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].provider_id, "github");
    assert_eq!(accounts[0].account_id, user.sub);
    assert_eq!(accounts[0].scope.as_deref(), Some("read:user,user:email"));
    let (_, tokens) = app
        .state
        .store
        .find_account_with_tokens(&user_id, &accounts[0].id)
        .await
        .unwrap()
        .unwrap();
    let first_access = tokens.access_token.clone().unwrap();
    assert!(idp.knows_access_token(&first_access));
    assert!(tokens.refresh_token.is_some() && tokens.access_token_expires_at.is_some());

    // Again, from another browser: the same user signs in, the tokens are replaced.
    let other = app.browser();
    let res = flow(&app, &other, "github", json!({})).await;
    assert_eq!(location(&res), CALLBACK);
    let again = app.get_session_as(&other).await;
    assert_eq!(again["user"]["id"], user_id.as_str());
    let (_, tokens) = app
        .state
        .store
        .find_account_with_tokens(&user_id, &accounts[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(tokens.access_token.unwrap(), first_access);
    assert_eq!(
        app.state.store.list_accounts(&user_id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn sign_in_social_answers_the_authorization_url_and_stores_the_state() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "").await else {
        return;
    };
    let res = app
        .post(
            "/sign-in/social",
            &json!({ "provider": "github", "callbackURL": "/dashboard", "additionalData": { "plan": "pro" } }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let url_header = location(&res);
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], true);
    let url = body["url"].as_str().unwrap();
    assert_eq!(url_header, url);
    assert!(url.starts_with(&format!("{}/authorize?", idp.base)));
    let q = query_of(url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "gh-client");
    assert_eq!(q["scope"], "read:user user:email");
    assert_eq!(
        q["redirect_uri"],
        "http://localhost:3001/api/auth/callback/github"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    let state = &q["state"];
    assert_eq!(state.len(), 32);
    let c = cookie(&cookies, "better-auth.state").unwrap();
    assert!(c.starts_with(&format!("better-auth.state={state}.")), "{c}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=300"] {
        assert!(c.contains(attr), "{c}");
    }
    let now = chrono::Utc::now();
    let row = app
        .state
        .store
        .find_verification(&format!("auth-state:{state}"), now)
        .await
        .unwrap()
        .unwrap();
    let data: Value = serde_json::from_str(&row.value).unwrap();
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "plan",
            "callbackURL",
            "codeVerifier",
            "expiresAt",
            "oauthState"
        ]
    );
    assert_eq!(data["callbackURL"], "/dashboard");
    assert_eq!(data["oauthState"], state.as_str());
    let verifier = data["codeVerifier"].as_str().unwrap();
    assert_eq!(verifier.len(), 128);
    assert_eq!(
        q["code_challenge"],
        better_auth_rs::social::code_challenge(verifier)
    );

    // disableRedirect: no Location, `redirect: false`; the generic OIDC provider adds a nonce.
    let res = app
        .post(
            "/sign-in/social",
            &json!({ "provider": "acme", "disableRedirect": true, "loginHint": "ada" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], false);
    let q = query_of(body["url"].as_str().unwrap());
    assert_eq!(q["nonce"].len(), 32);
    assert_eq!(q["login_hint"], "ada");
    assert_eq!(q["scope"], "openid email profile");

    let (status, code, _) = error_code(
        app.post("/sign-in/social", &json!({ "provider": "nope" }))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "PROVIDER_NOT_FOUND"));
    let (status, code, message) = error_code(
        app.post(
            "/sign-in/social",
            &json!({ "provider": "github", "additionalParams": { "state": "x" } }),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_ERROR"));
    assert_eq!(message, "[body.additionalParams] additionalParams cannot include reserved OAuth parameters: state, client_id, redirect_uri, response_type, code_challenge, code_challenge_method, nonce, scope");
    let (status, code, _) = error_code(
        app.post(
            "/sign-in/social",
            &json!({ "provider": "github", "callbackURL": "https://evil.test/" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (403, "INVALID_CALLBACK_URL"));
}

#[apply(backends)]
#[tokio::test]
async fn state_failures_redirect_with_better_auths_codes(#[case] backend: Backend) {
    let idp = Idp::start().await;
    let Some(app) = spawn(backend, &idp, "").await else {
        return;
    };
    idp.set_user(IdpUser::new(&unique_email(), true));
    let error_page = format!("{}/api/auth/error", app.address);

    // No state at all; an unknown state.
    let res = app.get("/callback/github?code=abc").await;
    assert_eq!(
        error_of(&res).2,
        "http://localhost:3001/api/auth/error?error=state_not_found"
    );
    let res = app.get("/callback/github?code=abc&state=unknown").await;
    assert_eq!(
        error_of(&res).2,
        "http://localhost:3001/api/auth/error?error=state_mismatch"
    );
    let _ = error_page;

    // The state cookie missing (another browser finishes the flow).
    let url = begin(
        &app,
        &app.client,
        json!({ "provider": "github", "callbackURL": CALLBACK, "errorCallbackURL": ERRORS }),
    )
    .await;
    let back = at_provider(&url).await;
    let res = app
        .anonymous()
        .get(local(&app, &back))
        .send()
        .await
        .unwrap();
    let (error, _, loc) = error_of(&res);
    assert_eq!(error, "state_mismatch");
    assert!(
        loc.starts_with("http://localhost:3000/login?failed=1&error="),
        "{loc}"
    );
    assert!(set_cookies(&res)
        .iter()
        .all(|c| !c.starts_with("better-auth.session_token")));

    // A replayed callback: the state is gone after its first use.
    let url = begin(
        &app,
        &app.client,
        json!({ "provider": "github", "callbackURL": CALLBACK }),
    )
    .await;
    let back = local(&app, &at_provider(&url).await);
    let first = app.client.get(&back).send().await.unwrap();
    assert_eq!(first.status(), 302);
    assert_eq!(location(&first), CALLBACK);
    let replay = app.client.get(&back).send().await.unwrap();
    assert_eq!(error_of(&replay).0, "state_mismatch");

    // The provider's own error, with its description; no code.
    let url = begin(
        &app,
        &app.client,
        json!({ "provider": "github", "callbackURL": CALLBACK, "errorCallbackURL": ERRORS }),
    )
    .await;
    let state = query_of(&url)["state"].clone();
    let res = app
        .get(&format!(
            "/callback/github?state={state}&error=access_denied&error_description=User%20said%20no"
        ))
        .await;
    let (error, description, _) = error_of(&res);
    assert_eq!(
        (error.as_str(), description.as_deref()),
        ("access_denied", Some("User said no"))
    );
    let url = begin(
        &app,
        &app.client,
        json!({ "provider": "github", "callbackURL": CALLBACK, "errorCallbackURL": ERRORS }),
    )
    .await;
    let state = query_of(&url)["state"].clone();
    assert_eq!(
        error_of(&app.get(&format!("/callback/github?state={state}")).await).0,
        "no_code"
    );
}

#[tokio::test]
async fn form_post_callback_redirects_to_the_get_with_the_parameters() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "").await else {
        return;
    };
    let res = app
        .client
        .post(app.url("/callback/apple?iss=x"))
        .form(&[("code", "c1"), ("state", "s1"), ("iss", "ignored")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        location(&res),
        "http://localhost:3001/api/auth/callback/apple?code=c1&state=s1&iss=x"
    );
}

#[apply(backends)]
#[tokio::test]
async fn linking_by_email_follows_trust_and_verification(#[case] backend: Backend) {
    let idp = Idp::start().await;
    let Some(app) = spawn(backend, &idp, "").await else {
        return;
    };
    // A local user with an unverified email: a verified provider email does not link.
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    idp.set_user(IdpUser::new(&email, true));
    let res = flow(&app, &app.browser(), "github", json!({})).await;
    assert_eq!(error_of(&res).0, "account_not_linked");

    // Verified locally: the provider's verified email links; case differences do not matter.
    let user = app.user_by_email(&email).await.unwrap();
    app.state
        .store
        .update_user_email(&user.id, None, true, chrono::Utc::now())
        .await
        .unwrap();
    idp.set_user(IdpUser::new(&email.to_uppercase(), true));
    let browser = app.browser();
    let res = flow(&app, &browser, "github", json!({})).await;
    assert_eq!(location(&res), CALLBACK);
    assert_eq!(
        app.get_session_as(&browser).await["user"]["id"],
        user.id.as_str()
    );
    let providers: Vec<String> = app
        .state
        .store
        .list_accounts(&user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.provider_id)
        .collect();
    assert!(providers.contains(&"github".to_owned()), "{providers:?}");

    // The provider does not vouch for the email and is not trusted: not linked.
    let email2 = unique_email();
    app.sign_up(&email2).await;
    let u2 = app.user_by_email(&email2).await.unwrap();
    app.state
        .store
        .update_user_email(&u2.id, None, true, chrono::Utc::now())
        .await
        .unwrap();
    idp.set_user(IdpUser::new(&email2, false));
    let res = flow(&app, &app.browser(), "acme", json!({})).await;
    assert_eq!(error_of(&res).0, "account_not_linked");
}

#[tokio::test]
async fn trusted_providers_link_unverified_provider_emails() {
    let idp = Idp::start().await;
    let extra = "[account.account_linking]\ntrusted_providers = [\"acme\"]\n";
    let Some(app) = spawn(Backend::Sqlite, &idp, extra).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let u = app.user_by_email(&email).await.unwrap();
    app.state
        .store
        .update_user_email(&u.id, None, true, chrono::Utc::now())
        .await
        .unwrap();
    idp.set_user(IdpUser::new(&email, false));
    let browser = app.browser();
    let res = flow(&app, &browser, "acme", json!({})).await;
    assert_eq!(location(&res), CALLBACK);
    assert_eq!(
        app.get_session_as(&browser).await["user"]["id"],
        u.id.as_str()
    );
}

#[tokio::test]
async fn sign_up_can_be_disabled_and_requested() {
    let idp = Idp::start().await;
    let b = &idp.base;
    let extra = format!(
        r#"
[[plugins.generic_oauth.config]]
provider_id = "closed"
discovery_url = "{b}/.well-known/openid-configuration"
client_id = "closed-client"
client_secret = "closed-secret"
disable_implicit_sign_up = true
"#
    );
    let Some(app) = spawn(Backend::Sqlite, &idp, &extra).await else {
        return;
    };
    idp.set_user(IdpUser::new(&unique_email(), true));
    let res = flow(&app, &app.browser(), "closed", json!({})).await;
    assert_eq!(error_of(&res).0, "signup_disabled");
    let res = flow(
        &app,
        &app.browser(),
        "closed",
        json!({ "requestSignUp": true }),
    )
    .await;
    assert_eq!(location(&res), NEW_USER);
}

#[tokio::test]
async fn provider_failures_end_in_error_redirects() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "").await else {
        return;
    };
    idp.set_user(IdpUser::new(&unique_email(), true));

    idp.knobs(|k| k.refuse_codes = true);
    assert_eq!(
        error_of(&flow(&app, &app.browser(), "github", json!({})).await).0,
        "invalid_code"
    );
    idp.knobs(|k| k.refuse_codes = false);

    // Slower than `provider_timeout` (2 s): the exchange is abandoned.
    idp.knobs(|k| k.token_delay = 4);
    let started = std::time::Instant::now();
    assert_eq!(
        error_of(&flow(&app, &app.browser(), "github", json!({})).await).0,
        "invalid_code"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    idp.knobs(|k| k.token_delay = 0);

    idp.knobs(|k| k.huge_user_info = true);
    assert_eq!(
        error_of(&flow(&app, &app.browser(), "github", json!({})).await).0,
        "unable_to_get_user_info"
    );
    idp.knobs(|k| k.huge_user_info = false);

    // RFC 9207: the callback's `iss` must be the discovered issuer.
    idp.knobs(|k| k.callback_iss = Some("https://evil.test".into()));
    assert_eq!(
        error_of(&flow(&app, &app.browser(), "acme", json!({})).await).0,
        "issuer_mismatch"
    );
    idp.knobs(|k| k.callback_iss = None);

    // ID tokens of the generic OIDC provider are verified as Better Auth's jose options do:
    // audience, issuer, nonce; `iss`, `sub`, `aud`, `exp`, `iat` required (null: removed);
    // 30 s of clock skew on `exp` and `nbf`.
    let now = chrono::Utc::now().timestamp();
    for (claim, value) in [
        ("aud", json!("someone-else")),
        ("iss", json!("https://evil.test")),
        ("nonce", json!("replayed")),
        ("nonce", Value::Null),
        ("iat", Value::Null),
        ("sub", Value::Null),
        ("exp", Value::Null),
        ("exp", json!(now - 45)),
        ("nbf", json!(now + 120)),
        ("iat", json!("yesterday")),
    ] {
        idp.knobs(|k| {
            k.id_token_claims.clear();
            k.id_token_claims.insert(claim.into(), value.clone());
        });
        let res = flow(&app, &app.browser(), "acme", json!({})).await;
        assert_eq!(error_of(&res).0, "unable_to_get_user_info", "{claim}");
    }
    // Expired 10 s ago: within the tolerance.
    idp.knobs(|k| {
        k.id_token_claims.clear();
        k.id_token_claims.insert("exp".into(), json!(now - 10));
    });
    assert_eq!(
        location(&flow(&app, &app.browser(), "acme", json!({})).await),
        NEW_USER
    );
    idp.knobs(|k| k.id_token_claims.clear());
    idp.set_user(IdpUser::new(&unique_email(), true));
    assert_eq!(
        location(&flow(&app, &app.browser(), "acme", json!({})).await),
        NEW_USER
    );

    // The provider is down (GitLab's endpoints on a closed port).
    let url = begin(
        &app,
        &app.client,
        json!({ "provider": "gitlab", "callbackURL": CALLBACK }),
    )
    .await;
    let state = query_of(&url)["state"].clone();
    let res = app
        .get(&format!("/callback/gitlab?state={state}&code=c"))
        .await;
    assert_eq!(error_of(&res).0, "invalid_code");
}

#[tokio::test]
async fn a_banned_user_is_sent_back_with_the_ban() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "[plugins.admin]\nenabled = true\n").await else {
        return;
    };
    let email = unique_email();
    idp.set_user(IdpUser::new(&email, true));
    assert_eq!(
        location(&flow(&app, &app.browser(), "github", json!({})).await),
        NEW_USER
    );
    let user = app.user_by_email(&email).await.unwrap();
    let mut extra = serde_json::Map::new();
    extra.insert("banned".into(), json!(true));
    app.state
        .store
        .update_user(
            &user.id,
            &better_auth_rs::store::users::UserUpdate {
                name: None,
                image: None,
                extra,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let res = flow(&app, &app.browser(), "github", json!({})).await;
    let (error, description, _) = error_of(&res);
    assert_eq!(error, "BANNED_USER");
    assert!(description.unwrap().starts_with("You have been banned"));
}

#[apply(backends)]
#[tokio::test]
async fn tokens_link_list_refresh_and_unlink(#[case] backend: Backend) {
    let idp = Idp::start().await;
    let extra = "[account]\nencrypt_oauth_tokens = true\n";
    // `[account]` is already in the providers' TOML: set the option through a second table.
    let toml = providers(&idp).replace("[account]\n", extra);
    let Some(app) = spawn_app_with(backend, &toml, &[]).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let user = app.user_by_email(&email).await.unwrap();
    idp.set_user(IdpUser::new(&email, true));
    idp.knobs(|k| k.expires_in = Some(1));

    // link-social: the flow carries the user; the callback links and lands on callbackURL.
    let res = app
        .post(
            "/link-social",
            &json!({ "provider": "acme", "callbackURL": CALLBACK, "scopes": ["offline_access"] }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(query_of(&url)["scope"].contains("offline_access"));
    let back = at_provider(&url).await;
    let res = app.client.get(local(&app, &back)).send().await.unwrap();
    assert_eq!(location(&res), CALLBACK);

    let res = app.get("/list-accounts").await;
    let list: Value = res.json().await.unwrap();
    let acme = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["providerId"] == "acme")
        .unwrap()
        .clone();
    assert!(acme["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "offline_access"));
    assert!(acme.get("accessToken").is_none());
    let id = acme["id"].as_str().unwrap();

    // Stored encrypted, readable with Better Auth's symmetric decryption.
    let (_, stored) = app
        .state
        .store
        .find_account_with_tokens(&user.id, id)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.access_token.unwrap();
    assert!(sealed.bytes().all(|b| b.is_ascii_hexdigit()));
    let plain =
        better_auth_rs::auth::keyseal::symmetric_decrypt(SECRET.as_bytes(), &sealed).unwrap();
    let plain = String::from_utf8(plain).unwrap();
    assert!(idp.knows_access_token(&plain));

    // The token expires within 5 s: get-access-token refreshes it.
    let res = app
        .post("/get-access-token", &json!({ "accountId": id }))
        .await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    let fresh = got["accessToken"].as_str().unwrap();
    assert_ne!(fresh, plain);
    assert!(idp.knows_access_token(fresh));
    assert!(got["accessTokenExpiresAt"].is_string() && got["idToken"].is_string());
    assert!(idp.token_requests().iter().any(|g| g == "refresh_token"));

    let res = app
        .post("/refresh-token", &json!({ "accountId": id }))
        .await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["providerId"], "acme");
    assert_eq!(r["accountId"], id);
    assert!(r["refreshToken"].as_str().unwrap().starts_with("rt-"));

    let res = app.get(&format!("/account-info?accountId={id}")).await;
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["user"]["email"], email.as_str());
    assert_eq!(info["account"]["providerId"], "acme");

    let (status, code, _) = error_code(
        app.post("/get-access-token", &json!({ "accountId": "nope" }))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "ACCOUNT_NOT_FOUND"));
    let (status, code, _) = error_code(
        app.post("/get-access-token", &json!({ "accountId": id, "x": 1 }))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_ERROR"));
    let res = app
        .post_as(
            &app.anonymous(),
            "/get-access-token",
            &json!({ "accountId": id }),
        )
        .await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().is_empty());

    let res = app
        .post("/unlink-account", &json!({ "accountId": id }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.state.store.list_accounts(&user.id).await.unwrap().len(),
        1
    );
}

/// Microsoft: the profile comes from the ID token's claims (`oid` the account id) and the image
/// is the Graph photo, as Better Auth writes it; `disable_profile_photo` leaves it out.
#[tokio::test]
async fn microsoft_signs_in_with_the_graph_photo_as_image() {
    let idp = Idp::start().await;
    let b = &idp.base;
    for (options, size) in [
        ("profile_photo_size = 96", Some("96x96")),
        ("disable_profile_photo = true", None),
    ] {
        let toml = format!(
            r#"
[social_providers.microsoft]
client_id = "ms-client"
client_secret = "ms-secret"
authorization_endpoint = "{b}/authorize"
token_endpoint = "{b}/token"
user_info_endpoint = "{b}/me"
{options}
"#
        );
        let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
            return;
        };
        let email = unique_email();
        let user = IdpUser::new(&email, true);
        idp.knobs(|k| {
            k.id_token_claims = json!({ "oid": format!("oid-{}", user.sub) })
                .as_object()
                .unwrap()
                .clone()
        });
        idp.set_user(user.clone());
        let res = flow(&app, &app.browser(), "microsoft", json!({})).await;
        assert_eq!(location(&res), NEW_USER, "{options}");
        let stored = app.user_by_email(&email).await.unwrap();
        let accounts = app.state.store.list_accounts(&stored.id).await.unwrap();
        assert_eq!(accounts[0].account_id, format!("oid-{}", user.sub));
        let expected = size.map(|s| {
            use base64::Engine as _;
            let bytes = format!("\u{ff}jpeg-{s}");
            format!(
                "data:image/jpeg;base64, {}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        });
        assert_eq!(stored.image, expected, "{options}");
    }
}

/// LinkedIn, Slack and Spotify as Better Auth maps them: their scopes, PKCE only for Spotify,
/// the account id, name, image and whether the email counts as verified.
#[tokio::test]
async fn linkedin_slack_and_spotify_sign_in_with_their_profiles() {
    let idp = Idp::start().await;
    let b = &idp.base;
    let cases = [
        ("linkedin", "/userinfo", "profile email openid", false),
        ("slack", "/slack/userinfo", "openid profile email", false),
        ("spotify", "/spotify/me", "user-read-email", true),
    ];
    let mut toml = String::new();
    for (id, user_info, _, _) in cases {
        toml.push_str(&format!(
            "[social_providers.{id}]\nclient_id = \"{id}-client\"\nclient_secret = \"{id}-secret\"\n\
             authorization_endpoint = \"{b}/authorize\"\ntoken_endpoint = \"{b}/token\"\n\
             user_info_endpoint = \"{b}{user_info}\"\n"
        ));
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
        return;
    };
    for (id, _, scope, pkce) in cases {
        let email = unique_email();
        let user = IdpUser::new(&email, true);
        idp.set_user(user.clone());
        let client = app.browser();
        let url = begin(
            &app,
            &client,
            json!({ "provider": id, "callbackURL": CALLBACK, "newUserCallbackURL": NEW_USER }),
        )
        .await;
        let q = query_of(&url);
        assert_eq!(q["scope"], scope, "{id}");
        assert_eq!(q.contains_key("code_challenge"), pkce, "{id}");
        let back = at_provider(&url).await;
        let res = client.get(local(&app, &back)).send().await.unwrap();
        assert_eq!(location(&res), NEW_USER, "{id}");
        let stored = app.user_by_email(&email).await.unwrap();
        let accounts = app.state.store.list_accounts(&stored.id).await.unwrap();
        let (account_id, verified, image) = match id {
            "linkedin" => (user.sub.clone(), true, "https://idp.test/avatar.png"),
            "slack" => (format!("U{}", user.sub), true, "https://slack.test/512.png"),
            _ => (
                format!("sp{}", user.sub),
                false,
                "https://spotify.test/a.jpg",
            ),
        };
        assert_eq!(
            (
                accounts[0].provider_id.as_str(),
                accounts[0].account_id.as_str()
            ),
            (id, account_id.as_str())
        );
        assert_eq!(stored.name, "Ada Lovelace", "{id}");
        assert_eq!(stored.email_verified, verified, "{id}");
        assert_eq!(stored.image.as_deref(), Some(image), "{id}");
    }
}

/// A service with `encrypt_oauth_tokens` and `BETTER_AUTH_SECRETS = secrets`, and a browser
/// signed up through the `acme` provider: its user and that account.
async fn signed_in_with_sealed_tokens(
    secrets: &str,
) -> Option<(
    Idp,
    TestApp,
    reqwest::Client,
    better_auth_rs::store::User,
    better_auth_rs::store::accounts::Account,
)> {
    let idp = Idp::start().await;
    let toml = providers(&idp).replace("[account]\n", "[account]\nencrypt_oauth_tokens = true\n");
    let app = spawn_app_with(Backend::Sqlite, &toml, &[("BETTER_AUTH_SECRETS", secrets)]).await?;
    let email = unique_email();
    idp.set_user(IdpUser::new(&email, true));
    let client = app.browser();
    assert_eq!(
        location(&flow(&app, &client, "acme", json!({})).await),
        NEW_USER
    );
    let user = app.user_by_email(&email).await.unwrap();
    let account = app
        .state
        .store
        .list_accounts(&user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.provider_id == "acme")
        .unwrap();
    Some((idp, app, client, user, account))
}

/// With versioned secrets Better Auth 1.7 writes provider tokens as `$ba$<version>$<hex>`: the
/// same here, and tokens sealed under an older secret (bare hex) still open.
#[tokio::test]
async fn provider_tokens_use_the_versioned_secret_envelope() {
    let secrets = format!("2:rotated-secret-0123456789abcdefghijklmnop,1:{SECRET}");
    let Some((idp, app, client, user, account)) = signed_in_with_sealed_tokens(&secrets).await
    else {
        return;
    };
    let id = account.id.clone();
    let (_, stored) = app
        .state
        .store
        .find_account_with_tokens(&user.id, &id)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.access_token.clone().unwrap();
    assert!(sealed.starts_with("$ba$2$"), "{sealed}");
    let plain =
        better_auth_rs::auth::keyseal::decrypt_value(&app.state.settings.secrets, &sealed).unwrap();
    assert!(idp.knows_access_token(&plain));
    assert!(!plain.starts_with("$ba$"));

    let res = app
        .post_as(&client, "/get-access-token", &json!({ "accountId": id }))
        .await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["accessToken"], plain.as_str());
}

/// Better Auth's `derivePurposeKey` of one secret, written out independently of the service:
/// hex of HKDF-SHA256(secret, salt `better-auth:oauth-encryption:v1`, info
/// `better-auth:<purpose>:v1`), 32 bytes.
fn purpose_key(secret: &str, purpose: &str) -> better_auth_rs::auth::crypto::VersionedSecret {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b"better-auth:oauth-encryption:v1"), secret.as_bytes())
        .expand(format!("better-auth:{purpose}:v1").as_bytes(), &mut key)
        .unwrap();
    better_auth_rs::auth::crypto::VersionedSecret {
        version: 2,
        value: hex::encode(key).into(),
    }
}

const ROTATED: &str = "rotated-secret-0123456789abcdefghijklmnop";

#[tokio::test]
async fn versioned_secrets_seal_the_states_secrets_in_better_auths_envelope() {
    use better_auth_rs::auth::keyseal::decrypt_value;
    let idp = Idp::start().await;
    let secrets = format!("2:{ROTATED},1:{SECRET}");
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        &providers(&idp),
        &[("BETTER_AUTH_SECRETS", &secrets)],
    )
    .await
    else {
        return;
    };
    // link-social: the linking session's token rides in the state, sealed under the purpose key
    // of the current version in the `$ba$2$` envelope (Better Auth reads nothing else then).
    let email = unique_email();
    app.sign_up(&email).await;
    let user = app.user_by_email(&email).await.unwrap();
    let session = app
        .state
        .store
        .list_sessions(&user.id)
        .await
        .unwrap()
        .remove(0);
    idp.set_user(IdpUser::new(&email, true));
    let res = app
        .post(
            "/link-social",
            &json!({ "provider": "acme", "callbackURL": CALLBACK }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let row = app
        .state
        .store
        .find_verification(
            &format!("auth-state:{}", query_of(&url)["state"]),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let data: Value = serde_json::from_str(&row.value).unwrap();
    let sealed = data["link"]["encryptedSessionToken"].as_str().unwrap();
    assert!(sealed.starts_with("$ba$2$"), "{sealed}");
    let key = purpose_key(ROTATED, "oauth-link-session-token");
    assert_eq!(
        decrypt_value(&[key], sealed).as_deref(),
        Some(session.token.as_str())
    );
    let back = at_provider(&url).await;
    let res = app.client.get(local(&app, &back)).send().await.unwrap();
    assert_eq!(location(&res), CALLBACK);
    let linked: Vec<String> = app
        .state
        .store
        .list_accounts(&user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.provider_id)
        .collect();
    assert!(linked.contains(&"acme".to_owned()), "{linked:?}");

    // The cookie strategy: the state cookie is sealed the same way.
    let toml = providers(&idp).replace(
        "[account]\n",
        "[account]\nstore_state_strategy = \"cookie\"\n",
    );
    let Some(app) =
        spawn_app_with(Backend::Sqlite, &toml, &[("BETTER_AUTH_SECRETS", &secrets)]).await
    else {
        return;
    };
    idp.set_user(IdpUser::new(&unique_email(), true));
    let res = app
        .post(
            "/sign-in/social",
            &json!({ "provider": "github", "callbackURL": CALLBACK }),
        )
        .await;
    let cookies = set_cookies(&res);
    let c = cookie(&cookies, "better-auth.oauth_state").unwrap();
    let value = c
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert!(value.starts_with("$ba$2$"), "{value}");
    let state = decrypt_value(&[purpose_key(ROTATED, "oauth-state-cookie")], &value).unwrap();
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(parsed["oauthState"], query_of(&url)["state"].as_str());
    let back = local(&app, &at_provider(&url).await);
    let res = app.client.get(&back).send().await.unwrap();
    assert_eq!(location(&res), CALLBACK);
}

#[tokio::test]
async fn tokens_sealed_before_secrets_were_versioned_open_with_the_legacy_secret() {
    use better_auth_rs::auth::crypto::VersionedSecret;
    use better_auth_rs::auth::keyseal::encrypt_value;
    // BETTER_AUTH_SECRET (the helpers' SECRET) stays beside the versioned list, as Better Auth's
    // `legacySecret`.
    let Some((_idp, app, client, _, account)) =
        signed_in_with_sealed_tokens(&format!("2:{ROTATED}")).await
    else {
        return;
    };
    // What Better Auth (or this service) wrote before the rotation: bare hex under the old
    // secret.
    let old = [VersionedSecret {
        version: 0,
        value: SECRET.to_owned().into(),
    }];
    let bare = encrypt_value(&old, false, "token-from-before").unwrap();
    assert!(bare.bytes().all(|b| b.is_ascii_hexdigit()));
    let tokens = better_auth_rs::store::accounts::AccountTokens {
        access_token: Some(bare),
        refresh_token: None,
        id_token: None,
        access_token_expires_at: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        refresh_token_expires_at: None,
        scope: None,
    };
    app.state
        .store
        .set_account_tokens(
            app.state.store.connection(),
            &account.id,
            &tokens,
            false,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let res = app
        .post_as(
            &client,
            "/get-access-token",
            &json!({ "accountId": account.id }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["accessToken"], "token-from-before");
}

#[tokio::test]
async fn id_token_sign_in_verifies_against_the_providers_keys() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "").await else {
        return;
    };
    let email = unique_email();
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: &str, nonce: &str| {
        json!({ "iss": "https://accounts.google.com", "aud": aud, "sub": "g-123", "iat": now,
                "exp": now + 600, "email": email, "email_verified": true, "name": "Ada", "nonce": nonce })
    };
    let token = idp.sign(&claims("google-client", "n1"));
    let res = app
        .post(
            "/sign-in/social",
            &json!({ "provider": "google", "idToken": { "token": token, "nonce": "n1" } }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], false);
    assert_eq!(body["user"]["email"], email.as_str());
    assert_eq!(body["token"].as_str().unwrap().len(), 32);

    for (token, nonce) in [
        (idp.sign(&claims("other-client", "n1")), "n1"),
        (idp.sign(&claims("google-client", "n1")), "n2"),
    ] {
        let (status, code, _) = error_code(
            app.post(
                "/sign-in/social",
                &json!({ "provider": "google", "idToken": { "token": token, "nonce": nonce } }),
            )
            .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (401, "INVALID_TOKEN"));
    }
    let (status, code, _) = error_code(
        app.post(
            "/sign-in/social",
            &json!({ "provider": "github", "idToken": { "token": "x" } }),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "ID_TOKEN_NOT_SUPPORTED"));
}

#[tokio::test]
async fn sign_out_sends_the_browser_to_the_providers_end_session_endpoint() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "").await else {
        return;
    };
    idp.set_user(IdpUser::new(&unique_email(), true));
    assert_eq!(
        location(&flow(&app, &app.client, "acme", json!({})).await),
        NEW_USER
    );
    let res = app
        .post(
            "/sign-out",
            &json!({ "callbackURL": "http://localhost:3000/bye" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let header = location(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["redirect"], true);
    let url = body["url"].as_str().unwrap();
    assert_eq!(header, url);
    assert!(url.starts_with(&format!("{}/logout?", idp.base)));
    let q = query_of(url);
    assert!(q["id_token_hint"].starts_with("ey"));
    assert_eq!(q["post_logout_redirect_uri"], "http://localhost:3000/bye");
    assert_eq!(q["client_id"], "acme-client");
}

#[tokio::test]
async fn the_cookie_strategy_keeps_the_state_in_an_encrypted_cookie() {
    let idp = Idp::start().await;
    let toml = providers(&idp).replace(
        "[account]\n",
        "[account]\nstore_state_strategy = \"cookie\"\n",
    );
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
        return;
    };
    idp.set_user(IdpUser::new(&unique_email(), true));
    let res = app
        .post(
            "/sign-in/social",
            &json!({ "provider": "github", "callbackURL": CALLBACK }),
        )
        .await;
    let cookies = set_cookies(&res);
    let c = cookie(&cookies, "better-auth.oauth_state").unwrap();
    assert!(c.contains("Max-Age=600"), "{c}");
    assert_eq!(count_rows(&app, "verification").await, 0);
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = local(&app, &at_provider(&url).await);
    let res = app.client.get(&back).send().await.unwrap();
    assert_eq!(location(&res), CALLBACK);
    // Without the cookie: state_mismatch.
    let url = begin(
        &app,
        &app.client,
        json!({ "provider": "github", "callbackURL": CALLBACK }),
    )
    .await;
    let back = local(&app, &at_provider(&url).await);
    let res = app.anonymous().get(&back).send().await.unwrap();
    assert_eq!(error_of(&res).0, "state_mismatch");
    // Sign-out expires the state cookie too.
    let res = app.post("/sign-out", &json!({})).await;
    let c = cookie(&set_cookies(&res), "better-auth.oauth_state")
        .cloned()
        .unwrap();
    assert!(c.contains("Max-Age=0"), "{c}");
}

#[tokio::test]
async fn link_social_refuses_other_emails_and_ended_sessions() {
    let idp = Idp::start().await;
    let Some(app) = spawn(Backend::Sqlite, &idp, "").await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let link = |app: &TestApp| {
        let app_client = app.client.clone();
        let url = app.url("/link-social");
        async move {
            let res = app_client
                .post(url)
                .header("origin", ORIGIN)
                .json(&json!({ "provider": "github", "callbackURL": CALLBACK, "errorCallbackURL": ERRORS }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            body["url"].as_str().unwrap().to_owned()
        }
    };
    // The provider's email is another one.
    idp.set_user(IdpUser::new(&unique_email(), true));
    let back = at_provider(&link(&app).await).await;
    let res = app.client.get(local(&app, &back)).send().await.unwrap();
    assert_eq!(error_of(&res).0, "email_does_not_match");

    // The session that started the link ended before the provider answered.
    idp.set_user(IdpUser::new(&email, true));
    let url = link(&app).await;
    let back = at_provider(&url).await;
    let session = app.get_session().await;
    let token = session["session"]["token"].as_str().unwrap().to_owned();
    app.state.store.delete_session(&token).await.unwrap();
    let res = app.client.get(local(&app, &back)).send().await.unwrap();
    assert_eq!(error_of(&res).0, "unable_to_link_account");
    let user = app.user_by_email(&email).await.unwrap();
    assert_eq!(
        app.state.store.list_accounts(&user.id).await.unwrap().len(),
        1
    );
}

/// Flows that start and finish together: their states are inserted together and each taken by
/// one statement, their sessions inserted together (docs/storage-and-scaling.md, "Grouped
/// writes and lookups"). Every browser ends signed in with a session of its own, and no state
/// is left behind.
#[apply(backends)]
#[tokio::test]
async fn flows_at_once_each_end_signed_in_and_leave_no_state(#[case] backend: Backend) {
    use futures_util::future::join_all;
    const BROWSERS: usize = 12;
    let idp = Idp::start().await;
    let Some(app) = spawn(backend, &idp, "").await else {
        return;
    };
    let email = unique_email();
    idp.set_user(IdpUser::new(&email, true));
    let res = flow(&app, &app.client, "github", json!({})).await;
    assert_eq!(location(&res), NEW_USER);
    assert_eq!(count_rows(&app, "verification").await, 0);

    let browsers: Vec<reqwest::Client> = (0..BROWSERS).map(|_| app.browser()).collect();
    let body = json!({"provider": "github", "callbackURL": CALLBACK, "errorCallbackURL": ERRORS});
    let urls = join_all(browsers.iter().map(|b| begin(&app, b, body.clone()))).await;
    let states: std::collections::HashSet<String> =
        urls.iter().map(|u| query_of(u)["state"].clone()).collect();
    assert_eq!(states.len(), BROWSERS);
    assert_eq!(count_rows(&app, "verification").await, BROWSERS as i64);

    let backs = join_all(urls.iter().map(|u| at_provider(u))).await;
    let answers = join_all(
        browsers
            .iter()
            .zip(&backs)
            .map(|(b, back)| b.get(local(&app, back)).send()),
    )
    .await;
    for res in answers {
        assert_eq!(location(&res.unwrap()), CALLBACK);
    }
    let mut sessions = std::collections::HashSet::new();
    for b in &browsers {
        let s = app.get_session_as(b).await;
        assert_eq!(s["user"]["email"], email.as_str());
        sessions.insert(s["session"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(sessions.len(), BROWSERS);
    assert_eq!(count_rows(&app, "verification").await, 0);
    assert_eq!(count_rows(&app, "session").await, BROWSERS as i64 + 1);
}
