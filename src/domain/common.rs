//! Pieces shared by the areas' filters and orderings.

use async_graphql::Enum;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, DbBackend, Order};

use crate::error::{ApiError, ApiResult};

/// Sort direction of an `orderBy` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum OrderDirection {
    /// Smallest first (A–Å, oldest first).
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl From<OrderDirection> for Order {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => Order::Asc,
            OrderDirection::Desc => Order::Desc,
        }
    }
}

/// Longest text search accepted.
const MAX_SEARCH_LEN: usize = 200;

/// A case-insensitive substring match of `term` on any of `columns`.
/// `%` and `_` in the term match themselves. An empty term matches all.
///
/// PostgreSQL folds the case of every letter; SQLite's `lower()` folds
/// only A–Z, so there the pattern is folded the same way and letters such
/// as Æ, Ø and Å must be given in the case they are stored in.
pub fn text_search<C: ColumnTrait>(
    backend: DbBackend,
    term: Option<&str>,
    columns: &[C],
) -> ApiResult<Condition> {
    let Some(term) = term.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Condition::all());
    };
    if term.chars().count() > MAX_SEARCH_LEN {
        return Err(ApiError::bad_input(
            "filter.search",
            format!("the search text may be at most {MAX_SEARCH_LEN} characters"),
        ));
    }
    let escaped: String = term
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let folded = match backend {
        DbBackend::Sqlite => escaped.to_ascii_lowercase(),
        _ => escaped.to_lowercase(),
    };
    let pattern = format!("%{folded}%");
    let mut any = Condition::any();
    for col in columns {
        let lowered: Expr = Func::lower(Expr::col(col.as_column_ref())).into();
        any = any.add(Expr::expr(lowered).like(LikeExpr::new(pattern.clone()).escape('\\')));
    }
    Ok(any)
}
