//! Database connection, migration and first-start filling.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    TransactionTrait,
};

use crate::config::Settings;

/// Opens the connection pool named by the settings, for serving requests
/// (see [`connect_url`]).
///
/// SQLite runs in WAL mode with a busy timeout so that readers and the one
/// writer do not block each other; foreign keys are enforced on both engines.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    connect_url(settings, &settings.database_url).await
}

/// Opens the connection pool named by the settings for the maintenance
/// commands (migrate, seed, bench): like [`connect`], but without a time
/// limit on statements, since loading a large synthetic dataset runs
/// statements far longer than any request.
pub async fn connect_maintenance(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    open(settings, &settings.database_url, None).await
}

/// The longest one statement of a request may run on PostgreSQL: the
/// request time limit. The server stops waiting for a request then
/// (`LIMIT_EXCEEDED`); without this limit the database would go on
/// computing the answer that nobody waits for.
pub fn statement_timeout(settings: &Settings) -> Duration {
    Duration::from_secs(settings.http.request_timeout_secs)
}

/// The longest a statement waits for a pooled connection (opening a new
/// one included) before it fails with `SERVICE_UNAVAILABLE`.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The pool's acquire timeout under `settings`: [`ACQUIRE_TIMEOUT`], or half
/// the request time limit when that is shorter, so that a database outage
/// is reported as such (`SERVICE_UNAVAILABLE`) rather than as a request cut
/// off for taking too long.
pub fn acquire_timeout(settings: &Settings) -> Duration {
    ACQUIRE_TIMEOUT.min(Duration::from_secs(settings.http.request_timeout_secs) / 2)
}

/// Opens a pool on `url` with the pool settings of `settings` (the read
/// replica's pool is sized like the primary's).
///
/// The pool survives the database going away and coming back: every
/// connection is tested before it is handed out, so one that died while
/// the database was down is dropped and replaced instead of failing a
/// request; a connection that cannot be made is retried until the acquire
/// timeout. Idle connections close after ten minutes and every connection
/// is replaced after thirty. On PostgreSQL a statement that runs longer
/// than [`statement_timeout`] is stopped by the database (SQLite has no
/// such limit).
pub async fn connect_url(settings: &Settings, url: &str) -> Result<DatabaseConnection, DbErr> {
    open(settings, url, Some(statement_timeout(settings))).await
}

/// Opens a pool on `url`, with a limit on each statement or none.
async fn open(
    settings: &Settings,
    url: &str,
    statement_limit: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    let acquire_timeout = acquire_timeout(settings);
    // PostgreSQL reads 0 as no limit.
    let statement_limit = format!("{}ms", statement_limit.unwrap_or_default().as_millis());
    let mut opts = ConnectOptions::new(url.trim().to_owned());
    opts.max_connections(settings.db_max_connections)
        .min_connections(1)
        .connect_timeout(acquire_timeout)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(true)
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(Duration::from_secs(1800))
        // Statements can carry personal data in their parameters: sqlx's own
        // statement log stays off, and the spans of statements (sea-orm's
        // `tracing-spans`, exported when tracing is on) name the kind of
        // statement only, never its text.
        .sqlx_logging(false)
        .record_stmt_in_spans(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        })
        // The API's statements are short: PostgreSQL's JIT compiler costs
        // more (about 100 ms on a grouped statistic) than it saves, and the
        // statistics' sorts and hashes fit in memory with 16 MB. Prepared
        // statements are planned for their values each time: a statistic's
        // best plan depends on its filter and session kinds, and a generic
        // plan chosen after five runs was up to a fifth slower (session
        // kind × year, every measure: 92 ms against 78 ms at SCALE 10),
        // while planning the API's short statements costs little.
        .map_sqlx_postgres_opts(move |o| {
            o.options([
                ("jit", "off"),
                ("work_mem", "16MB"),
                ("plan_cache_mode", "force_custom_plan"),
                ("statement_timeout", statement_limit.as_str()),
            ])
        });
    match Database::connect(opts).await {
        Ok(db) => Ok(db),
        Err(err) => Err(explain_connect_error(url, acquire_timeout, err).await),
    }
}

