//! The application: settings in, a bound server out.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use sea_orm::{DatabaseConnection, DbErr};

use crate::auth::authenticate::Authenticator;
use crate::auth::dev_secret;
use crate::auth::token::TokenVerifier;
use crate::config::{ConfigError, Settings};
use crate::domain::seed::{self, SeedError};
use crate::graphql;
use crate::http;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("loading the reference and demo data: {0}")]
    Seed(#[from] SeedError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// A server that is bound to its port and ready to run.
pub struct Application {
    server: Server,
    port: u16,
    db: DatabaseConnection,
}

impl Application {
    /// Connects to and migrates the database, fills an empty one with the
    /// reference and demo data, and binds the listener. Port 0 picks a free
    /// port (see [`Application::port`]).
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        settings.validate()?;
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

        let schema = web::Data::new(graphql::build_schema(db.clone(), &settings.limits));
        let db_data = web::Data::new(db.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(Compress::default())
                .wrap(from_fn(http::trace_requests))
                .app_data(schema.clone())
                .app_data(db_data.clone())
                .app_data(auth.clone())
                .configure(http::routes)
        })
        .listen(listener)
        .map_err(|source| StartError::Bind {
            addr: settings.bind,
            source,
        })?
        .shutdown_timeout(30)
        .run();

        tracing::info!(
            address = %format!("{}:{port}", settings.bind.ip()),
            database = %crate::db::redacted_url(&settings.database_url),
            "kompetanse listening; GraphiQL at /graphql"
        );
        Ok(Self { server, port, db })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the server uses.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Serves until the process is asked to stop (finishing requests in
    /// flight).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
