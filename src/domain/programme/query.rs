//! Root fields of programmes and milestones, with their filters and
//! orderings.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use entity::enums::{ProviderRole, ServiceKind};
use entity::{
    milestone, programme, programme_provider, programme_run, programme_service_kind,
    programme_theme,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::milestone::{
    MilestoneFilter, MilestoneOrder, MilestoneOrderField, check_year, years_overlap,
};
use super::{Milestone, Programme, programme_id_by_slug};
use crate::domain::provider::provider_id_by_slug;
use crate::domain::service::check_slug;
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate};

/// Longest theme accepted by the theme filter (the column's length).
const MAX_THEME_LEN: usize = 80;

/// Which programmes to list.
#[derive(Debug, Default, InputObject)]
pub struct ProgrammeFilter {
    /// Part of the name, short name, summary or slug (case-insensitive).
    pub search: Option<String>,
    /// Only programmes this provider (its slug, e.g. "rvts-sor") leads or
    /// is a partner in.
    pub provider: Option<String>,
    /// With `provider`: only programmes in which it has this role.
    pub provider_role: Option<ProviderRole>,
    /// Only programmes with this theme, exactly as listed by
    /// `programmeThemes`.
    pub theme: Option<String>,
    /// Only programmes meant for this kind of service.
    pub target_service_kind: Option<ServiceKind>,
    /// Only programmes with a run in this (starting) year.
    pub year: Option<i32>,
}

/// Fields to sort programmes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ProgrammeOrderField {
    /// Name.
    Name,
}

/// Ordering of a programme list.
#[derive(Debug, InputObject)]
pub struct ProgrammeOrder {
    /// What to sort by.
    pub field: ProgrammeOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// A theme in use and how many programmes have it.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct ThemeCount {
    /// The theme, as used by the `theme` filter of `programmes`.
    pub theme: String,
    /// How many programmes have the theme.
    pub programme_count: i64,
}

/// Root fields of programmes and milestones.
#[derive(Default)]
pub struct ProgrammeQuery;

