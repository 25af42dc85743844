//! Observability: Prometheus metrics at `/metrics`, request ids, and JSON
//! logs without tokens or personal data; graceful shutdown.

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
