//! Rules on a request's document, checked once it is parsed and before it
//! is validated or run. They apply to every document, whether its text was
//! sent or it came from the persisted queries.
//!
//! - Every mutation needs a signed-in viewer: an anonymous mutation is
//!   refused as a whole with UNAUTHENTICATED before its input is looked at.
//! - Mutations run only over POST (a persisted mutation asked for by GET
//!   is refused like a sent one).
//! - At most `max_aliases` aliased fields per document (LIMIT_EXCEEDED), so
//!   that one request cannot ask for the same costly field many times
//!   under different names.
//! - With introspection off, `__schema` and `__type` are refused with an
//!   error (async-graphql would answer `null`), so clients learn why;
//!   `__typename` stays allowed.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ServerResult, Variables};

use super::errors::coded_error as error;
use crate::auth::Viewer;
use crate::error::codes;

/// Request data set by the HTTP layer for GET requests.
#[derive(Debug, Clone, Copy)]
pub struct ViaGet;

/// The document rules of a schema.
#[derive(Debug, Clone, Copy)]
pub struct DocumentRules {
    /// Whether `__schema`/`__type` may be asked.
    pub introspection: bool,
    /// Most aliased fields in one document.
    pub max_aliases: u32,
}

impl ExtensionFactory for DocumentRules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for DocumentRules {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let mutates = doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation);
        if mutates {
            let signed_in = ctx
                .data_opt::<Viewer>()
                .is_some_and(|v| v.is_authenticated());
            if !signed_in {
                return Err(error(
                    codes::UNAUTHENTICATED,
                    "changes need a bearer token: sign in first",
                ));
            }
            if ctx.data_opt::<ViaGet>().is_some() {
                return Err(error(
                    codes::BAD_USER_INPUT,
                    "mutations are only accepted with POST",
                ));
            }
        }
        let aliases = count_aliases(&doc);
        if aliases > self.max_aliases as usize {
            return Err(error(
                codes::LIMIT_EXCEEDED,
                format!(
                    "the query uses {aliases} aliases; at most {} are allowed",
                    self.max_aliases
                ),
            ));
        }
        if !self.introspection {
            let mut seen = HashSet::new();
            let introspects = doc
                .operations
                .iter()
                .any(|(_, op)| introspects(&doc, &op.node.selection_set.node, &mut seen));
            if introspects {
                return Err(error(codes::BAD_USER_INPUT, "introspection is disabled"));
            }
        }
        Ok(doc)
    }
}

/// The aliased fields of a document: in its operations and fragments
/// (each fragment counted once, however often it is spread).
fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    doc.operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .chain(
            doc.fragments
                .values()
                .map(|f| walk(&f.node.selection_set.node)),
        )
        .sum()
}

/// Whether a selection set asks for `__schema` or `__type`, directly or
/// through fragments (each fragment is looked at once).
fn introspects<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut HashSet<&'a str>,
) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            matches!(field.node.name.node.as_str(), "__schema" | "__type")
                || introspects(doc, &field.node.selection_set.node, seen)
        }
        Selection::InlineFragment(fragment) => {
            introspects(doc, &fragment.node.selection_set.node, seen)
        }
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            seen.insert(name)
                && doc
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .is_some_and(|f| introspects(doc, &f.node.selection_set.node, seen))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_in_operations_and_fragments_once() {
        let doc = async_graphql::parser::parse_query(
            "query { a: counties { totalCount } b: counties { ...F } ...F }
             fragment F on CountyConnection { c: totalCount d: totalCount }",
        )
        .unwrap();
        assert_eq!(count_aliases(&doc), 4);
    }
}
