//! The GraphQL operation's span learns the operation's name and type once
//! the document is parsed, so that persisted documents (sent by hash or id)
//! are named like documents sent as text. Only when the span is exported;
//! the document and its variables are never recorded.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, ServerResult, Variables};

/// Longest operation name that is recorded (GraphQL puts no bound on it).
const MAX_NAME: usize = 128;

/// Names the operation's span (see the module's documentation).
pub struct OperationSpan;

impl ExtensionFactory for OperationSpan {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Recorder::default())
    }
}

/// One request's: the `operationName` it asked for.
#[derive(Default)]
struct Recorder {
    operation_name: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for Recorder {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let asked = self.operation_name.lock().ok().and_then(|n| n.clone());
        if let Some((kind, name)) = operation(&document, asked.as_deref()) {
            let name = name.filter(|n| n.len() <= MAX_NAME);
            crate::telemetry::record_operation(&tracing::Span::current(), kind, name);
        }
        Ok(document)
    }
}

/// The type and name of the operation a document runs: the one asked for
/// by name, or its only one.
fn operation<'a>(
    document: &'a ExecutableDocument,
    asked: Option<&'a str>,
) -> Option<(&'static str, Option<&'a str>)> {
    let (ty, name) = match (&document.operations, asked) {
        (DocumentOperations::Single(op), _) => (op.node.ty, None),
        (DocumentOperations::Multiple(ops), Some(asked)) => (ops.get(asked)?.node.ty, Some(asked)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            let (name, op) = ops.iter().next()?;
            (op.node.ty, Some(name.as_str()))
        }
        _ => return None,
    };
    let kind = match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    Some((kind, name))
}
