//! Municipal services (tjenester) and the municipalities they cover.

pub mod area;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::enums::{EnrolmentStatus, ServiceKind};
use entity::{network_member, service, service_municipality};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::geography::{Municipality, county_id_by_number, municipality_id_by_number};
use crate::domain::network::{
    Network, NetworkMembership, current_members, is_current, network_id_by_slug, today,
};
use crate::domain::people::Person;
use crate::domain::run::{Enrolment, ProgrammeRun, run_order};
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate, paginate_vec};
use crate::graphql::{ContextExt, id};

pub use area::Area;

/// A municipal service unit, such as a child welfare service
/// (barneverntjeneste), a refugee service or a PP service. A service can be
/// shared by several municipalities (interkommunal tjeneste): it then has a
/// host municipality (vertskommune) and covers all of them.
pub struct Service(pub service::Model);

impl From<service::Model> for Service {
    fn from(m: service::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Service {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Service", self.0.id)
    }
    /// Stable, URL-safe key, e.g. "lier-barneverntjeneste"; use with
    /// `service(slug:)`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The name of the service.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of service it is.
    async fn kind(&self) -> ServiceKind {
        self.0.kind
    }
    /// The host municipality (vertskommune) of a shared service; empty
    /// where it is not known.
    async fn host_municipality(&self, ctx: &Context<'_>) -> ApiResult<Option<Municipality>> {
        match self.0.host_municipality_id {
            Some(id) => Ok(ctx
                .loaders()?
                .municipality
                .load_one(id)
                .await?
                .map(Municipality)),
            None => Ok(None),
        }
    }
    /// The municipalities the service covers, by number. A municipality that
    /// has since ended (e.g. 0821 Bø) is listed as registered; follow its
    /// `mergedInto` to today's municipality.
    async fn municipalities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Municipality>> {
        let loaders = ctx.loaders()?;
        let links: Vec<service_municipality::Model> = loaders
            .coverage_by_service
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let found = loaders
            .municipality
            .load_many(links.iter().map(|l| l.municipality_id))
            .await?;
        let mut list: Vec<Municipality> = links
            .iter()
            .filter_map(|l| found.get(&l.municipality_id).cloned().map(Municipality))
            .collect();
        list.sort_by(|a, b| a.0.number.cmp(&b.0.number));
        Ok(list)
    }
    /// The service's memberships of networks, with their dates, by network
    /// name.
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Also list memberships that have ended.", default = false)] include_former: bool,
    ) -> ApiResult<Vec<NetworkMembership>> {
        let loaders = ctx.loaders()?;
        let rows = memberships(ctx, self.0.id, include_former).await?;
        let networks = loaders
            .network
            .load_many(rows.iter().map(|m| m.network_id))
            .await?;
        let mut rows = rows;
        rows.sort_by(|a, b| {
            let name =
                |m: &network_member::Model| networks.get(&m.network_id).map(|n| n.name.clone());
            name(a).cmp(&name(b)).then(a.id.cmp(&b.id))
        });
        Ok(rows.into_iter().map(NetworkMembership).collect())
    }
    /// The networks the service is a member of, by name.
    async fn networks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Also list networks the service has left.", default = false)]
        include_former: bool,
    ) -> ApiResult<Vec<Network>> {
        let rows = memberships(ctx, self.0.id, include_former).await?;
        let found = ctx
            .loaders()?
            .network
            .load_many(rows.iter().map(|m| m.network_id))
            .await?;
        let mut list: Vec<Network> = found.into_values().map(Network).collect();
        list.sort_by(|a, b| a.0.name.cmp(&b.0.name).then(a.0.id.cmp(&b.0.id)));
        Ok(list)
    }
    /// The service's staff, by name, as far as the viewer may see them (its
    /// LEADER and ADMIN all, STAFF themselves, a PROVIDER those taking part
    /// in its runs; others an empty list).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn staff(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Person>> {
        let rows = ctx
            .loaders()?
            .persons_by_service
            .load_one(self.0.id)
            .await?;
        let items = rows.unwrap_or_default().into_iter().map(Person).collect();
        paginate_vec(
            items,
            "name,id",
            |p: &Person| vec![p.0.name.as_str().into(), p.0.id.into()],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
    }
    /// The service's enrolments (påmeldinger) in programme runs.
    async fn enrolments(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Also list enrolments the service has withdrawn.",
            default = false
        )]
        include_withdrawn: bool,
    ) -> ApiResult<Vec<Enrolment>> {
        let rows = ctx
            .loaders()?
            .enrolments_by_service
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|e| include_withdrawn || e.status == EnrolmentStatus::Enrolled)
            .map(Enrolment)
            .collect())
    }
    /// The programme runs the service is enrolled in (not withdrawn), by
    /// year and start date; runs without dates come last.
    async fn runs(&self, ctx: &Context<'_>) -> ApiResult<Vec<ProgrammeRun>> {
        let loaders = ctx.loaders()?;
        let rows = loaders
            .enrolments_by_service
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let ids = rows
            .iter()
            .filter(|e| e.status == EnrolmentStatus::Enrolled)
            .map(|e| e.run_id);
        let mut runs: Vec<_> = loaders.run.load_many(ids).await?.into_values().collect();
        runs.sort_by(run_order);
        Ok(runs.into_iter().map(ProgrammeRun).collect())
    }
    /// Free-text notes about the service.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Where the record comes from (e.g. the public text it is taken from).
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
}

