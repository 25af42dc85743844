//! Funder offices (Statsforvalteren, the county governors) and the grants
//! they decide.
//!
//! Offices are public catalogue data. Grants are readable only by the
//! parties to them (see [`crate::auth::policy::visible_grants`]): the row
//! rule is part of every grant query, so counts and pages never reveal a
//! grant the viewer may not see.

use async_graphql::{Context, Enum, ID, InputObject, Object, Union};
use chrono::{DateTime, Utc};
use entity::enums::GrantStatus;
use entity::{funder_office, funder_office_county, funding_grant};
use sea_orm::sea_query::{ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::{Viewer, policy};
use crate::domain::geography::{County, Municipality, county_id_by_number};
use crate::domain::money::Kroner;
use crate::domain::network::Network;
use crate::domain::programme::{Programme, programme_id_by_slug};
use crate::domain::run::ProgrammeRun;
use crate::domain::service::Service;
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate};
use crate::graphql::{ContextExt, id};

mod sql;
pub mod totals;
pub mod write;

pub use totals::{GrantDimension, GrantTotal};

/// A county governor's office (Statsforvalteren). It covers one or more
/// counties and funds competence work in them.
pub struct FunderOffice(pub funder_office::Model);

impl From<funder_office::Model> for FunderOffice {
    fn from(m: funder_office::Model) -> Self {
        Self(m)
    }
}

/// A county governor's office (Statsforvalteren). It covers one or more
/// counties and funds competence work in them.
#[Object]
impl FunderOffice {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("FunderOffice", self.0.id)
    }
    /// The office's nine-digit organisation number.
    async fn org_number(&self) -> &str {
        &self.0.org_number
    }
    /// The office's name, e.g. "Statsforvalteren i Innlandet".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The name in the Central Coordinating Register (some offices
    /// register a nynorsk form, "Statsforvaltaren i …").
    async fn registered_name(&self) -> &str {
        &self.0.registered_name
    }
    /// Earlier names of the office (e.g. "Fylkesmannen i …" before 2021),
    /// useful when matching older documents.
    async fn former_names(&self) -> Vec<String> {
        entity::decode_json_list(&self.0.former_names)
    }
    /// The counties the office covers.
    async fn counties(&self, ctx: &Context<'_>) -> ApiResult<Vec<County>> {
        let loaders = ctx.loaders()?;
        let links: Vec<funder_office_county::Model> = loaders
            .office_links_by_office
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let found = loaders
            .county
            .load_many(links.iter().map(|l| l.county_id))
            .await?;
        let mut counties: Vec<County> = links
            .iter()
            .filter_map(|l| found.get(&l.county_id).cloned().map(County))
            .collect();
        counties.sort_by(|a, b| a.0.number.cmp(&b.0.number));
        Ok(counties)
    }
}

/// Who receives a grant.
#[derive(Union)]
pub enum GrantRecipient {
    /// A municipal service.
    Service(Service),
    /// A municipality.
    Municipality(Municipality),
    /// A network of services.
    Network(Network),
}

/// A grant application to a funder office and its decision: recipient,
/// purpose, year, amounts in whole kroner and status
/// (DRAFT → SUBMITTED → GRANTED/REJECTED → PAID → REPORTED, or WITHDRAWN).
/// An amount is empty where it is not known (the public texts rarely name
/// one).
pub struct Grant(pub funding_grant::Model);

impl From<funding_grant::Model> for Grant {
    fn from(m: funding_grant::Model) -> Self {
        Self(m)
    }
}