#[Object]
impl ProgrammeQuery {
    /// Programmes, by default ordered by name.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn programmes(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProgrammeFilter>,
        order_by: Option<ProgrammeOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Programme>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = programme::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[
                programme::Column::Name,
                programme::Column::ShortName,
                programme::Column::Summary,
                programme::Column::Slug,
            ],
        )?);
        match (filter.provider, filter.provider_role) {
            (Some(slug), role) => {
                let id = provider_id_by_slug(db, &slug, "filter.provider").await?;
                select = select
                    .filter(programme::Column::Id.in_subquery(programmes_of_provider(id, role)));
            }
            (None, Some(_)) => {
                return Err(ApiError::bad_input(
                    "filter.providerRole",
                    "`filter.providerRole` needs `filter.provider`",
                ));
            }
            (None, None) => {}
        }
        if let Some(theme) = filter.theme {
            let theme = check_theme(&theme)?;
            select = select.filter(
                programme::Column::Id.in_subquery(
                    Query::select()
                        .column(programme_theme::Column::ProgrammeId)
                        .from(programme_theme::Entity)
                        .and_where(programme_theme::Column::Theme.eq(theme))
                        .to_owned(),
                ),
            );
        }
        if let Some(kind) = filter.target_service_kind {
            select = select.filter(
                programme::Column::Id.in_subquery(
                    Query::select()
                        .column(programme_service_kind::Column::ProgrammeId)
                        .from(programme_service_kind::Entity)
                        .and_where(programme_service_kind::Column::Kind.eq(kind))
                        .to_owned(),
                ),
            );
        }
        if let Some(year) = filter.year {
            check_year(year, "filter.year")?;
            select = select.filter(
                programme::Column::Id.in_subquery(
                    Query::select()
                        .column(programme_run::Column::ProgrammeId)
                        .from(programme_run::Entity)
                        .and_where(programme_run::Column::Year.eq(year))
                        .to_owned(),
                ),
            );
        }
        let (field, dir) = order_by.map_or((ProgrammeOrderField::Name, OrderDirection::Asc), |o| {
            (o.field, o.direction)
        });
        let col = match field {
            ProgrammeOrderField::Name => programme::Column::Name,
        };
        paginate(
            db,
            select,
            &[by(col, dir), asc(programme::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A programme by its slug, e.g. `programme(slug: "mitt-liv")`.
    async fn programme(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Programme> {
        check_slug(&slug, "slug")?;
        programme::Entity::find()
            .filter(programme::Column::Slug.eq(slug))
            .one(ctx.db()?)
            .await?
            .map(Programme)
            .ok_or_else(|| ApiError::not_found("programme"))
    }

    /// The themes in use, alphabetically, with how many programmes have
    /// each.
    async fn programme_themes(&self, ctx: &Context<'_>) -> ApiResult<Vec<ThemeCount>> {
        let rows: Vec<(String, i64)> = programme_theme::Entity::find()
            .select_only()
            .column(programme_theme::Column::Theme)
            .column_as(
                Expr::col(programme_theme::Column::ProgrammeId).count(),
                "programme_count",
            )
            .group_by(programme_theme::Column::Theme)
            .order_by_asc(programme_theme::Column::Theme)
            .into_tuple()
            .all(ctx.db()?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(theme, programme_count)| ThemeCount {
                theme,
                programme_count,
            })
            .collect())
    }

    /// Milestones: the dated facts and figures programmes report about
    /// themselves (their own account, not registered data), by default by
    /// year, then in each programme's order.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn milestones(
        &self,
        ctx: &Context<'_>,
        filter: Option<MilestoneFilter>,
        order_by: Option<MilestoneOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Milestone>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = milestone::Entity::find()
            .filter(text_search(
                db.get_database_backend(),
                filter.search.as_deref(),
                &[milestone::Column::Text],
            )?)
            .filter(years_overlap(filter.year_from, filter.year_to)?);
        if let Some(slug) = filter.programme {
            let id = programme_id_by_slug(db, &slug, "filter.programme").await?;
            select = select.filter(milestone::Column::ProgrammeId.eq(id));
        }
        let (field, dir) = order_by.map_or((MilestoneOrderField::Year, OrderDirection::Asc), |o| {
            (o.field, o.direction)
        });
        let keys = match field {
            MilestoneOrderField::Year => [
                by(milestone::Column::YearFrom, dir),
                asc(milestone::Column::ProgrammeId),
                by(milestone::Column::Position, dir),
                asc(milestone::Column::Id),
            ],
        };
        paginate(
            db,
            select,
            &keys,
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }
}

/// The ids of the programmes a provider takes part in (with `role`, in
/// that role).
fn programmes_of_provider(provider_id: uuid::Uuid, role: Option<ProviderRole>) -> SelectStatement {
    let mut q = Query::select();
    q.column(programme_provider::Column::ProgrammeId)
        .from(programme_provider::Entity)
        .and_where(programme_provider::Column::ProviderId.eq(provider_id));
    if let Some(role) = role {
        q.and_where(programme_provider::Column::Role.eq(role));
    }
    q
}

/// A theme given as a filter value, trimmed.
fn check_theme(theme: &str) -> ApiResult<&str> {
    let theme = theme.trim();
    if theme.is_empty() || theme.chars().count() > MAX_THEME_LEN {
        return Err(ApiError::bad_input(
            "filter.theme",
            format!("`filter.theme` must be 1 to {MAX_THEME_LEN} characters"),
        ));
    }
    Ok(theme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    #[test]
    fn provider_subquery() {
        let id = uuid::Uuid::nil();
        let sql = programme::Entity::find()
            .filter(
                programme::Column::Id
                    .in_subquery(programmes_of_provider(id, Some(ProviderRole::Lead))),
            )
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(
            sql.contains(
                r#"WHERE "programme"."id" IN (SELECT "programme_id" FROM "programme_provider" WHERE "programme_provider"."provider_id" = "#
            ),
            "{sql}"
        );
        assert!(
            sql.ends_with(r#"AND "programme_provider"."role" = 'LEAD')"#),
            "{sql}"
        );
    }

    #[test]
    fn themes() {
        assert_eq!(
            check_theme("  traumebevisst omsorg ").unwrap(),
            "traumebevisst omsorg"
        );
        assert_eq!(check_theme(" ").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(
            check_theme(&"x".repeat(81)).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
