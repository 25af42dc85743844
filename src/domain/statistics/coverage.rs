//! Coverage: how much of the country (municipalities and population) the
//! registered runs reach, beside the programmes' own reported milestones.

use async_graphql::{Context, ID, InputObject, Object};
use entity::{milestone, programme_provider, programme_run};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::sql;
use crate::domain::geography::County;
use crate::domain::programme::Milestone;
use crate::domain::write;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;

/// Which runs count for coverage (all optional; without a filter, every
/// registered run). Objects are named by global id or natural key, as in
/// every list filter.
#[derive(Debug, Default, InputObject)]
pub struct CoverageFilter {
    /// Only runs of this programme (a `Programme` id or its slug).
    pub programme: Option<ID>,
    /// Only runs of programmes this provider (a `Provider` id or its slug)
    /// leads or is a partner in.
    pub provider: Option<ID>,
    /// Only runs organised for this network (a `Network` id or its slug).
    pub network: Option<ID>,
    /// Only runs of this (starting) year.
    pub year: Option<i32>,
}

/// The decoded filter.
#[derive(Debug, Clone, Default)]
struct Decoded {
    programme: Option<Uuid>,
    provider: Option<Uuid>,
    network: Option<Uuid>,
    year: Option<i32>,
}

impl CoverageFilter {
    async fn decode(&self, db: &impl ConnectionTrait) -> ApiResult<Decoded> {
        let (programme, provider, network) =
            super::run_refs(db, &self.programme, &self.provider, &self.network).await?;
        Ok(Decoded {
            programme,
            provider,
            network,
            year: self
                .year
                .map(|y| write::year("filter.year", y))
                .transpose()?,
        })
    }
}

fn programmes_of(provider: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(programme_provider::Column::ProgrammeId)
        .from(programme_provider::Entity)
        .and_where(Expr::col(programme_provider::Column::ProviderId).eq(provider))
        .to_owned()
}

impl Decoded {
    /// The condition on the runs (`r`) that count.
    fn runs(&self) -> Condition {
        let r = |c: programme_run::Column| Expr::col((Alias::new("r"), c));
        let mut cond = Condition::all();
        if let Some(id) = self.programme {
            cond = cond.add(r(programme_run::Column::ProgrammeId).eq(id));
        }
        if let Some(id) = self.provider {
            cond = cond.add(r(programme_run::Column::ProgrammeId).in_subquery(programmes_of(id)));
        }
        if let Some(id) = self.network {
            cond = cond.add(r(programme_run::Column::NetworkId).eq(id));
        }
        if let Some(year) = self.year {
            cond = cond.add(r(programme_run::Column::Year).eq(year));
        }
        cond
    }

    /// The milestones reported by the programmes the filter names (all
    /// programmes without a programme, provider or network), in years
    /// that overlap the filter's year.
    fn milestones(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(id) = self.programme {
            cond = cond.add(milestone::Column::ProgrammeId.eq(id));
        }
        if let Some(id) = self.provider {
            cond = cond.add(milestone::Column::ProgrammeId.in_subquery(programmes_of(id)));
        }
        if let Some(id) = self.network {
            cond = cond.add(
                milestone::Column::ProgrammeId.in_subquery(
                    Query::select()
                        .column(programme_run::Column::ProgrammeId)
                        .from(programme_run::Entity)
                        .and_where(Expr::col(programme_run::Column::NetworkId).eq(id))
                        .to_owned(),
                ),
            );
        }
        if let Some(year) = self.year {
            cond = cond.add(milestone::Column::YearFrom.lte(year)).add(
                Condition::any()
                    .add(milestone::Column::YearTo.gte(year))
                    .add(
                        Condition::all()
                            .add(milestone::Column::YearTo.is_null())
                            .add(milestone::Column::YearFrom.eq(year)),
                    ),
            );
        }
        cond
    }
}

/// Reach in one current county.
pub struct CountyCoverage {
    county: Uuid,
    figures: Figures,
}

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    municipalities: i64,
    reached: i64,
    population: i64,
    population_reached: i64,
}

impl Figures {
    fn share(&self) -> Option<f64> {
        (self.population > 0).then(|| self.population_reached as f64 / self.population as f64)
    }
}

