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
            Self::Internal(_) => codes::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(std::sync::Arc::new(err))
    }
}

impl From<std::sync::Arc<sea_orm::DbErr>> for ApiError {
    fn from(err: std::sync::Arc<sea_orm::DbErr>) -> Self {
        Self::Internal(std::sync::Arc::new(SharedDbErr(err)))
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
    /// A failure inside the server.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
}