/// The file of a SQLite URL (`sqlite://FILE?…`, `sqlite:FILE`); `None`
/// for other engines and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.trim().strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
    if file.is_empty() || file == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(file))
}

/// The `host:port` of a PostgreSQL URL (without user or password), if it
/// names a TCP host.
fn postgres_address(url: &str) -> Option<String> {
    let rest = url
        .trim()
        .strip_prefix("postgres://")
        .or_else(|| url.trim().strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return None;
    }
    Some(if host_port.contains(':') && !host_port.ends_with(']') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    })
}

/// A connection failure said plainly: which server could not be reached
/// and why (sqlx says only that its pool timed out), never the password.
async fn explain_connect_error(url: &str, waited: Duration, err: DbErr) -> DbErr {
    let Some(address) = postgres_address(url) else {
        return err;
    };
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(address.as_str()),
    )
    .await;
    let why = match probe {
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer".to_owned(),
        // The port answers: the database refused the login or the
        // database name; sqlx's own message says which.
        Ok(Ok(_)) => return err,
    };
    DbErr::Custom(format!(
        "cannot reach PostgreSQL at {address} ({why}; waited {} s). Is PostgreSQL running \
         there, and does KOMPETANSE_DATABASE_URL name the right host and port?",
        waited.as_secs()
    ))
}

/// A key of PostgreSQL's advisory locks, taken while migrating.
const MIGRATION_LOCK: i64 = 0x6b6f_6d70_6574; // "kompet"

/// Applies all pending migrations. On PostgreSQL they run in one
/// transaction that first takes an advisory lock, so that servers starting
/// together migrate one after the other (the later ones find nothing to do).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let txn = db.begin().await?;
        // A migration may rewrite large tables: no statement limit here,
        // even on a pool made for serving requests.
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
        Migrator::up(&txn, None).await?;
        txn.commit().await
    } else {
        Migrator::up(db, None).await
    }
}

/// Reverts all migrations.
pub async fn reset(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::down(db, None).await
}

/// The pools of a server: the primary, and where one is configured a read
/// replica that answers queries (never mutations).
#[derive(Debug, Clone)]
pub struct Pools {
    /// The primary: every write, and reads without a replica.
    pub primary: DatabaseConnection,
    /// The replica for queries, if configured.
    pub replica: Option<DatabaseConnection>,
}

impl Pools {
    /// The pool a request runs on: the replica for a query when there is
    /// one, else the primary.
    pub fn for_request(&self, mutates: bool) -> &DatabaseConnection {
        match (&self.replica, mutates) {
            (Some(replica), false) => replica,
            _ => &self.primary,
        }
    }
}

/// Checks that the database answers (for `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// How long a readiness check waits for the database, whatever it does
/// (refuses connections, hangs, or every pooled connection is busy): well
/// under the second that orchestrators' probes give.
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

/// [`ping`] within [`READY_TIMEOUT`]: a database that does not answer in
/// time is down for readiness.
pub async fn ping_ready(db: &DatabaseConnection) -> Result<(), DbErr> {
    match tokio::time::timeout(READY_TIMEOUT, ping(db)).await {
        Ok(answer) => answer,
        Err(_) => Err(DbErr::Custom(format!(
            "no answer within {} ms",
            READY_TIMEOUT.as_millis()
        ))),
    }
}

/// The database URL with any password replaced, fit for logs.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted_url("postgres://app:secret@db:5432/k"),
            "postgres://app:***@db:5432/k"
        );
        assert_eq!(
            redacted_url("sqlite://kompetanse.db?mode=rwc"),
            "sqlite://kompetanse.db?mode=rwc"
        );
    }
}
