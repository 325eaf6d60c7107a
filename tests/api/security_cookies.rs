//! Cookie tossing: with two session cookies of one name, the last one sent wins. A browser
//! sends the cookie of the narrower path first, so a cookie tossed from a sibling subdomain
//! with `Path=/api/auth` cannot take the place of the user's own `Path=/` session.

use serde_json::Value;

use crate::helpers::*;

const NAME: &str = "better-auth.session_token";

/// The `better-auth.session_token=<value>` pair a sign-in of `email` set.
async fn session_pair(app: &TestApp, email: &str) -> String {
    assert_eq!(app.sign_up(email).await.status(), 200);
    let res = app
        .anonymous()
        .post(app.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    cookie(&cookies, NAME)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn session_user(app: &TestApp, cookie_header: &str) -> Value {
    let res = app
        .anonymous()
        .get(app.url("/get-session?disableCookieCache=true"))
        .header("cookie", cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["user"]["email"].clone()
}

#[apply(backends)]
#[tokio::test]
async fn of_two_session_cookies_the_last_sent_wins(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (victim, attacker) = (unique_email(), unique_email());
    let victim_pair = session_pair(&app, &victim).await;
    let attacker_pair = session_pair(&app, &attacker).await;

    // The tossed cookie (narrower path) comes first: the user's own session is used.
    assert_eq!(
        session_user(&app, &format!("{attacker_pair}; {victim_pair}")).await,
        victim.as_str()
    );
    // Split over two headers (HTTP/2 sends one per cookie), the same.
    let res = app
        .anonymous()
        .get(app.url("/get-session?disableCookieCache=true"))
        .header("cookie", attacker_pair.as_str())
        .header("cookie", victim_pair.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["user"]["email"],
        victim.as_str()
    );
    // With a forged or unsigned cookie in the last place, no session at all: never the first.
    for last in [
        format!("{NAME}=forged.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"),
        format!("{NAME}=unsigned"),
    ] {
        let res = app
            .anonymous()
            .get(app.url("/get-session?disableCookieCache=true"))
            .header("cookie", format!("{victim_pair}; {last}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.json::<Value>().await.unwrap(), Value::Null, "{last}");
    }
    // The order decides, not which user: the other way round, the other session.
    assert_eq!(
        session_user(&app, &format!("{victim_pair}; {attacker_pair}")).await,
        attacker.as_str()
    );
}
