//! Learning and leader networks and their member services.

pub mod write;

use std::collections::BTreeSet;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::NaiveDate;
use entity::enums::{NetworkKind, NetworkScope};
use entity::{network, network_member};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::geography::{
    County, Municipality, county_id_by_number, municipality_id_by_number,
};
use crate::domain::run::{ProgrammeRun, RUN_ORDER, run_key};
use crate::domain::service::{Area, Service, service_id_by_slug};
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate, paginate_vec};
use crate::graphql::{ContextExt, id};

/// A network of services that develop competence together: a learning
/// network (læringsnettverk) or a leader network (ledernettverk), regional
/// or national. Programmes are often run for a network.
pub struct Network(pub network::Model);

impl From<network::Model> for Network {
    fn from(m: network::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Network {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Network", self.0.id)
    }
    /// Stable, URL-safe key; use with `network(slug:)`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The name of the network, e.g. "Læringsnettverk Viken".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Learning network or leader network.
    async fn kind(&self) -> NetworkKind {
        self.0.kind
    }
    /// Regional or national.
    async fn scope(&self) -> NetworkScope {
        self.0.scope
    }
    /// The county a regional network belongs to, where registered.
    async fn county(&self, ctx: &Context<'_>) -> ApiResult<Option<County>> {
        match self.0.county_id {
            Some(id) => Ok(ctx.loaders()?.county.load_one(id).await?.map(County)),
            None => Ok(None),
        }
    }
    /// The service that coordinates the network, where registered.
    async fn coordinator(&self, ctx: &Context<'_>) -> ApiResult<Option<Service>> {
        match self.0.coordinator_service_id {
            Some(id) => Ok(ctx.loaders()?.service.load_one(id).await?.map(Service)),
            None => Ok(None),
        }
    }
    /// What the network is and does.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The number of members a source reports, where the members are not
    /// named (e.g. "contact persons from seven child welfare services").
    /// Compare `memberCount`, the members registered here.
    async fn reported_member_count(&self) -> Option<i32> {
        self.0.reported_member_count
    }
    /// The member services' memberships, by service name.
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Also list services that have left the network.",
            default = false
        )]
        include_former: bool,
    ) -> ApiResult<Vec<NetworkMembership>> {
        let loaders = ctx.loaders()?;
        let rows = members(ctx, self.0.id, include_former).await?;
        let services = loaders
            .service
            .load_many(rows.iter().map(|m| m.service_id))
            .await?;
        let mut rows = rows;
        rows.sort_by(|a, b| {
            let name =
                |m: &network_member::Model| services.get(&m.service_id).map(|s| s.name.clone());
            name(a).cmp(&name(b)).then(a.id.cmp(&b.id))
        });
        Ok(rows.into_iter().map(NetworkMembership).collect())
    }
    /// How many services are registered as current members. May be 0 where
    /// a source reports members without naming them (see
    /// `reportedMemberCount`).
    async fn member_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let rows = members(ctx, self.0.id, false).await?;
        let distinct: BTreeSet<uuid::Uuid> = rows.iter().map(|m| m.service_id).collect();
        Ok(i32::try_from(distinct.len()).unwrap_or(i32::MAX))
    }
    /// The municipalities covered by the current member services, each once,
    /// by number. Use `county` to keep those of one county, e.g. "which
    /// municipalities of Telemark take part": an ended municipality counts as
    /// in the county its successor is in (0821 Bø → 4020 Midt-Telemark, 40).
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only municipalities of this county (two-digit number, e.g. \"40\").")]
        county: Option<String>,
    ) -> ApiResult<Vec<Municipality>> {
        let loaders = ctx.loaders()?;
        let rows = members(ctx, self.0.id, false).await?;
        let coverage = loaders
            .coverage_by_service
            .load_many(rows.iter().map(|m| m.service_id))
            .await?;
        let ids: BTreeSet<uuid::Uuid> = coverage
            .values()
            .flatten()
            .map(|l| l.municipality_id)
            .collect();
        let found = loaders.municipality.load_many(ids.iter().copied()).await?;
        let mut list: Vec<_> = found.into_values().collect();
        if let Some(number) = county {
            crate::domain::geography::validate_digits(&number, 2, "county")?;
            let keep = in_county(ctx, &list, &number).await?;
            list.retain(|m| keep.contains(&m.id));
        }
        list.sort_by(|a, b| a.number.cmp(&b.number).then(a.id.cmp(&b.id)));
        Ok(list.into_iter().map(Municipality).collect())
    }
    /// The programme runs organised in the network, by year and start date;
    /// runs without dates come last.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<ProgrammeRun>> {
        let rows = ctx
            .loaders()?
            .runs_by_network
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let items = rows.into_iter().map(ProgrammeRun).collect();
        paginate_vec(
            items,
            RUN_ORDER,
            run_key,
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
    }
    /// Where the record comes from (e.g. the public text it is taken from).
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// The network's memberships, current ones only unless `include_former`.
async fn members(
    ctx: &Context<'_>,
    network_id: uuid::Uuid,
    include_former: bool,
) -> ApiResult<Vec<network_member::Model>> {
    let rows = ctx
        .loaders()?
        .members_by_network
        .load_one(network_id)
        .await?
        .unwrap_or_default();
    let today = today();
    Ok(rows
        .into_iter()
        .filter(|m| include_former || is_current(m, today))
        .collect())
}

