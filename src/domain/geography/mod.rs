//! Counties (fylker) and municipalities (kommuner), with their history.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::NaiveDate;
use entity::enums::{EnrolmentStatus, MunicipalityChange};
use entity::{
    county, funder_office_county, municipality, municipality_successor, provider_region,
    service_municipality,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::funding::FunderOffice;
use crate::domain::network::Network;
use crate::domain::provider::Provider;
use crate::domain::run::ProgrammeRun;
use crate::domain::service::Service;
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate, paginate_vec};
use crate::graphql::{ContextExt, id};

/// A county (fylke). The 15 counties in force since 1 January 2024 are
/// current; earlier ones are kept with `validTo` and `mergedInto` so that
/// old records keep their meaning.
pub struct County(pub county::Model);

impl From<county::Model> for County {
    fn from(m: county::Model) -> Self {
        Self(m)
    }
}

/// A county (fylke). The 15 counties in force since 1 January 2024 are
/// current; earlier ones are kept with `validTo` and `mergedInto` so that
/// old records keep their meaning.
#[Object]
impl County {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("County", self.0.id)
    }
    /// The two-digit county number, e.g. "40" for Telemark.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The Norwegian name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The official name, with Sami and Kven forms where the county has them.
    async fn official_name(&self) -> &str {
        &self.0.official_name
    }
    /// Residents on 1 January of `populationYear` (sum of its municipalities).
    async fn population(&self) -> Option<i64> {
        self.0.population
    }
    /// The year `population` refers to.
    async fn population_year(&self) -> Option<i32> {
        self.0.population_year
    }
    /// First day in force, where known.
    async fn valid_from(&self) -> Option<NaiveDate> {
        self.0.valid_from
    }
    /// Last day in force; empty for a current county.
    async fn valid_to(&self) -> Option<NaiveDate> {
        self.0.valid_to
    }
    /// Whether the county is in force today.
    async fn is_current(&self) -> bool {
        self.0.valid_to.is_none()
    }
    /// The main county this one became part of, for an ended county.
    async fn merged_into(&self, ctx: &Context<'_>) -> ApiResult<Option<County>> {
        load_county(ctx, self.0.merged_into_id).await
    }
    /// Ended counties that were merged into this one.
    async fn predecessors(&self, ctx: &Context<'_>) -> ApiResult<Vec<County>> {
        let rows = ctx
            .loaders()?
            .counties_merged_into
            .load_one(self.0.id)
            .await?;
        Ok(rows.unwrap_or_default().into_iter().map(County).collect())
    }
    /// The municipalities of the county, by number.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Also list municipalities that no longer exist.",
            default = false
        )]
        include_historic: bool,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Municipality>> {
        let rows = ctx
            .loaders()?
            .municipalities_by_county
            .load_one(self.0.id)
            .await?;
        let items = rows
            .unwrap_or_default()
            .into_iter()
            .filter(|m| include_historic || m.valid_to.is_none())
            .map(Municipality)
            .collect();
        paginate_vec(
            items,
            "number,id",
            |m: &Municipality| vec![m.0.number.as_str().into(), m.0.id.into()],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
    }
    /// The county governor's office (Statsforvalteren) that covers the
    /// county and funds work in it.
    async fn funder_office(&self, ctx: &Context<'_>) -> ApiResult<Option<FunderOffice>> {
        let loaders = ctx.loaders()?;
        let links: Vec<funder_office_county::Model> = loaders
            .office_links_by_county
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        match links.first() {
            Some(link) => Ok(loaders
                .funder_office
                .load_one(link.funder_office_id)
                .await?
                .map(FunderOffice)),
            None => Ok(None),
        }
    }
    /// Regional providers whose region includes the county (e.g. its RVTS).
    async fn regional_providers(&self, ctx: &Context<'_>) -> ApiResult<Vec<Provider>> {
        let loaders = ctx.loaders()?;
        let links: Vec<provider_region::Model> = loaders
            .region_links_by_county
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let found = loaders
            .provider
            .load_many(links.iter().map(|l| l.provider_id))
            .await?;
        Ok(links
            .iter()
            .filter_map(|l| found.get(&l.provider_id).cloned().map(Provider))
            .collect())
    }
    /// Regional networks whose home is the county.
    async fn networks(&self, ctx: &Context<'_>) -> ApiResult<Vec<Network>> {
        let rows = ctx
            .loaders()?
            .networks_by_county
            .load_one(self.0.id)
            .await?;
        Ok(rows.unwrap_or_default().into_iter().map(Network).collect())
    }
}

