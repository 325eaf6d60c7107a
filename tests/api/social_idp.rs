//! A real OAuth 2.0 / OpenID Connect provider on loopback for the social sign-in tests: an
//! authorization endpoint that answers with a code, a token endpoint that checks the client,
//! the redirect URI and PKCE (S256) and burns each code once, RS256 ID tokens, an OIDC
//! user-info endpoint, GitHub-shaped `/user` and `/user/emails`, JWKS, discovery with an
//! end-session endpoint; and knobs for the failure cases (slow, huge answers, refused codes,
//! wrong claims).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{JwsHeader, RS256};
use serde_json::{json, Map, Value};
use sha2::Digest;

#[derive(Clone, Debug)]
pub struct IdpUser {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

impl IdpUser {
    pub fn new(email: &str, verified: bool) -> Self {
        Self {
            sub: format!("{}", 100_000 + rand_u32() % 900_000),
            email: email.to_owned(),
            email_verified: verified,
            name: "Ada Lovelace".into(),
        }
    }
}

fn rand_u32() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    nonce: Option<String>,
    user: IdpUser,
    scope: String,
}

/// What the next answers look like.
#[derive(Clone, Debug, Default)]
pub struct Knobs {
    /// Seconds the token endpoint waits before answering.
    pub token_delay: u64,
    /// The token endpoint refuses every code.
    pub refuse_codes: bool,
    /// User info answers with more than a megabyte.
    pub huge_user_info: bool,
    /// ID-token claims replaced (`aud`, `iss`, `nonce`, ...).
    pub id_token_claims: Map<String, Value>,
    /// The `iss` sent back to the callback (RFC 9207); default: the issuer.
    pub callback_iss: Option<String>,
    /// Lifetime of issued access tokens, seconds.
    pub expires_in: Option<i64>,
}

#[derive(Default)]
struct State {
    user: Option<IdpUser>,
    grants: HashMap<String, Grant>,
    access: HashMap<String, IdpUser>,
    refresh: HashMap<String, IdpUser>,
    knobs: Knobs,
    /// Form bodies the token endpoint received (grant types), to assert on refreshes.
    token_requests: Vec<String>,
}

#[derive(Clone)]
pub struct Idp {
    pub base: String,
    state: Arc<Mutex<State>>,
    key: Arc<RsaKeyPair>,
}

impl Idp {
    pub async fn start() -> Idp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let idp = Idp {
            base,
            state: Arc::new(Mutex::new(State::default())),
            key: Arc::new(RsaKeyPair::generate(2048).unwrap()),
        };
        let data = web::Data::new(idp.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
                .route("/user", web::get().to(github_user))
                .route("/user/emails", web::get().to(github_emails))
                .route("/jwks", web::get().to(jwks))
                .route("/me/photos/{size}/$value", web::get().to(photo))
                .route("/slack/userinfo", web::get().to(slack_userinfo))
                .route("/spotify/me", web::get().to(spotify_me))
                .route("/logout", web::get().to(HttpResponse::Ok))
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        idp
    }

    /// The user the next authorization signs in.
    pub fn set_user(&self, user: IdpUser) {
        self.state.lock().unwrap().user = Some(user);
    }

    pub fn knobs(&self, f: impl FnOnce(&mut Knobs)) {
        f(&mut self.state.lock().unwrap().knobs);
    }

    pub fn token_requests(&self) -> Vec<String> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// Whether this access token is one the provider issued.
    pub fn knows_access_token(&self, token: &str) -> bool {
        self.state.lock().unwrap().access.contains_key(token)
    }