/// The ids among `list` of the municipalities that lie in the county with
/// this number, or whose successors (followed as in
/// [`crate::domain::service::area`]) do. One batched load per step.
async fn in_county(
    ctx: &Context<'_>,
    list: &[entity::municipality::Model],
    number: &str,
) -> ApiResult<BTreeSet<uuid::Uuid>> {
    let loaders = ctx.loaders()?;
    let mut keep = BTreeSet::new();
    // (the municipality asked about, a municipality it is or became)
    let mut frontier: Vec<(uuid::Uuid, entity::municipality::Model)> =
        list.iter().map(|m| (m.id, m.clone())).collect();
    for step in 0..=crate::domain::service::area::HISTORY_DEPTH {
        let counties = loaders
            .county
            .load_many(frontier.iter().map(|(_, m)| m.county_id))
            .await?;
        for (origin, m) in &frontier {
            if counties
                .get(&m.county_id)
                .is_some_and(|c| c.number == number)
            {
                keep.insert(*origin);
            }
        }
        frontier.retain(|(origin, _)| !keep.contains(origin));
        if frontier.is_empty() || step == crate::domain::service::area::HISTORY_DEPTH {
            break;
        }
        let links = loaders
            .successors_of_municipality
            .load_many(frontier.iter().map(|(_, m)| m.id))
            .await?;
        let successors = loaders
            .municipality
            .load_many(links.values().flatten().map(|l| l.successor_id))
            .await?;
        frontier = frontier
            .iter()
            .flat_map(|(origin, m)| {
                links
                    .get(&m.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|l| successors.get(&l.successor_id))
                    .map(move |s| (*origin, s.clone()))
            })
            .collect();
    }
    Ok(keep)
}

/// A service's membership of a network, with its dates.
pub struct NetworkMembership(pub network_member::Model);

impl From<network_member::Model> for NetworkMembership {
    fn from(m: network_member::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl NetworkMembership {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("NetworkMembership", self.0.id)
    }
    /// The network.
    async fn network(&self, ctx: &Context<'_>) -> ApiResult<Network> {
        ctx.loaders()?
            .network
            .load_one(self.0.network_id)
            .await?
            .map(Network)
            .ok_or_else(|| ApiError::internal("membership without network"))
    }
    /// The member service.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Service> {
        ctx.loaders()?
            .service
            .load_one(self.0.service_id)
            .await?
            .map(Service)
            .ok_or_else(|| ApiError::internal("membership without service"))
    }
    /// When the service joined, where known.
    async fn joined_on(&self) -> Option<NaiveDate> {
        self.0.joined_on
    }
    /// When the service left; empty while it is a member.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }
    /// Whether the service is a member today: it has joined (or the date is
    /// not known) and has not left (`leftOn` empty or later than today).
    async fn is_active(&self) -> bool {
        is_current(&self.0, today())
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Today's date, the reference for "current" memberships.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Whether a membership is in force on `day`: joined on or before it (or
/// joining date unknown) and not left on or before it.
pub fn is_current(m: &network_member::Model, day: NaiveDate) -> bool {
    m.joined_on.is_none_or(|d| d <= day) && m.left_on.is_none_or(|d| d > day)
}

/// [`is_current`] as a SQL condition on `network_member`.
pub fn current_members(day: NaiveDate) -> Condition {
    Condition::all()
        .add(
            Condition::any()
                .add(network_member::Column::JoinedOn.is_null())
                .add(network_member::Column::JoinedOn.lte(day)),
        )
        .add(
            Condition::any()
                .add(network_member::Column::LeftOn.is_null())
                .add(network_member::Column::LeftOn.gt(day)),
        )
}

/// The ids of networks with a current member service in `area`.
fn networks_with_members_in(area: &Area) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .distinct()
        .column(network_member::Column::NetworkId)
        .from(network_member::Entity)
        .cond_where(current_members(today()))
        .and_where(network_member::Column::ServiceId.in_subquery(area.covering_services()))
        .to_owned()
}

/// A condition on `network`: the network belongs to the area — for a
/// county, its home county is that county — or a current member service
/// covers a municipality in it.
pub fn networks_in(area: &Area) -> Condition {
    let members = network::Column::Id.in_subquery(networks_with_members_in(area));
    match *area {
        Area::County(id) => Condition::any()
            .add(network::Column::CountyId.eq(id))
            .add(members),
        Area::Municipality(_) => Condition::all().add(members),
    }
}

/// Which networks to list.
#[derive(Debug, Default, InputObject)]
pub struct NetworkFilter {
    /// Part of the name or slug (case-insensitive).
    pub search: Option<String>,
    /// Only networks of this kind.
    pub kind: Option<NetworkKind>,
    /// Only regional or only national networks.
    pub scope: Option<NetworkScope>,
    /// Only networks of this county (its global id or two-digit number, e.g. "40"): those
    /// whose home is the county, and those with a current member service
    /// covering a municipality of it (or one that became part of it).
    pub county: Option<String>,
    /// Only networks with a current member service covering this
    /// municipality (its global id or four-digit number), or one that became part of it.
    pub municipality: Option<String>,
    /// Only networks this service (its global id or slug) is a current member of.
    pub service: Option<String>,
}

/// Fields to sort networks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum NetworkOrderField {
    /// Name.
    Name,
}