/// A grant application to a funder office and its decision: recipient,
/// purpose, year, amounts in whole kroner and status
/// (DRAFT → SUBMITTED → GRANTED/REJECTED → PAID → REPORTED, or WITHDRAWN).
/// An amount is empty where it is not known (the public texts rarely name
/// one).
#[Object]
impl Grant {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Grant", self.0.id)
    }
    /// The office the application is addressed to.
    async fn funder_office(&self, ctx: &Context<'_>) -> ApiResult<FunderOffice> {
        ctx.loaders()?
            .funder_office
            .load_one(self.0.funder_office_id)
            .await?
            .map(FunderOffice)
            .ok_or_else(|| ApiError::internal("grant without funder office"))
    }
    /// The service, municipality or network that receives the grant.
    async fn recipient(&self, ctx: &Context<'_>) -> ApiResult<Option<GrantRecipient>> {
        let l = ctx.loaders()?;
        let m = &self.0;
        if let Some(id) = m.recipient_service_id {
            return Ok(l
                .service
                .load_one(id)
                .await?
                .map(|s| GrantRecipient::Service(s.into())));
        }
        if let Some(id) = m.recipient_municipality_id {
            return Ok(l
                .municipality
                .load_one(id)
                .await?
                .map(|s| GrantRecipient::Municipality(s.into())));
        }
        if let Some(id) = m.recipient_network_id {
            return Ok(l
                .network
                .load_one(id)
                .await?
                .map(|s| GrantRecipient::Network(s.into())));
        }
        Ok(None)
    }
    /// The programme run the grant pays for, where it names one.
    async fn run(&self, ctx: &Context<'_>) -> ApiResult<Option<ProgrammeRun>> {
        match self.0.run_id {
            Some(id) => Ok(ctx.loaders()?.run.load_one(id).await?.map(Into::into)),
            None => Ok(None),
        }
    }
    /// The programme the grant pays for, where it names one.
    async fn programme(&self, ctx: &Context<'_>) -> ApiResult<Option<Programme>> {
        match self.0.programme_id {
            Some(id) => Ok(ctx.loaders()?.programme.load_one(id).await?.map(Into::into)),
            None => Ok(None),
        }
    }
    /// What the money is for.
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    /// The budget year.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// Kroner applied for (null where not known).
    async fn amount_applied(&self) -> Option<Kroner> {
        self.0.amount_applied.map(Kroner)
    }
    /// Kroner granted (may be less than applied for); set by the decision
    /// to grant, null before and for a rejection.
    async fn amount_granted(&self) -> Option<Kroner> {
        self.0.amount_granted.map(Kroner)
    }
    /// Where the application stands.
    async fn status(&self) -> GrantStatus {
        self.0.status
    }
    /// The office's reason, for a rejected application.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    /// When the application was submitted.
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    /// When the office decided.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// When the grant was paid.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// When the recipient reported on the use of the grant.
    async fn reported_at(&self) -> Option<DateTime<Utc>> {
        self.0.reported_at
    }
    /// The recipient's report: what was done.
    async fn report_text(&self) -> Option<&str> {
        self.0.report_text.as_deref()
    }
    /// How many took part, as reported by the recipient.
    async fn report_participants(&self) -> Option<i32> {
        self.0.report_participants
    }
    /// The public text the grant is recorded from, for demo data.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Which funder offices to list.
#[derive(Debug, Default, InputObject)]
pub struct FunderOfficeFilter {
    /// Part of the name, registered name or a former name.
    pub search: Option<String>,
    /// Only the office covering this county (its global id or two-digit number).
    pub county: Option<String>,
}

/// Fields to sort funder offices by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FunderOfficeOrderField {
    /// Name.
    Name,
    /// Organisation number.
    OrgNumber,
}

