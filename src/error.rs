//! The one error type of the API and its mapping to GraphQL error codes.
//!
//! Resolvers return [`ApiResult`]. async-graphql keeps the [`ApiError`] as the
//! error's source; the [`ErrorCodes`](crate::graphql::ErrorCodes) extension
//! turns it into `extensions.code` (and `extensions.field`) in one place, and
//! replaces the message of internal errors after logging their cause, so that
//! no SQL or stack text ever reaches a client.

/// Result type of every resolver and domain function.
pub type ApiResult<T> = Result<T, ApiError>;

/// Everything that can go wrong in a request, with a stable code each.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials where they were needed, or a bad token.
    #[error("{0}")]
    Unauthenticated(String),
    /// The viewer is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist (or is not visible to the viewer).
    #[error("{0} not found")]
    NotFound(String),
    /// An argument is malformed or breaks a rule; `field` names it.
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    /// The write lost a race (stale `version`) or breaks a state rule.
    #[error("{0}")]
    Conflict(String),
    /// The request is too large, too deep, too complex or too frequent.
    #[error("{0}")]
    LimitExceeded(String),
    /// The database cannot be reached (down, restarting, or no pooled
    /// connection free within the pool's acquire timeout). The request may
    /// be retried; the cause is logged, never sent.
    #[error("the database is unavailable; try again shortly")]
    ServiceUnavailable(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// Too many heavy requests are running and waiting: retry after
    /// `retry_after` seconds (HTTP 503 with `Retry-After`).
    #[error("the server is busy with heavy requests; retry after {retry_after} s")]
    Overloaded { retry_after: u64 },
    /// The commit of a write failed on the way (the database went away
    /// while committing): the write may or may not have been saved. Not to
    /// be retried blindly: read the data first, or retry with the same
    /// `Idempotency-Key`, which tells which it was.
    #[error(
        "the write may or may not have been saved (the database went away while it \
         committed); read the data before writing again, or retry with the same \
         Idempotency-Key"
    )]
    WriteOutcomeUnknown,
    /// A failure inside the server. The cause is logged, never sent.
    #[error("internal server error")]
    Internal(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A BAD_USER_INPUT error naming the argument or input field at fault.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An internal error with a message for the log (never sent).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(std::sync::Arc::new(InternalMessage(message.into())))
    }

    /// A NOT_FOUND error for the kind of object named.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// The stable code sent as `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => codes::UNAUTHENTICATED,
            Self::Forbidden(_) => codes::FORBIDDEN,
            Self::NotFound(_) => codes::NOT_FOUND,
            Self::BadUserInput { .. } => codes::BAD_USER_INPUT,
            Self::Conflict(_) => codes::CONFLICT,
            Self::LimitExceeded(_) => codes::LIMIT_EXCEEDED,
            Self::ServiceUnavailable(_) | Self::Overloaded { .. } => codes::SERVICE_UNAVAILABLE,
            Self::WriteOutcomeUnknown => codes::WRITE_OUTCOME_UNKNOWN,
            Self::Internal(_) => codes::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unavailable(&err) {
            unavailable(std::sync::Arc::new(err))
        } else if is_cancelled(&err) {
            cancelled()
        } else if let Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            // A uniqueness rule of the database that no check of the write
            // named more precisely (it lost a race): CONFLICT, without the
            // database's text, which may quote the values.
            tracing::info!("write refused by a unique index");
            Self::Conflict(
                "the change conflicts with a row written at the same time; read again and retry"
                    .into(),
            )
        } else {
            Self::Internal(std::sync::Arc::new(err))
        }
    }
}

impl From<std::sync::Arc<sea_orm::DbErr>> for ApiError {
    fn from(err: std::sync::Arc<sea_orm::DbErr>) -> Self {
        if is_unavailable(&err) {
            unavailable(std::sync::Arc::new(SharedDbErr(err)))
        } else if is_cancelled(&err) {
            cancelled()
        } else {
            Self::Internal(std::sync::Arc::new(SharedDbErr(err)))
        }
    }
}

