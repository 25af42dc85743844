//! Milestones: the dated facts and figures a programme reports about
//! itself.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::enums::FigureQualifier;
use entity::milestone;
use sea_orm::{ColumnTrait, Condition};

use super::Programme;
use crate::domain::OrderDirection;
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// A dated fact or figure that a programme reports about itself (a
/// milestone), e.g. "2015: 130 services took part" or "21 regional Kick
/// gatherings". Milestones are the programme's own account, taken from its
/// public texts (see `source`); they are not registered data and are not
/// counted in any statistics. Registered deliveries are the programme's
/// runs.
pub struct Milestone(pub milestone::Model);

impl From<milestone::Model> for Milestone {
    fn from(m: milestone::Model) -> Self {
        Self(m)
    }
}

/// A dated fact or figure that a programme reports about itself (a
/// milestone), e.g. "2015: 130 services took part" or "21 regional Kick
/// gatherings". Milestones are the programme's own account, taken from its
/// public texts (see `source`); they are not registered data and are not
/// counted in any statistics. Registered deliveries are the programme's
/// runs.
#[Object]
impl Milestone {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Milestone", self.0.id)
    }
    /// The programme that reports the milestone.
    async fn programme(&self, ctx: &Context<'_>) -> ApiResult<Programme> {
        ctx.loaders()?
            .programme
            .load_one(self.0.programme_id)
            .await?
            .map(Programme)
            .ok_or_else(|| ApiError::internal("milestone without programme"))
    }
    /// The milestone's place in the programme's history (1, 2, …).
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The first (or only) year the milestone refers to.
    async fn year_from(&self) -> i32 {
        self.0.year_from
    }
    /// The last year, for a milestone that spans several years; empty for
    /// a single year.
    async fn year_to(&self) -> Option<i32> {
        self.0.year_to
    }
    /// The years for display: "2015", or "2017–2018" for a span.
    async fn period(&self) -> String {
        period(self.0.year_from, self.0.year_to)
    }
    /// What the programme reports, in prose.
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// The reported figure, if the milestone states one (e.g. 130). Read it
    /// with `unit` and `qualifier`: "nearly 200 services".
    async fn figure(&self) -> Option<i64> {
        self.0.figure
    }
    /// What the figure counts, e.g. "services" or "municipalities".
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    /// How precise the figure is as the source states it (exact, about,
    /// nearly, more than, at least).
    async fn qualifier(&self) -> Option<FigureQualifier> {
        self.0.qualifier
    }
    /// The public text the milestone is taken from.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// The years of a milestone for display: "2015", or "2017–2018" (with an
/// en dash) for a span.
pub fn period(year_from: i32, year_to: Option<i32>) -> String {
    match year_to {
        Some(to) if to != year_from => format!("{year_from}–{to}"),
        _ => year_from.to_string(),
    }
}

/// Which milestones to list.
#[derive(Debug, Default, InputObject)]
pub struct MilestoneFilter {
    /// Part of the text (case-insensitive).
    pub search: Option<String>,
    /// Only milestones of this programme (its global id or slug).
    pub programme: Option<String>,
    /// Only milestones that refer to this year or later (a span counts when
    /// it ends in or after it).
    pub year_from: Option<i32>,
    /// Only milestones that refer to this year or earlier (a span counts
    /// when it starts in or before it).
    pub year_to: Option<i32>,
}

/// Fields to sort milestones by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MilestoneOrderField {
    /// First year, then the programme's own order.
    Year,
}

/// Ordering of a milestone list.
#[derive(Debug, InputObject)]
pub struct MilestoneOrder {
    /// What to sort by.
    pub field: MilestoneOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Years accepted by filters.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// Checks a year given as a filter value.
pub(super) fn check_year(year: i32, field: &str) -> ApiResult<()> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            field,
            format!(
                "`{field}` must be a year from {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        ))
    }
}

/// The condition that a milestone's years overlap `[from, to]` (either end
/// open).
pub(super) fn years_overlap(from: Option<i32>, to: Option<i32>) -> ApiResult<Condition> {
    if let Some(from) = from {
        check_year(from, "filter.yearFrom")?;
    }
    if let Some(to) = to {
        check_year(to, "filter.yearTo")?;
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::bad_input(
            "filter.yearTo",
            "`filter.yearTo` must not be before `filter.yearFrom`",
        ));
    }
    let mut cond = Condition::all();
    if let Some(from) = from {
        // The milestone's last year (year_to, or year_from without one) is
        // `from` or later.
        cond = cond.add(
            Condition::any()
                .add(milestone::Column::YearTo.gte(from))
                .add(
                    Condition::all()
                        .add(milestone::Column::YearTo.is_null())
                        .add(milestone::Column::YearFrom.gte(from)),
                ),
        );
    }
    if let Some(to) = to {
        cond = cond.add(milestone::Column::YearFrom.lte(to));
    }
    Ok(cond)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};

    #[test]
    fn periods() {
        assert_eq!(period(2015, None), "2015");
        assert_eq!(period(2015, Some(2015)), "2015");
        assert_eq!(period(2017, Some(2018)), "2017–2018");
        assert_eq!(period(2013, Some(2014)), "2013\u{2013}2014");
    }

    #[test]
    fn year_filters() {
        assert_eq!(
            years_overlap(Some(2018), Some(2017)).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            years_overlap(Some(20), None).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        let sql = milestone::Entity::find()
            .filter(years_overlap(Some(2016), Some(2017)).unwrap())
            .build(DbBackend::Postgres)
            .to_string();
        assert!(
            sql.ends_with(
                r#"WHERE ("milestone"."year_to" >= 2016 OR ("milestone"."year_to" IS NULL AND "milestone"."year_from" >= 2016)) AND "milestone"."year_from" <= 2017"#
            ),
            "{sql}"
        );
        assert!(years_overlap(None, None).unwrap().is_empty());
    }
}