/// Ordering of a funder office list.
#[derive(Debug, InputObject)]
pub struct FunderOfficeOrder {
    /// What to sort by.
    pub field: FunderOfficeOrderField,
    /// Ascending (default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which grants to list or total (within those the viewer may see). All
/// given criteria must hold.
#[derive(Debug, Default, InputObject)]
pub struct GrantFilter {
    /// Only grants to this office (its global id or organisation number).
    pub funder_office: Option<String>,
    /// Only grants whose recipient is in this county (its global id or two-digit number):
    /// the recipient municipality's county, the recipient network's
    /// county, or the county of the recipient service's host municipality.
    pub county: Option<String>,
    /// Only grants to this recipient: the global id of a `Service`, a
    /// `Municipality` or a `Network` (global ids only: the three share no
    /// natural key).
    pub recipient: Option<ID>,
    /// Only grants naming this run (global id of a `ProgrammeRun`).
    pub run: Option<ID>,
    /// Only grants for this programme (its global id or slug): naming it, or naming one
    /// of its runs.
    pub programme: Option<String>,
    /// Only grants of this budget year.
    pub year: Option<i32>,
    /// Only grants in one of these statuses.
    pub status: Option<Vec<GrantStatus>>,
}

impl GrantFilter {
    /// The filter and the viewer's row rule as one SQL condition on
    /// `funding_grant`.
    pub async fn condition(
        self,
        db: &impl ConnectionTrait,
        viewer: &Viewer,
    ) -> ApiResult<Condition> {
        let mut cond = Condition::all().add(policy::visible_grants(viewer));
        if let Some(org) = self.funder_office {
            if let Some(key) = crate::domain::given_id(&org, "FunderOffice", "filter.funderOffice")?
            {
                cond = cond.add(funding_grant::Column::FunderOfficeId.eq(key));
            } else {
                let org = normalise_org_number(&org, "filter.funderOffice")?;
                cond = cond.add(
                    funding_grant::Column::FunderOfficeId.in_subquery(
                        Query::select()
                            .column(funder_office::Column::Id)
                            .from(funder_office::Entity)
                            .and_where(funder_office::Column::OrgNumber.eq(org))
                            .to_owned(),
                    ),
                );
            }
        }
        if let Some(number) = self.county {
            let county_id = county_id_by_number(db, &number, "filter.county").await?;
            cond = cond.add(sql::recipient_county().eq(county_id));
        }
        if let Some(recipient) = self.recipient {
            let (kind, key) = id::decode(&recipient, "filter.recipient")?;
            let col = match kind.as_str() {
                "Service" => funding_grant::Column::RecipientServiceId,
                "Municipality" => funding_grant::Column::RecipientMunicipalityId,
                "Network" => funding_grant::Column::RecipientNetworkId,
                other => {
                    return Err(ApiError::bad_input(
                        "filter.recipient",
                        format!(
                            "`filter.recipient` is the id of a {other}, expected a Service, Municipality or Network"
                        ),
                    ));
                }
            };
            cond = cond.add(col.eq(key));
        }
        if let Some(run) = self.run {
            let run_id = id::decode_as(&run, "ProgrammeRun", "filter.run")?;
            cond = cond.add(funding_grant::Column::RunId.eq(run_id));
        }
        if let Some(slug) = self.programme {
            let programme_id = programme_id_by_slug(db, &slug, "filter.programme").await?;
            cond = cond.add(sql::grant_programme().eq(programme_id));
        }
        if let Some(year) = self.year {
            cond = cond.add(funding_grant::Column::Year.eq(year));
        }
        if let Some(statuses) = self.status {
            cond = cond.add(funding_grant::Column::Status.is_in(statuses));
        }
        Ok(cond)
    }
}

/// Fields to sort grants by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum GrantOrderField {
    /// Budget year.
    Year,
    /// Amount applied for.
    AmountApplied,
    /// Amount granted.
    AmountGranted,
}

