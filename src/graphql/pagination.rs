//! Relay connections: `first/after/last/before`, `totalCount`, `pageInfo`.
//!
//! Cursors are opaque offsets into the ordered result. Root lists page in
//! SQL (`COUNT` plus `LIMIT/OFFSET`, both under the same filter, so counts
//! and pages agree); nested lists are loaded for all parents at once by a
//! DataLoader and paged in memory, so their statement count does not grow
//! with the number of parents.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QuerySelect, Select};

use crate::config::Limits;
use crate::error::{ApiError, ApiResult};

/// Extra fields of every connection.
#[derive(Debug, Clone, Copy, SimpleObject)]
pub struct ConnectionTotals {
    /// How many items the whole list holds under the given filter (all
    /// pages together).
    pub total_count: i64,
}

/// The connection type of the API for nodes of type `T`.
pub type Conn<T> = Connection<OffsetCursor, T, ConnectionTotals, EmptyFields>;

/// An opaque cursor: the position of an item in the ordered list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetCursor(pub u64);

impl CursorType for OffsetCursor {
    type Error = ApiError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bad = || ApiError::bad_input("cursor", "not a cursor of this list");
        let bytes = URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let n = text
            .strip_prefix("offset:")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(bad)?;
        Ok(Self(n))
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("offset:{}", self.0))
    }
}

/// The paging arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

impl PageArgs {
    pub fn new(
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Self {
        Self {
            after,
            before,
            first,
            last,
        }
    }
}

/// The slice `[start, end)` of a list of `total` items that a page covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

impl Window {
    /// Works out the window from the arguments, validating them.
    pub fn compute(args: &PageArgs, total: u64, limits: &Limits) -> ApiResult<Self> {
        let max = u64::from(limits.max_page_size);
        let size = |value: Option<i32>, field: &str| -> ApiResult<Option<u64>> {
            match value {
                None => Ok(None),
                Some(n) if n < 0 => Err(ApiError::bad_input(
                    field,
                    format!("`{field}` must not be negative"),
                )),
                Some(n) if n as u64 > max => Err(ApiError::bad_input(
                    field,
                    format!("`{field}` may be at most {max}"),
                )),
                Some(n) => Ok(Some(n as u64)),
            }
        };
        let first = size(args.first, "first")?;
        let last = size(args.last, "last")?;
        let cursor = |value: &Option<String>, field: &str| -> ApiResult<Option<u64>> {
            value
                .as_deref()
                .map(|c| {
                    OffsetCursor::decode_cursor(c).map(|c| c.0).map_err(|_| {
                        ApiError::bad_input(
                            field,
                            format!("`{field}` is not a cursor of this list"),
                        )
                    })
                })
                .transpose()
        };
        let after = cursor(&args.after, "after")?;
        let before = cursor(&args.before, "before")?;

        let mut start = after.map_or(0, |a| a.saturating_add(1)).min(total);
        let mut end = before.map_or(total, |b| b.min(total)).max(start);
        match (first, last) {
            (None, None) => end = end.min(start + u64::from(limits.default_page_size)),
            (first, last) => {
                if let Some(first) = first {
                    end = end.min(start + first);
                }
                if let Some(last) = last {
                    start = start.max(end.saturating_sub(last));
                }
            }
        }
        Ok(Self { start, end, total })
    }

