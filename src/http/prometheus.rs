//! Prometheus metrics, served at `GET /metrics` in the text format.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `kompetanse_http_requests_total` | counter | `path`, `method`, `status` |
//! | `kompetanse_http_request_duration_seconds` | histogram | `path` |
//! | `kompetanse_graphql_operations_total` | counter | `operation`, `outcome` (`ok`/`error`) |
//! | `kompetanse_graphql_operation_duration_seconds` | histogram | `operation` |
//! | `kompetanse_graphql_errors_total` | counter | `code` |
//! | `kompetanse_db_pool_connections` | gauge | `state` (`idle`/`in_use`) |
//! | `kompetanse_db_pool_max_connections` | gauge | |
//! | `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`, `process_threads`, `process_start_time_seconds` | (standard process metrics) | |
//!
//! Every metric has a HELP text.
//!
//! Label values are bounded: paths are the API's routes (else `other`),
//! operation names are the first [`MAX_OPERATION_NAMES`] well-formed names
//! seen (then `other`; no name is `anonymous`). No token, subject or
//! variable ever becomes a label.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DbBackend};

/// How many distinct operation names get a label of their own.
pub const MAX_OPERATION_NAMES: usize = 200;

const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder (installed once; test servers share it).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("histogram buckets are not empty");
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (not ours): render what ours
            // would collect, which is nothing, rather than fail.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// The process metrics (CPU seconds, resident and virtual memory, open
/// file descriptors, threads, start time), under their standard Prometheus
/// names (`process_…`).
fn process() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// Makes sure the recorder is installed before the first request, with a
/// HELP text for every metric.
pub fn install() {
    handle();
    describe();
}

/// The HELP texts (and units) of the metrics.
fn describe() {
    static DESCRIBED: OnceLock<()> = OnceLock::new();
    DESCRIBED.get_or_init(|| {
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_counter!(
            "kompetanse_http_requests_total",
            "HTTP requests answered, by route, method and status."
        );
        describe_histogram!(
            "kompetanse_http_request_duration_seconds",
            Unit::Seconds,
            "Time to answer an HTTP request, by route."
        );
        describe_counter!(
            "kompetanse_graphql_operations_total",
            "GraphQL operations run, by operation name and outcome (ok or error)."
        );
        describe_histogram!(
            "kompetanse_graphql_operation_duration_seconds",
            Unit::Seconds,
            "Time to run a GraphQL operation, by operation name."
        );
        describe_counter!(
            "kompetanse_graphql_errors_total",
            "Errors in GraphQL answers, by extensions.code."
        );
        describe_gauge!(
            "kompetanse_db_pool_connections",
            "Connections of the primary database pool, by state (idle or in_use)."
        );
        describe_gauge!(
            "kompetanse_db_pool_max_connections",
            "Largest size of the primary database pool."
        );
        process().describe();
    });
}

/// The route label of a request path.
pub fn route(path: &str) -> &'static str {
    match path {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/graphiql/") => "/graphiql",
        _ => "other",
    }
}

/// The label of a request method: the API's own, else `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "OPTIONS" => "OPTIONS",
        "HEAD" => "HEAD",
        _ => "other",
    }
}

/// Counts one HTTP request.
pub fn http_request(path: &'static str, method: &str, status: u16, elapsed: Duration) {
    let method = method_label(method);
    metrics::counter!(
        "kompetanse_http_requests_total",
        "path" => path, "method" => method, "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("kompetanse_http_request_duration_seconds", "path" => path)
        .record(elapsed.as_secs_f64());
}

/// The label of an operation name: bounded in form and number.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return "anonymous".to_owned();
    };
    let well_formed = name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return "other".to_owned();
    }
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else {
        return "other".to_owned();
    };
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts one GraphQL operation and its errors by code.
pub fn graphql_operation(operation: String, error_codes: &[String], elapsed: Duration) {
    let outcome = if error_codes.is_empty() {
        "ok"
    } else {
        "error"
    };
    metrics::histogram!(
        "kompetanse_graphql_operation_duration_seconds",
        "operation" => operation.clone()
    )
    .record(elapsed.as_secs_f64());
    metrics::counter!(
        "kompetanse_graphql_operations_total",
        "operation" => operation, "outcome" => outcome
    )
    .increment(1);
    for code in error_codes {
        metrics::counter!("kompetanse_graphql_errors_total", "code" => code.clone()).increment(1);
    }
}

/// Samples the connection pool into its gauges.
fn sample_pool(db: &DatabaseConnection) {
    let (size, idle, max) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle() as u32,
                pool.options().get_max_connections(),
            )
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle() as u32,
                pool.options().get_max_connections(),
            )
        }
        _ => return,
    };
    metrics::gauge!("kompetanse_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("kompetanse_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("kompetanse_db_pool_max_connections").set(f64::from(max));
}

/// `GET /metrics`.
pub async fn endpoint(pools: web::Data<crate::db::Pools>) -> HttpResponse {
    sample_pool(&pools.primary);
    process().collect();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle().render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("")), "anonymous");
        assert_eq!(operation_label(Some("Catalogue")), "Catalogue");
        assert_eq!(operation_label(Some("bad name")), "other");
        assert_eq!(operation_label(Some(&"x".repeat(65))), "other");
        for i in 0..MAX_OPERATION_NAMES {
            operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), "other");
        assert_eq!(operation_label(Some("Catalogue")), "Catalogue");
    }
}
