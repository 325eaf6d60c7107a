//! Open redirects: whatever callback URL is accepted, the `Location` the service sends lands on
//! a trusted host once a browser has resolved it, including callbacks whose dot segments
//! normalise into another host (`/..//evil.com` → `//evil.com`).

use reqwest::Response;
use serde_json::json;
use url::Url;

use crate::helpers::*;

/// Callback URLs an attacker may try; some are refused when they arrive, some are accepted
/// (they are paths of this site) but could turn into another host when the location is built.
const PAYLOADS: [&str; 32] = [
    "/..//evil.com",
    "/.//evil.com",
    "/a/..//evil.com",
    "/a/b/../..//evil.com",
    "/./..//evil.com",
    "/..//evil.com/path?x=1",
    "/%2e%2e//evil.com",
    "/.%2e//evil.com",
    "/..%2f/evil.com",
    "/..\\/evil.com",
    "/../\\evil.com",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%2fevil.com",
    "/%5cevil.com",
    "/\t/evil.com",
    " //evil.com",
    "https://evil.com",
    "http://localhost:3000.evil.com",
    "http://localhost:3000@evil.com",
    "http://evil.com#@localhost:3000",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//localhost:3000@evil.com",
    "http:/evil.com",
    "http:evil.com",
    "https:\\\\evil.com",
    "/a?b=//evil.com",
    "/%09/evil.com",
    "evil.com",
];

/// Where a browser on the service's page goes with this `Location` (WHATWG URL resolution:
/// tabs and newlines dropped, `\` read as `/`), if anywhere.
fn lands_on_trusted_host(location: &str, page: &str) -> bool {
    let Ok(target) = Url::parse(page).unwrap().join(location) else {
        return true; // a browser cannot follow it
    };
    match target.scheme() {
        "http" | "https" => {
            target.host_str() == Some("localhost")
                && matches!(target.port_or_known_default(), Some(3000 | 3001))
        }
        _ => false,
    }
}

fn assert_safe(res: &Response, page: &str, payload: &str) {
    let status = res.status().as_u16();
    assert!(status != 500, "{payload}: 500");
    if let Some(location) = res.headers().get("location") {
        let location = location.to_str().unwrap();
        assert!(
            lands_on_trusted_host(location, page),
            "{payload}: {status} to {location:?}"
        );
    }
}

#[apply(backends)]
#[tokio::test]
async fn error_redirects_of_the_get_routes_stay_on_trusted_hosts(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let verify_page = format!("{}/api/auth/verify-email", app.state.settings.base_origin);
    let reset_page = format!(
        "{}/api/auth/reset-password/x",
        app.state.settings.base_origin
    );
    for payload in PAYLOADS {
        let enc = url::form_urlencoded::byte_serialize(payload.as_bytes()).collect::<String>();
        let res = app
            .anonymous()
            .get(app.url(&format!("/verify-email?token=bad&callbackURL={enc}")))
            .send()
            .await
            .unwrap();
        assert_safe(&res, &verify_page, payload);
        let res = app
            .anonymous()
            .get(app.url(&format!("/reset-password/no-such-token?callbackURL={enc}")))
            .send()
            .await
            .unwrap();
        assert_safe(&res, &reset_page, payload);
    }
    // The dot-segment spellings in particular are refused, not rewritten.
    for payload in ["/..//evil.com", "/.//evil.com", "/a/..//evil.com"] {
        let res = app
            .anonymous()
            .get(app.url(&format!(
                "/verify-email?token=bad&callbackURL={}",
                url::form_urlencoded::byte_serialize(payload.as_bytes()).collect::<String>()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res).await.1, "INVALID_CALLBACK_URL", "{payload}");
    }
    // A plain path still gets its error.
    let res = app
        .anonymous()
        .get(app.url("/verify-email?token=bad&callbackURL=/verified"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/verified?error=INVALID_TOKEN");
}

/// Callback URLs given in a body travel in mailed links; following the link must land on a
/// trusted host too (verification after sign-up, password reset).
#[apply(backends)]
#[tokio::test]
async fn mailed_links_redirect_to_trusted_hosts_only(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "[email_verification]\nsend_on_sign_up = true\n").await
    else {
        return;
    };
    let base = app.state.settings.base_origin.clone();
    for payload in [
        "/..//evil.com",
        "/.//evil.com",
        "/a/..//evil.com",
        "/welcome",
    ] {
        let email = unique_email();
        let res = app
            .post(
                "/sign-up/email",
                &json!({"email": email, "password": PASSWORD, "name": "N", "callbackURL": payload}),
            )
            .await;
        assert_eq!(res.status(), 200, "{payload}");
        let mail = app.last_mail("verify-email", &email);
        let link = mail["url"].as_str().unwrap();
        let res = app
            .anonymous()
            .get(app.url(&app.path_of(link)))
            .send()
            .await
            .unwrap();
        assert_safe(&res, &format!("{base}/api/auth/verify-email"), payload);
        assert_eq!(res.status(), 302, "{payload}: verified");

        let res = app
            .post(
                "/request-password-reset",
                &json!({"email": email, "redirectTo": payload}),
            )
            .await;
        assert_eq!(res.status(), 200, "{payload}");
        let mail = app.last_mail("reset-password", &email);
        let link = mail["url"].as_str().unwrap();
        let res = app
            .anonymous()
            .get(app.url(&app.path_of(link)))
            .send()
            .await
            .unwrap();
        assert_safe(&res, &format!("{base}/api/auth/reset-password/x"), payload);
        assert_eq!(res.status(), 302, "{payload}: reset link");
    }
}
