//! Database connection, migration and first-start filling.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::Settings;

/// Opens the connection pool named by the settings.
///
/// SQLite runs in WAL mode with a busy timeout so that readers and the one
/// writer do not block each other; foreign keys are enforced on both engines.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(settings.database_url.trim().to_owned());
    opts.max_connections(settings.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // Statements can carry personal data in their parameters: sqlx's own
        // statement log stays off. Spans are recorded by `tracing` instead.
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let db = Database::connect(opts).await?;
    Ok(db)
}

/// Applies all pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Reverts all migrations.
pub async fn reset(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::down(db, None).await
}

/// Checks that the database answers (for `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
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
