//! The GraphQL schema: root types, limits, per-request context.

pub mod admission;
pub mod cost;
pub mod errors;
pub mod id;
pub mod loader;
pub mod loaders;
pub mod node;
pub mod nulls;
pub mod pagination;
pub mod persisted;
pub mod rules;
pub mod traced;

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
    domain::people::subject_access::SubjectAccessQuery,
    domain::statistics::StatisticsQuery,
);

/// The root mutation: every part of the domain adds its mutations. Each
/// runs in one transaction with its audit entry.
#[derive(MergedObject, Default)]
pub struct Mutation(
    domain::access::assignments::AssignmentMutation,
    domain::people::write::ParticipationMutation,
    domain::people::privacy::PrivacyMutation,
    domain::run::write::RunMutation,
    domain::programme::write::ProgrammeMutation,
    domain::network::write::NetworkMutation,
    domain::funding::write::GrantMutation,
    domain::provider::write::ProviderMutation,
);

/// The schema type served by the API.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// How a schema serves requests beyond its limits.
#[derive(Clone)]
pub struct SchemaOptions {
    /// Whether `__schema`/`__type` may be asked.
    pub introspection: bool,
    /// Automatic persisted queries, an allow-list, or neither.
    pub persisted: persisted::Persisted,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        Self {
            introspection: true,
            persisted: persisted::Persisted::automatic(persisted::DEFAULT_APQ_CAPACITY),
        }
    }
}

/// A schema builder with the limits and options applied and no database
/// attached; the server adds the database, `kompetanse schema` prints it.
pub fn schema_builder(
    limits: &Limits,
    options: &SchemaOptions,
) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_recursive_depth(64)
        .limit_directives(16)
        .extension(ErrorCodes)
        .extension(nulls::NullPropagation)
        .extension(cost::CostBudget {
            limit: limits.max_complexity as usize,
        })
        .extension(options.persisted.clone())
        .extension(rules::DocumentRules {
            introspection: options.introspection,
            max_depth: limits.max_depth,
            max_aliases: limits.max_aliases,
        })
        .extension(admission::RootFields)
        .extension(traced::OperationSpan)
        .data(std::sync::Arc::new(admission::Admission::new(
            limits.heavy_concurrency as usize,
            limits.heavy_queue as usize,
            limits.max_stats_rows_per_request as usize,
        )))
        .data(limits.clone());
    if options.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The schema with its database, ready to serve (introspection on,
/// automatic persisted queries).
pub fn build_schema(db: DatabaseConnection, limits: &Limits) -> AppSchema {
    build_schema_with(db, limits, &SchemaOptions::default())
}

/// The schema with its database and options.
pub fn build_schema_with(
    db: DatabaseConnection,
    limits: &Limits,
    options: &SchemaOptions,
) -> AppSchema {
    schema_builder(limits, options).data(db).finish()
}

/// The schema definition language of the API, as committed in
/// `schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&Limits::default(), &SchemaOptions::default())
        .finish()
        .sdl()
}

/// Builds the per-request data of a GraphQL request.
pub fn prepare_request(
    request: async_graphql::Request,
    db: &DatabaseConnection,
    viewer: crate::auth::Viewer,
) -> async_graphql::Request {
    // The request's pool (primary or replica) shadows the schema's for
    // `ctx.db()` and the loaders.
    request
        .data(admission::RequestSlots::default())
        .data(Loaders::new(db.clone(), &viewer))
        .data(viewer)
        .data(db.clone())
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
