//! The cost model: what a document will cost before it runs.
//!
//! Every field costs 1. A connection costs its page size times its
//! selection ([`super::pagination::page_cost`]), so nested pages multiply.
//! The aggregate fields, which scan many rows whatever they return, cost by
//! what they make the database do:
//!
//! | field | cost |
//! |---|---|
//! | `participationStats` | (100 + selection) × (1 + dimensions) × 2 with a session kind (grouped or filtered) ÷ 2 with a narrowing filter |
//! | `ParticipationStatsRow.people` | 200 (distinct people may read the participations themselves) |
//! | `grantTotals` | (50 + selection) × (1 + dimensions) |
//! | `coverage` | 500 + selection |
//!
//! A narrowing filter is a programme, provider, network, service,
//! municipality or year. Aliases add up: thirty aliased statistics cost
//! thirty times one. A document over the budget (`KOMPETANSE_MAX_COMPLEXITY`,
//! 20 000 by default) is refused with LIMIT_EXCEEDED before anything runs,
//! with `extensions.cost` and `extensions.limit`, so that a client can see
//! how far over it is. The model bounds what one document may ask; how
//! many heavy documents run at once is bounded by [`super::admission`].

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};

use super::errors::coded_error;
use crate::domain::statistics::{StatsDimension, StatsFilter};
use crate::error::codes;

/// The base cost of a statistics request, before dimensions.
pub const STATS_BASE: usize = 100;
/// The extra cost of the distinct people measure.
pub const PEOPLE: usize = 200;
/// The base cost of grant totals, before dimensions.
pub const GRANT_TOTALS_BASE: usize = 50;
/// The cost of coverage.
pub const COVERAGE: usize = 500;

/// The cost of `participationStats`.
pub fn participation_stats(
    filter: Option<&StatsFilter>,
    group_by: &[StatsDimension],
    child: usize,
) -> usize {
    let mut dims: Vec<StatsDimension> = group_by.to_vec();
    dims.sort_by_key(|d| *d as u8);
    dims.dedup();
    let session = dims.contains(&StatsDimension::SessionKind)
        || filter.is_some_and(|f| f.session_kind.is_some());
    let narrow = filter.is_some_and(|f| {
        f.programme.is_some()
            || f.provider.is_some()
            || f.network.is_some()
            || f.service.is_some()
            || f.municipality.is_some()
            || f.year.is_some()
    });
    let cost = STATS_BASE
        .saturating_add(child)
        .saturating_mul(1 + dims.len())
        .saturating_mul(if session { 2 } else { 1 });
    if narrow { cost / 2 } else { cost }
}

/// The cost of `grantTotals`.
pub fn grant_totals(dimensions: usize, child: usize) -> usize {
    GRANT_TOTALS_BASE
        .saturating_add(child)
        .saturating_mul(1 + dimensions)
}

/// Refuses a document whose cost is over the budget, after validation
/// has computed it (async-graphql's own limit would say only "too
/// complex").
#[derive(Debug, Clone, Copy)]
pub struct CostBudget {
    /// The most a document may cost.
    pub limit: usize,
}

impl ExtensionFactory for CostBudget {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for CostBudget {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > self.limit {
            return Err(vec![over_budget(result.complexity, self.limit)]);
        }
        Ok(result)
    }
}

fn over_budget(cost: usize, limit: usize) -> ServerError {
    let mut error = coded_error(
        codes::LIMIT_EXCEEDED,
        format!(
            "the query would cost {cost}, over the limit of {limit}: ask for fewer \
             dimensions, aliases or rows, or narrow it with a filter"
        ),
    );
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("cost", cost as u64);
    extensions.set("limit", limit as u64);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_cost_grows_with_dimensions_and_session_kinds() {
        use StatsDimension::*;
        let national = participation_stats(None, &[], 10);
        assert_eq!(national, 110);
        let seven = [
            Programme,
            Provider,
            County,
            Municipality,
            ServiceKind,
            Network,
            Year,
        ];
        assert_eq!(participation_stats(None, &seven, 10), 110 * 8);
        let mut eight = seven.to_vec();
        eight.push(SessionKind);
        assert_eq!(participation_stats(None, &eight, 10), 110 * 9 * 2);
        // Repeated dimensions count once; a narrowing filter halves.
        assert_eq!(participation_stats(None, &[Year, Year], 10), 220);
        let filter = StatsFilter {
            year: Some(2024),
            ..Default::default()
        };
        assert_eq!(participation_stats(Some(&filter), &[Year], 10), 110);
        // Thirty aliased seven-dimension requests are over the default
        // budget; one is well within it.
        let budget = crate::config::Limits::default().max_complexity as usize;
        assert!(participation_stats(None, &eight, 10) * 30 > budget);
        assert!(participation_stats(None, &eight, 10 + PEOPLE) < budget);
    }

    #[test]
    fn over_budget_says_cost_and_limit() {
        let error = over_budget(25_000, 20_000);
        let ext = error.extensions.unwrap();
        assert_eq!(ext.get("cost").unwrap().to_string(), "25000");
        assert_eq!(ext.get("limit").unwrap().to_string(), "20000");
        assert_eq!(ext.get("code").unwrap().to_string(), "\"LIMIT_EXCEEDED\"");
    }
}