    /// An RS256 token signed with the provider's key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id("idp-key");
        header.set_token_type("JWT");
        let signer = RS256
            .signer_from_jwk(&self.key.to_jwk_private_key())
            .unwrap();
        josekit::jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).unwrap()
    }

    pub fn id_token_for(&self, user: &IdpUser, aud: &str, nonce: Option<&str>) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.base, "aud": aud, "sub": user.sub, "iat": now, "exp": now + 600,
            "email": user.email, "email_verified": user.email_verified, "name": user.name,
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        let knobs = self.state.lock().unwrap().knobs.id_token_claims.clone();
        // A `null` knob removes the claim.
        for (k, v) in knobs {
            match v {
                Value::Null => {
                    claims.as_object_mut().unwrap().remove(&k);
                }
                v => claims[k] = v,
            }
        }
        self.sign(&claims)
    }
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

async fn authorize(idp: web::Data<Idp>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    let mut st = idp.state.lock().unwrap();
    let Some(user) = st.user.clone() else {
        return HttpResponse::BadRequest().body("no user");
    };
    let code = uuid::Uuid::new_v4().simple().to_string();
    st.grants.insert(
        code.clone(),
        Grant {
            client_id: q.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: q.get("redirect_uri").cloned().unwrap_or_default(),
            challenge: q.get("code_challenge").cloned(),
            nonce: q.get("nonce").cloned(),
            user,
            scope: q.get("scope").cloned().unwrap_or_default(),
        },
    );
    let iss = st.knobs.callback_iss.clone().unwrap_or(idp.base.clone());
    let mut target = url::Url::parse(q.get("redirect_uri").map_or("", String::as_str)).unwrap();
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.get("state").map_or("", String::as_str))
        .append_pair("iss", &iss);
    HttpResponse::Found()
        .insert_header(("location", target.to_string()))
        .finish()
}

fn client_of(req: &HttpRequest, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()?;
        let (id, secret) = String::from_utf8(raw)
            .ok()?
            .split_once(':')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))?;
        return Some((id, secret));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

fn token_error(code: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": code }))
}

async fn token(idp: web::Data<Idp>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let (delay, refuse, expires_in) = {
        let mut st = idp.state.lock().unwrap();
        st.token_requests
            .push(form.get("grant_type").cloned().unwrap_or_default());
        (
            st.knobs.token_delay,
            st.knobs.refuse_codes,
            st.knobs.expires_in,
        )
    };
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_secs(delay)).await;
    }
    let Some((client_id, secret)) = client_of(&req, &form) else {
        return token_error("invalid_client");
    };
    if !secret.ends_with("-secret") {
        return token_error("invalid_client");
    }
    let access = format!("at-{}", uuid::Uuid::new_v4().simple());
    let refresh = format!("rt-{}", uuid::Uuid::new_v4().simple());
    let mut st = idp.state.lock().unwrap();
    let (user, scope, nonce) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            if refuse {
                return token_error("invalid_grant");
            }
            let Some(grant) = form.get("code").and_then(|c| st.grants.remove(c)) else {
                return token_error("invalid_grant");
            };
            if grant.client_id != client_id || Some(&grant.redirect_uri) != form.get("redirect_uri")
            {
                return token_error("invalid_grant");
            }
            if let Some(challenge) = &grant.challenge {
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let got = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(verifier.as_bytes()));
                if &got != challenge {
                    return token_error("invalid_grant");
                }
            }
            (grant.user, grant.scope, grant.nonce)
        }
        Some("refresh_token") => {
            let Some(user) = form.get("refresh_token").and_then(|r| st.refresh.remove(r)) else {
                return token_error("invalid_grant");
            };
            (user, String::new(), None)
        }
        _ => return token_error("unsupported_grant_type"),
    };
    st.access.insert(access.clone(), user.clone());
    st.refresh.insert(refresh.clone(), user.clone());
    drop(st);
    let id_token = idp.id_token_for(&user, &client_id, nonce.as_deref());
    let mut answer = json!({
        "access_token": access, "token_type": "Bearer", "expires_in": expires_in.unwrap_or(3600),
        "refresh_token": refresh, "id_token": id_token,
    });
    if !scope.is_empty() {
        answer["scope"] = json!(scope);
    }
    HttpResponse::Ok().json(answer)
}

