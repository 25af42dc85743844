//! The HTTP surface: endpoints, media types, methods, status codes.

mod common;

use common::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "up");
}

#[tokio::test]
async fn graphiql_is_served_to_browsers() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = res.text().await.unwrap();
    assert!(page.contains("/graphiql/graphiql.min.js"));
    // Nothing from another host: no absolute URL in the page at all.
    assert!(!page.contains("://"), "{page}");
}

#[tokio::test]
async fn graphiql_files_come_from_the_binary_and_nothing_else_does() {
    let app = spawn_app().await;
    for (file, media_type) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("init.js", "text/javascript"),
        ("kompetanse.css", "text/css"),
    ] {
        let res = app
            .client
            .get(format!("{}/graphiql/{file}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media_type),
            "{file}"
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(!res.bytes().await.unwrap().is_empty());
    }
    // The vendoring notes, the policy file, other paths and traversal
    // attempts are not served.
    for path in [
        "CSP",
        "VERSIONS",
        "update.sh",
        "index.html",
        "..%2FCargo.toml",
        "..%2F..%2Fsrc%2Fmain.rs",
        "%2Fetc%2Fpasswd",
    ] {
        let res = app
            .client
            .get(format!("{}/graphiql/{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn get_runs_queries() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ county(number: \"40\") { name } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["county"]["name"], "Telemark");
}

#[tokio::test]
async fn get_refuses_mutations() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { nothing }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn graphql_response_json_is_negotiated() {
    let app = spawn_app().await;
    let ok = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&serde_json::json!({ "query": "{ county(number: \"03\") { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["content-type"],
        "application/graphql-response+json"
    );

    // A request that cannot run at all is a 4xx in this media type...
    let bad = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&serde_json::json!({ "query": "{ county(number: " }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // ...and a 200 with errors in plain JSON.
    let legacy = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&serde_json::json!({ "query": "{ county(number: " }))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    assert_eq!(legacy.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn unreadable_bodies_are_bad_user_input() {
    let app = spawn_app().await;
    for (content_type, body) in [
        ("application/json", "{not json"),
        ("application/json", "[]"),
        ("application/graphql", "{ county("),
    ] {
        let res = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{content_type} {body}");
        let json: Value = res.json().await.unwrap();
        assert_eq!(
            json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_client_request_id_is_echoed() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

/// GraphQL over HTTP, as graphql-http's audit checks it: a POST without a
/// Content-Type is a 4xx; a request that fails before it runs (parse or
/// validation) has no `data` entry, in either media type; an execution
/// keeps its `data`.
#[tokio::test]
async fn requests_that_never_ran_have_no_data_entry() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    for content_type in [
        None,
        Some("text/plain;charset=UTF-8"),
        Some("application/xml"),
    ] {
        let mut request = app.client.post(&url).body(r#"{"query":"{ __typename }"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), 415, "{content_type:?}");
        let json: Value = res.json().await.unwrap();
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    for accept in ["application/graphql-response+json", "application/json"] {
        for query in ["{ county(number: ", "{ noSuchField }"] {
            let res = app
                .client
                .post(&url)
                .header("accept", accept)
                .json(&serde_json::json!({ "query": query }))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let json: Value = res.json().await.unwrap();
            assert!(json.get("data").is_none(), "{accept} {query}: {json}");
            assert!(!json["errors"].as_array().unwrap().is_empty());
            let expected = if accept == "application/json" {
                200
            } else {
                400
            };
            assert_eq!(status, expected, "{accept} {query}");
        }
    }
    // A field error during execution leaves data in place.
    let res = app
        .client
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&serde_json::json!({ "query": "{ county(number: \"99\") { name } }" }))
        .send()
        .await
        .unwrap();
    let json: Value = res.json().await.unwrap();
    assert!(json.get("data").is_some(), "{json}");
}

/// Anonymous GET queries are cacheable by browsers and CDNs, with an ETag
/// that a revalidation answers with 304; nothing signed in or failed is
/// stored.
#[tokio::test]
async fn anonymous_get_answers_are_cacheable_and_revalidate() {
    let app = spawn_app().await;
    let url = format!(
        "{}/graphql?query={}",
        app.address, "%7B%20county(number%3A%20%2240%22)%20%7B%20name%20%7D%20%7D"
    );
    let first = app.client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["data"]["county"]["name"], "Telemark");

    let again = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());

    let stale = app
        .client
        .get(&url)
        .header("if-none-match", "\"0000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    let signed_in = app
        .client
        .get(&url)
        .bearer_auth(common::token(&common::claims("cache-reader")))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    assert_eq!(signed_in.headers()["cache-control"], "private, no-store");
    assert!(signed_in.headers().get("etag").is_none());

    let failed = app
        .client
        .get(format!("{}/graphql?query=%7B%20nope%20%7D", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.headers()["cache-control"], "no-store");

    let posted = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&serde_json::json!({ "query": "{ county(number: \"40\") { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.headers()["cache-control"], "no-store");
}
