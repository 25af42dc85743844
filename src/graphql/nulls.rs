//! Null propagation, as the GraphQL specification asks (section 6.4.4,
//! "Handling Execution Errors"): when a field of a non-null type fails,
//! its parent becomes null, and so on up to the nearest nullable field (or
//! the whole `data`).
//!
//! async-graphql 7 records the error but leaves the failed field out of its
//! parent object, so that clients generated from the schema read a missing
//! field. [`NullPropagation`] repairs each answer after execution: for every
//! error with a path, it finds the types along the path (from the executed
//! document and the schema), and where the value at the path is missing, or
//! null though its type is non-null, it nulls the nearest nullable
//! ancestor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, Type,
    TypeDefinition, TypeKind, TypeSystemDefinition,
};
use async_graphql::{PathSegment, Response, ServerResult, Value, Variables};

/// Field types by parent type and field name, read once from the schema.
fn field_types() -> &'static HashMap<(String, String), Type> {
    static TYPES: OnceLock<HashMap<(String, String), Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut map = HashMap::new();
        let Ok(doc) = async_graphql::parser::parse_schema(super::sdl()) else {
            return map;
        };
        for definition in doc.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let TypeDefinition { name, kind, .. } = ty.node;
            let fields = match kind {
                TypeKind::Object(o) => o.fields,
                TypeKind::Interface(i) => i.fields,
                _ => continue,
            };
            for field in fields {
                map.insert(
                    (name.node.to_string(), field.node.name.node.to_string()),
                    field.node.ty.node,
                );
            }
        }
        map
    })
}

/// The extension factory.
pub struct NullPropagation;

impl ExtensionFactory for NullPropagation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Propagate::default())
    }
}

#[derive(Default)]
struct Propagate {
    document: Mutex<Option<ExecutableDocument>>,
}

#[async_trait::async_trait]
impl Extension for Propagate {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Ok(mut slot) = self.document.lock() {
            *slot = Some(doc.clone());
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        if response.errors.iter().any(|e| !e.path.is_empty()) {
            let doc = self.document.lock().ok().and_then(|mut d| d.take());
            if let Some(doc) = doc {
                propagate(&doc, operation_name, &mut response);
            }
        }
        response
    }
}

/// One step of a path: the type of the value there.
struct Step {
    ty: Type,
}

/// Nulls what the errors of `response` require.
fn propagate(doc: &ExecutableDocument, operation_name: Option<&str>, response: &mut Response) {
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    let Some(operation) = operation else {
        return;
    };
    let root = match operation.node.ty {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => "Subscription",
    };
    let paths: Vec<Vec<PathSegment>> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| e.path.clone())
        .collect();
    for path in paths {
        let Some(steps) = steps_of(doc, root, &operation.node.selection_set.node, &path) else {
            continue;
        };
        null_up(&mut response.data, &path, &steps);
    }
}

/// The types along `path`, or `None` when the path does not follow the
/// document (then nothing is changed).
fn steps_of(
    doc: &ExecutableDocument,
    root: &str,
    selection: &SelectionSet,
    path: &[PathSegment],
) -> Option<Vec<Step>> {
    let mut steps = Vec::with_capacity(path.len());
    let mut parent = root.to_owned();
    let mut set: Option<&SelectionSet> = Some(selection);
    let mut current: Option<Type> = None;
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let (field_set, owner, name) = find_field(doc, set?, &parent, key)?;
                let ty = field_types().get(&(owner, name)).cloned()?;
                parent = named(&ty).to_owned();
                set = Some(field_set);
                current = Some(ty.clone());
                steps.push(Step { ty });
            }
            PathSegment::Index(_) => {
                let BaseType::List(inner) = current.take()?.base else {
                    return None;
                };
                current = Some((*inner).clone());
                steps.push(Step { ty: *inner });
            }
        }
    }
    Some(steps)
}

