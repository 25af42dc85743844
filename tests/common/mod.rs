//! Test harness: a fresh, seeded database per test binary and the real
//! server on a free port per test.
//!
//! The engine is SQLite (a file in a temporary directory) unless
//! `KOMPETANSE_TEST_DATABASE_URL` names a PostgreSQL server; then a new,
//! uniquely named database is created on it for this run.

#![allow(dead_code)]

pub mod proxy;
pub mod tallies;

use std::sync::OnceLock;

use kompetanse::{Application, Settings};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// The URL of this test binary's database, created and seeded once.
pub fn database_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        // The setup runs on a runtime of its own: each test has its own
        // runtime, and a pool must not outlive the runtime it was made on.
        std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .expect("runtime")
                .block_on(async {
                    let url = fresh_database().await;
                    let settings = Settings::for_database(url.clone());
                    let db = kompetanse::db::connect(&settings).await.expect("connect");
                    kompetanse::db::migrate(&db).await.expect("migrate");
                    kompetanse::domain::seed::seed_if_empty(&db)
                        .await
                        .expect("seed")
                        .expect("a fresh database is seeded");
                    db.close().await.expect("close");
                    url
                })
        })
        .join()
        .expect("database setup")
    })
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database() -> String {
    match std::env::var("KOMPETANSE_TEST_DATABASE_URL") {
        Ok(base) if !base.trim().is_empty() => {
            let admin = Database::connect(base.trim())
                .await
                .expect("connect to PostgreSQL");
            let name = format!("kompetanse_test_{}", uuid::Uuid::now_v7().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (prefix, _) = base
                .trim()
                .rsplit_once('/')
                .expect("database URL with a path");
            format!("{prefix}/{name}")
        }
        _ => {
            let dir = tempfile::Builder::new()
                .prefix("kompetanse-test")
                .tempdir()
                .expect("temp dir")
                .keep();
            format!("sqlite://{}?mode=rwc", dir.join("test.db").display())
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    shutdown: kompetanse::app::ShutdownHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The HS256 secret of test servers.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// Settings of a test server on the shared database.
pub fn test_settings() -> Settings {
    let mut settings = Settings::for_database(database_url());
    settings.auth.jwt_secret = Some(kompetanse::config::Secret::new(TEST_SECRET));
    settings
}

/// Starts the real application on a free port against the shared database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

/// Claims for a test token: issuer and audience of the default settings,
/// valid for an hour.
pub fn claims(sub: &str) -> kompetanse::auth::token::Claims {
    let now = chrono::Utc::now().timestamp();
    kompetanse::auth::token::Claims {
        sub: sub.to_owned(),
        exp: now + 3600,
        iat: Some(now),
        nbf: None,
        iss: Some("kompetanse".into()),
        aud: Some("kompetanse".into()),
        role: None,
        service_id: None,
        provider_id: None,
        funder_office_id: None,
        person_id: None,
    }
}

/// Signs claims with the test secret.
pub fn token(claims: &kompetanse::auth::token::Claims) -> String {
    kompetanse::auth::token::mint_hs256(&kompetanse::config::Secret::new(TEST_SECRET), claims)
}

/// Starts the real application with the given settings.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        shutdown,
        server,
    }
}

/// A GraphQL response: HTTP status and body.
pub struct GqlResponse {
    pub status: u16,
    pub body: Value,
}

impl GqlResponse {
    /// The `data` of a response that must have no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The codes of the response's errors.
    pub fn codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errs| {
                errs.iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first error, which must exist.
    pub fn first_error(&self) -> &Value {
        &self.body["errors"][0]
    }
}

impl TestApp {
    /// Stops the server gracefully, as SIGTERM does, and waits until it
    /// has finished (spans exported, when tracing is on).
    pub async fn stop(self) {
        self.shutdown.stop();
        self.server
            .await
            .expect("the server task")
            .expect("the server stops cleanly");
    }

    /// POSTs a query with variables.
    pub async fn query(&self, query: &str, variables: Value) -> GqlResponse {
        self.query_as(None, query, variables).await
    }

    /// POSTs a query with variables and, if given, a bearer token.
    pub async fn query_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> GqlResponse {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let body = res.json().await.expect("JSON body");
        GqlResponse { status, body }
    }

    /// POSTs a query without variables and returns its data, which must
    /// come without errors.
    pub async fn data(&self, query: &str) -> Value {
        self.query(query, json!({})).await.data().clone()
    }
}

/// The id of the row of `E` whose `key_col` equals `value` (which must exist).
pub async fn uuid_of<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    key_col: E::Column,
    id_col: E::Column,
    value: &str,
) -> uuid::Uuid {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    E::find()
        .select_only()
        .column(id_col)
        .filter(key_col.eq(value))
        .into_tuple::<uuid::Uuid>()
        .one(db)
        .await
        .expect("lookup")
        .unwrap_or_else(|| panic!("no row with {value}"))
}

/// The id of a service, provider or funder office of the demo data.
pub async fn service_id(db: &DatabaseConnection, slug: &str) -> uuid::Uuid {
    use entity::service;
    uuid_of::<service::Entity>(db, service::Column::Slug, service::Column::Id, slug).await
}

/// The id of a provider by slug.
pub async fn provider_id(db: &DatabaseConnection, slug: &str) -> uuid::Uuid {
    use entity::provider;
    uuid_of::<provider::Entity>(db, provider::Column::Slug, provider::Column::Id, slug).await
}

/// The id of a funder office by organisation number.
pub async fn office_id(db: &DatabaseConnection, org: &str) -> uuid::Uuid {
    use entity::funder_office;
    uuid_of::<funder_office::Entity>(
        db,
        funder_office::Column::OrgNumber,
        funder_office::Column::Id,
        org,
    )
    .await
}

/// The global id of a row (what the API's `id` fields hold).
pub fn gid(type_name: &str, key: uuid::Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", key.simple()))
}

/// Undoes every migration down to and including `name`, then migrates up
/// again: what a database that existed before `name` goes through.
pub async fn redo_migrations_from(db: &sea_orm::DatabaseConnection, name: &str) {
    use migration::{Migrator, MigratorTrait};
    let all = Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no migration {name}"));
    Migrator::down(db, Some((all.len() - at) as u32))
        .await
        .unwrap();
    Migrator::up(db, None).await.unwrap();
}