/// The service's memberships, current ones only unless `include_former`.
async fn memberships(
    ctx: &Context<'_>,
    service_id: uuid::Uuid,
    include_former: bool,
) -> ApiResult<Vec<network_member::Model>> {
    let rows = ctx
        .loaders()?
        .members_by_service
        .load_one(service_id)
        .await?
        .unwrap_or_default();
    let today = today();
    Ok(rows
        .into_iter()
        .filter(|m| include_former || is_current(m, today))
        .collect())
}

/// Which services to list.
#[derive(Debug, Default, InputObject)]
pub struct ServiceFilter {
    /// Part of the name or slug (case-insensitive).
    pub search: Option<String>,
    /// Only services of this kind.
    pub kind: Option<ServiceKind>,
    /// Only services covering this municipality (its global id or four-digit number, e.g.
    /// "4020"), or a municipality that became part of it.
    pub municipality: Option<String>,
    /// Only services covering a municipality of this county (two-digit
    /// number, e.g. "40"), including ended municipalities that are now part
    /// of it.
    pub county: Option<String>,
    /// Only current members of this network (its global id or slug).
    pub network: Option<String>,
}

/// Fields to sort services by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ServiceOrderField {
    /// Name.
    Name,
}

/// Ordering of a service list.
#[derive(Debug, InputObject)]
pub struct ServiceOrder {
    /// The field to sort by.
    pub field: ServiceOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Root fields of the services.
#[derive(Default)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// Municipal services, ordered by name.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn services(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        order_by: Option<ServiceOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Service>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = service::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[service::Column::Name, service::Column::Slug],
        )?);
        if let Some(kind) = filter.kind {
            select = select.filter(service::Column::Kind.eq(kind));
        }
        if let Some(number) = filter.municipality {
            let id = municipality_id_by_number(db, &number, "filter.municipality").await?;
            select = select.filter(
                service::Column::Id.in_subquery(Area::Municipality(id).covering_services()),
            );
        }
        if let Some(number) = filter.county {
            let id = county_id_by_number(db, &number, "filter.county").await?;
            select = select
                .filter(service::Column::Id.in_subquery(Area::County(id).covering_services()));
        }
        if let Some(slug) = filter.network {
            let id = network_id_by_slug(db, &slug, "filter.network").await?;
            select = select.filter(
                service::Column::Id.in_subquery(
                    Query::select()
                        .column(network_member::Column::ServiceId)
                        .from(network_member::Entity)
                        .and_where(network_member::Column::NetworkId.eq(id))
                        .cond_where(current_members(today()))
                        .to_owned(),
                ),
            );
        }
        let (ServiceOrderField::Name, dir) = order_by
            .map_or((ServiceOrderField::Name, OrderDirection::Asc), |o| {
                (o.field, o.direction)
            });
        paginate(
            db,
            select,
            &[by(service::Column::Name, dir), asc(service::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A service by its slug, e.g. `service(slug: "lier-barneverntjeneste")`.
    async fn service(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Service> {
        service::Entity::find()
            .filter(service::Column::Slug.eq(slug))
            .one(ctx.db()?)
            .await?
            .map(Service)
            .ok_or_else(|| ApiError::not_found("service"))
    }
}

/// The id of the service with this slug, or NOT_FOUND.
pub async fn service_id_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    field: &str,
) -> ApiResult<uuid::Uuid> {
    crate::domain::id_by_slug::<service::Entity>(
        db,
        (service::Column::Slug, service::Column::Id),
        (slug, "Service"),
        field,
        "service",
    )
    .await
}

pub use crate::domain::check_slug;