/// Ordering of a network list.
#[derive(Debug, InputObject)]
pub struct NetworkOrder {
    /// The field to sort by.
    pub field: NetworkOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Root fields of the networks.
#[derive(Default)]
pub struct NetworkQuery;

#[Object]
impl NetworkQuery {
    /// Learning and leader networks, ordered by name. For example the
    /// learning networks taking part in Telemark:
    /// `networks(filter: {county: "40", kind: LEARNING_NETWORK}) { nodes {
    /// name municipalities(county: "40") { number name } } }`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn networks(
        &self,
        ctx: &Context<'_>,
        filter: Option<NetworkFilter>,
        order_by: Option<NetworkOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Network>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = network::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[network::Column::Name, network::Column::Slug],
        )?);
        if let Some(kind) = filter.kind {
            select = select.filter(network::Column::Kind.eq(kind));
        }
        if let Some(scope) = filter.scope {
            select = select.filter(network::Column::Scope.eq(scope));
        }
        if let Some(number) = filter.county {
            let id = county_id_by_number(db, &number, "filter.county").await?;
            select = select.filter(networks_in(&Area::County(id)));
        }
        if let Some(number) = filter.municipality {
            let id = municipality_id_by_number(db, &number, "filter.municipality").await?;
            select = select.filter(networks_in(&Area::Municipality(id)));
        }
        if let Some(slug) = filter.service {
            let id = service_id_by_slug(db, &slug, "filter.service").await?;
            select = select.filter(
                network::Column::Id.in_subquery(
                    Query::select()
                        .column(network_member::Column::NetworkId)
                        .from(network_member::Entity)
                        .and_where(network_member::Column::ServiceId.eq(id))
                        .cond_where(current_members(today()))
                        .to_owned(),
                ),
            );
        }
        let (NetworkOrderField::Name, dir) = order_by
            .map_or((NetworkOrderField::Name, OrderDirection::Asc), |o| {
                (o.field, o.direction)
            });
        paginate(
            db,
            select,
            &[by(network::Column::Name, dir), asc(network::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A network by its slug.
    async fn network(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Network> {
        network::Entity::find()
            .filter(network::Column::Slug.eq(slug))
            .one(ctx.db()?)
            .await?
            .map(Network)
            .ok_or_else(|| ApiError::not_found("network"))
    }
}

/// The id of the network with this slug, or NOT_FOUND.
pub async fn network_id_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    field: &str,
) -> ApiResult<uuid::Uuid> {
    crate::domain::id_by_slug::<network::Entity>(
        db,
        (network::Column::Slug, network::Column::Id),
        (slug, "Network"),
        field,
        "network",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn membership(joined: Option<&str>, left: Option<&str>) -> network_member::Model {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        network_member::Model {
            id: uuid::Uuid::nil(),
            network_id: uuid::Uuid::nil(),
            service_id: uuid::Uuid::nil(),
            joined_on: joined.map(d),
            left_on: left.map(d),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn current_membership() {
        let day: NaiveDate = "2024-06-01".parse().unwrap();
        assert!(is_current(&membership(None, None), day));
        assert!(is_current(&membership(Some("2022-01-01"), None), day));
        assert!(is_current(
            &membership(Some("2024-06-01"), Some("2024-06-02")),
            day
        ));
        assert!(
            !is_current(&membership(Some("2024-06-02"), None), day),
            "not joined yet"
        );
        assert!(
            !is_current(&membership(Some("2022-01-01"), Some("2024-06-01")), day),
            "left that day"
        );
        assert!(!is_current(&membership(None, Some("2023-01-01")), day));
    }

    #[test]
    fn county_networks_sql() {
        let day: NaiveDate = "2024-06-01".parse().unwrap();
        let q = Query::select()
            .column(network::Column::Id)
            .from(network::Entity)
            .cond_where(networks_in(&Area::County(uuid::Uuid::nil())))
            .cond_where(current_members(day))
            .to_owned();
        for sql in [
            q.to_string(SqliteQueryBuilder),
            q.to_string(PostgresQueryBuilder),
        ] {
            assert!(sql.contains("\"county_id\" ="), "{sql}");
            assert!(sql.contains("\"left_on\" IS NULL"), "{sql}");
            assert!(sql.contains(" OR "), "{sql}");
        }
    }
}
