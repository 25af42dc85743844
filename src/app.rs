//! The application: settings in, a bound server out.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, Condition, from_fn};
use actix_web::{App, HttpServer, web};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

use crate::auth::authenticate::Authenticator;
use crate::auth::dev_secret;
use crate::auth::token::TokenVerifier;
use crate::config::{ConfigError, HttpSettings, Settings};
use crate::domain::seed::{self, SeedError};
use crate::graphql;
use crate::graphql::persisted::{AllowList, AllowListError, Persisted};
use crate::http;
use crate::telemetry::Tracing;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("loading the reference and demo data: {0}")]
    Seed(#[from] SeedError),
    #[error(transparent)]
    AllowList(#[from] AllowListError),
    #[error(transparent)]
    Tracing(#[from] crate::telemetry::TracingError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// The CORS policy: the configured origins exactly, the methods of the
/// API and the configured request headers, and the request id, the
/// replay header and the trace context exposed to scripts. Unused (no
/// CORS headers at all) when no origin is configured.
fn cors(settings: &HttpSettings) -> Cors {
    settings
        .origins()
        .into_iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "OPTIONS"])
        .allowed_headers(
            settings
                .allow_headers()
                .iter()
                .filter_map(|h| actix_web::http::header::HeaderName::from_bytes(h.as_bytes()).ok()),
        )
        .expose_headers([
            actix_web::http::header::HeaderName::from_static(http::REQUEST_ID),
            actix_web::http::header::HeaderName::from_static(crate::idempotency::REPLAYED),
            actix_web::http::header::HeaderName::from_static(http::TRACEPARENT),
        ])
        .max_age(3600)
}

/// A server that is bound to its port and ready to run.
pub struct Application {
    server: Server,
    port: u16,
    db: DatabaseConnection,
    shutdown: ShutdownHandle,
    traces: Tracing,
}

/// Asks a running [`Application`] to stop gracefully, as SIGTERM and SIGINT
/// do: it stops accepting connections, finishes the requests in flight (up
/// to [`SHUTDOWN_TIMEOUT_SECS`]), and then
/// [`Application::run_until_stopped`] returns.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<Notify>);

impl ShutdownHandle {
    /// Starts the graceful shutdown (returns at once; a second call does
    /// nothing more).
    pub fn stop(&self) {
        self.0.notify_one();
    }
}

/// How long a graceful shutdown waits for requests in flight.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Resolves when the process gets SIGTERM or SIGINT, or when the
/// [`ShutdownHandle`] asks. actix-web's own signal handling would treat
/// SIGINT as a forced stop that drops requests in flight; here both are
/// graceful.
async fn stop_requested(handle: Arc<Notify>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
        match signals {
            Ok((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received; finishing requests in flight"),
                    _ = int.recv() => tracing::info!("SIGINT received; finishing requests in flight"),
                    () = handle.notified() => tracing::info!("shutdown requested; finishing requests in flight"),
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM/SIGINT");
                handle.notified().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received; finishing requests in flight"),
            () = handle.notified() => tracing::info!("shutdown requested; finishing requests in flight"),
        }
    }
}

/// How often expired idempotency keys are deleted.
const IDEMPOTENCY_PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Deletes expired idempotency keys now and then, for as long as the
/// server runs (each server does it; the deletes are idempotent).
fn spawn_idempotency_purge(db: DatabaseConnection) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(IDEMPOTENCY_PURGE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match crate::idempotency::purge_expired(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired idempotency keys deleted"),
                Err(err) => {
                    tracing::warn!(error = %err, "deleting expired idempotency keys failed")
                }
            }
        }
    });
}

impl Application {
    /// Connects to and migrates the database, fills an empty one with the
    /// reference and demo data, and binds the listener. Port 0 picks a free
    /// port (see [`Application::port`]).
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        settings.validate()?;
        let otlp = settings.tracing.otlp()?;
        // Refuse a PostgreSQL server without token keys before touching it.
        let dev_secret = dev_secret::load_or_create(&settings)?;
        let db = crate::db::connect(&settings).await?;
        crate::db::migrate(&db).await?;
        if !settings.no_seed
            && let Some(report) = seed::seed_if_empty(&db).await?
        {
            tracing::info!("empty database filled:\n{report}");
        }

