//! The OpenAPI document at `/open-api/generate-schema` describes what this instance serves:
//! every documented operation is routed, and the schemas follow the settings. (schemathesis
//! checks the responses against it in `scripts/test.sh`.)

use serde_json::Value;

use crate::helpers::*;

const ALL_ON: &str = r#"
[user.delete_user]
enabled = true
[plugins.jwt]
enabled = true
[plugins.api_key]
enabled = true
"#;

async fn document(app: &TestApp) -> Value {
    let res = app.get("/open-api/generate-schema").await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ALL_ON, &[]).await else {
        return;
    };
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "{:?}", paths.keys());
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{token}", "some-token"));
            let request = match method.as_str() {
                "get" => app.client.get(url),
                "post" => app
                    .client
                    .post(url)
                    .header("origin", ORIGIN)
                    .json(&Value::Null),
                other => panic!("unexpected method {other} for {path}"),
            };
            let res = request.send().await.unwrap();
            let status = res.status().as_u16();
            let body = res.bytes().await.unwrap();
            assert!(
                !(status == 404 && body.is_empty()),
                "{method} {path} is documented but not routed"
            );
            assert!(status < 500, "{method} {path}: {status}");
        }
    }
}

#[tokio::test]
async fn the_document_follows_custom_fields_and_plugins() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/token"), "jwt plugin off: no /token");
    assert!(
        !paths.contains_key("/delete-user"),
        "deletion off: no /delete-user"
    );
    let sign_up = &paths["/sign-up/email"]["post"];
    let body = &sign_up["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["properties"]["nickname"]["type"], "string");
    assert!(
        body["properties"].get("role").is_none(),
        "input = false fields are not in request bodies"
    );
    let user =
        &sign_up["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["user"];
    assert_eq!(
        user["properties"]["role"]["type"],
        serde_json::json!(["string", "null"])
    );
    assert_eq!(doc["servers"][0]["url"], "http://localhost:3001/api/auth");
}
