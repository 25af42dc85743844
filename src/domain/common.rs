//! Pieces shared by the areas' filters and orderings.

use async_graphql::Enum;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

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

/// Longest slug accepted (the columns' length).
const MAX_SLUG_LEN: usize = 120;

/// Checks that `slug` could be a slug: 1 to 120 characters.
pub fn check_slug(slug: &str, field: &str) -> ApiResult<()> {
    if slug.is_empty() || slug.len() > MAX_SLUG_LEN {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must be a slug of 1 to {MAX_SLUG_LEN} characters"),
        ))
    } else {
        Ok(())
    }
}

/// One convention for every argument that names an object: its global id
/// or its natural key (a number, slug or organisation number). This is the
/// first half: `Some(key)` when `value` is a global id of `type_name`, an
/// error when it is the global id of another type, `None` when it is not a
/// global id (then the caller looks up the natural key).
pub fn given_id(value: &str, type_name: &str, field: &str) -> ApiResult<Option<Uuid>> {
    match crate::graphql::id::decode(value, field) {
        Ok((actual, key)) if actual == type_name => Ok(Some(key)),
        Ok((actual, _)) => Err(ApiError::bad_input(
            field,
            format!("`{field}` is the id of a {actual}, expected a {type_name}"),
        )),
        Err(_) => Ok(None),
    }
}

/// The id of the row of `E` (GraphQL type `type_name`) named by `value`:
/// its global id, or the slug in `slug_col`. BAD_USER_INPUT naming `field`
/// for a malformed slug or an id of another type, NOT_FOUND naming `what`
/// when no row has the slug.
pub async fn id_by_slug<E: EntityTrait>(
    db: &impl ConnectionTrait,
    (slug_col, id_col): (E::Column, E::Column),
    (value, type_name): (&str, &str),
    field: &str,
    what: &str,
) -> ApiResult<Uuid> {
    if let Some(key) = given_id(value, type_name, field)? {
        return Ok(key);
    }
    let slug = value;
    check_slug(slug, field)?;
    E::find()
        .select_only()
        .column(id_col)
        .filter(slug_col.eq(slug))
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{what} {slug}")))
}
