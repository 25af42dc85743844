//! Rules on a request's document, checked once it is parsed and before it
//! is validated or run. They apply to every document, whether its text was
//! sent or it came from the persisted queries.
//!
//! - Every mutation needs a signed-in viewer: an anonymous mutation is
//!   refused as a whole with UNAUTHENTICATED before its input is looked at.
//! - Mutations run only over POST (a persisted mutation asked for by GET
//!   is refused like a sent one).
//! - At most `max_depth` levels of fields (LIMIT_EXCEEDED), fragments
//!   counted where they are spread. Introspection (`__schema`, `__type`
//!   and what is below them) may nest [`INTROSPECTION_DEPTH`] levels, so
//!   that the standard introspection query of graphql-js (14 levels) runs
//!   at the defaults; the schema's shape bounds it otherwise.
//! - At most `max_aliases` aliased fields per document (LIMIT_EXCEEDED), so
//!   that one request cannot ask for the same costly field many times
//!   under different names.
//! - With introspection off, `__schema` and `__type` are refused with an
//!   error (async-graphql would answer `null`), so clients learn why;
//!   `__typename` stays allowed.
//! - No text the databases cannot store: a NUL character (U+0000) in any
//!   argument, literal or variable, is BAD_USER_INPUT naming the argument
//!   (`field`), before any resolver runs. PostgreSQL refuses NUL in text;
//!   SQLite would keep it, and the two engines must agree.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Value, Variables};

use super::errors::coded_error as error;
use crate::auth::Viewer;
use crate::error::codes;

/// The error extension of a refusal that only another HTTP method may
/// lift (its value is the method, for the `Allow` header).
pub const ALLOW: &str = "allow";

/// Request data set by the HTTP layer for GET requests.
#[derive(Debug, Clone, Copy)]
pub struct ViaGet;

/// Deepest nesting of an introspection path (from the operation's root).
pub const INTROSPECTION_DEPTH: usize = 24;

/// The document rules of a schema.
#[derive(Debug, Clone, Copy)]
pub struct DocumentRules {
    /// Whether `__schema`/`__type` may be asked.
    pub introspection: bool,
    /// Deepest nesting of fields outside introspection.
    pub max_depth: u32,
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
        if let Some(field) = nul_in_arguments(&doc).or_else(|| nul_in_variables(variables)) {
            return Err(field_error(
                &field,
                format!("`{field}` contains a NUL character (U+0000), which cannot be stored"),
            ));
        }
        let mutates = doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation);
        if mutates {
            if ctx.data_opt::<ViaGet>().is_some() {
                // `allow` tells the HTTP layer to answer 405 with
                // `Allow: POST` (a mutation persisted and asked for by GET).
                let mut refusal = error(
                    codes::BAD_USER_INPUT,
                    "mutations are only accepted with POST",
                );
                refusal
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set(ALLOW, "POST");
                return Err(refusal);
            }
            let signed_in = ctx
                .data_opt::<Viewer>()
                .is_some_and(|v| v.is_authenticated());
            if !signed_in {
                return Err(error(
                    codes::UNAUTHENTICATED,
                    "changes need a bearer token: sign in first",
                ));
            }
        }
        let depth = Depth::of(&doc);
        if depth.plain > self.max_depth as usize {
            return Err(error(
                codes::LIMIT_EXCEEDED,
                format!(
                    "Query is nested too deep: {} levels; at most {} are allowed",
                    depth.plain, self.max_depth
                ),
            ));
        }
        if depth.introspection > INTROSPECTION_DEPTH {
            return Err(error(
                codes::LIMIT_EXCEEDED,
                format!(
                    "Query is nested too deep: introspection {} levels; at most \
                     {INTROSPECTION_DEPTH} are allowed",
                    depth.introspection
                ),
            ));
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

/// How deep a document nests, with its fragments spread where they are
/// used: `plain` over the paths that stay outside introspection,
/// `introspection` over the paths through `__schema` or `__type`. Each
/// fragment is measured once (a document of fragments that spread others
/// many times costs no more to measure than to read); a fragment that
/// spreads itself counts as empty here and is refused by validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Depth {
    plain: usize,
    introspection: usize,
}

impl Depth {
    fn of(doc: &ExecutableDocument) -> Self {
        let mut memo = std::collections::HashMap::new();
        doc.operations
            .iter()
            .map(|(_, op)| Self::of_set(doc, &op.node.selection_set.node, &mut memo))
            .fold(Self::default(), Self::max)
    }

    fn max(self, other: Self) -> Self {
        Self {
            plain: self.plain.max(other.plain),
            introspection: self.introspection.max(other.introspection),
        }
    }

