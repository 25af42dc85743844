//! Robustness: the database going away and coming back, and a graceful
//! shutdown with a request in flight.
//!
//! The database tests need PostgreSQL (`KOMPETANSE_TEST_DATABASE_URL`): the
//! server reaches it through a TCP proxy ([`common::proxy`]) that the test
//! cuts, restores and pauses. On SQLite they print a note and return.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{claims, test_settings, token};
use kompetanse::{Application, Settings};
use serde_json::{Value, json};

const QUERY: &str = "{ county(number: \"40\") { name } }";

/// Whether the tests run on PostgreSQL (as `tests/common` decides).
fn on_postgres() -> bool {
    std::env::var("KOMPETANSE_TEST_DATABASE_URL").is_ok_and(|url| !url.trim().is_empty())
}

fn skip(test: &str) {
    eprintln!(
        "{test}: skipped on SQLite (needs PostgreSQL: set KOMPETANSE_TEST_DATABASE_URL=postgres://…)"
    );
}

/// A proxy to the test database and settings whose database URL points
/// through it.
async fn through_proxy() -> (Proxy, Settings) {
    let url = common::database_url();
    let mut parsed = reqwest::Url::parse(url).expect("database URL");
    let host = parsed.host_str().expect("database host").to_owned();
    let port = parsed.port().unwrap_or(5432);
    let target = tokio::net::lookup_host((host.as_str(), port))
        .await
        .expect("resolve the database host")
        .next()
        .expect("an address of the database host");
    let proxy = Proxy::start(target).await;
    parsed
        .set_host(Some("127.0.0.1"))
        .expect("host of the proxied URL");
    parsed
        .set_port(Some(proxy.addr().port()))
        .expect("port of the proxied URL");
    let mut settings = test_settings();
    settings.database_url = parsed.to_string();
    (proxy, settings)
}

/// A server started with [`Application::build`], run on a task.
struct Server {
    base: String,
    addr: SocketAddr,
    shutdown: kompetanse::app::ShutdownHandle,
    run: tokio::task::JoinHandle<std::io::Result<()>>,
    client: reqwest::Client,
}

async fn start(settings: Settings) -> Server {
    let app = Application::build(settings)
        .await
        .expect("application starts");
    let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
    let shutdown = app.shutdown_handle();
    let run = tokio::spawn(app.run_until_stopped());
    Server {
        base: format!("http://{addr}"),
        addr,
        shutdown,
        run,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    }
}

impl Server {
    /// POSTs a query (with a token if given): status, `Retry-After` and body.
    async fn post(&self, token: Option<&str>, query: &str) -> (u16, Option<String>, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        (status, retry, res.json().await.expect("JSON body"))
    }

    async fn readyz(&self) -> (u16, Value) {
        let res = self
            .client
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .expect("readyz");
        (res.status().as_u16(), res.json().await.expect("JSON body"))
    }
}

fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>"))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` every 100 ms until it holds or `within` has passed.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a new TCP connection to `addr` is refused.
async fn refused(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn the_database_going_away_and_coming_back() {
    if !on_postgres() {
        return skip("the_database_going_away_and_coming_back");
    }
    let (proxy, mut settings) = through_proxy().await;
    // A 4 s request limit makes the pool's acquire timeout 2 s.
    settings.http.request_timeout_secs = 4;
    let acquire = kompetanse::db::acquire_timeout(&settings);
    assert_eq!(acquire, Duration::from_secs(2));
    let server = start(settings).await;
    // A token without a role: its scopes are read from the database.
    let kari = token(&claims("idp|kari"));

    let (status, _, body) = server.post(None, QUERY).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["county"]["name"], "Telemark", "{body}");
    // Fill the pool with several connections, all of which die in the cut.
    let burst: Vec<_> = (0..5).map(|_| server.post(None, QUERY)).collect();
    for (status, _, body) in futures_util::future::join_all(burst).await {
        assert_eq!((status, codes(&body)), (200, vec![]), "{body}");
    }
    assert_eq!(server.readyz().await.0, 200);

    // The database goes away: requests fail within the acquire timeout,
    // with a clear code and no detail of the cause.
    proxy.cut().await;
    let slack = Duration::from_secs(8);
    let started = Instant::now();
    let (status, _, body) = server.post(None, QUERY).await;
    let took = started.elapsed();
    assert!(took < acquire + slack, "the error took {took:?}");
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body), ["SERVICE_UNAVAILABLE"], "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert_eq!(message, "the database is unavailable; try again shortly");
    assert!(body["data"]["county"].is_null(), "{body}");

    // A token whose scopes need the database is not refused as invalid:
    // 503 with Retry-After, so the client keeps its token.
    let started = Instant::now();
    let (status, retry, body) = server.post(Some(&kari), QUERY).await;
    assert!(started.elapsed() < acquire + slack);
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(codes(&body), ["SERVICE_UNAVAILABLE"], "{body}");

    // Readiness answers within a second whatever the database does:
    // refused connections here, a database that holds its answer below.
    let started = Instant::now();
    let (status, body) = server.readyz().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "down");

    // The database comes back: the same server recovers by itself.
    proxy.restore().await;
    let back = Instant::now();
    eventually(Duration::from_secs(30), "readyz is 200 again", || async {
        server.readyz().await.0 == 200
    })
    .await;
    eventually(Duration::from_secs(30), "queries work again", || async {
        let (status, _, body) = server.post(None, QUERY).await;
        status == 200 && body["data"]["county"]["name"] == "Telemark"
    })
    .await;
    eprintln!(
        "recovered {:?} after the database came back",
        back.elapsed()
    );
    // No dead connection is left in the pool: a burst larger than the pool
    // succeeds entirely, with and without a token.
    let burst: Vec<_> = (0..8)
        .map(|i| server.post((i % 2 == 0).then_some(kari.as_str()), QUERY))
        .collect();
    for (status, _, body) in futures_util::future::join_all(burst).await {
        assert_eq!((status, codes(&body)), (200, vec![]), "{body}");
    }

    server.shutdown.stop();
    tokio::time::timeout(Duration::from_secs(40), server.run)
        .await
        .expect("the server stops")
        .expect("run task")
        .expect("run");
}

#[tokio::test]
async fn a_graceful_shutdown_finishes_the_request_in_flight() {
    if !on_postgres() {
        return skip("a_graceful_shutdown_finishes_the_request_in_flight");
    }
    let (proxy, settings) = through_proxy().await;
    let server = start(settings).await;
    let (status, _, body) = server.post(None, QUERY).await;
    assert_eq!((status, codes(&body)), (200, vec![]), "{body}");

    // The database stops answering; a query is sent and waits on it.
    proxy.pause();
    let in_flight = {
        let client = server.client.clone();
        let url = format!("{}/graphql", server.base);
        tokio::spawn(async move {
            let res = client
                .post(url)
                .json(&json!({ "query": QUERY }))
                .send()
                .await
                .expect("the request in flight is answered");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("JSON body"))
        })
    };
    eventually(
        Duration::from_secs(10),
        "the query reaches the database",
        || async { proxy.holding() > 0 },
    )
    .await;

    // Readiness does not wait on a database that holds its answers.
    let started = Instant::now();
    let (status, body) = server.readyz().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    assert_eq!((status, &body["database"]), (503, &json!("down")), "{body}");

    // Stop as SIGTERM does: the port closes while the request is in flight.
    server.shutdown.stop();
    eventually(
        Duration::from_secs(10),
        "new connections are refused",
        || refused(server.addr),
    )
    .await;
    // Hold the request past actix's first shutdown check (1 s), so that a
    // stop that did not wait for requests in flight would drop it here.
    // (The pool's 5 s acquire timeout bounds how long it may be held.)
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !in_flight.is_finished(),
        "the request waits on the database"
    );
    assert!(
        !server.run.is_finished(),
        "the server waits for the request"
    );

    // The database answers again: the request in flight completes.
    proxy.resume();
    let (status, body) = tokio::time::timeout(Duration::from_secs(30), in_flight)
        .await
        .expect("the request in flight completes")
        .expect("request task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body), Vec::<&str>::new(), "{body}");
    assert_eq!(body["data"]["county"]["name"], "Telemark", "{body}");

    // Then the server stops, and stays closed.
    tokio::time::timeout(Duration::from_secs(30), server.run)
        .await
        .expect("the server stops after the request in flight")
        .expect("run task")
        .expect("run");
    assert!(refused(server.addr).await);
}