        let listener = TcpListener::bind(settings.bind).map_err(|source| StartError::Bind {
            addr: settings.bind,
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: settings.bind,
                source,
            })?
            .port();

        let verifier = Arc::new(TokenVerifier::new(&settings.auth, dev_secret).await?);
        let auth = web::Data::new(Authenticator::new(verifier, db.clone()));

        let persisted = match &settings.http.allow_list {
            Some(path) => {
                let list = AllowList::load(path)?;
                tracing::info!(
                    documents = list.len(),
                    "allow-list mode: only registered documents run"
                );
                Persisted::AllowList(Arc::new(list))
            }
            None => Persisted::automatic(settings.http.apq_cache_size as usize),
        };
        let schema = web::Data::new(graphql::build_schema_with(
            db.clone(),
            &settings.limits,
            &graphql::SchemaOptions {
                introspection: settings.http.introspection,
                persisted,
            },
        ));
        let replica = match &settings.read_database_url {
            Some(url) => {
                let replica = crate::db::connect_url(&settings, url).await?;
                tracing::info!(
                    replica = %crate::db::redacted_url(url),
                    "queries read from the replica"
                );
                Some(replica)
            }
            None => None,
        };
        spawn_idempotency_purge(db.clone());
        let db_data = web::Data::new(crate::db::Pools {
            primary: db.clone(),
            replica,
        });
        let guards = web::Data::new(http::Guards::new(&settings.http));
        let body_limit = usize::try_from(settings.http.max_body_bytes).unwrap_or(usize::MAX);
        let shutdown = ShutdownHandle(Arc::new(Notify::new()));
        let http_settings = settings.http.clone();
        http::prometheus::install();
        let traces = match &otlp {
            Some(otlp) => {
                let traces = Tracing::start(otlp)?;
                tracing::info!(
                    endpoint = %otlp.traces_url,
                    service = %otlp.service_name,
                    sample_ratio = otlp.sample_ratio,
                    "exporting traces (OTLP over HTTP)"
                );
                traces
            }
            None => Tracing::off(),
        };
        let traces_data = web::Data::new(traces.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(Compress::default())
                .wrap(Condition::new(
                    !http_settings.origins().is_empty(),
                    cors(&http_settings),
                ))
                .wrap(from_fn(http::trace_requests))
                .app_data(schema.clone())
                .app_data(db_data.clone())
                .app_data(auth.clone())
                .app_data(guards.clone())
                .app_data(traces_data.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .configure(http::routes)
        })
        // Time allowed to send the request head (the body has
        // KOMPETANSE_BODY_TIMEOUT_SECS, the execution
        // KOMPETANSE_REQUEST_TIMEOUT_SECS). actix-http itself caps a head
        // at 32 KiB and 96 headers (431 past them).
        .client_request_timeout(Duration::from_secs(5))
        // An idle keep-alive connection is closed after 5 s; a client that
        // stops reading its answer is dropped 1 s after the server is done.
        .keep_alive(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .listen(listener)
        .map_err(|source| StartError::Bind {
            addr: settings.bind,
            source,
        })?
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .shutdown_signal(stop_requested(shutdown.0.clone()))
        .run();

        tracing::info!(
            address = %format!("{}:{port}", settings.bind.ip()),
            database = %crate::db::redacted_url(&settings.database_url),
            "kompetanse listening; GraphiQL at /graphql"
        );
        Ok(Self {
            server,
            port,
            db,
            shutdown,
            traces,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the server uses.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// A handle that stops the server gracefully, as SIGTERM does.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves until the process is asked to stop (SIGTERM, SIGINT or a
    /// [`ShutdownHandle`]), finishing the requests in flight; then sends
    /// the spans not yet exported.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.traces.shutdown().await;
        served
    }
}
