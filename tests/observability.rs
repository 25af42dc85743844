//! Observability: Prometheus metrics at `/metrics`, request ids, JSON
//! logs without tokens or personal data; graceful shutdown; OpenTelemetry
//! traces sent to a fake collector (W3C trace context continued, spans of
//! the request, the operation and the statements, nothing private).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{claims, spawn_app, token};
use entity::enums::Role;
use serde_json::json;

#[tokio::test]
async fn metrics_count_requests_operations_errors_and_the_pool() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "query MetricsProbe { counties { totalCount } }", "operationName": "MetricsProbe" }))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-request-id"));
    app.query("{ county(number: \"x\") { name } }", json!({}))
        .await;

    let res = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for needle in [
        "kompetanse_http_requests_total{",
        "path=\"/graphql\"",
        "kompetanse_http_request_duration_seconds_bucket{",
        "kompetanse_graphql_operations_total{",
        "operation=\"MetricsProbe\"",
        "outcome=\"ok\"",
        "kompetanse_graphql_operation_duration_seconds_bucket{",
        "kompetanse_graphql_errors_total{code=\"BAD_USER_INPUT\"}",
        "kompetanse_db_pool_connections{state=\"idle\"}",
        "kompetanse_db_pool_connections{state=\"in_use\"}",
        "kompetanse_db_pool_max_connections",
        "# HELP kompetanse_http_requests_total ",
        "# HELP kompetanse_graphql_errors_total ",
        "# HELP process_resident_memory_bytes ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

/// Reads the server's stderr lines until `until` matches one or time runs out.
fn read_until(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    seen: &mut Vec<String>,
    until: impl Fn(&str) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                let done = until(&line);
                seen.push(line);
                if done {
                    return true;
                }
            }
            _ => return false,
        }
    }
    false
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kompetanse"))
        .env("KOMPETANSE_DATABASE_URL", &db)
        .env("KOMPETANSE_BIND", format!("127.0.0.1:{port}"))
        .env("KOMPETANSE_LOG_FORMAT", "json")
        .env("KOMPETANSE_JWT_SECRET", common::TEST_SECRET)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let started = read_until(&mut lines, &mut seen, |l| l.contains("listening"));
        tx.send((started, seen.clone())).ok();
        read_until(&mut lines, &mut seen, |_| false);
        tx.send((true, seen)).ok();
    });
    let (started, seen) = rx.recv_timeout(Duration::from_secs(90)).unwrap();
    assert!(started, "the server did not start: {seen:?}");

    let mut c = claims("log-probe-subject");
    c.role = Some(Role::Admin);
    let secret_token = token(&c);
    let client = reqwest::Client::new();
    let res = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(&secret_token)
        .header("x-request-id", "probe-request-42")
        .json(&json!({ "query": "query LogProbe { persons(first: 1) { nodes { name email } } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "probe-request-42");
    let body: serde_json::Value = res.json().await.unwrap();
    let name = body["data"]["persons"]["nodes"][0]["name"]
        .as_str()
        .expect("a person")
        .to_owned();

    // SIGTERM: the server stops gracefully.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success() || status.code().is_none(), "{status:?}");
    let (_, lines) = rx.recv_timeout(Duration::from_secs(30)).unwrap();

    let request_line = lines
        .iter()
        .find(|l| l.contains("probe-request-42"))
        .unwrap_or_else(|| panic!("no line with the request id: {lines:#?}"));
    let parsed: serde_json::Value = serde_json::from_str(request_line).expect("JSON line");
    assert!(parsed.get("timestamp").is_some() && parsed.get("level").is_some());
    // The request's own log line names its operation.
    let done = lines
        .iter()
        .find(|l| l.contains("probe-request-42") && l.contains("request done"))
        .unwrap_or_else(|| panic!("no request line: {lines:#?}"));
    let done: serde_json::Value = serde_json::from_str(done).expect("JSON line");
    assert_eq!(done["span"]["operation"], "LogProbe", "{done}");
    for line in &lines {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
        assert!(!line.contains(&secret_token), "token in {line}");
        assert!(!line.contains("log-probe-subject"), "subject in {line}");
        assert!(!line.contains(&name), "personal data in {line}");
    }
}

/// A fake OpenTelemetry collector: records the bodies POSTed to
/// `/v1/traces` (OTLP over HTTP with JSON).
struct Collector {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: actix_web::dev::ServerHandle,
}

impl Collector {
    async fn start() -> Self {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let recorded = bodies.clone();
        let server = HttpServer::new(move || {
            let recorded = recorded.clone();
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let recorded = recorded.clone();
                    async move {
                        recorded
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).into_owned());
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body("{}")
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Collector {
            url: format!("http://127.0.0.1:{port}"),
            bodies,
            server: handle,
        }
    }

    /// Everything received so far, as one text.
    fn text(&self) -> String {
        self.bodies.lock().unwrap().join("\n")
    }

    /// The spans received so far, each with its resource's attributes
    /// (`resource`) added.
    fn spans(&self) -> Vec<serde_json::Value> {
        let mut spans = Vec::new();
        for body in self.bodies.lock().unwrap().iter() {
            let body: serde_json::Value = serde_json::from_str(body).expect("OTLP JSON");
            for rs in body["resourceSpans"].as_array().into_iter().flatten() {
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for span in ss["spans"].as_array().into_iter().flatten() {
                        let mut span = span.clone();
                        span["resource"] = rs["resource"]["attributes"].clone();
                        spans.push(span);
                    }
                }
            }
        }
        spans
    }
}

/// The value of an OTLP attribute list's `key`, as text.
fn attribute(attributes: &serde_json::Value, key: &str) -> Option<String> {
    attributes
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| {
            let v = &kv["value"];
            v.get("stringValue")
                .and_then(|s| s.as_str().map(str::to_owned))
                .or_else(|| {
                    v.get("intValue")
                        .map(|i| i.to_string().trim_matches('"').to_owned())
                })
                .unwrap_or_else(|| v.to_string())
        })
}

/// A `traceparent`'s trace id, span id and flags (after checking its form).
fn parse_traceparent(value: &str) -> (String, String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!(parts[0], "00", "{value}");
    assert!(
        parts[1].len() == 32 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()),
        "{value}"
    );
    assert!(
        parts[2].len() == 16 && parts[2].bytes().all(|b| b.is_ascii_hexdigit()),
        "{value}"
    );
    assert_ne!(parts[1], "0".repeat(32), "{value}");
    (parts[1].into(), parts[2].into(), parts[3].into())
}