/// On any engine: the shutdown handle stops an idle server at once, and
/// its port is closed afterwards.
#[tokio::test]
async fn the_shutdown_handle_stops_the_server() {
    let server = start(test_settings()).await;
    let (status, _, body) = server.post(None, QUERY).await;
    assert_eq!((status, codes(&body)), (200, vec![]), "{body}");
    server.shutdown.stop();
    tokio::time::timeout(Duration::from_secs(20), server.run)
        .await
        .expect("an idle server stops promptly")
        .expect("run task")
        .expect("run");
    assert!(refused(server.addr).await);
}

/// On PostgreSQL: a statement of a request that runs past the request
/// time limit is stopped by the database itself (not left running for an
/// answer nobody waits for), and reported as LIMIT_EXCEEDED without the
/// statement; migrations and the maintenance commands' pool have no
/// limit.
#[tokio::test]
async fn a_statement_past_the_request_limit_is_stopped_in_the_database() {
    use sea_orm::ConnectionTrait;
    if !on_postgres() {
        return skip("a_statement_past_the_request_limit_is_stopped_in_the_database");
    }
    let mut settings = test_settings();
    settings.http.request_timeout_secs = 1;
    let db = kompetanse::db::connect(&settings).await.expect("connect");
    assert_eq!(statement_limit(&db).await, "1s");

    let started = Instant::now();
    let err = db
        .execute_unprepared("SELECT pg_sleep(5)")
        .await
        .expect_err("stopped at the limit");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "stopped after {:?}",
        started.elapsed()
    );
    assert!(kompetanse::error::is_cancelled(&err), "{err}");
    let api = kompetanse::error::ApiError::from(err);
    assert_eq!(api.code(), kompetanse::error::codes::LIMIT_EXCEEDED);
    assert!(!api.to_string().contains("pg_sleep"), "{api}");

    // Migrating through the same pool works (its transaction lifts the
    // limit first).
    kompetanse::db::migrate(&db).await.expect("migrate");
    db.close().await.ok();

    let maintenance = kompetanse::db::connect_maintenance(&settings)
        .await
        .expect("connect");
    assert_eq!(statement_limit(&maintenance).await, "0");
    maintenance.close().await.ok();
}

/// The `statement_timeout` of a pool's connections, as PostgreSQL shows it.
async fn statement_limit(db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::ConnectionTrait;
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SHOW statement_timeout",
    ))
    .await
    .expect("show")
    .expect("a row")
    .try_get_by_index::<String>(0)
    .expect("text")
}

/// On PostgreSQL: heavy requests beyond the server's bound wait their
/// turn, and beyond the queue are refused at once with 503 and
/// `Retry-After` instead of hanging; those that waited are served when the
/// database answers again. (The bound and the queue are checked on their
/// own, without a database, in the unit tests of `graphql::admission`.)
#[tokio::test]
async fn heavy_requests_queue_and_a_full_queue_is_refused_at_once() {
    if !on_postgres() {
        return skip("heavy_requests_queue_and_a_full_queue_is_refused_at_once");
    }
    let (proxy, mut settings) = through_proxy().await;
    settings.limits.heavy_concurrency = 1;
    settings.limits.heavy_queue = 1;
    let server = start(settings).await;
    let heavy = "{ participationStats(groupBy: [COUNTY]) { participants } }";
    let (status, _, body) = server.post(None, heavy).await;
    assert_eq!((status, codes(&body)), (200, vec![]), "{body}");

    // The database holds its answers: the first heavy request runs (and
    // waits on it), the second queues.
    proxy.pause();
    let send = || {
        let client = server.client.clone();
        let url = format!("{}/graphql", server.base);
        tokio::spawn(async move {
            let res = client
                .post(url)
                .json(&json!({ "query": heavy }))
                .send()
                .await
                .expect("answered");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("JSON body"))
        })
    };
    let running = send();
    eventually(
        Duration::from_secs(10),
        "the first reaches the database",
        || async { proxy.holding() > 0 },
    )
    .await;
    let queued = send();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The third finds the queue full: 503 at once, with Retry-After.
    let started = Instant::now();
    let (status, retry, body) = server.post(None, heavy).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("2"));
    assert_eq!(codes(&body), ["SERVICE_UNAVAILABLE"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 2, "{body}");

    proxy.resume();
    for task in [running, queued] {
        let (status, body) = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("served once the database answers")
            .expect("task");
        assert_eq!((status, codes(&body)), (200, vec![]), "{body}");
    }
}