fn bearer_user(idp: &Idp, req: &HttpRequest) -> Option<IdpUser> {
    let token = req
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    idp.state.lock().unwrap().access.get(token).cloned()
}

fn huge(idp: &Idp) -> Option<HttpResponse> {
    idp.state.lock().unwrap().knobs.huge_user_info.then(|| {
        let filler = "x".repeat(2 * 1024 * 1024);
        HttpResponse::Ok().json(json!({ "sub": "1", "email": "a@b.c", "filler": filler }))
    })
}

async fn userinfo(idp: web::Data<Idp>, req: HttpRequest) -> HttpResponse {
    if let Some(res) = huge(&idp) {
        return res;
    }
    let Some(u) = bearer_user(&idp, &req) else {
        return HttpResponse::Unauthorized().finish();
    };
    HttpResponse::Ok().json(json!({
        "sub": u.sub, "email": u.email, "email_verified": u.email_verified, "name": u.name,
        "picture": "https://idp.test/avatar.png",
    }))
}

/// Microsoft Graph's photo of the signed-in user: bytes that name the requested size.
async fn photo(idp: web::Data<Idp>, req: HttpRequest, size: web::Path<String>) -> HttpResponse {
    if bearer_user(&idp, &req).is_none() {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok()
        .content_type("image/jpeg")
        .body(format!("\u{ff}jpeg-{size}"))
}

/// Slack's OpenID user info: the account id under `https://slack.com/user_id`.
async fn slack_userinfo(idp: web::Data<Idp>, req: HttpRequest) -> HttpResponse {
    let Some(u) = bearer_user(&idp, &req) else {
        return HttpResponse::Unauthorized().finish();
    };
    HttpResponse::Ok().json(json!({
        "ok": true, "sub": format!("U{}", u.sub), "https://slack.com/user_id": format!("U{}", u.sub),
        "email": u.email, "email_verified": u.email_verified, "name": u.name,
        "picture": "", "https://slack.com/user_image_512": "https://slack.test/512.png",
    }))
}

/// Spotify's `/v1/me`.
async fn spotify_me(idp: web::Data<Idp>, req: HttpRequest) -> HttpResponse {
    let Some(u) = bearer_user(&idp, &req) else {
        return HttpResponse::Unauthorized().finish();
    };
    HttpResponse::Ok().json(json!({
        "id": format!("sp{}", u.sub), "display_name": u.name, "email": u.email,
        "images": [{ "url": "https://spotify.test/a.jpg", "height": 300, "width": 300 }],
    }))
}

async fn github_user(idp: web::Data<Idp>, req: HttpRequest) -> HttpResponse {
    if let Some(res) = huge(&idp) {
        return res;
    }
    let Some(u) = bearer_user(&idp, &req) else {
        return HttpResponse::Unauthorized().finish();
    };
    HttpResponse::Ok().json(json!({
        "id": u.sub.parse::<u64>().unwrap_or(1), "login": "ada", "name": u.name, "email": null,
        "avatar_url": "https://avatars.test/ada.png",
    }))
}

async fn github_emails(idp: web::Data<Idp>, req: HttpRequest) -> HttpResponse {
    let Some(u) = bearer_user(&idp, &req) else {
        return HttpResponse::Unauthorized().finish();
    };
    HttpResponse::Ok().json(json!([
        { "email": "other@example.org", "primary": false, "verified": true },
        { "email": u.email, "primary": true, "verified": u.email_verified },
    ]))
}

async fn jwks(idp: web::Data<Idp>) -> HttpResponse {
    let mut jwk = idp.key.to_jwk_public_key();
    jwk.set_key_id("idp-key");
    jwk.set_algorithm("RS256");
    HttpResponse::Ok().json(json!({ "keys": [Value::Object(jwk.as_ref().clone())] }))
}

async fn discovery(idp: web::Data<Idp>) -> HttpResponse {
    let b = &idp.base;
    HttpResponse::Ok().json(json!({
        "issuer": b,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/jwks"),
        "end_session_endpoint": format!("{b}/logout"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
    }))
}
