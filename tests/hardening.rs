//! The guards of the HTTP edge: CORS, body size, rate limit, introspection.

mod common;

use common::{claims, spawn_app_with, test_settings, token};
use serde_json::{Value, json};

const QUERY: &str = "{ county(number: \"40\") { name } }";

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let mut settings = test_settings();
    settings.http.cors_origins = vec!["https://app.example.no".into()];
    let app = spawn_app_with(settings).await;
    let url = format!("{}/graphql", app.address);

    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.example.no").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.no"
    );
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allow_headers = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allow_headers.contains("authorization"), "{allow_headers}");
    assert_eq!(headers["access-control-max-age"], "3600");

    // What common browser clients add is allowed by default: trace
    // context, Sentry, Apollo Client, and the idempotency key.
    let common_headers = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example.no")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,traceparent,tracestate,baggage,sentry-trace,\
             apollographql-client-name,apollographql-client-version,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(
        common_headers.status().is_success(),
        "{}",
        common_headers.status()
    );
    // A header outside the setting is refused.
    let odd = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example.no")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-something-else")
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 400);

    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let res = app
        .client
        .post(&url)
        .header("origin", "https://app.example.no")
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.no"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    assert!(exposed.contains("traceparent"), "{exposed}");

    let other = app
        .client
        .post(&url)
        .header("origin", "https://evil.example.com")
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn no_cors_headers_without_configured_origins() {
    let app = spawn_app_with(test_settings()).await;
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("origin", "https://app.example.no")
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_too_large_body_is_413() {
    let app = spawn_app_with(test_settings()).await;
    let padding = " ".repeat(2 * 1024 * 1024);
    let body = format!("{{\"query\": \"{QUERY_ESCAPED}{padding}\"}}");
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");

    // A body under the limit is served.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"query\": \"{QUERY_ESCAPED}{}\"}}",
            " ".repeat(512 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["county"]["name"], "Telemark");
}

const QUERY_ESCAPED: &str = "{ county(number: \\\"40\\\") { name } }";

#[tokio::test]
async fn clients_over_the_rate_limit_get_429() {
    let mut settings = test_settings();
    settings.http.rate_limit_per_minute = 3;
    let app = spawn_app_with(settings).await;

    for _ in 0..3 {
        let res = app.query(QUERY, json!({})).await;
        assert_eq!(res.status, 200);
    }
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");

    // A forwarded-for header does not buy a new bucket.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);

    // Each token subject has its own bucket.
    let kari = token(&claims("idp|kari"));
    let ola = token(&claims("idp|ola"));
    for _ in 0..3 {
        let res = app.query_as(Some(&kari), QUERY, json!({})).await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let res = app.query_as(Some(&kari), QUERY, json!({})).await;
    assert_eq!(res.status, 429);
    assert_eq!(res.codes(), ["LIMIT_EXCEEDED"]);
    let res = app.query_as(Some(&ola), QUERY, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.body);

    // Health and readiness are never limited.
    for path in ["healthz", "readyz"] {
        for _ in 0..5 {
            let res = app
                .client
                .get(format!("{}/{path}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    }
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let introspect = "{ __schema { queryType { name } } }";

    let app = spawn_app_with(test_settings()).await;
    assert_eq!(
        app.data(introspect).await["__schema"]["queryType"]["name"],
        "Query"
    );

    let mut settings = test_settings();
    settings.http.introspection = false;
    let app = spawn_app_with(settings).await;
    for query in [
        introspect,
        "{ __type(name: \"County\") { name } }",
        "{ ...Q } fragment Q on Query { __schema { types { name } } }",
    ] {
        let res = app.query(query, json!({})).await;
        assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{}", res.body);
        assert!(res.body["data"].is_null(), "{}", res.body);
    }
    assert_eq!(app.data(QUERY).await["county"]["name"], "Telemark");
    assert_eq!(
        app.data("{ county(number: \"40\") { __typename } }").await["county"]["__typename"],
        "County"
    );
}
