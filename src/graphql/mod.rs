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
pub struct Mutation(domain::access::assignments::AssignmentMutation);

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
        .data(limits.clone())
}

/// The schema with its database, ready to serve.
pub fn build_schema(db: DatabaseConnection, limits: &Limits) -> AppSchema {
    schema_builder(limits).data(db).finish()
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
