//! Persisted queries (APQ and the allow-list) and the document rules
//! (aliases, mutations over GET and without a token).

mod common;

use common::{GqlResponse, TestApp, claims, spawn_app, spawn_app_with, test_settings, token};
use entity::enums::Role;
use kompetanse::graphql::persisted::hash;
use serde_json::{Value, json};

const COUNTIES: &str = "{ counties { totalCount } }";

async fn send(request: reqwest::RequestBuilder) -> GqlResponse {
    let res = request.send().await.expect("request");
    GqlResponse {
        status: res.status().as_u16(),
        body: res.json().await.expect("JSON"),
    }
}

async fn post(app: &TestApp, body: Value) -> GqlResponse {
    send(
        app.client
            .post(format!("{}/graphql", app.address))
            .json(&body),
    )
    .await
}

fn persisted(h: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": h } })
}

#[tokio::test]
async fn automatic_persisted_queries_follow_apollos_protocol() {
    let app = spawn_app().await;
    let h = hash(COUNTIES);

    // Unknown hash: the client is told to send the text.
    let res = post(&app, json!({ "extensions": persisted(&h) })).await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_FOUND"], "{}", res.body);
    assert_eq!(res.first_error()["message"], "PersistedQueryNotFound");

    // Text and hash: runs and is remembered.
    let res = post(
        &app,
        json!({ "query": COUNTIES, "extensions": persisted(&h) }),
    )
    .await;
    let total = res.data()["counties"]["totalCount"].clone();
    assert!(total.as_i64().unwrap() > 0);

    // Hash only, by POST and by GET.
    let res = post(&app, json!({ "extensions": persisted(&h) })).await;
    assert_eq!(res.data()["counties"]["totalCount"], total);
    let ext = persisted(&h).to_string();
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("extensions", ext.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["counties"]["totalCount"], total, "{body}");

    // A hash that does not match the text, and a malformed extension.
    let wrong = hash("{ __typename }");
    let res = post(
        &app,
        json!({ "query": COUNTIES, "extensions": persisted(&wrong) }),
    )
    .await;
    assert_eq!(res.codes(), ["BAD_USER_INPUT"]);
    let res = post(
        &app,
        json!({ "query": COUNTIES, "extensions": { "persistedQuery": { "version": 2, "sha256Hash": h } } }),
    )
    .await;
    assert_eq!(res.codes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn persisted_documents_keep_every_rule() {
    let app = spawn_app().await;
    let mutation = "mutation { revokeRole(input: { id: \"x\", version: 1 }) { revokedId } }";
    let h = hash(mutation);
    // An anonymous client cannot register or run a mutation.
    let res = post(
        &app,
        json!({ "query": mutation, "extensions": persisted(&h) }),
    )
    .await;
    assert_eq!(res.codes(), ["UNAUTHENTICATED"]);

    // Registered with a token, it still does not run over GET.
    let mut c = claims("apq-admin");
    c.role = Some(Role::Admin);
    let admin = token(&c);
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin)
        .json(&json!({ "query": mutation, "extensions": persisted(&h) }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let ext = persisted(&h).to_string();
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .bearer_auth(&admin)
        .query(&[("extensions", ext.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("POST"),
        "{body}"
    );
}

#[tokio::test]
async fn aliases_are_limited() {
    let app = spawn_app().await;
    let query = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let res = app.query(&query(30), json!({})).await;
    res.data();
    let res = app.query(&query(31), json!({})).await;
    assert_eq!(res.codes(), ["LIMIT_EXCEEDED"], "{}", res.body);
}

fn allow_list_dir() -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("counties.graphql"), format!("{COUNTIES}\n")).unwrap();
    std::fs::write(
        dir.join("county.graphql"),
        "query County($number: String!) {\n  county(number: $number) { name }\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a document").unwrap();
    dir
}

#[tokio::test]
async fn the_allow_list_runs_only_registered_documents() {
    let mut settings = test_settings();
    settings.http.allow_list = Some(allow_list_dir());
    let app = spawn_app_with(settings).await;

    // By text (white space around it aside) and by hash.
    let res = app.query(&format!("  {COUNTIES}  "), json!({})).await;
    assert!(res.data()["counties"]["totalCount"].as_i64().unwrap() > 0);
    let county = "query County($number: String!) {\n  county(number: $number) { name }\n}";
    let res = post(
        &app,
        json!({ "extensions": persisted(&hash(county)), "variables": { "number": "34" } }),
    )
    .await;
    assert_eq!(res.data()["county"]["name"], "Innlandet");

    // Anything else is refused, also as an APQ registration.
    let other = "{ counties { nodes { name } } }";
    let res = app.query(other, json!({})).await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_ALLOWED"]);
    let res = post(
        &app,
        json!({ "query": other, "extensions": persisted(&hash(other)) }),
    )
    .await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_ALLOWED"]);
    let res = post(&app, json!({ "extensions": persisted(&hash(other)) })).await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_ALLOWED"]);
}

#[tokio::test]
async fn a_bad_allow_list_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("broken.graphql"), "{ counties { ").unwrap();
    let mut settings = test_settings();
    settings.http.allow_list = Some(dir.clone());
    let err = kompetanse::Application::build(settings)
        .await
        .err()
        .expect("refused");
    let message = err.to_string();
    assert!(message.contains("broken.graphql"), "{message}");

    let empty = tempfile::tempdir().unwrap().keep();
    let mut settings = test_settings();
    settings.http.allow_list = Some(empty);
    let err = kompetanse::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("no .graphql document"), "{err}");
}