/// A municipality (kommune). The 357 municipalities in force since
/// 1 January 2024 are current; ended ones (for example Bø and Sauherad,
/// merged into Midt-Telemark in 2020) are kept with their successors.
pub struct Municipality(pub municipality::Model);

impl From<municipality::Model> for Municipality {
    fn from(m: municipality::Model) -> Self {
        Self(m)
    }
}

/// A municipality (kommune). The 357 municipalities in force since
/// 1 January 2024 are current; ended ones (for example Bø and Sauherad,
/// merged into Midt-Telemark in 2020) are kept with their successors.
#[Object]
impl Municipality {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Municipality", self.0.id)
    }
    /// The official four-digit municipality number (kommunenummer); its
    /// first two digits are the county's number.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The Norwegian name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The official name, with Sami or Kven forms where it has them.
    async fn official_name(&self) -> &str {
        &self.0.official_name
    }
    /// A name that is unique nationwide, e.g. "Herøy (Nordland)".
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// The county the municipality belongs (or belonged) to.
    async fn county(&self, ctx: &Context<'_>) -> ApiResult<County> {
        load_county(ctx, Some(self.0.county_id))
            .await?
            .ok_or_else(|| ApiError::internal("municipality without county"))
    }
    /// Residents on 1 January of `populationYear`.
    async fn population(&self) -> Option<i64> {
        self.0.population
    }
    /// The year `population` refers to.
    async fn population_year(&self) -> Option<i32> {
        self.0.population_year
    }
    /// First day in force under this number and name, where known.
    async fn valid_from(&self) -> Option<NaiveDate> {
        self.0.valid_from
    }
    /// Last day in force; empty for a current municipality.
    async fn valid_to(&self) -> Option<NaiveDate> {
        self.0.valid_to
    }
    /// Whether the municipality is in force today.
    async fn is_current(&self) -> bool {
        self.0.valid_to.is_none()
    }
    /// How the municipality ended, for an ended one.
    async fn change_type(&self) -> Option<MunicipalityChange> {
        self.0.change_type
    }
    /// The municipality this one became, when it has exactly one successor
    /// (a merger or a new number). Follow it until `isCurrent` to reach
    /// today's municipality: 0821 Bø → 3817 Midt-Telemark → 4020.
    async fn merged_into(&self, ctx: &Context<'_>) -> ApiResult<Option<Municipality>> {
        let succ = successors(ctx, self.0.id).await?;
        Ok(if succ.len() == 1 {
            succ.into_iter().next()
        } else {
            None
        })
    }
    /// Every municipality this one became (several after a split).
    async fn successors(&self, ctx: &Context<'_>) -> ApiResult<Vec<Municipality>> {
        successors(ctx, self.0.id).await
    }
    /// The municipalities that became this one.
    async fn predecessors(&self, ctx: &Context<'_>) -> ApiResult<Vec<Municipality>> {
        let loaders = ctx.loaders()?;
        let links: Vec<municipality_successor::Model> = loaders
            .predecessors_of_municipality
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let found = loaders
            .municipality
            .load_many(links.iter().map(|l| l.municipality_id))
            .await?;
        Ok(links
            .iter()
            .filter_map(|l| found.get(&l.municipality_id).cloned().map(Municipality))
            .collect())
    }
    /// The services that cover the municipality (a service may cover
    /// several municipalities).
    async fn services(&self, ctx: &Context<'_>) -> ApiResult<Vec<Service>> {
        let loaders = ctx.loaders()?;
        let links: Vec<service_municipality::Model> = loaders
            .coverage_by_municipality
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let found = loaders
            .service
            .load_many(links.iter().map(|l| l.service_id))
            .await?;
        let mut services: Vec<Service> = links
            .iter()
            .filter_map(|l| found.get(&l.service_id).cloned().map(Service))
            .collect();
        services.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(services)
    }
    /// The networks that a service covering the municipality is (or was) a
    /// member of.
    async fn networks(&self, ctx: &Context<'_>) -> ApiResult<Vec<Network>> {
        let loaders = ctx.loaders()?;
        let links: Vec<service_municipality::Model> = loaders
            .coverage_by_municipality
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let memberships = loaders
            .members_by_service
            .load_many(links.iter().map(|l| l.service_id))
            .await?;
        let mut ids: Vec<uuid::Uuid> = memberships
            .values()
            .flatten()
            .map(|m| m.network_id)
            .collect();
        ids.sort();
        ids.dedup();
        let found = loaders.network.load_many(ids.iter().copied()).await?;
        let mut networks: Vec<Network> = found.into_values().map(Network).collect();
        networks.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(networks)
    }
    /// The programme runs that a service covering the municipality is
    /// enrolled in (withdrawn enrolments excluded).
    async fn runs(&self, ctx: &Context<'_>) -> ApiResult<Vec<ProgrammeRun>> {
        let loaders = ctx.loaders()?;
        let links: Vec<service_municipality::Model> = loaders
            .coverage_by_municipality
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let enrolments = loaders
            .enrolments_by_service
            .load_many(links.iter().map(|l| l.service_id))
            .await?;
        let mut ids: Vec<uuid::Uuid> = enrolments
            .values()
            .flatten()
            .filter(|e| e.status == EnrolmentStatus::Enrolled)
            .map(|e| e.run_id)
            .collect();
        ids.sort();
        ids.dedup();
        let found = loaders.run.load_many(ids.iter().copied()).await?;
        let mut runs: Vec<entity::programme_run::Model> = found.into_values().collect();
        runs.sort_by(crate::domain::run::run_order);
        Ok(runs.into_iter().map(ProgrammeRun).collect())
    }
}