/// The field with response key `key` in `set` (fragments included): its
/// selection set, the type that declares it and its name.
fn find_field<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    parent: &str,
    key: &str,
) -> Option<(&'a SelectionSet, String, String)> {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                if field.node.response_key().node.as_str() == key {
                    let name = field.node.name.node.to_string();
                    return Some((&field.node.selection_set.node, parent.to_owned(), name));
                }
            }
            Selection::InlineFragment(fragment) => {
                let owner = fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map_or(parent, |c| c.node.on.node.as_str());
                if let Some(found) = find_field(doc, &fragment.node.selection_set.node, owner, key)
                {
                    return Some(found);
                }
            }
            Selection::FragmentSpread(spread) => {
                let fragment = doc.fragments.get(&spread.node.fragment_name.node)?;
                let owner = fragment.node.type_condition.node.on.node.as_str();
                if let Some(found) = find_field(doc, &fragment.node.selection_set.node, owner, key)
                {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

/// Where the value at `path` is missing, or null though non-null, nulls
/// the nearest nullable ancestor (or `data`).
fn null_up(data: &mut Value, path: &[PathSegment], steps: &[Step]) {
    // How far the path exists, and whether its end is sound.
    let mut depth = 0;
    {
        let mut value = &*data;
        for segment in path {
            let next = match (segment, value) {
                (PathSegment::Field(key), Value::Object(map)) => map.get(key.as_str()),
                (PathSegment::Index(i), Value::List(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(v) => {
                    value = v;
                    depth += 1;
                }
                None => break,
            }
        }
        let whole = depth == path.len();
        if whole && (*value != Value::Null || steps.last().is_none_or(|s| s.ty.nullable)) {
            return;
        }
        // Only the failed field itself may be missing; a null parent on the
        // way was nulled by an earlier error.
        if !whole && (value == &Value::Null || depth + 1 < path.len()) {
            return;
        }
    }
    // From the failed position (a nullable one that was left out is set to
    // null itself) up to the nearest nullable one.
    let mut at = path.len();
    while at > 0 {
        at -= 1;
        if steps[at].ty.nullable {
            set_null(data, &path[..=at]);
            return;
        }
    }
    *data = Value::Null;
}

fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    let mut value = data;
    for segment in parents {
        let next = match (segment, value) {
            (PathSegment::Field(key), Value::Object(map)) => map.get_mut(key.as_str()),
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => value = v,
            None => return,
        }
    }
    match (last, value) {
        (PathSegment::Field(key), Value::Object(map)) => {
            map.insert(async_graphql::Name::new(key), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(query: &str, data: serde_json::Value, paths: &[&[&str]]) -> serde_json::Value {
        let doc = async_graphql::parser::parse_query(query).expect("query parses");
        let mut response = Response::new(Value::from_json(data).expect("data"));
        for path in paths {
            let mut error = async_graphql::ServerError::new("failed", None);
            error.path = path
                .iter()
                .map(|p| match p.parse::<usize>() {
                    Ok(i) => PathSegment::Index(i),
                    Err(_) => PathSegment::Field((*p).to_owned()),
                })
                .collect();
            response.errors.push(error);
        }
        propagate(&doc, None, &mut response);
        response.data.into_json().expect("json")
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_nearest_nullable_parent() {
        let query = "{ programmes(first: 2) { nodes { name leadProvider { name shortName } } } }";
        let data = serde_json::json!({ "programmes": { "nodes": [
            { "name": "A", "leadProvider": { "shortName": "X" } },
            { "name": "B", "leadProvider": { "name": "Y", "shortName": "Y" } },
        ] } });
        let out = run(
            query,
            data,
            &[&["programmes", "nodes", "0", "leadProvider", "name"]],
        );
        assert_eq!(
            out,
            serde_json::json!({ "programmes": { "nodes": [
                { "name": "A", "leadProvider": null },
                { "name": "B", "leadProvider": { "name": "Y", "shortName": "Y" } },
            ] } })
        );
    }

    #[test]
    fn with_no_nullable_parent_data_is_null() {
        let query = "{ programmes(first: 1) { nodes { name } } }";
        let data = serde_json::json!({ "programmes": { "nodes": [{}] } });
        let out = run(query, data, &[&["programmes", "nodes", "0", "name"]]);
        assert_eq!(out, serde_json::Value::Null);
    }

    #[test]
    fn a_failed_nullable_field_is_null_itself() {
        let query = "{ programmes(first: 1) { nodes { name leadProvider { name } } } }";
        let data = serde_json::json!({ "programmes": { "nodes": [{ "name": "A" }] } });
        let out = run(
            query,
            data,
            &[&["programmes", "nodes", "0", "leadProvider"]],
        );
        assert_eq!(
            out,
            serde_json::json!({ "programmes": { "nodes": [{ "name": "A", "leadProvider": null }] } })
        );
    }

    #[test]
    fn aliases_and_fragments_are_followed() {
        let query = "{ p: programmes(first: 1) { nodes { ...F } } }
                     fragment F on Programme { title: name lp: leadProvider { ... on Provider { n: name } } }";
        let data = serde_json::json!({ "p": { "nodes": [{ "title": "A", "lp": {} }] } });
        let out = run(query, data, &[&["p", "nodes", "0", "lp", "n"]]);
        assert_eq!(
            out,
            serde_json::json!({ "p": { "nodes": [{ "title": "A", "lp": null }] } })
        );
    }

    #[test]
    fn sound_answers_and_unknown_paths_are_left_alone() {
        let query = "{ programmes(first: 1) { nodes { name leadProvider { name } } } }";
        let data = serde_json::json!({ "programmes": { "nodes": [{ "name": "A", "leadProvider": null }] } });
        // A nullable field that failed and was set to null already.
        let out = run(
            query,
            data.clone(),
            &[&["programmes", "nodes", "0", "leadProvider"]],
        );
        assert_eq!(out, data);
        // A path that is not in the document.
        let out = run(query, data.clone(), &[&["nothing", "here"]]);
        assert_eq!(out, data);
        // Two errors under one parent: nulled once.
        let data =
            serde_json::json!({ "programmes": { "nodes": [{ "name": "A", "leadProvider": {} }] } });
        let out = run(
            "{ programmes(first: 1) { nodes { name leadProvider { name shortName } } } }",
            data,
            &[
                &["programmes", "nodes", "0", "leadProvider", "name"],
                &["programmes", "nodes", "0", "leadProvider", "shortName"],
            ],
        );
        assert_eq!(
            out,
            serde_json::json!({ "programmes": { "nodes": [{ "name": "A", "leadProvider": null }] } })
        );
    }
}