/// Reach in one current county: its municipalities and population, and
/// those reached by the runs.
#[Object]
impl CountyCoverage {
    /// The county.
    async fn county(&self, ctx: &Context<'_>) -> ApiResult<County> {
        ctx.loaders()?
            .county
            .load_one(self.county)
            .await?
            .map(County)
            .ok_or_else(|| ApiError::internal("coverage of a missing county"))
    }
    /// Current municipalities in the county.
    async fn municipalities(&self) -> i64 {
        self.figures.municipalities
    }
    /// Of those, the ones reached: covered (registered coverage or host
    /// municipality) by a service enrolled in a matching run.
    async fn municipalities_reached(&self) -> i64 {
        self.figures.reached
    }
    /// Residents of the county's current municipalities (reference data).
    async fn population(&self) -> i64 {
        self.figures.population
    }
    /// Residents of the municipalities reached.
    async fn population_reached(&self) -> i64 {
        self.figures.population_reached
    }
    /// `populationReached` divided by `population`, from 0 to 1 (null
    /// without population figures).
    async fn share(&self) -> Option<f64> {
        self.figures.share()
    }
}

/// How far registered runs reach: current municipalities and their
/// population, nationally and per county, counted from the register (a
/// municipality is reached when a service covering it, by registered
/// coverage or as host municipality, was enrolled in a matching run at any
/// time, even if it later withdrew). Reach is counted on today's
/// municipalities: a service registered for a municipality that has since
/// merged reaches its successor (e.g. Bø → Midt-Telemark → 4020), one that
/// was split reaches each part. The programmes' own reported figures are
/// in `reportedMilestones`, never added into these.
pub struct Coverage {
    national: Figures,
    counties: Vec<(Uuid, Figures)>,
    filter: Decoded,
}

/// How far registered runs reach: current municipalities and their
/// population, nationally and per county, counted from the register (a
/// municipality is reached when a service covering it, by registered
/// coverage or as host municipality, was enrolled in a matching run at any
/// time, even if it later withdrew). Reach is counted on today's
/// municipalities: a service registered for a municipality that has since
/// merged reaches its successor (e.g. Bø → Midt-Telemark → 4020), one that
/// was split reaches each part. The programmes' own reported figures are
/// in `reportedMilestones`, never added into these.
#[Object]
impl Coverage {
    /// Current municipalities in the country.
    async fn municipalities(&self) -> i64 {
        self.national.municipalities
    }
    /// Of those, the ones reached.
    async fn municipalities_reached(&self) -> i64 {
        self.national.reached
    }
    /// Residents of the country (sum over current municipalities).
    async fn population(&self) -> i64 {
        self.national.population
    }
    /// Residents of the municipalities reached.
    async fn population_reached(&self) -> i64 {
        self.national.population_reached
    }
    /// `populationReached` divided by `population`, from 0 to 1.
    async fn share(&self) -> Option<f64> {
        self.national.share()
    }
    /// The same per current county, by county number.
    async fn counties(&self) -> Vec<CountyCoverage> {
        self.counties
            .iter()
            .map(|(county, figures)| CountyCoverage {
                county: *county,
                figures: *figures,
            })
            .collect()
    }
    /// What the programmes selected by the filter (every programme
    /// without a programme, provider or network) report about themselves
    /// (milestones, e.g. "2017–18: nearly 200 services covering nearly 300
    /// municipalities"), in years overlapping the filter's year; by year,
    /// then in each programme's order. Their own account: shown beside
    /// the registered figures above, never counted in them.
    async fn reported_milestones(&self, ctx: &Context<'_>) -> ApiResult<Vec<Milestone>> {
        let rows = milestone::Entity::find()
            .filter(self.filter.milestones())
            .order_by_asc(milestone::Column::YearFrom)
            .order_by_asc(milestone::Column::ProgrammeId)
            .order_by_asc(milestone::Column::Position)
            .order_by_asc(milestone::Column::Id)
            .all(ctx.db()?)
            .await?;
        Ok(rows.into_iter().map(Milestone).collect())
    }
}

/// Computes coverage with one statement (milestones load when asked for).
pub async fn coverage(db: &impl ConnectionTrait, filter: CoverageFilter) -> ApiResult<Coverage> {
    let filter = filter.decode(db).await?;
    let stmt = db
        .get_database_backend()
        .build(&sql::coverage_statement(filter.runs()));
    let rows = db.query_all_raw(stmt).await?;
    let mut national = Figures::default();
    let mut counties = Vec::with_capacity(rows.len());
    for row in rows {
        let n = |name: &str| -> Result<i64, sea_orm::DbErr> {
            Ok(row.try_get::<Option<i64>>("", name)?.unwrap_or(0))
        };
        let figures = Figures {
            municipalities: n("municipalities")?,
            reached: n("reached")?,
            population: n("population")?,
            population_reached: n("population_reached")?,
        };
        national.municipalities += figures.municipalities;
        national.reached += figures.reached;
        national.population += figures.population;
        national.population_reached += figures.population_reached;
        counties.push((row.try_get::<Uuid>("", "county_id")?, figures));
    }
    Ok(Coverage {
        national,
        counties,
        filter,
    })
}