/// Settings of a test server that exports to `collector` with JSON.
fn exporting_to(collector: &Collector) -> kompetanse::Settings {
    let mut settings = common::test_settings();
    settings.tracing.otlp_endpoint = Some(collector.url.clone());
    settings.tracing.otlp_protocol = Some(kompetanse::config::OtlpProtocol::HttpJson);
    settings.tracing.service_name = "kompetanse-test".into();
    settings
}

#[tokio::test]
async fn a_request_continues_the_callers_trace_and_its_spans_are_exported() {
    let collector = Collector::start().await;
    let app = common::spawn_app_with(exporting_to(&collector)).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut c = claims("trace-probe-subject");
    c.role = Some(Role::Admin);
    let secret_token = token(&c);
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&secret_token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .header("tracestate", "congo=t61rcWkgMzE")
        .json(&json!({
            "query": "query TraceProbe($slug: String!) { provider(slug: $slug) { name } }",
            "operationName": "TraceProbe",
            "variables": { "slug": "nubu" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = res.headers()["traceparent"].to_str().unwrap().to_owned();
    let (answer_trace, request_span, flags) = parse_traceparent(&header);
    assert_eq!(answer_trace, trace_id, "the caller's trace goes on");
    assert_ne!(request_span, caller_span, "the server's span is a new one");
    assert_eq!(flags, "01");
    let body: serde_json::Value = res.json().await.unwrap();
    let provider_name = body["data"]["provider"]["name"]
        .as_str()
        .expect("NUBU")
        .to_owned();

    // A malformed traceparent is ignored: a new trace, never an error.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("traceparent", "00-not-a-trace-context-01")
        .json(&json!({ "query": "{ counties { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (new_trace, new_span, _) =
        parse_traceparent(res.headers()["traceparent"].to_str().unwrap());
    assert_ne!(new_trace, trace_id);
    assert!(res.json::<serde_json::Value>().await.unwrap()["data"].is_object());

    // A graceful stop sends what is left.
    app.stop().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while collector
        .spans()
        .iter()
        .all(|s| s["spanId"] != new_span.as_str())
    {
        assert!(
            Instant::now() < deadline,
            "spans not exported: {}",
            collector.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = collector.spans();
    let text = collector.text();

    // The request: the caller's span is its parent.
    let request = spans
        .iter()
        .find(|s| s["spanId"] == request_span.as_str())
        .unwrap_or_else(|| panic!("no request span in {text}"));
    assert_eq!(request["traceId"], trace_id);
    assert_eq!(request["parentSpanId"], caller_span);
    assert_eq!(
        request["traceState"], "congo=t61rcWkgMzE",
        "tracestate goes on"
    );
    assert_eq!(request["name"], "POST /graphql");
    assert!(
        request["kind"] == 2 || request["kind"] == "SPAN_KIND_SERVER",
        "{request}"
    );
    let attrs = &request["attributes"];
    assert_eq!(
        attribute(attrs, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(attribute(attrs, "http.route").as_deref(), Some("/graphql"));
    assert_eq!(
        attribute(attrs, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(&request["resource"], "service.name").as_deref(),
        Some("kompetanse-test")
    );

    // The operation: a child of the request, named, typed.
    let operation = spans
        .iter()
        .find(|s| s["parentSpanId"] == request_span.as_str() && s["name"] == "query TraceProbe")
        .unwrap_or_else(|| panic!("no operation span in {text}"));
    assert_eq!(operation["traceId"], trace_id);
    assert_eq!(
        attribute(&operation["attributes"], "graphql.operation.name").as_deref(),
        Some("TraceProbe")
    );
    assert_eq!(
        attribute(&operation["attributes"], "graphql.operation.type").as_deref(),
        Some("query")
    );

    // The database statements: in the same trace, below the request.
    let statements: Vec<_> = spans
        .iter()
        .filter(|s| s["traceId"] == trace_id && attribute(&s["attributes"], "db.system").is_some())
        .collect();
    assert!(!statements.is_empty(), "no statement spans in {text}");
    for statement in &statements {
        assert_ne!(statement["parentSpanId"], caller_span, "{statement}");
        assert!(
            attribute(&statement["attributes"], "db.operation").is_some(),
            "{statement}"
        );
        assert!(
            attribute(&statement["attributes"], "db.statement").is_none(),
            "{statement}"
        );
    }

    // The malformed traceparent's request is the root of a new trace.
    let fresh = spans
        .iter()
        .find(|s| s["spanId"] == new_span.as_str())
        .unwrap();
    assert_eq!(fresh["traceId"], new_trace.as_str());
    assert!(
        fresh["parentSpanId"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{fresh}"
    );

    // Never variables, tokens, subjects, answers or query texts (the
    // caller's `tracestate` is part of the trace context and goes on).
    for secret in [
        "nubu",
        provider_name.as_str(),
        secret_token.as_str(),
        "trace-probe-subject",
        "provider(slug",
    ] {
        assert!(!text.contains(secret), "{secret:?} exported: {text}");
    }
    collector.server.stop(true).await;
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported_and_unsampled_traces_stay_home() {
    let collector = Collector::start().await;
    // One server of this process exports, so that the export layer is on…
    let exporting = common::spawn_app_with(exporting_to(&collector)).await;
    // … one has no endpoint, one keeps no new trace.
    let silent = common::spawn_app().await;
    let mut settings = exporting_to(&collector);
    settings.tracing.trace_sample_ratio = 0.0;
    let sampled_out = common::spawn_app_with(settings).await;

    let silent_trace = "0af7651916cd43dd8448eb211c80319c";
    let res = silent
        .client
        .post(format!("{}/graphql", silent.address))
        .header(
            "traceparent",
            format!("00-{silent_trace}-b7ad6b7169203331-01"),
        )
        .json(&json!({ "query": "query Silent { counties { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("traceparent").is_none());
    assert!(res.json::<serde_json::Value>().await.unwrap()["data"].is_object());

    let res = sampled_out
        .client
        .post(format!("{}/graphql", sampled_out.address))
        .json(&json!({ "query": "query SampledOut { counties { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (unsampled_trace, _, flags) =
        parse_traceparent(res.headers()["traceparent"].to_str().unwrap());
    assert_eq!(flags, "00", "not sampled");

    let res = exporting
        .client
        .get(format!("{}/healthz", exporting.address))
        .send()
        .await
        .unwrap();
    let (exported_trace, _, _) = parse_traceparent(res.headers()["traceparent"].to_str().unwrap());

    silent.stop().await;
    sampled_out.stop().await;
    exporting.stop().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !collector.text().contains(&exported_trace) {
        assert!(
            Instant::now() < deadline,
            "nothing exported: {}",
            collector.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = collector.text();
    assert!(!text.contains(silent_trace), "{text}");
    assert!(!text.contains(&unsampled_trace), "{text}");
    for name in ["Silent", "SampledOut"] {
        assert!(!text.contains(name), "{name} exported: {text}");
    }
    collector.server.stop(true).await;
}
