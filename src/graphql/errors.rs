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
        set_code(error, api.code());
        if let ApiError::BadUserInput { field, .. } = &api {
            let field = field.clone();
            error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("field", field);
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