    fn of_set(
        doc: &ExecutableDocument,
        set: &SelectionSet,
        memo: &mut std::collections::HashMap<String, Option<Self>>,
    ) -> Self {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    let below = Self::of_set(doc, &field.node.selection_set.node, memo);
                    let name = field.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        Self {
                            plain: 0,
                            introspection: 1 + below.plain.max(below.introspection),
                        }
                    } else {
                        Self {
                            plain: 1 + below.plain,
                            introspection: if below.introspection > 0 {
                                1 + below.introspection
                            } else {
                                0
                            },
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    Self::of_set(doc, &fragment.node.selection_set.node, memo)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match memo.get(name) {
                        Some(Some(depth)) => *depth,
                        // Being measured: a cycle.
                        Some(None) => Self::default(),
                        None => {
                            let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node)
                            else {
                                return Self::default();
                            };
                            memo.insert(name.to_owned(), None);
                            let depth = Self::of_set(doc, &fragment.node.selection_set.node, memo);
                            memo.insert(name.to_owned(), Some(depth));
                            depth
                        }
                    }
                }
            })
            .fold(Self::default(), Self::max)
    }
}

/// A BAD_USER_INPUT error naming the argument at fault.
fn field_error(field: &str, message: String) -> ServerError {
    let mut error = error(codes::BAD_USER_INPUT, message);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("field", field);
    error
}

/// The first argument of the document (in its operations, fragments and
/// directives) whose literal value holds a NUL character, as
/// `argument.key.key` (list items are not named).
fn nul_in_arguments(doc: &ExecutableDocument) -> Option<String> {
    fn in_set(set: &SelectionSet) -> Option<String> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .chain(
                    field
                        .node
                        .directives
                        .iter()
                        .flat_map(|d| d.node.arguments.iter()),
                )
                .find_map(|(name, value)| {
                    // Variables inside the literal become null here: they
                    // are looked at in `nul_in_variables`.
                    let value = value
                        .node
                        .clone()
                        .into_const_with(|_| Ok::<_, std::convert::Infallible>(Value::Null))
                        .ok()?;
                    in_const(&value, &name.node)
                })
                .or_else(|| in_set(&field.node.selection_set.node)),
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    doc.operations
        .iter()
        .find_map(|(_, op)| {
            op.node
                .variable_definitions
                .iter()
                .filter_map(|v| {
                    v.node
                        .default_value
                        .as_ref()
                        .and_then(|d| in_const(&d.node, &format!("${}", v.node.name.node)))
                })
                .next()
                .or_else(|| in_set(&op.node.selection_set.node))
        })
        .or_else(|| {
            doc.fragments
                .values()
                .find_map(|f| in_set(&f.node.selection_set.node))
        })
}

/// The first variable holding a NUL character, as `$name.key`.
fn nul_in_variables(variables: &Variables) -> Option<String> {
    variables
        .iter()
        .find_map(|(name, value)| in_const(value, &format!("${name}")))
}

fn in_const(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_owned()),
        Value::List(items) => items.iter().find_map(|v| in_const(v, path)),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| in_const(v, &format!("{path}.{k}"))),
        _ => None,
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

    #[test]
    fn nul_characters_are_found_in_arguments_defaults_and_variables() {
        let doc = |q: &str| async_graphql::parser::parse_query(q).unwrap();
        let found = nul_in_arguments(&doc(r#"{ a { b(filter: { search: "x\u0000y" }) { c } } }"#));
        assert_eq!(found.as_deref(), Some("filter.search"));
        let found = nul_in_arguments(&doc(r#"query Q($s: String = "\u0000") { a(s: $s) } "#));
        assert_eq!(found.as_deref(), Some("$s"));
        let found = nul_in_arguments(&doc(
            r#"{ ...F } fragment F on Query { a(list: ["ok", "\u0000"]) }"#,
        ));
        assert_eq!(found.as_deref(), Some("list"));
        assert_eq!(nul_in_arguments(&doc(r#"{ a(s: "Bø \t") }"#)), None);
        let vars = Variables::from_json(serde_json::json!({
            "ok": "fine", "input": { "name": "a\0" }
        }));
        assert_eq!(nul_in_variables(&vars).as_deref(), Some("$input.name"));
    }

    proptest::proptest! {
        /// Any text, and text made of GraphQL's own tokens, parses or not
        /// without a panic, and the document rules look at whatever parses.
        #[test]
        fn prop_any_document_is_checked_without_panic(
            text in "\\PC{0,200}|[{}()\\[\\]:$!@.,=|&a-zA-Z0-9_ \"\\\\]{0,200}",
        ) {
            if let Ok(doc) = async_graphql::parser::parse_query(&text) {
                let _ = count_aliases(&doc);
                let _ = nul_in_arguments(&doc);
                let mut seen = HashSet::new();
                for (_, op) in doc.operations.iter() {
                    let _ = introspects(&doc, &op.node.selection_set.node, &mut seen);
                }
            }
        }

        /// A NUL anywhere in a variable's text is found.
        #[test]
        fn prop_nul_in_any_variable_is_found(
            before in "\\PC{0,20}", after in "\\PC{0,20}", key in "[a-z]{1,8}",
        ) {
            let vars = Variables::from_json(serde_json::json!({
                "v": { key.clone(): [format!("{before}\0{after}")] }
            }));
            proptest::prop_assert_eq!(nul_in_variables(&vars), Some(format!("$v.{key}")));
        }
    }
}