/// A SERVICE_UNAVAILABLE error, its cause logged here (connection errors
/// name no statement and no parameter, so the cause is fit for the log).
fn unavailable(cause: std::sync::Arc<dyn std::error::Error + Send + Sync>) -> ApiError {
    tracing::warn!(error = %cause, "database unavailable");
    ApiError::ServiceUnavailable(cause)
}

/// A LIMIT_EXCEEDED error for a statement the database stopped, logged
/// here without the statement (which may carry personal data).
fn cancelled() -> ApiError {
    tracing::warn!("database statement stopped at the statement time limit");
    ApiError::LimitExceeded(
        "the request took too long and was cut off in the database; narrow it (a filter, fewer \
         groups or measures) and try again"
            .into(),
    )
}

/// Whether the database stopped the statement (PostgreSQL's SQLSTATE
/// 57014, `query_canceled`: the statement time limit that the server's
/// connections set, see [`crate::db::statement_timeout`]).
pub fn is_cancelled(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(&**e, sea_orm::sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
        }
        _ => false,
    }
}

/// Whether a database error means that the database cannot be reached
/// rather than that the statement failed: no connection within the
/// acquire timeout, a broken or refused connection, or PostgreSQL
/// refusing work while it starts or shuts down.
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unavailable(e),
        _ => false,
    }
}

fn sqlx_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), and 57P01–57P03:
        // shut down by the administrator, crashed, cannot connect now.
        Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// An internal failure described by the server itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InternalMessage(String);

/// A database error shared by a DataLoader's waiters.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SharedDbErr(std::sync::Arc<sea_orm::DbErr>);

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(err: sea_orm::TransactionError<ApiError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

/// The error codes of the API (`extensions.code`).
pub mod codes {
    /// A token was sent but is not valid.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The viewer's role does not allow this.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// No object with that id or key.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// A malformed or invalid argument; `extensions.field` names it.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// A stale version or a forbidden state change.
    pub const CONFLICT: &str = "CONFLICT";
    /// Depth, complexity, size or rate limits.
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
    /// The database cannot be reached for now; retry later.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// A failure inside the server.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// The write of the request was saved, but its answer could not be read
    /// afterwards: read the data again instead of repeating the write.
    pub const WRITE_COMMITTED: &str = "WRITE_COMMITTED";
    /// The commit of a write failed on the way: it may or may not have been
    /// saved. Read the data, or retry with the same `Idempotency-Key`.
    pub const WRITE_OUTCOME_UNKNOWN: &str = "WRITE_OUTCOME_UNKNOWN";
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

    use super::*;

    fn sqlx(err: sea_orm::sqlx::Error) -> RuntimeErr {
        RuntimeErr::SqlxError(Arc::new(err))
    }

    #[test]
    fn an_unreachable_database_is_service_unavailable() {
        let reset =
            || sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(sqlx(sea_orm::sqlx::Error::PoolTimedOut)),
            DbErr::Query(sqlx(reset())),
            DbErr::Exec(sqlx(reset())),
        ] {
            let api = ApiError::from(err.clone());
            assert_eq!(api.code(), codes::SERVICE_UNAVAILABLE, "{err}");
            assert!(!api.to_string().contains("Connection"), "{api}");
            let shared = ApiError::from(Arc::new(err));
            assert_eq!(shared.code(), codes::SERVICE_UNAVAILABLE);
        }
        for err in [
            DbErr::Custom("SELECT 1".into()),
            DbErr::RecordNotFound("x".into()),
            DbErr::Query(RuntimeErr::Internal("syntax".into())),
            DbErr::Query(sqlx(sea_orm::sqlx::Error::RowNotFound)),
        ] {
            assert_eq!(ApiError::from(err).code(), codes::INTERNAL_SERVER_ERROR);
        }
    }
}