async fn load_county(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> ApiResult<Option<County>> {
    match id {
        Some(id) => Ok(ctx.loaders()?.county.load_one(id).await?.map(County)),
        None => Ok(None),
    }
}

async fn successors(ctx: &Context<'_>, id: uuid::Uuid) -> ApiResult<Vec<Municipality>> {
    let loaders = ctx.loaders()?;
    let links: Vec<municipality_successor::Model> = loaders
        .successors_of_municipality
        .load_one(id)
        .await?
        .unwrap_or_default();
    let found = loaders
        .municipality
        .load_many(links.iter().map(|l| l.successor_id))
        .await?;
    Ok(links
        .iter()
        .filter_map(|l| found.get(&l.successor_id).cloned().map(Municipality))
        .collect())
}

/// Which counties to list.
#[derive(Debug, Default, InputObject)]
pub struct CountyFilter {
    /// Part of the name or the official name (case-insensitive).
    pub search: Option<String>,
    /// Also list counties that no longer exist.
    #[graphql(default = false)]
    pub include_historic: bool,
}

/// Fields to sort counties by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CountyOrderField {
    /// County number.
    Number,
    /// Name.
    Name,
    /// Population.
    Population,
}

/// Ordering of a county list.
#[derive(Debug, InputObject)]
pub struct CountyOrder {
    /// What to sort by.
    pub field: CountyOrderField,
    /// Ascending (default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which municipalities to list.
#[derive(Debug, Default, InputObject)]
pub struct MunicipalityFilter {
    /// Part of the name, official name or number.
    pub search: Option<String>,
    /// Only municipalities of this county (its global id or two-digit number, e.g. "40").
    pub county: Option<String>,
    /// Only these municipality numbers.
    pub numbers: Option<Vec<String>>,
    /// Also list municipalities that no longer exist.
    #[graphql(default = false)]
    pub include_historic: bool,
}

/// Fields to sort municipalities by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MunicipalityOrderField {
    /// Municipality number.
    Number,
    /// Name.
    Name,
    /// Population.
    Population,
}