async fn get(app: &TestApp, params: &[(&str, &str)]) -> GqlResponse {
    send(
        app.client
            .get(format!("{}/graphql", app.address))
            .query(params),
    )
    .await
}

#[tokio::test]
async fn persisted_documents_are_asked_for_by_document_id() {
    let app = spawn_app().await;
    let id = format!("sha256:{}", hash(COUNTIES));

    // Not known yet: the single error the appendix asks for.
    let res = post(&app, json!({ "documentId": id })).await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_FOUND"], "{}", res.body);

    // Once the text was sent (APQ), the id runs it by POST and by GET.
    let res = post(
        &app,
        json!({ "query": COUNTIES, "extensions": persisted(&hash(COUNTIES)) }),
    )
    .await;
    let total = res.data()["counties"]["totalCount"].clone();
    let res = post(&app, json!({ "documentId": id })).await;
    assert_eq!(res.data()["counties"]["totalCount"], total);
    let res = get(&app, &[("documentId", &id)]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.data()["counties"]["totalCount"], total);

    // Bad ids and mixed requests are BAD_USER_INPUT, never a server error.
    for bad in [
        json!({ "documentId": format!("sha256:{}", hash(COUNTIES).to_uppercase()) }),
        json!({ "documentId": "sha256:abc" }),
        json!({ "documentId": "md5:abc" }),
        json!({ "documentId": "a b" }),
        json!({ "documentId": "a\u{0}" }),
        json!({ "documentId": 42 }),
        json!({ "documentId": ["x"] }),
        json!({ "documentId": id, "query": COUNTIES }),
    ] {
        let res = post(&app, bad.clone()).await;
        assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{bad}: {}", res.body);
    }
    let res = get(&app, &[("documentId", "zz:zz")]).await;
    assert_eq!(res.codes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_codegen_manifest_is_an_allow_list_by_document_id() {
    let dir = tempfile::tempdir().unwrap().keep();
    let county = "query County($number: String!) { county(number: $number) { name } }";
    let mutation = "mutation { __typename }";
    // graphql-codegen's client preset writes `{ "<hash>": "<document>" }`
    // (sha1 by default: a custom id to the server).
    let manifest = json!({
        "2b8d6e3c0f0a4e5d9c7b1a2f3e4d5c6b7a8f9e0d": county,
        "9f86d081884c7d659a2feaa0c55ad015": mutation,
    });
    let path = dir.join("persisted-documents.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let mut settings = test_settings();
    settings.http.allow_list = Some(path);
    let app = spawn_app_with(settings).await;

    let res = post(
        &app,
        json!({ "documentId": "2b8d6e3c0f0a4e5d9c7b1a2f3e4d5c6b7a8f9e0d",
                "variables": { "number": "34" } }),
    )
    .await;
    assert_eq!(res.data()["county"]["name"], "Innlandet", "{}", res.body);
    // The same document by its SHA-256, by GET with variables.
    let id = format!("sha256:{}", hash(county));
    let res = get(
        &app,
        &[("documentId", &id), ("variables", r#"{"number":"40"}"#)],
    )
    .await;
    assert_eq!(res.data()["county"]["name"], "Telemark", "{}", res.body);

    // Ids and texts not in the manifest are refused.
    let res = post(&app, json!({ "documentId": "unknown" })).await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_ALLOWED"]);
    let res = post(
        &app,
        json!({ "documentId": format!("sha256:{}", hash(COUNTIES)) }),
    )
    .await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_ALLOWED"]);
    let res = app.query(COUNTIES, json!({})).await;
    assert_eq!(res.codes(), ["PERSISTED_QUERY_NOT_ALLOWED"]);

    // A persisted mutation asked for by GET is 405 with Allow: POST.
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("documentId", "9f86d081884c7d659a2feaa0c55ad015")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
}

#[tokio::test]
async fn a_bad_manifest_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("manifest.json");
    std::fs::write(&path, r#"{ "a": 1 }"#).unwrap();
    let mut settings = test_settings();
    settings.http.allow_list = Some(path);
    let err = kompetanse::Application::build(settings)
        .await
        .err()
        .expect("refused");
    let message = err.to_string();
    assert!(message.contains("manifest.json"), "{message}");
    assert!(message.contains("`a`"), "{message}");
}