    /// Builds the connection for the items of this window, in order.
    pub fn connection<T: OutputType>(&self, items: impl IntoIterator<Item = T>) -> Conn<T> {
        let mut conn = Connection::with_additional_fields(
            self.start > 0,
            self.end < self.total,
            ConnectionTotals {
                total_count: i64::try_from(self.total).unwrap_or(i64::MAX),
            },
        );
        conn.edges.extend(
            items
                .into_iter()
                .enumerate()
                .map(|(i, node)| Edge::new(OffsetCursor(self.start + i as u64), node)),
        );
        conn
    }
}

/// Pages a filtered and ordered query in SQL: one `COUNT` and one page.
pub async fn paginate<E, T, C>(
    db: &C,
    select: Select<E>,
    args: &PageArgs,
    limits: &Limits,
) -> ApiResult<Conn<T>>
where
    E: EntityTrait,
    E::Model: Sync,
    T: OutputType + From<E::Model>,
    C: ConnectionTrait,
{
    // Validate the arguments before touching the database.
    Window::compute(args, 0, limits)?;
    let total = select.clone().count(db).await?;
    let window = Window::compute(args, total, limits)?;
    let rows = if window.end > window.start {
        select
            .offset(window.start)
            .limit(window.end - window.start)
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    Ok(window.connection(rows.into_iter().map(T::from)))
}

/// Pages a list already in memory (a nested relation loaded in a batch).
pub fn paginate_vec<T: OutputType>(
    items: Vec<T>,
    args: &PageArgs,
    limits: &Limits,
) -> ApiResult<Conn<T>> {
    let window = Window::compute(args, items.len() as u64, limits)?;
    let page = items
        .into_iter()
        .skip(window.start as usize)
        .take((window.end - window.start) as usize);
    Ok(window.connection(page))
}

/// Complexity of a connection field: its page size times its selection.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).unwrap_or(20).clamp(1, 1000) as usize;
    n.saturating_mul(child).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(
        after: Option<u64>,
        before: Option<u64>,
        first: Option<i32>,
        last: Option<i32>,
        total: u64,
    ) -> (u64, u64) {
        let c = |n: Option<u64>| n.map(|n| OffsetCursor(n).encode_cursor());
        let win = Window::compute(
            &PageArgs::new(c(after), c(before), first, last),
            total,
            &Limits::default(),
        )
        .unwrap();
        (win.start, win.end)
    }

    #[test]
    fn windows() {
        assert_eq!(w(None, None, None, None, 50), (0, 20));
        assert_eq!(w(None, None, Some(5), None, 50), (0, 5));
        assert_eq!(w(Some(4), None, Some(5), None, 50), (5, 10));
        assert_eq!(w(None, None, None, Some(5), 50), (45, 50));
        assert_eq!(w(None, Some(10), None, Some(3), 50), (7, 10));
        assert_eq!(w(Some(60), None, Some(3), None, 50), (50, 50));
        assert_eq!(w(None, None, Some(0), None, 50), (0, 0));
    }

    #[test]
    fn bad_arguments() {
        let limits = Limits::default();
        for args in [
            PageArgs::new(None, None, Some(-1), None),
            PageArgs::new(None, None, Some(101), None),
            PageArgs::new(Some("zzz".into()), None, None, None),
        ] {
            assert_eq!(
                Window::compute(&args, 10, &limits).unwrap_err().code(),
                "BAD_USER_INPUT"
            );
        }
    }

    fn cursor_text() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        proptest::option::of(prop_oneof![
            ".{0,30}",
            any::<u64>().prop_map(|n| OffsetCursor(n).encode_cursor()),
            "[-+ 0-9a-z:]{0,30}".prop_map(|t| URL_SAFE_NO_PAD.encode(t)),
        ])
    }

    proptest::proptest! {
        /// Any cursors and sizes give a window inside the list and no
        /// larger than a page, or BAD_USER_INPUT naming the argument.
        #[test]
        fn prop_any_paging_arguments_give_a_window_or_bad_input(
            after in cursor_text(),
            before in cursor_text(),
            first in proptest::option::of(proptest::num::i32::ANY),
            last in proptest::option::of(proptest::num::i32::ANY),
            total in proptest::num::u64::ANY,
        ) {
            let limits = Limits::default();
            let args = PageArgs::new(after, before, first, last);
            match Window::compute(&args, total, &limits) {
                Ok(w) => {
                    proptest::prop_assert!(w.start <= w.end && w.end <= total);
                    proptest::prop_assert!(w.end - w.start <= u64::from(limits.max_page_size));
                }
                Err(err) => {
                    proptest::prop_assert_eq!(err.code(), "BAD_USER_INPUT");
                    let crate::error::ApiError::BadUserInput { field, .. } = err else {
                        unreachable!()
                    };
                    proptest::prop_assert!(
                        ["after", "before", "first", "last"].contains(&field.as_str())
                    );
                }
            }
        }
    }
}