/// Ordering of a municipality list.
#[derive(Debug, InputObject)]
pub struct MunicipalityOrder {
    /// What to sort by.
    pub field: MunicipalityOrderField,
    /// Ascending (default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Root fields of the geography.
#[derive(Default)]
pub struct GeographyQuery;

#[Object]
impl GeographyQuery {
    /// Counties, current ones by default, ordered by number.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn counties(
        &self,
        ctx: &Context<'_>,
        filter: Option<CountyFilter>,
        order_by: Option<CountyOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<County>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = county::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[county::Column::Name, county::Column::OfficialName],
        )?);
        if !filter.include_historic {
            select = select.filter(county::Column::ValidTo.is_null());
        }
        let (field, dir) = order_by.map_or((CountyOrderField::Number, OrderDirection::Asc), |o| {
            (o.field, o.direction)
        });
        let col = match field {
            CountyOrderField::Number => county::Column::Number,
            CountyOrderField::Name => county::Column::Name,
            CountyOrderField::Population => county::Column::Population,
        };
        paginate(
            db,
            select,
            &[by(col, dir), asc(county::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A county by its two-digit number, e.g. `county(number: "40")`.
    async fn county(&self, ctx: &Context<'_>, number: String) -> ApiResult<County> {
        validate_digits(&number, 2, "number")?;
        county::Entity::find()
            .filter(county::Column::Number.eq(number))
            .one(ctx.db()?)
            .await?
            .map(County)
            .ok_or_else(|| ApiError::not_found("county"))
    }

    /// Municipalities, current ones by default, ordered by number.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        filter: Option<MunicipalityFilter>,
        order_by: Option<MunicipalityOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Municipality>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = municipality::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[
                municipality::Column::Name,
                municipality::Column::OfficialName,
                municipality::Column::Number,
            ],
        )?);
        if !filter.include_historic {
            select = select.filter(municipality::Column::ValidTo.is_null());
        }
        if let Some(number) = filter.county {
            let county_id = county_id_by_number(db, &number, "filter.county").await?;
            select = select.filter(municipality::Column::CountyId.eq(county_id));
        }
        if let Some(numbers) = filter.numbers {
            if numbers.len() > 1000 {
                return Err(ApiError::bad_input(
                    "filter.numbers",
                    "at most 1000 numbers",
                ));
            }
            for n in &numbers {
                validate_digits(n, 4, "filter.numbers")?;
            }
            select = select.filter(municipality::Column::Number.is_in(numbers));
        }
        let (field, dir) = order_by
            .map_or((MunicipalityOrderField::Number, OrderDirection::Asc), |o| {
                (o.field, o.direction)
            });
        let col = match field {
            MunicipalityOrderField::Number => municipality::Column::Number,
            MunicipalityOrderField::Name => municipality::Column::Name,
            MunicipalityOrderField::Population => municipality::Column::Population,
        };
        paginate(
            db,
            select,
            &[by(col, dir), asc(municipality::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A municipality by its four-digit number, current or historic, e.g.
    /// `municipality(number: "4020")`.
    async fn municipality(&self, ctx: &Context<'_>, number: String) -> ApiResult<Municipality> {
        validate_digits(&number, 4, "number")?;
        municipality::Entity::find()
            .filter(municipality::Column::Number.eq(number))
            .one(ctx.db()?)
            .await?
            .map(Municipality)
            .ok_or_else(|| ApiError::not_found("municipality"))
    }
}

/// Checks that `value` is exactly `len` ASCII digits.
pub fn validate_digits(value: &str, len: usize, field: &str) -> ApiResult<()> {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must be {len} digits"),
        ))
    }
}

/// The id of the county named by its global id or its two-digit number,
/// or NOT_FOUND naming the field.
pub async fn county_id_by_number(
    db: &impl ConnectionTrait,
    number: &str,
    field: &str,
) -> ApiResult<uuid::Uuid> {
    if let Some(key) = crate::domain::given_id(number, "County", field)? {
        return Ok(key);
    }
    validate_digits(number, 2, field)?;
    county::Entity::find()
        .filter(county::Column::Number.eq(number))
        .one(db)
        .await?
        .map(|c| c.id)
        .ok_or_else(|| ApiError::not_found(format!("county {number}")))
}

/// The id of the municipality named by its global id or its four-digit
/// number, or NOT_FOUND.
pub async fn municipality_id_by_number(
    db: &impl ConnectionTrait,
    number: &str,
    field: &str,
) -> ApiResult<uuid::Uuid> {
    if let Some(key) = crate::domain::given_id(number, "Municipality", field)? {
        return Ok(key);
    }
    validate_digits(number, 4, field)?;
    municipality::Entity::find()
        .filter(municipality::Column::Number.eq(number))
        .one(db)
        .await?
        .map(|m| m.id)
        .ok_or_else(|| ApiError::not_found(format!("municipality {number}")))
}
