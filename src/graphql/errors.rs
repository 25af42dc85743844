//! The one place where errors get their `extensions.code`.
//!
//! Every error of a response passes through [`ErrorCodes`]: an [`ApiError`]
//! source gives its own code (and `field`); an internal error is logged with
//! its cause and its message replaced; errors that async-graphql raises
//! itself (syntax, validation, limits, argument coercion) are classified by
//! kind. No response leaves without a code.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest};
use async_graphql::{ErrorExtensionValues, Response, ServerError};

use crate::error::{ApiError, codes};

/// The extension of an error that asks the client to come back later,
/// in seconds; the HTTP answer is then 503 with `Retry-After`.
pub const RETRY_AFTER: &str = "retryAfter";

/// Extension factory that assigns error codes.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            classify(error);
        }
        response
    }
}

/// Sets the code (and, for internal errors, the message) of one error.
pub fn classify(error: &mut ServerError) {
    if let Some(api) = error.source::<ApiError>().cloned() {
        if let ApiError::Internal(cause) = &api {
            tracing::error!(error = %cause, path = ?error.path, "internal error");
            error.message = "internal server error".into();
        }
        if crate::idempotency::committed()
            && matches!(
                api,
                ApiError::ServiceUnavailable(_)
                    | ApiError::Internal(_)
                    | ApiError::Overloaded { .. }
            )
        {
            // The request's write was saved before this failed: "try
            // again" would write twice.
            error.message = "the write was saved, but its answer could not be read; read the \
                             data again (or retry with the same Idempotency-Key) instead of \
                             repeating the write"
                .into();
            set_code(error, codes::WRITE_COMMITTED);
            return;
        }
        set_code(error, api.code());
        if let ApiError::BadUserInput { field, .. } = &api {
            let field = field.clone();
            error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("field", field);
        }
        if let ApiError::Overloaded { retry_after } = &api {
            error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set(RETRY_AFTER, *retry_after);
        }
        return;
    }
    if has_code(error) {
        return;
    }
    if error.source.is_some() {
        // A foreign error type reached the response: treat it as internal,
        // never echo its text.
        tracing::error!(message = %error.message, path = ?error.path, "unclassified error");
        error.message = "internal server error".into();
        set_code(error, codes::INTERNAL_SERVER_ERROR);
        return;
    }
    let code = match error.message.as_str() {
        "Query is nested too deep." | "Query is too complex." => codes::LIMIT_EXCEEDED,
        m if m.starts_with("Too many") => codes::LIMIT_EXCEEDED,
        // Everything else async-graphql reports itself is about the
        // request: syntax, unknown fields, wrong argument types, values
        // that do not parse.
        _ => codes::BAD_USER_INPUT,
    };
    set_code(error, code);
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

fn set_code(error: &mut ServerError, code: &str) {
    error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code);
}

/// A request-level error with `extensions.code`, for extensions that refuse
/// a request before it runs (persisted queries, document rules).
pub fn coded_error(code: &str, message: impl Into<String>) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(error: &ServerError) -> String {
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn internal_errors_are_scrubbed() {
        let db = sea_orm::DbErr::Custom("SELECT secret FROM person WHERE name = 'Kari'".into());
        let mut error =
            async_graphql::Error::from(ApiError::from(db)).into_server_error(Default::default());
        classify(&mut error);
        assert_eq!(error.message, "internal server error");
        assert_eq!(code(&error), "\"INTERNAL_SERVER_ERROR\"");
    }

    #[test]
    fn foreign_errors_are_treated_as_internal() {
        let io = std::io::Error::other("disk path /var/lib/secret");
        let mut error = async_graphql::Error::from(io).into_server_error(Default::default());
        classify(&mut error);
        assert_eq!(error.message, "internal server error");
        assert_eq!(code(&error), "\"INTERNAL_SERVER_ERROR\"");
    }

    #[test]
    fn api_errors_keep_code_and_field() {
        let mut error = async_graphql::Error::from(ApiError::bad_input("first", "too big"))
            .into_server_error(Default::default());
        classify(&mut error);
        assert_eq!(error.message, "too big");
        assert_eq!(code(&error), "\"BAD_USER_INPUT\"");
        let field = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("field"))
            .map(|v| v.to_string());
        assert_eq!(field.as_deref(), Some("\"first\""));
    }

    #[tokio::test]
    async fn errors_after_a_commit_say_the_write_was_saved() {
        let unavailable = || {
            let db = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
            async_graphql::Error::from(ApiError::from(db)).into_server_error(Default::default())
        };
        // Before any commit: the database is unavailable, try again.
        let before = crate::idempotency::run(crate::idempotency::WriteScope::unkeyed(), async {
            let mut error = unavailable();
            classify(&mut error);
            code(&error)
        })
        .await;
        assert_eq!(before, "\"SERVICE_UNAVAILABLE\"");
        // After a commit of the same request: the write was saved.
        let (after, message, input) =
            crate::idempotency::run(crate::idempotency::WriteScope::unkeyed(), async {
                crate::idempotency::note_committed();
                let mut error = unavailable();
                classify(&mut error);
                let mut input = async_graphql::Error::from(ApiError::bad_input("x", "bad"))
                    .into_server_error(Default::default());
                classify(&mut input);
                (code(&error), error.message, code(&input))
            })
            .await;
        assert_eq!(after, "\"WRITE_COMMITTED\"");
        assert!(message.contains("saved"), "{message}");
        assert!(!message.contains("try again"), "{message}");
        // Errors about the request itself keep their code.
        assert_eq!(input, "\"BAD_USER_INPUT\"");
    }

    #[test]
    fn limits_are_limit_exceeded() {
        for message in ["Query is nested too deep.", "Query is too complex."] {
            let mut error = ServerError::new(message, None);
            classify(&mut error);
            assert_eq!(code(&error), "\"LIMIT_EXCEEDED\"");
        }
    }
}
