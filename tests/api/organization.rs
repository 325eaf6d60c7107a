//! The organization plugin (`[plugins.organization]`) on every backend: organizations and the
//! active organization, members and the owner rules, invitations (mail, expiry, single use),
//! the owner/admin/member permission matrix on has-permission and on the routes themselves,
//! custom roles from TOML, no access to another organization through any id, and bad input
//! answered 4xx.

use serde_json::{json, Value};

use crate::helpers::*;

const ORG: &str = "[plugins.organization]\nenabled = true\n";

/// A signed-in browser of a new user: (browser, user id, email).
async fn user(app: &TestApp) -> (reqwest::Client, String, String) {
    let b = app.browser();
    let email = unique_email();
    let res = app
        .post_as(
            &b,
            "/sign-up/email",
            &json!({"email": email, "password": PASSWORD, "name": "Member"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (b, body["user"]["id"].as_str().unwrap().to_owned(), email)
}

async fn post(app: &TestApp, b: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let res = app.post_as(b, path, &body).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(app: &TestApp, b: &reqwest::Client, path: &str) -> (u16, Value) {
    let res = app.get_as(b, path).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn slug() -> String {
    format!("org-{}", uuid::Uuid::new_v4().simple())
}

/// Creates an organization as `b`; its JSON.
async fn create(app: &TestApp, b: &reqwest::Client, slug: &str) -> Value {
    let (status, body) = post(
        app,
        b,
        "/organization/create",
        json!({"name": "Org", "slug": slug}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Invites through `/organization/invite-member` with `body`; the invitation's JSON (200).
async fn invite(app: &TestApp, b: &reqwest::Client, body: Value) -> Value {
    let (status, invitation) = post(app, b, "/organization/invite-member", body).await;
    assert_eq!(status, 200, "{invitation}");
    invitation
}

/// Invites `email` as `role` into `org` and accepts with `invitee`; the member's JSON.
async fn join(
    app: &TestApp,
    owner: &reqwest::Client,
    invitee: &reqwest::Client,
    email: &str,
    org: &str,
    role: &str,
) -> Value {
    let invitation = invite(
        app,
        owner,
        json!({"email": email, "role": role, "organizationId": org}),
    )
    .await;
    let (status, body) = post(
        app,
        invitee,
        "/organization/accept-invitation",
        json!({"invitationId": invitation["id"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["member"].clone()
}

fn assert_error(got: (u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
}

async fn active_org(app: &TestApp, b: &reqwest::Client) -> Value {
    app.get_session_as(b).await["session"]["activeOrganizationId"].clone()
}

#[apply(backends)]
#[tokio::test]
async fn organizations_are_created_updated_listed_activated_and_deleted(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, ORG, &[]).await else {
        return;
    };
    let (owner, owner_id, owner_email) = user(&app).await;
    assert_eq!(active_org(&app, &owner).await, Value::Null);

    let s = slug();
    let (status, org) = post(
        &app,
        &owner,
        "/organization/create",
        json!({"name": "Acme", "slug": s, "logo": "https://l.test/a.png",
               "metadata": {"plan": "pro"}, "userId": "someone-else"}),
    )
    .await;
    assert_eq!(status, 200, "{org}");
    let id = org["id"].as_str().unwrap().to_owned();
    assert_eq!(org["metadata"], json!({"plan": "pro"}));
    assert_eq!(org["members"][0]["role"], "owner");
    assert_eq!(
        org["members"][0]["userId"], owner_id,
        "userId is server-only"
    );
    assert_eq!(active_org(&app, &owner).await, id);
    assert_eq!(count_rows(&app, "organization").await, 1);
    assert_eq!(count_rows(&app, "member").await, 1);

    // A second one keeps the active organization when asked; no metadata, no member.
    let (_, second) = post(
        &app,
        &owner,
        "/organization/create",
        json!({"name": "Second", "slug": slug(), "keepCurrentActiveOrganization": true}),
    )
    .await;
    assert!(second.get("metadata").is_none());
    assert_eq!(second["logo"], Value::Null);
    assert_eq!(active_org(&app, &owner).await, id);

    // Slugs: exact match, as Better Auth's adapter compares them.
    assert_error(
        post(
            &app,
            &owner,
            "/organization/create",
            json!({"name": "A", "slug": s}),
        )
        .await,
        400,
        "ORGANIZATION_ALREADY_EXISTS",
    );
    assert_error(
        post(&app, &owner, "/organization/check-slug", json!({"slug": s})).await,
        400,
        "ORGANIZATION_SLUG_ALREADY_TAKEN",
    );
    let upper = s.to_uppercase();
    assert_eq!(
        post(
            &app,
            &owner,
            "/organization/check-slug",
            json!({"slug": upper})
        )
        .await,
        (200, json!({"status": true}))
    );
    let (status, cased) = post(
        &app,
        &owner,
        "/organization/create",
        json!({"name": "Cased", "slug": upper, "keepCurrentActiveOrganization": true}),
    )
    .await;
    assert_eq!(
        status, 200,
        "a slug differing in case is another slug: {cased}"
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/update",
            json!({"organizationId": cased["id"], "data": {"slug": s}}),
        )
        .await,
        400,
        "ORGANIZATION_SLUG_ALREADY_TAKEN",
    );

    // Update (the active organization by default).
    let (status, updated) = post(
        &app,
        &owner,
        "/organization/update",
        json!({"data": {"name": "Acme Inc", "metadata": {"plan": "team"}, "logo": null}}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Acme Inc");
    assert_eq!(updated["metadata"], json!({"plan": "team"}));
    assert_eq!(updated["logo"], Value::Null);
    assert_eq!(updated["slug"], s);

    // Reads: the stored metadata text, members with their user.
    let (status, full) = get(&app, &owner, "/organization/get-full-organization").await;
    assert_eq!(status, 200);
    assert_eq!(full["id"], id);
    assert_eq!(full["metadata"], r#"{"plan":"team"}"#);
    assert_eq!(full["members"][0]["user"]["email"], owner_email);
    assert_eq!(full["invitations"], json!([]));
    let (_, by_slug) = get(
        &app,
        &owner,
        &format!("/organization/get-organization?organizationSlug={s}"),
    )
    .await;
    assert_eq!(by_slug["id"], id);
    let (_, list) = get(&app, &owner, "/organization/list").await;
    assert_eq!(list.as_array().unwrap().len(), 3);

    // Set active: by slug, to none; the session cookie is re-issued.
    let res = app
        .post_as(
            &owner,
            "/organization/set-active",
            &json!({"organizationSlug": second["slug"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
    assert_eq!(res.json::<Value>().await.unwrap()["id"], second["id"]);
    assert_eq!(active_org(&app, &owner).await, second["id"]);
    assert_eq!(
        post(
            &app,
            &owner,
            "/organization/set-active",
            json!({"organizationId": null})
        )
        .await,
        (200, Value::Null)
    );
    assert_eq!(active_org(&app, &owner).await, Value::Null);
    assert_eq!(
        get(&app, &owner, "/organization/get-full-organization").await,
        (200, Value::Null)
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/set-active",
            json!({"organizationSlug": "no-such-slug"}),
        )
        .await,
        400,
        "ORGANIZATION_NOT_FOUND",
    );

    // Delete: its members and invitations go, and the active organization is cleared.
    post(
        &app,
        &owner,
        "/organization/set-active",
        json!({"organizationId": id}),
    )
    .await;
    post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": unique_email(), "role": "member"}),
    )
    .await;
    assert_eq!(count_rows(&app, "invitation").await, 1);
    let (status, deleted) = post(
        &app,
        &owner,
        "/organization/delete",
        json!({"organizationId": id}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["id"], id);
    assert_eq!(active_org(&app, &owner).await, Value::Null);
    assert_eq!(count_rows(&app, "organization").await, 2);
    assert_eq!(count_rows(&app, "member").await, 2);
    assert_eq!(count_rows(&app, "invitation").await, 0);
    assert_error(
        get(
            &app,
            &owner,
            &format!("/organization/get-full-organization?organizationId={id}"),
        )
        .await,
        400,
        "ORGANIZATION_NOT_FOUND",
    );

    // Without a session.
    let anon = app.anonymous();
    assert_eq!(get(&app, &anon, "/organization/list").await.0, 401);
    let res = app
        .post_as(
            &anon,
            "/organization/create",
            &json!({"name": "x", "slug": "y"}),
        )
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "Better Auth's bare APIError"
    );
    assert_eq!(res.text().await.unwrap(), "");
}

/// Better Auth's default statements: what each role may do.
const MATRIX: &[(&str, &str, [bool; 3])] = &[
    // resource, action, [owner, admin, member]
    ("organization", "update", [true, true, false]),
    ("organization", "delete", [true, false, false]),
    ("member", "create", [true, true, false]),
    ("member", "update", [true, true, false]),
    ("member", "delete", [true, true, false]),
    ("invitation", "create", [true, true, false]),
    ("invitation", "cancel", [true, true, false]),
    ("team", "create", [true, true, false]),
    ("ac", "read", [true, true, true]),
    ("ac", "delete", [true, true, false]),
];

#[apply(backends)]
#[tokio::test]
async fn owner_admin_and_member_may_do_what_the_default_roles_say(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, ORG, &[]).await else {
        return;
    };
    let (owner, _, _) = user(&app).await;
    let (admin, _, admin_email) = user(&app).await;
    let (member, _, member_email) = user(&app).await;
    let org = create(&app, &owner, &slug()).await;
    let org_id = org["id"].as_str().unwrap();
    let admin_member = join(&app, &owner, &admin, &admin_email, org_id, "admin").await;
    let member_member = join(&app, &owner, &member, &member_email, org_id, "member").await;

    let roles = [&owner, &admin, &member];
    for (resource, action, allowed) in MATRIX {
        for (b, expected) in roles.iter().zip(allowed) {
            let (status, body) = post(
                &app,
                b,
                "/organization/has-permission",
                json!({"permissions": {*resource: [*action]}}),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(
                body,
                json!({"error": null, "success": expected}),
                "{resource}:{action}"
            );
        }
    }
    // Several resources must all be granted; the deprecated `permission` grants nothing.
    let both = json!({"permissions": {"organization": ["update"], "member": ["delete"]}});
    assert_eq!(
        post(&app, &admin, "/organization/has-permission", both)
            .await
            .1["success"],
        true
    );
    let mixed = json!({"permissions": {"organization": ["update", "delete"]}});
    assert_eq!(
        post(&app, &admin, "/organization/has-permission", mixed)
            .await
            .1["success"],
        false
    );
    let legacy = json!({"permission": {"organization": ["update"]}});
    assert_eq!(
        post(&app, &owner, "/organization/has-permission", legacy)
            .await
            .1["success"],
        false
    );

    // The routes agree with has-permission.
    let rename = |n: &str| json!({"data": {"name": n}});
    assert_eq!(
        post(&app, &owner, "/organization/update", rename("a"))
            .await
            .0,
        200
    );
    assert_eq!(
        post(&app, &admin, "/organization/update", rename("b"))
            .await
            .0,
        200
    );
    assert_error(
        post(&app, &member, "/organization/update", rename("c")).await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION",
    );
    assert_error(
        post(
            &app,
            &admin,
            "/organization/delete",
            json!({"organizationId": org_id}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
    );
    assert_error(
        post(
            &app,
            &member,
            "/organization/delete",
            json!({"organizationId": org_id}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
    );
    let invite = |role: &str| json!({"email": unique_email(), "role": role});
    assert_error(
        post(
            &app,
            &member,
            "/organization/invite-member",
            invite("member"),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
    );
    let (status, by_admin) = post(
        &app,
        &admin,
        "/organization/invite-member",
        invite("member"),
    )
    .await;
    assert_eq!(status, 200);
    assert_error(
        post(&app, &admin, "/organization/invite-member", invite("owner")).await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE",
    );
    let (status, owner_invite) =
        post(&app, &owner, "/organization/invite-member", invite("owner")).await;
    assert_eq!(status, 200);
    // Invitations (whose ids work as links) are listed only to those who may invite, and
    // owner invitations only to owners.
    assert_error(
        get(&app, &member, "/organization/list-invitations").await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS",
    );
    let (_, seen) = get(&app, &admin, "/organization/list-invitations").await;
    let ids: Vec<&Value> = seen.as_array().unwrap().iter().map(|i| &i["id"]).collect();
    assert!(ids.contains(&&by_admin["id"]) && !ids.contains(&&owner_invite["id"]));
    let (_, full) = get(&app, &member, "/organization/get-full-organization").await;
    assert_eq!(full["invitations"], json!([]));
    let (_, full) = get(&app, &owner, "/organization/get-full-organization").await;
    assert_eq!(full["invitations"].as_array().unwrap().len(), 4);
    assert_error(
        post(
            &app,
            &member,
            "/organization/cancel-invitation",
            json!({"invitationId": by_admin["id"]}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION",
    );
    let (status, canceled) = post(
        &app,
        &admin,
        "/organization/cancel-invitation",
        json!({"invitationId": by_admin["id"]}),
    )
    .await;
    assert_eq!(
        (status, canceled["status"].clone()),
        (200, json!("canceled"))
    );
    assert_error(
        post(
            &app,
            &member,
            "/organization/update-member-role",
            json!({"memberId": admin_member["id"], "role": "member"}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
    );
    assert_error(
        post(
            &app,
            &member,
            "/organization/remove-member",
            json!({"memberIdOrEmail": admin_email}),
        )
        .await,
        401,
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER",
    );
    let (status, promoted) = post(
        &app,
        &admin,
        "/organization/update-member-role",
        json!({"memberId": member_member["id"], "role": ["admin", " member "]}),
    )
    .await;
    assert_eq!(
        (status, promoted["role"].clone()),
        (200, json!("admin,member"))
    );
    assert_error(
        post(
            &app,
            &admin,
            "/organization/update-member-role",
            json!({"memberId": member_member["id"], "role": "owner"}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
    );
    let (status, removed) = post(
        &app,
        &admin,
        "/organization/remove-member",
        json!({"memberIdOrEmail": member_email}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(removed["member"]["id"], member_member["id"]);
    assert_eq!(count_rows(&app, "member").await, 2);
}

#[apply(backends)]
#[tokio::test]
async fn the_last_owner_can_neither_leave_nor_be_demoted_nor_removed(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, ORG, &[]).await else {
        return;
    };
    let (owner, _, owner_email) = user(&app).await;
    let (admin, _, admin_email) = user(&app).await;
    let (other, _, other_email) = user(&app).await;
    let org = create(&app, &owner, &slug()).await;
    let org_id = org["id"].as_str().unwrap();
    let owner_member = &org["members"][0];
    join(&app, &owner, &admin, &admin_email, org_id, "admin").await;

    let leave = json!({"organizationId": org_id});
    let only_owner = "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER";
    assert_error(
        post(&app, &owner, "/organization/leave", leave.clone()).await,
        400,
        only_owner,
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/update-member-role",
            json!({"memberId": owner_member["id"], "role": "admin"}),
        )
        .await,
        400,
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/remove-member",
            json!({"memberIdOrEmail": owner_email}),
        )
        .await,
        400,
        only_owner,
    );
    assert_error(
        post(
            &app,
            &admin,
            "/organization/remove-member",
            json!({"memberIdOrEmail": owner_member["id"]}),
        )
        .await,
        400,
        only_owner,
    );
    assert_error(
        post(
            &app,
            &admin,
            "/organization/update-member-role",
            json!({"memberId": owner_member["id"], "role": "member"}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
    );
    // With a second owner, the first may step down and leave.
    let second = join(&app, &owner, &other, &other_email, org_id, "owner").await;
    assert_eq!(second["role"], "owner");
    let (status, demoted) = post(
        &app,
        &owner,
        "/organization/update-member-role",
        json!({"memberId": owner_member["id"], "role": "admin"}),
    )
    .await;
    assert_eq!((status, demoted["role"].clone()), (200, json!("admin")));
    let (status, left) = post(&app, &owner, "/organization/leave", leave.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(left["id"], owner_member["id"]);
    assert_eq!(active_org(&app, &owner).await, Value::Null);
    assert_error(
        post(&app, &owner, "/organization/leave", leave.clone()).await,
        400,
        "MEMBER_NOT_FOUND",
    );
    assert_error(
        post(&app, &other, "/organization/leave", leave).await,
        400,
        only_owner,
    );
}

#[apply(backends)]
#[tokio::test]
async fn invitations_are_mailed_accepted_once_and_expire(#[case] backend: Backend) {
    let toml = format!("{ORG}invitation_limit = 3\n");
    let Some(app) = spawn_mail_app(backend, &toml).await else {
        return;
    };
    let (owner, owner_id, owner_email) = user(&app).await;
    let (invitee, invitee_id, invitee_email) = user(&app).await;
    let (stranger, _, _) = user(&app).await;
    let org = create(&app, &owner, &slug()).await;
    let org_id = org["id"].as_str().unwrap();

    let invitation = invite(
        &app,
        &owner,
        json!({"email": invitee_email.to_uppercase(), "role": "admin"}),
    )
    .await;
    let id = invitation["id"].as_str().unwrap().to_owned();
    assert_eq!(invitation["email"], invitee_email);
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["inviterId"], owner_id);
    let mail = app.last_mail("organization-invitation", &invitee_email);
    assert_eq!(mail["invitationId"], id);
    assert_eq!(mail["organizationId"], org_id);
    assert_eq!(mail["inviter"], owner_email);
    assert_eq!(mail["role"], "admin");
    assert_error(
        post(
            &app,
            &owner,
            "/organization/invite-member",
            json!({"email": invitee_email, "role": "admin"}),
        )
        .await,
        400,
        "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION",
    );
    // Resending extends the same invitation and mails it again.
    app.advance(3600);
    let resent = invite(
        &app,
        &owner,
        json!({"email": invitee_email, "role": "admin", "resend": true}),
    )
    .await;
    assert_eq!(resent["id"], id);
    assert!(resent["expiresAt"].as_str() > invitation["expiresAt"].as_str());
    let mails = app.mails();
    assert_eq!(
        mails
            .iter()
            .filter(|m| m["type"] == "organization-invitation")
            .count(),
        2
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/invite-member",
            json!({"email": "not-an-email", "role": "member"}),
        )
        .await,
        400,
        "INVALID_EMAIL",
    );
    let (status, body) = post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": unique_email(), "role": ["member", "boss"]}),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "ROLE_NOT_FOUND: boss"}))
    );

    // Only the recipient reads, accepts or rejects it.
    let get_path = format!("/organization/get-invitation?id={id}");
    assert_error(
        get(&app, &stranger, &get_path).await,
        403,
        "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
    );
    let accept = json!({"invitationId": id});
    assert_error(
        post(
            &app,
            &stranger,
            "/organization/accept-invitation",
            accept.clone(),
        )
        .await,
        403,
        "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
    );
    assert_error(
        post(
            &app,
            &stranger,
            "/organization/reject-invitation",
            accept.clone(),
        )
        .await,
        403,
        "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
    );
    let (status, read) = get(&app, &invitee, &get_path).await;
    assert_eq!(status, 200);
    assert_eq!(read["organizationSlug"], org["slug"]);
    assert_eq!(read["inviterEmail"], owner_email);
    assert_eq!(
        get(&app, &app.anonymous(), &get_path).await,
        (401, json!({"message": "Not authenticated"}))
    );
    // list-user-invitations needs a verified email.
    assert_error(
        get(&app, &invitee, "/organization/list-user-invitations").await,
        403,
        "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
    );
    let now = app.state.clock.now();
    app.state
        .store
        .update_user_email(&invitee_id, None, true, now)
        .await
        .unwrap();
    // Pending invitations of two organizations: each with its own organization's name.
    let (status, other) = post(
        &app,
        &stranger,
        "/organization/create",
        json!({"name": "Other", "slug": slug()}),
    )
    .await;
    assert_eq!(status, 200, "{other}");
    let second = invite(
        &app,
        &stranger,
        json!({"email": invitee_email, "role": "member", "organizationId": other["id"]}),
    )
    .await;
    let (status, mine) = get(
        &app,
        &invitee,
        "/organization/list-user-invitations?disableCookieCache=true",
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    let mut named: Vec<(Value, Value)> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].clone(), i["organizationName"].clone()))
        .collect();
    named.sort_by_key(|(_, name)| name.to_string());
    assert_eq!(
        named,
        vec![
            (json!(id), json!("Org")),
            (second["id"].clone(), json!("Other"))
        ]
    );
    assert_eq!(
        get(
            &app,
            &invitee,
            "/organization/list-user-invitations?email=x@y.z"
        )
        .await,
        (
            400,
            json!({"message": "User email cannot be passed for client side API calls."})
        )
    );

    // Accepted once: the member exists, the organization is active, and it is spent.
    let (status, accepted) = post(
        &app,
        &invitee,
        "/organization/accept-invitation",
        accept.clone(),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["invitation"]["status"], "accepted");
    assert_eq!(accepted["member"]["role"], "admin");
    assert_eq!(accepted["member"]["userId"], invitee_id);
    assert_eq!(active_org(&app, &invitee).await, org_id);
    assert_error(
        post(
            &app,
            &invitee,
            "/organization/accept-invitation",
            accept.clone(),
        )
        .await,
        400,
        "INVITATION_NOT_FOUND",
    );
    let (status, body) = post(
        &app,
        &invitee,
        "/organization/reject-invitation",
        accept.clone(),
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (400, json!("Invitation not found!"))
    );
    assert_error(
        get(&app, &invitee, &get_path).await,
        400,
        "INVITATION_NOT_FOUND",
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/invite-member",
            json!({"email": invitee_email, "role": "member"}),
        )
        .await,
        400,
        "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
    );

    // Rejected: status only, no member.
    let (rejecter, _, rejecter_email) = user(&app).await;
    let (_, second) = post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": rejecter_email, "role": "member"}),
    )
    .await;
    let (status, rejected) = post(
        &app,
        &rejecter,
        "/organization/reject-invitation",
        json!({"invitationId": second["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(rejected["invitation"]["status"], "rejected");
    assert_eq!(rejected["member"], Value::Null);
    assert_error(
        post(
            &app,
            &rejecter,
            "/organization/accept-invitation",
            json!({"invitationId": second["id"]}),
        )
        .await,
        400,
        "INVITATION_NOT_FOUND",
    );

    // Expired: neither readable nor acceptable; no longer counted as pending.
    let (late, _, late_email) = user(&app).await;
    let (_, third) = post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": late_email, "role": "member"}),
    )
    .await;
    app.advance(48 * 3600 + 1);
    let late_accept = json!({"invitationId": third["id"]});
    assert_error(
        post(&app, &late, "/organization/accept-invitation", late_accept).await,
        400,
        "INVITATION_NOT_FOUND",
    );
    assert_error(
        get(
            &app,
            &late,
            &format!(
                "/organization/get-invitation?id={}",
                third["id"].as_str().unwrap()
            ),
        )
        .await,
        400,
        "INVITATION_NOT_FOUND",
    );
    let (status, again) = post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": late_email, "role": "member"}),
    )
    .await;
    assert_eq!(
        status, 200,
        "the expired invitation no longer blocks: {again}"
    );

    // The limit counts pending, unexpired invitations.
    for _ in 0..2 {
        let res = post(
            &app,
            &owner,
            "/organization/invite-member",
            json!({"email": unique_email(), "role": "member"}),
        )
        .await;
        assert_eq!(res.0, 200, "{}", res.1);
    }
    assert_error(
        post(
            &app,
            &owner,
            "/organization/invite-member",
            json!({"email": unique_email(), "role": "member"}),
        )
        .await,
        403,
        "INVITATION_LIMIT_REACHED",
    );
}

#[apply(backends)]
#[tokio::test]
async fn limits_refuse_new_organizations_and_members(#[case] backend: Backend) {
    let toml = format!("{ORG}organization_limit = 1\nmembership_limit = 2\n");
    let Some(app) = spawn_app_with(backend, &toml, &[]).await else {
        return;
    };
    let (owner, _, _) = user(&app).await;
    let org = create(&app, &owner, &slug()).await;
    assert_error(
        post(
            &app,
            &owner,
            "/organization/create",
            json!({"name": "Two", "slug": slug()}),
        )
        .await,
        403,
        "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS",
    );
    let org_id = org["id"].as_str().unwrap();
    let (second, _, second_email) = user(&app).await;
    join(&app, &owner, &second, &second_email, org_id, "member").await;
    let (third, _, third_email) = user(&app).await;
    let (_, invitation) = post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": third_email, "role": "member"}),
    )
    .await;
    assert_error(
        post(
            &app,
            &third,
            "/organization/accept-invitation",
            json!({"invitationId": invitation["id"]}),
        )
        .await,
        403,
        "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED",
    );
    assert_eq!(count_rows(&app, "member").await, 2);
    let (_, members) = get(&app, &owner, "/organization/list-members?limit=1&offset=1").await;
    assert_eq!(members["total"], 2);
    assert_eq!(members["members"].as_array().unwrap().len(), 1);
    let (_, filtered) = get(
        &app,
        &owner,
        "/organization/list-members?filterField=role&filterValue=owner",
    )
    .await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["members"][0]["role"], "owner");
}

#[apply(backends)]
#[tokio::test]
async fn no_route_reads_or_writes_another_organization(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, ORG).await else {
        return;
    };
    let (mallory, mallory_id, _) = user(&app).await;
    let (victim, _, victim_email) = user(&app).await;
    let (victim_admin, _, victim_admin_email) = user(&app).await;
    let own = create(&app, &mallory, &slug()).await;
    let own_id = own["id"].as_str().unwrap();
    let theirs = create(&app, &victim, &slug()).await;
    let id = theirs["id"].as_str().unwrap();
    let slug = theirs["slug"].as_str().unwrap();
    let their_owner = theirs["members"][0]["id"].as_str().unwrap();
    let their_admin = join(
        &app,
        &victim,
        &victim_admin,
        &victim_admin_email,
        id,
        "admin",
    )
    .await;
    let their_admin_id = their_admin["id"].as_str().unwrap();
    let (_, their_invitation) = post(
        &app,
        &victim,
        "/organization/invite-member",
        json!({"email": unique_email(), "role": "member", "organizationId": id}),
    )
    .await;
    let their_invitation = their_invitation["id"].as_str().unwrap();

    let not_member = "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION";
    let not_a_member = "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION";
    for path in [
        format!("/organization/get-organization?organizationId={id}"),
        format!("/organization/get-organization?organizationSlug={slug}"),
        format!("/organization/get-full-organization?organizationId={id}"),
        format!("/organization/get-full-organization?organizationSlug={slug}"),
    ] {
        assert_error(get(&app, &mallory, &path).await, 403, not_member);
    }
    for path in [
        format!("/organization/list-members?organizationId={id}"),
        format!("/organization/list-members?organizationSlug={slug}"),
        format!("/organization/get-active-member-role?organizationId={id}"),
        format!("/organization/get-active-member-role?organizationId={id}&userId={mallory_id}"),
    ] {
        assert_error(get(&app, &mallory, &path).await, 403, not_a_member);
    }
    // Another organization's member named from inside one's own: not visible.
    assert_error(
        get(
            &app,
            &mallory,
            &format!(
                "/organization/get-active-member-role?organizationId={own_id}&userId={}",
                theirs["members"][0]["userId"].as_str().unwrap()
            ),
        )
        .await,
        403,
        not_a_member,
    );
    assert_eq!(
        get(
            &app,
            &mallory,
            &format!("/organization/list-invitations?organizationId={id}")
        )
        .await,
        (
            403,
            json!({"message": "You are not a member of this organization"})
        )
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/set-active",
            json!({"organizationId": id}),
        )
        .await,
        403,
        not_member,
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/set-active",
            json!({"organizationSlug": slug}),
        )
        .await,
        403,
        not_member,
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/has-permission",
            json!({"organizationId": id, "permissions": {"member": ["delete"]}}),
        )
        .await,
        401,
        not_member,
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/update",
            json!({"organizationId": id, "data": {"name": "pwned"}}),
        )
        .await,
        400,
        not_member,
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/delete",
            json!({"organizationId": id}),
        )
        .await,
        400,
        not_member,
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/invite-member",
            json!({"email": unique_email(), "role": "member", "organizationId": id}),
        )
        .await,
        400,
        "MEMBER_NOT_FOUND",
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/cancel-invitation",
            json!({"invitationId": their_invitation}),
        )
        .await,
        400,
        "MEMBER_NOT_FOUND",
    );
    assert_error(
        get(
            &app,
            &mallory,
            &format!("/organization/get-invitation?id={their_invitation}"),
        )
        .await,
        403,
        "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/accept-invitation",
            json!({"invitationId": their_invitation}),
        )
        .await,
        403,
        "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
    );
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/leave",
            json!({"organizationId": id}),
        )
        .await,
        400,
        "MEMBER_NOT_FOUND",
    );
    // As in Better Auth, naming an organization one is not a member of clears the active one.
    assert_eq!(active_org(&app, &mallory).await, Value::Null);
    let (status, _) = post(
        &app,
        &mallory,
        "/organization/set-active",
        json!({"organizationId": own_id}),
    )
    .await;
    assert_eq!(status, 200);
    // Their members, named by id from Mallory's own organization, or in theirs.
    for body in [
        json!({"memberId": their_admin_id, "role": "member"}),
        json!({"memberId": their_owner, "role": "member"}),
        json!({"memberId": their_admin_id, "role": "member", "organizationId": own_id}),
    ] {
        assert_error(
            post(&app, &mallory, "/organization/update-member-role", body).await,
            403,
            "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
        );
    }
    assert_error(
        post(
            &app,
            &mallory,
            "/organization/update-member-role",
            json!({"memberId": their_admin_id, "role": "member", "organizationId": id}),
        )
        .await,
        400,
        "MEMBER_NOT_FOUND",
    );
    for body in [
        json!({"memberIdOrEmail": their_admin_id}),
        json!({"memberIdOrEmail": victim_admin_email}),
        json!({"memberIdOrEmail": victim_email}),
        json!({"memberIdOrEmail": their_admin_id, "organizationId": id}),
    ] {
        let (status, body) = post(&app, &mallory, "/organization/remove-member", body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "MEMBER_NOT_FOUND", "{body}");
    }
    // A second owner in Mallory's organization still cannot remove their owner.
    let (status, _) = post(
        &app,
        &mallory,
        "/organization/remove-member",
        json!({"memberIdOrEmail": their_owner}),
    )
    .await;
    assert_eq!(status, 400);

    // Nothing of theirs changed.
    let (status, full) = get(
        &app,
        &victim,
        &format!("/organization/get-full-organization?organizationId={id}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(full["name"], "Org");
    let mut roles: Vec<&str> = full["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["admin", "owner"]);
    let pending = full["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == their_invitation)
        .unwrap();
    assert_eq!(pending["status"], "pending");
    assert_eq!(count_rows(&app, "organization").await, 2);
}

#[apply(backends)]
#[tokio::test]
async fn custom_roles_from_toml_replace_the_default_statements(#[case] backend: Backend) {
    let toml = format!(
        "{ORG}[plugins.organization.roles.owner]\norganization = [\"update\", \"delete\"]\n\
         member = [\"create\", \"update\", \"delete\"]\ninvitation = [\"create\", \"cancel\"]\n\
         [plugins.organization.roles.auditor]\ninvitation = [\"create\"]\n\
         project = [\"read\"]\n"
    );
    let Some(app) = spawn_app_with(backend, &toml, &[]).await else {
        return;
    };
    let (owner, _, _) = user(&app).await;
    let (auditor, _, auditor_email) = user(&app).await;
    let org = create(&app, &owner, &slug()).await;
    let org_id = org["id"].as_str().unwrap();
    let member = join(&app, &owner, &auditor, &auditor_email, org_id, "auditor").await;
    assert_eq!(member["role"], "auditor");
    let check = |p: Value| json!({ "permissions": p });
    for (perm, expected) in [
        (json!({"project": ["read"]}), true),
        (json!({"invitation": ["create"]}), true),
        (json!({"invitation": ["cancel"]}), false),
        (json!({"organization": ["update"]}), false),
    ] {
        let (_, body) = post(
            &app,
            &auditor,
            "/organization/has-permission",
            check(perm.clone()),
        )
        .await;
        assert_eq!(body["success"], expected, "{perm}");
    }
    assert_eq!(
        post(
            &app,
            &auditor,
            "/organization/invite-member",
            json!({"email": unique_email(), "role": "auditor"})
        )
        .await
        .0,
        200
    );
    // The default admin role is still a valid name, but grants nothing now.
    let (status, _) = post(
        &app,
        &owner,
        "/organization/update-member-role",
        json!({"memberId": member["id"], "role": "admin"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = post(
        &app,
        &auditor,
        "/organization/has-permission",
        check(json!({"invitation": ["create"]})),
    )
    .await;
    assert_eq!(body["success"], false);
}

#[apply(backends)]
#[tokio::test]
async fn bad_input_is_answered_4xx(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, ORG, &[]).await else {
        return;
    };
    let (owner, _, _) = user(&app).await;
    create(&app, &owner, &slug()).await;
    let junk = [
        json!([]),
        json!("text"),
        json!(null),
        json!({}),
        json!({"name": 1, "slug": ["a"], "metadata": "m", "logo": 5}),
        json!({"organizationId": {"$ne": 1}, "data": [], "memberId": 7, "role": {}, "email": 3,
               "invitationId": [], "permissions": {"member": "delete"}, "slug": null,
               "memberIdOrEmail": false, "resend": "yes",
               "keepCurrentActiveOrganization": "no"}),
        json!({"name": "\u{0}", "slug": "a\u{0}b", "data": {"name": ""}}),
        json!({"data": {}}),
        json!({"permission": {}, "permissions": {}}),
        json!({"role": [], "memberId": "x"}),
        json!({"role": "", "memberId": "x"}),
    ];
    for path in [
        "create",
        "check-slug",
        "update",
        "delete",
        "set-active",
        "has-permission",
        "invite-member",
        "accept-invitation",
        "reject-invitation",
        "cancel-invitation",
        "update-member-role",
        "remove-member",
        "leave",
    ] {
        for body in &junk {
            let (status, got) =
                post(&app, &owner, &format!("/organization/{path}"), body.clone()).await;
            // Some of these are valid for a route (set-active with `{}`): never a 5xx.
            assert!(status < 500, "{path} {body} → {status} {got}");
            if body.is_array() || body.is_string() || body.is_null() {
                assert_eq!(status, 400, "{path} {body} → {got}");
                assert_eq!(got["code"], "VALIDATION_ERROR");
            }
        }
    }
    for query in [
        "list-members?limit=abc&offset=-4&sortBy=password&sortDirection=up",
        "list-members?filterField=userId&filterOperator=like&filterValue=x",
        "list-members?filterField=email&filterValue=x",
        "get-full-organization?membersLimit=-1&organizationId=%00",
        "get-invitation",
        "get-invitation?id=%00",
        "get-active-member-role?organizationSlug=nope",
        "list-invitations?organizationId=nope",
    ] {
        let (status, got) = get(&app, &owner, &format!("/organization/{query}")).await;
        assert!((400..500).contains(&status), "{query} → {status} {got}");
    }
    // Sorting and paging that Better Auth accepts.
    let (status, _) = get(
        &app,
        &owner,
        "/organization/list-members?sortBy=createdAt&sortDirection=desc&limit=0",
    )
    .await;
    assert_eq!(status, 200);
}

const TEAMS: &str = "[plugins.organization]\nenabled = true\n\
                     [plugins.organization.teams]\nenabled = true\nmaximum_members_per_team = 2\n";

#[apply(backends)]
#[tokio::test]
async fn teams_hold_members_of_their_own_organization_only(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, TEAMS, &[]).await else {
        return;
    };
    let (owner, owner_id, _) = user(&app).await;
    let (member, member_id, member_email) = user(&app).await;
    let (third, third_id, third_email) = user(&app).await;
    let (outsider, outsider_id, _) = user(&app).await;
    let org = create(&app, &owner, &slug()).await;
    let org_id = org["id"].as_str().unwrap();
    // The default team, with the creator in it, active.
    let (_, teams) = get(&app, &owner, "/organization/list-teams").await;
    let default_team = teams[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(teams[0]["name"], "Org");
    assert!(teams[0].get("memberCount").is_none());
    let session = app.get_session_as(&owner).await;
    assert_eq!(session["session"]["activeTeamId"], default_team);
    let team_member = if matches!(backend, Backend::MySql) {
        "`teamMember`"
    } else {
        "\"teamMember\""
    };
    assert_eq!(count_rows(&app, team_member).await, 1);

    let (status, dev) = post(
        &app,
        &owner,
        "/organization/create-team",
        json!({"name": "Dev"}),
    )
    .await;
    assert_eq!(status, 200, "{dev}");
    let dev_id = dev["id"].as_str().unwrap().to_owned();
    // An invitation into the team: accepted, the member is in it and it is active.
    let invitation = invite(
        &app,
        &owner,
        json!({"email": member_email, "role": "member", "teamId": dev_id}),
    )
    .await;
    assert_eq!(invitation["teamId"], dev_id);
    // Listed with the teams of each (read together), none for an invitation without.
    let other = invite(
        &app,
        &owner,
        json!({"email": unique_email(), "role": "member"}),
    )
    .await;
    let (status, listed) = get(&app, &owner, "/organization/list-invitations").await;
    assert_eq!(status, 200, "{listed}");
    let team_of = |id: &Value| {
        listed
            .as_array()
            .and_then(|l| l.iter().find(|i| i["id"] == *id))
            .map(|i| i["teamId"].clone())
    };
    assert_eq!(team_of(&invitation["id"]), Some(json!(dev_id)));
    assert_eq!(team_of(&other["id"]), Some(Value::Null));
    let (status, accepted) = post(
        &app,
        &member,
        "/organization/accept-invitation",
        json!({"invitationId": invitation["id"]}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(
        app.get_session_as(&member).await["session"]["activeTeamId"],
        dev_id
    );
    let (_, members) = get(&app, &member, "/organization/list-team-members").await;
    assert_eq!(members[0]["userId"], member_id);
    assert!(members[0].get("membershipKey").is_none());

    // Adding: by those who may update members, once, up to the team's limit.
    join(&app, &owner, &third, &third_email, org_id, "member").await;
    let add = |user: &str| json!({"teamId": dev_id, "userId": user});
    assert_error(
        post(
            &app,
            &member,
            "/organization/add-team-member",
            add(&third_id),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER",
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/add-team-member",
            add(&outsider_id),
        )
        .await,
        400,
        "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
    );
    let (status, added) = post(
        &app,
        &owner,
        "/organization/add-team-member",
        add(&third_id),
    )
    .await;
    assert_eq!((status, added["teamId"].clone()), (200, json!(dev_id)));
    let (_, again) = post(
        &app,
        &owner,
        "/organization/add-team-member",
        add(&third_id),
    )
    .await;
    assert_eq!(again["id"], added["id"], "a user is in a team once");
    assert_error(
        post(
            &app,
            &owner,
            "/organization/add-team-member",
            add(&owner_id),
        )
        .await,
        403,
        "TEAM_MEMBER_LIMIT_REACHED",
    );
    let (_, full) = get(&app, &owner, "/organization/get-full-organization").await;
    let counts: Vec<(String, i64)> = full["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["memberCount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&("Dev".into(), 2)), "{counts:?}");
    // Leaving the organization leaves its teams.
    let (status, _) = post(
        &app,
        &third,
        "/organization/leave",
        json!({"organizationId": org_id}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, members) = get(
        &app,
        &owner,
        &format!("/organization/list-team-members?teamId={default_team}"),
    )
    .await;
    assert_eq!(members.as_array().unwrap().len(), 1);
    let (_, dev_members) = get(&app, &member, "/organization/list-team-members").await;
    assert_eq!(dev_members.as_array().unwrap().len(), 1);

    // Another organization's team ids are refused on every route.
    let other = create(&app, &outsider, &slug()).await;
    let (_, their_teams) = get(&app, &outsider, "/organization/list-teams").await;
    let theirs = their_teams[0]["id"].as_str().unwrap();
    let cases = [
        (
            "/organization/update-team",
            json!({"teamId": theirs, "data": {"name": "x"}}),
            400,
            "TEAM_NOT_FOUND",
        ),
        (
            "/organization/remove-team",
            json!({"teamId": theirs}),
            400,
            "TEAM_NOT_FOUND",
        ),
        (
            "/organization/set-active-team",
            json!({"teamId": theirs}),
            400,
            "TEAM_NOT_FOUND",
        ),
        (
            "/organization/add-team-member",
            json!({"teamId": theirs, "userId": member_id}),
            400,
            "TEAM_NOT_FOUND",
        ),
        (
            "/organization/remove-team-member",
            json!({"teamId": theirs, "userId": owner_id}),
            400,
            "TEAM_NOT_FOUND",
        ),
        (
            "/organization/invite-member",
            json!({"email": unique_email(), "role": "member", "teamId": theirs}),
            400,
            "TEAM_NOT_FOUND",
        ),
        (
            "/organization/create-team",
            json!({"name": "x", "organizationId": other["id"]}),
            403,
            "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
        ),
        (
            "/organization/update-team",
            json!({"teamId": theirs, "data": {"organizationId": other["id"]}}),
            403,
            "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM",
        ),
        (
            "/organization/remove-team",
            json!({"teamId": theirs, "organizationId": other["id"]}),
            403,
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM",
        ),
    ];
    for (path, body, status, code) in cases {
        assert_error(post(&app, &owner, path, body).await, status, code);
    }
    for (path, status, code) in [
        (
            format!("/organization/list-team-members?teamId={theirs}"),
            400,
            "USER_IS_NOT_A_MEMBER_OF_THE_TEAM",
        ),
        (
            format!(
                "/organization/list-teams?organizationId={}",
                other["id"].as_str().unwrap()
            ),
            403,
            "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION",
        ),
        (
            format!(
                "/organization/list-user-teams?organizationId={}",
                other["id"].as_str().unwrap()
            ),
            403,
            "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION",
        ),
        (
            format!("/organization/list-user-teams?userId={outsider_id}"),
            400,
            "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
        ),
    ] {
        assert_error(get(&app, &owner, &path).await, status, code);
    }
    let (_, their_list) = get(&app, &outsider, "/organization/list-teams").await;
    assert_eq!(their_list.as_array().unwrap().len(), 1);

    // Removal: not the active team, not the last one; pending invitations forget it.
    let (_, pending) = post(
        &app,
        &owner,
        "/organization/invite-member",
        json!({"email": unique_email(), "role": "member", "teamId": [dev_id, default_team]}),
    )
    .await;
    assert_eq!(pending["teamId"], format!("{dev_id},{default_team}"));
    assert_error(
        post(
            &app,
            &owner,
            "/organization/remove-team",
            json!({"teamId": default_team}),
        )
        .await,
        403,
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM",
    );
    let (status, removed) = post(
        &app,
        &owner,
        "/organization/remove-team",
        json!({"teamId": dev_id}),
    )
    .await;
    assert_eq!(
        (status, removed),
        (200, json!({"message": "Team removed successfully."}))
    );
    let (_, invitations) = get(&app, &owner, "/organization/list-invitations").await;
    let left = invitations
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == pending["id"])
        .unwrap();
    assert_eq!(left["teamId"], default_team);
    assert_eq!(
        post(
            &app,
            &owner,
            "/organization/set-active-team",
            json!({"teamId": null})
        )
        .await,
        (200, Value::Null)
    );
    assert_error(
        post(
            &app,
            &owner,
            "/organization/remove-team",
            json!({"teamId": default_team}),
        )
        .await,
        400,
        "UNABLE_TO_REMOVE_LAST_TEAM",
    );
}

/// get-full-organization reads the organization with its members in one statement: the page
/// is `membersLimit` members, oldest first, with their users; a member beyond the page is still
/// recognised, an outsider is refused (and loses the organization as active one), by id and by
/// slug alike.
#[apply(backends)]
#[tokio::test]
async fn the_full_organization_pages_its_members_and_knows_the_caller(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, ORG, &[]).await else {
        return;
    };
    let (owner, owner_id, _) = user(&app).await;
    let (first, first_id, first_email) = user(&app).await;
    let (last, _, last_email) = user(&app).await;
    let (outsider, _, _) = user(&app).await;
    let s = slug();
    let org = create(&app, &owner, &s).await;
    let id = org["id"].as_str().unwrap();
    join(&app, &owner, &first, &first_email, id, "member").await;
    join(&app, &owner, &last, &last_email, id, "member").await;

    let by_id = format!("/organization/get-full-organization?organizationId={id}");
    let (status, full) = get(&app, &owner, &by_id).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["slug"], s.as_str());
    let members = full["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(members[0]["userId"], owner_id.as_str());
    assert_eq!(members[1]["user"]["email"], first_email.as_str());

    // The newest member is not on a page of two, and is recognised all the same.
    let paged = format!("/organization/get-full-organization?organizationSlug={s}&membersLimit=2");
    let (status, full) = get(&app, &last, &paged).await;
    assert_eq!(status, 200, "{full}");
    let ids: Vec<&Value> = full["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["userId"])
        .collect();
    assert_eq!(ids, [&json!(owner_id), &json!(first_id)]);

    // Invitations come in full beside any member page, oldest first, every status, only this
    // organization's, and only to a role that may invite.
    let pending = format!("pending-{}@example.com", uuid::Uuid::new_v4().simple());
    let invited = invite(
        &app,
        &owner,
        json!({"email": pending, "role": "admin", "organizationId": id}),
    )
    .await;
    let elsewhere = create(&app, &outsider, &slug()).await;
    invite(
        &app,
        &outsider,
        json!({"email": pending, "role": "member", "organizationId": elsewhere["id"]}),
    )
    .await;
    let one = format!("/organization/get-full-organization?organizationId={id}&membersLimit=1");
    let (status, full) = get(&app, &owner, &one).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["members"].as_array().unwrap().len(), 1);
    let invitations = full["invitations"].as_array().unwrap();
    let mut seen: Vec<(&Value, &Value, &Value)> = invitations
        .iter()
        .map(|i| (&i["email"], &i["status"], &i["organizationId"]))
        .collect();
    // The two accepted ones may share a millisecond; the pending one is the newest.
    seen[..2].sort_by_key(|(email, _, _)| email.as_str());
    let mut accepted = [first_email.as_str(), last_email.as_str()];
    accepted.sort();
    assert_eq!(
        seen,
        [
            (&json!(accepted[0]), &json!("accepted"), &json!(id)),
            (&json!(accepted[1]), &json!("accepted"), &json!(id)),
            (&json!(pending), &json!("pending"), &json!(id)),
        ]
    );
    assert_eq!(invitations[2]["id"], invited["id"]);
    assert_eq!(invitations[2]["expiresAt"], invited["expiresAt"]);
    assert_eq!(invitations[2]["inviterId"], owner_id.as_str());
    let (status, full) = get(&app, &first, &by_id).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["invitations"], json!([]));
    assert_eq!(full["members"].as_array().unwrap().len(), 3);

    for path in [&by_id, &paged] {
        assert_error(
            get(&app, &outsider, path).await,
            403,
            "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
        );
    }
    assert_error(
        get(
            &app,
            &owner,
            "/organization/get-full-organization?organizationSlug=no-such-org",
        )
        .await,
        400,
        "ORGANIZATION_NOT_FOUND",
    );
}
