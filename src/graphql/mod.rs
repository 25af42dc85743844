//! The GraphQL schema: root types, limits, per-request context.

pub mod errors;
pub mod id;
pub mod loader;
pub mod loaders;
pub mod node;
pub mod pagination;

use async_graphql::{Context, EmptySubscription, MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::config::Limits;
use crate::domain;
use crate::error::{ApiError, ApiResult};

pub use errors::ErrorCodes;
pub use loaders::Loaders;

/// The root query: every part of the domain adds its fields.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    domain::access::AccessQuery,
    domain::access::assignments::AssignmentQuery,
    domain::geography::GeographyQuery,
    domain::provider::ProviderQuery,
    domain::service::ServiceQuery,
    domain::network::NetworkQuery,
    domain::programme::ProgrammeQuery,
    domain::run::RunQuery,
    domain::funding::FundingQuery,
    domain::people::PeopleQuery,
);

/// The root mutation: every part of the domain adds its mutations. Each
/// runs in one transaction with its audit entry.
#[derive(MergedObject, Default)]
pub struct Mutation(
    domain::access::assignments::AssignmentMutation,
    domain::people::write::ParticipationMutation,
    domain::run::write::RunMutation,
    domain::programme::write::ProgrammeMutation,
    domain::network::write::NetworkMutation,
);

/// The schema type served by the API.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// A schema builder with the limits applied and no database attached; the
/// server adds the database, `kompetanse schema` prints it as it is.
pub fn schema_builder(limits: &Limits) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(limits.max_depth as usize)
        .limit_complexity(limits.max_complexity as usize)
        .limit_recursive_depth(64)
        .limit_directives(16)
        .extension(ErrorCodes)
        .extension(MutationsNeedSignIn)
        .data(limits.clone())
}

/// The schema with its database, ready to serve (introspection on).
pub fn build_schema(db: DatabaseConnection, limits: &Limits) -> AppSchema {
    build_schema_with(db, limits, true)
}

/// The schema with its database; `introspection: false` makes `__schema`
/// and `__type` fail. The printed SDL ([`sdl`]) is not affected.
pub fn build_schema_with(
    db: DatabaseConnection,
    limits: &Limits,
    introspection: bool,
) -> AppSchema {
    let builder = schema_builder(limits).data(db);
    if introspection {
        builder.finish()
    } else {
        builder
            .disable_introspection()
            .extension(NoIntrospection)
            .finish()
    }
}

/// With introspection off, async-graphql answers `__schema` and `__type`
/// with `null`; this extension refuses such a query with an error instead,
/// so that clients learn why. `__typename` stays allowed.
struct NoIntrospection;

impl async_graphql::extensions::ExtensionFactory for NoIntrospection {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(NoIntrospection)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for NoIntrospection {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let mut seen = std::collections::HashSet::new();
        let introspects = doc
            .operations
            .iter()
            .any(|(_, op)| introspects(&doc, &op.node.selection_set.node, &mut seen));
        if introspects {
            let mut error = async_graphql::ServerError::new("introspection is disabled", None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", crate::error::codes::BAD_USER_INPUT);
            return Err(error);
        }
        Ok(doc)
    }
}

/// Every mutation needs a signed-in viewer: an anonymous mutation is
/// refused as a whole with UNAUTHENTICATED before its input is looked at,
/// so anonymous clients learn the one thing they need to know. Which
/// signed-in viewer may make which change is the policy's business.
struct MutationsNeedSignIn;

impl async_graphql::extensions::ExtensionFactory for MutationsNeedSignIn {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(MutationsNeedSignIn)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for MutationsNeedSignIn {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        use async_graphql::parser::types::OperationType;
        let doc = next.run(ctx, query, variables).await?;
        let signed_in = ctx
            .data_opt::<crate::auth::Viewer>()
            .is_some_and(|v| v.is_authenticated());
        let mutates = doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation);
        if mutates && !signed_in {
            let mut error =
                async_graphql::ServerError::new("changes need a bearer token: sign in first", None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", crate::error::codes::UNAUTHENTICATED);
            return Err(error);
        }
        Ok(doc)
    }
}

/// Whether a selection set asks for `__schema` or `__type`, directly or
/// through fragments (each fragment is looked at once).
fn introspects<'a>(
    doc: &'a async_graphql::parser::types::ExecutableDocument,
    set: &'a async_graphql::parser::types::SelectionSet,
    seen: &mut std::collections::HashSet<&'a str>,
) -> bool {
    use async_graphql::parser::types::Selection;
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

/// The schema definition language of the API, as committed in
/// `schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&Limits::default()).finish().sdl()
}

/// Builds the per-request data of a GraphQL request.
pub fn prepare_request(
    request: async_graphql::Request,
    db: &DatabaseConnection,
    viewer: crate::auth::Viewer,
) -> async_graphql::Request {
    request.data(Loaders::new(db.clone(), &viewer)).data(viewer)
}

/// Shorthands for resolvers.
pub trait ContextExt {
    /// The database connection.
    fn db(&self) -> ApiResult<&DatabaseConnection>;
    /// The per-request loaders.
    fn loaders(&self) -> ApiResult<&Loaders>;
    /// The configured limits.
    fn limits(&self) -> ApiResult<&Limits>;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> ApiResult<&DatabaseConnection> {
        self.data::<DatabaseConnection>()
            .map_err(|_| ApiError::internal("no database in the schema context"))
    }

    fn loaders(&self) -> ApiResult<&Loaders> {
        self.data::<Loaders>()
            .map_err(|_| ApiError::internal("no loaders in the request context"))
    }

    fn limits(&self) -> ApiResult<&Limits> {
        self.data::<Limits>()
            .map_err(|_| ApiError::internal("no limits in the schema context"))
    }
}