/// Ordering of a grant list.
#[derive(Debug, InputObject)]
pub struct GrantOrder {
    /// What to sort by.
    pub field: GrantOrderField,
    /// Ascending (default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Root fields of funding.
#[derive(Default)]
pub struct FundingQuery;

#[Object]
impl FundingQuery {
    /// The county governors' offices, by name.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn funder_offices(
        &self,
        ctx: &Context<'_>,
        filter: Option<FunderOfficeFilter>,
        order_by: Option<FunderOfficeOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<FunderOffice>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = funder_office::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[
                funder_office::Column::Name,
                funder_office::Column::RegisteredName,
                funder_office::Column::FormerNames,
            ],
        )?);
        if let Some(number) = filter.county {
            let county_id = county_id_by_number(db, &number, "filter.county").await?;
            select = select.filter(
                funder_office::Column::Id.in_subquery(
                    Query::select()
                        .column(funder_office_county::Column::FunderOfficeId)
                        .from(funder_office_county::Entity)
                        .and_where(funder_office_county::Column::CountyId.eq(county_id))
                        .to_owned(),
                ),
            );
        }
        let (field, dir) = order_by
            .map_or((FunderOfficeOrderField::Name, OrderDirection::Asc), |o| {
                (o.field, o.direction)
            });
        let col = match field {
            FunderOfficeOrderField::Name => funder_office::Column::Name,
            FunderOfficeOrderField::OrgNumber => funder_office::Column::OrgNumber,
        };
        paginate(
            db,
            select,
            &[by(col, dir), asc(funder_office::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A funder office by its organisation number (spaces allowed).
    async fn funder_office(
        &self,
        ctx: &Context<'_>,
        org_number: String,
    ) -> ApiResult<FunderOffice> {
        let org = normalise_org_number(&org_number, "orgNumber")?;
        funder_office::Entity::find()
            .filter(funder_office::Column::OrgNumber.eq(org))
            .one(ctx.db()?)
            .await?
            .map(FunderOffice)
            .ok_or_else(|| ApiError::not_found("funder office"))
    }

    /// Grants the viewer may see (an anonymous viewer sees none), newest
    /// year first by default.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn grants(
        &self,
        ctx: &Context<'_>,
        filter: Option<GrantFilter>,
        order_by: Option<GrantOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Grant>> {
        let db = ctx.db()?;
        let viewer = crate::auth::viewer(ctx)?;
        let condition = filter.unwrap_or_default().condition(db, viewer).await?;
        let select = funding_grant::Entity::find().filter(condition);
        let (field, dir) = order_by.map_or((GrantOrderField::Year, OrderDirection::Desc), |o| {
            (o.field, o.direction)
        });
        let col = match field {
            GrantOrderField::Year => funding_grant::Column::Year,
            GrantOrderField::AmountApplied => funding_grant::Column::AmountApplied,
            GrantOrderField::AmountGranted => funding_grant::Column::AmountGranted,
        };
        paginate(
            db,
            select,
            &[by(col, dir), asc(funding_grant::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// Totals of the grants the viewer may see (and `filter` selects),
    /// grouped by the dimensions in `groupBy` — e.g. `[OFFICE, YEAR]` gives
    /// one row per office and year that has grants. An empty `groupBy`
    /// gives one row over all of them. Amounts are whole kroner, summed in
    /// the database; rows come ordered by their keys. Participants are
    /// protected like every figure about people (see
    /// `GrantTotal.participants`).
    #[graphql(complexity = "crate::graphql::cost::grant_totals(group_by.len(), child_complexity)")]
    async fn grant_totals(
        &self,
        ctx: &Context<'_>,
        filter: Option<GrantFilter>,
        group_by: Vec<GrantDimension>,
    ) -> ApiResult<Vec<GrantTotal>> {
        let turn = crate::graphql::admission::heavy(ctx).await?;
        let db = ctx.db()?;
        let viewer = crate::auth::viewer(ctx)?;
        let condition = filter.unwrap_or_default().condition(db, viewer).await?;
        let rows = totals::totals(db, viewer, condition, &group_by).await?;
        turn.spend_rows(rows.len())?;
        Ok(rows)
    }
}

/// An organisation number without spaces, checked to be nine digits.
pub fn normalise_org_number(raw: &str, field: &str) -> ApiResult<String> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must be a nine-digit organisation number"),
        ))
    }
}
