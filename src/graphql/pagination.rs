//! Relay connections: `first/after/last/before`, `totalCount`, `pageInfo`.
//!
//! Cursors are keyset cursors: a cursor holds the values of the list's
//! order columns for its row (the last of them the row's unique id), so the
//! next page starts after that row wherever it now stands. A row inserted
//! or deleted while a client pages never makes it skip or repeat a row, and
//! a cursor stays valid after its own row is deleted. The cursor also names
//! its order: a cursor of `orderBy: {field: NAME}` is refused by the same
//! list ordered by population.
//!
//! Root lists page in SQL: one statement counts the list under its filter
//! (`totalCount`, and whether rows lie before `after` or from `before` on,
//! for `pageInfo`), one reads the page with a `WHERE` on the order columns
//! and `LIMIT n + 1`. Nested lists are loaded for all parents at once by a
//! DataLoader and paged in memory by the same rule, so their statement
//! count does not grow with the number of parents.
//!
//! Order columns that may be empty (NULL) sort last in both directions, on
//! both engines.

use std::cmp::Ordering;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Func, NullOrdering, SimpleExpr};
use sea_orm::{
    ColumnTrait, ColumnType, Condition, ConnectionTrait, EntityTrait, ModelTrait, Order,
    QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde_json::{Value as Json, json};

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
pub type Conn<T> = Connection<KeyCursor, T, ConnectionTotals, EmptyFields>;

/// An opaque cursor: base64url of a small JSON object naming the list's
/// order (`o`) and holding the row's values of its order columns (`k`).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCursor {
    order: String,
    key: Vec<Json>,
}

impl KeyCursor {
    fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim().as_bytes()).ok()?;
        let Json::Object(mut map) = serde_json::from_slice::<Json>(&bytes).ok()? else {
            return None;
        };
        let Some(Json::String(order)) = map.remove("o") else {
            return None;
        };
        let Some(Json::Array(key)) = map.remove("k") else {
            return None;
        };
        map.is_empty().then_some(Self { order, key })
    }
}

impl CursorType for KeyCursor {
    type Error = ApiError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s).ok_or_else(|| ApiError::bad_input("cursor", "not a cursor of this list"))
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(json!({ "o": self.order, "k": self.key }).to_string())
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

/// The validated paging arguments: cursors decoded for the list's order.
#[derive(Debug)]
struct Request {
    after: Option<KeyCursor>,
    before: Option<KeyCursor>,
    first: Option<u64>,
    last: Option<u64>,
}

impl Request {
    fn check(args: &PageArgs, order: &str, limits: &Limits) -> ApiResult<Self> {
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
        let cursor = |value: &Option<String>, field: &str| -> ApiResult<Option<KeyCursor>> {
            value
                .as_deref()
                .map(|text| match KeyCursor::parse(text) {
                    Some(c) if c.order == order => Ok(c),
                    Some(_) => Err(ApiError::bad_input(
                        field,
                        format!(
                            "`{field}` is a cursor of this list in another order; \
                             page with the `orderBy` it was given with"
                        ),
                    )),
                    None => Err(ApiError::bad_input(
                        field,
                        format!("`{field}` is not a cursor of this list"),
                    )),
                })
                .transpose()
        };
        // Without `first` or `last` a page has the default size.
        let first = match (first, last) {
            (None, None) => Some(u64::from(limits.default_page_size)),
            (first, _) => first,
        };
        Ok(Self {
            after: cursor(&args.after, "after")?,
            before: cursor(&args.before, "before")?,
            first,
            last,
        })
    }

    /// Pages backwards from the end: `last` without `first`.
    fn backward(&self) -> bool {
        self.first.is_none()
    }

    /// How many rows to read: one more than the page, to learn whether more
    /// follow in the direction of reading.
    fn fetch(&self) -> u64 {
        self.first.or(self.last).unwrap_or(0) + 1
    }
}

/// Whether rows lie beyond the cursors, from the count.
struct Beyond {
    /// Rows at or before the `after` cursor exist.
    before_after: bool,
    /// Rows at or after the `before` cursor exist.
    after_before: bool,
}

/// Cuts the rows read between the cursors (in list order, one more than
/// the page in the reading direction where there are more) to the page,
/// and works out `hasPreviousPage` and `hasNextPage`.
fn finish<R>(mut rows: Vec<R>, req: &Request, beyond: &Beyond) -> (Vec<R>, bool, bool) {
    if req.backward() {
        let n = req.last.unwrap_or(0) as usize;
        let more = rows.len() > n;
        if more {
            rows.drain(..rows.len() - n);
        }
        return (rows, more || beyond.before_after, beyond.after_before);
    }
    let n = req.first.unwrap_or(0) as usize;
    let more = rows.len() > n;
    rows.truncate(n);
    let mut has_previous = beyond.before_after;
    if let Some(last) = req.last.map(|l| l as usize)
        && rows.len() > last
    {
        rows.drain(..rows.len() - last);
        has_previous = true;
    }
    (rows, has_previous, more || beyond.after_before)
}

fn connection<T: OutputType>(
    edges: Vec<(KeyCursor, T)>,
    has_previous: bool,
    has_next: bool,
    total: i64,
) -> Conn<T> {
    let mut conn = Connection::with_additional_fields(
        has_previous,
        has_next,
        ConnectionTotals { total_count: total },
    );
    conn.edges.extend(
        edges
            .into_iter()
            .map(|(cursor, node)| Edge::new(cursor, node)),
    );
    conn
}

// ---------------------------------------------------------------------------
// Root lists: keyset paging in SQL.

/// One column of a list's order. The last column of every order is the
/// table's unique id, so that the order is total.
#[derive(Debug, Clone)]
pub struct SortKey<C> {
    column: C,
    order: Order,
}

/// Orders by `column`, smallest first.
pub fn asc<C: ColumnTrait>(column: C) -> SortKey<C> {
    by(column, Order::Asc)
}

/// Orders by `column`, largest first.
pub fn desc<C: ColumnTrait>(column: C) -> SortKey<C> {
    by(column, Order::Desc)
}

/// Orders by `column` in the given direction.
pub fn by<C: ColumnTrait>(column: C, order: impl Into<Order>) -> SortKey<C> {
    SortKey {
        column,
        order: order.into(),
    }
}

impl<C: ColumnTrait> SortKey<C> {
    fn nullable(&self) -> bool {
        self.column.def().is_null()
    }

    fn ascending(&self) -> bool {
        matches!(self.order, Order::Asc)
    }

    fn label(&self) -> String {
        let dir = if self.ascending() { "asc" } else { "desc" };
        format!("{}:{dir}", self.column.as_str())
    }

    /// The SQL value of a cursor's entry for this column, `Ok(None)` for
    /// NULL; an entry the column cannot hold is `Err`.
    fn decode(&self, entry: &Json) -> Result<Option<Value>, ()> {
        if entry.is_null() {
            return if self.nullable() { Ok(None) } else { Err(()) };
        }
        let text = || entry.as_str().ok_or(());
        let int = || entry.as_i64().ok_or(());
        let value = match self.column.def().get_column_type() {
            ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => {
                Value::String(Some(text()?.to_owned()))
            }
            ColumnType::Uuid => Value::Uuid(Some(uuid::Uuid::try_parse(text()?).map_err(|_| ())?)),
            ColumnType::Date => {
                Value::ChronoDate(Some(text()?.parse::<NaiveDate>().map_err(|_| ())?))
            }
            ColumnType::TimestampWithTimeZone | ColumnType::DateTime | ColumnType::Timestamp => {
                Value::ChronoDateTimeUtc(Some(
                    DateTime::parse_from_rfc3339(text()?)
                        .map_err(|_| ())?
                        .with_timezone(&Utc),
                ))
            }
            ColumnType::SmallInteger => {
                Value::SmallInt(Some(i16::try_from(int()?).map_err(|_| ())?))
            }
            ColumnType::Integer => Value::Int(Some(i32::try_from(int()?).map_err(|_| ())?)),
            ColumnType::BigInteger => Value::BigInt(Some(int()?)),
            _ => return Err(()),
        };
        Ok(Some(value))
    }

    /// Rows that come strictly later in the list than `value` in this
    /// column (`None`: none do).
    fn later(&self, value: &Option<Value>) -> Option<Condition> {
        let value = value.clone()?;
        let cmp = if self.ascending() {
            self.column.gt(value)
        } else {
            self.column.lt(value)
        };
        Some(if self.nullable() {
            Condition::any().add(cmp).add(self.column.is_null())
        } else {
            Condition::all().add(cmp)
        })
    }

    /// Rows that come strictly earlier in the list than `value` in this
    /// column (`None`: none do).
    fn earlier(&self, value: &Option<Value>) -> Option<Condition> {
        match value.clone() {
            None => self
                .nullable()
                .then(|| Condition::all().add(self.column.is_not_null())),
            Some(value) => Some(Condition::all().add(if self.ascending() {
                self.column.lt(value)
            } else {
                self.column.gt(value)
            })),
        }
    }

    /// Rows equal to `value` in this column.
    fn equal(&self, value: &Option<Value>) -> Condition {
        Condition::all().add(match value.clone() {
            None => self.column.is_null(),
            Some(value) => self.column.eq(value),
        })
    }
}

/// The cursor value of a row's column.
fn encode_value(value: Value) -> Json {
    match value {
        Value::String(Some(s)) => Json::String(s),
        Value::Uuid(Some(u)) => Json::String(u.to_string()),
        Value::ChronoDate(Some(d)) => Json::String(d.to_string()),
        Value::ChronoDateTimeUtc(Some(t)) => {
            Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }
        Value::SmallInt(Some(n)) => json!(n),
        Value::Int(Some(n)) => json!(n),
        Value::BigInt(Some(n)) => json!(n),
        _ => Json::Null,
    }
}

/// The label of an order, carried in its cursors.
fn order_label<C: ColumnTrait>(keys: &[SortKey<C>]) -> String {
    keys.iter()
        .map(SortKey::label)
        .collect::<Vec<_>>()
        .join(",")
}

/// Decodes a cursor's values for the order's columns.
fn cursor_values<C: ColumnTrait>(
    keys: &[SortKey<C>],
    cursor: &KeyCursor,
    field: &str,
) -> ApiResult<Vec<Option<Value>>> {
    let bad = || ApiError::bad_input(field, format!("`{field}` is not a cursor of this list"));
    if cursor.key.len() != keys.len() {
        return Err(bad());
    }
    keys.iter()
        .zip(&cursor.key)
        .map(|(key, entry)| key.decode(entry).map_err(|()| bad()))
        .collect()
}

/// The rows strictly after (`later`) or before the position of `values`:
/// the first column decides, ties go to the next.
fn beyond<C: ColumnTrait>(keys: &[SortKey<C>], values: &[Option<Value>], later: bool) -> Condition {
    let mut rest: Option<Condition> = None;
    for (key, value) in keys.iter().zip(values).rev() {
        let here = if later {
            key.later(value)
        } else {
            key.earlier(value)
        };
        let tie = rest.map(|rest| Condition::all().add(key.equal(value)).add(rest));
        rest = match (here, tie) {
            (Some(here), Some(tie)) => Some(Condition::any().add(here).add(tie)),
            (here, tie) => here.or(tie),
        };
    }
    // No row is beyond: a condition no row meets.
    rest.unwrap_or_else(|| Condition::all().add(Expr::val(1).eq(0)))
}

/// `SUM(CASE WHEN condition THEN 0 ELSE 1 END)`: rows not meeting it.
fn count_not(condition: Condition) -> SimpleExpr {
    Func::coalesce([
        Func::sum(CaseStatement::new().case(condition, 0).finally(1)).into(),
        Expr::cust("CAST(0 AS BIGINT)"),
    ])
    .into()
}

/// Pages a filtered query in SQL by the order `keys` (the last of them the
/// unique id): one statement counts, one reads the page.
pub async fn paginate<E, T, C>(
    db: &C,
    select: Select<E>,
    keys: &[SortKey<E::Column>],
    args: &PageArgs,
    limits: &Limits,
) -> ApiResult<Conn<T>>
where
    E: EntityTrait,
    E::Model: Sync,
    T: OutputType + From<E::Model>,
    C: ConnectionTrait,
{
    let label = order_label(keys);
    let req = Request::check(args, &label, limits)?;
    let after = req
        .after
        .as_ref()
        .map(|c| cursor_values(keys, c, "after"))
        .transpose()?
        .map(|v| beyond(keys, &v, true));
    let before = req
        .before
        .as_ref()
        .map(|c| cursor_values(keys, c, "before"))
        .transpose()?
        .map(|v| beyond(keys, &v, false));

    let none = || Expr::cust("CAST(0 AS BIGINT)");
    let (total, before_after, after_before): (i64, i64, i64) = select
        .clone()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "total")
        .column_as(after.clone().map_or_else(none, count_not), "before_after")
        .column_as(before.clone().map_or_else(none, count_not), "after_before")
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, 0, 0));

    let mut page = select;
    if let Some(after) = after {
        page = page.filter(after);
    }
    if let Some(before) = before {
        page = page.filter(before);
    }
    for key in keys {
        // Reading backwards reverses every column, empty values first.
        let (order, nulls) = match (key.ascending() != req.backward(), req.backward()) {
            (true, false) => (Order::Asc, NullOrdering::Last),
            (false, false) => (Order::Desc, NullOrdering::Last),
            (true, true) => (Order::Asc, NullOrdering::First),
            (false, true) => (Order::Desc, NullOrdering::First),
        };
        page = if key.nullable() {
            page.order_by_with_nulls(key.column, order, nulls)
        } else {
            page.order_by(key.column, order)
        };
    }
    let mut rows = page.limit(req.fetch()).all(db).await?;
    if req.backward() {
        rows.reverse();
    }
    let edges: Vec<(KeyCursor, E::Model)> = rows
        .into_iter()
        .map(|row| {
            let key = keys
                .iter()
                .map(|k| encode_value(row.get(k.column)))
                .collect();
            (
                KeyCursor {
                    order: label.clone(),
                    key,
                },
                row,
            )
        })
        .collect();
    let beyond = Beyond {
        before_after: before_after > 0,
        after_before: after_before > 0,
    };
    let (edges, has_previous, has_next) = finish(edges, &req, &beyond);
    Ok(connection(
        edges
            .into_iter()
            .map(|(c, row)| (c, T::from(row)))
            .collect(),
        has_previous,
        has_next,
        total,
    ))
}

// ---------------------------------------------------------------------------
// Nested lists: keyset paging in memory.

/// One value of an in-memory list's order. Values of one position compare
/// by their content; `Null` (an empty value) sorts after every other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyPart {
    /// A number.
    Int(i64),
    /// A text, compared by its bytes (dates as `YYYY-MM-DD`, ids in their
    /// hyphenated lowercase form, so both sort as their values do).
    Text(String),
    /// No value.
    Null,
}

impl KeyPart {
    fn json(&self) -> Json {
        match self {
            Self::Int(n) => json!(n),
            Self::Text(s) => Json::String(s.clone()),
            Self::Null => Json::Null,
        }
    }

    fn from_json(value: &Json) -> Option<Self> {
        match value {
            Json::Null => Some(Self::Null),
            Json::String(s) => Some(Self::Text(s.clone())),
            Json::Number(n) => n.as_i64().map(Self::Int),
            _ => None,
        }
    }
}

impl From<&str> for KeyPart {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<uuid::Uuid> for KeyPart {
    fn from(id: uuid::Uuid) -> Self {
        Self::Text(id.to_string())
    }
}

impl From<i32> for KeyPart {
    fn from(n: i32) -> Self {
        Self::Int(i64::from(n))
    }
}

impl From<NaiveDate> for KeyPart {
    fn from(d: NaiveDate) -> Self {
        Self::Text(d.to_string())
    }
}

impl<T: Into<KeyPart>> From<Option<T>> for KeyPart {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

/// Pages a list loaded in memory (a nested relation loaded in a batch).
/// The list is sorted by `key` (ascending, the last part unique) and
/// `order` names that order in its cursors.
pub fn paginate_vec<T: OutputType>(
    items: Vec<T>,
    order: &str,
    key: impl Fn(&T) -> Vec<KeyPart>,
    args: &PageArgs,
    limits: &Limits,
) -> ApiResult<Conn<T>> {
    let req = Request::check(args, order, limits)?;
    let mut keyed: Vec<(Vec<KeyPart>, T)> = items.into_iter().map(|i| (key(&i), i)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let parts = |cursor: &Option<KeyCursor>, field: &str| -> ApiResult<Option<Vec<KeyPart>>> {
        cursor
            .as_ref()
            .map(|c| {
                c.key
                    .iter()
                    .map(KeyPart::from_json)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ApiError::bad_input(
                            field,
                            format!("`{field}` is not a cursor of this list"),
                        )
                    })
            })
            .transpose()
    };
    let after = parts(&req.after, "after")?;
    let before = parts(&req.before, "before")?;
    let total = i64::try_from(keyed.len()).unwrap_or(i64::MAX);
    // The list between the cursors.
    let start = after.as_ref().map_or(0, |a| {
        keyed.partition_point(|(k, _)| k.cmp(a) != Ordering::Greater)
    });
    let end = before
        .as_ref()
        .map_or(keyed.len(), |b| keyed.partition_point(|(k, _)| k < b))
        .max(start);
    let beyond = Beyond {
        before_after: start > 0,
        after_before: end < keyed.len(),
    };
    let edges = keyed
        .drain(start..end)
        .map(|(k, item)| {
            (
                KeyCursor {
                    order: order.to_owned(),
                    key: k.iter().map(KeyPart::json).collect(),
                },
                item,
            )
        })
        .collect();
    let (edges, has_previous, has_next) = finish(edges, &req, &beyond);
    Ok(connection(edges, has_previous, has_next, total))
}

/// Complexity of a connection field: its page size times its selection.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).unwrap_or(20).clamp(1, 1000) as usize;
    n.saturating_mul(child).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages the numbers `0..total` (as an in-memory list) and returns the
    /// page and its `pageInfo`.
    fn page(
        items: &[i64],
        after: Option<i64>,
        before: Option<i64>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> (Vec<i64>, bool, bool) {
        let c = |n: Option<i64>| {
            n.map(|n| {
                KeyCursor {
                    order: "n".into(),
                    key: vec![json!(n)],
                }
                .encode_cursor()
            })
        };
        let conn = paginate_vec(
            items.to_vec(),
            "n",
            |n| vec![KeyPart::Int(*n)],
            &PageArgs::new(c(after), c(before), first, last),
            &Limits::default(),
        )
        .unwrap();
        (
            conn.edges.iter().map(|e| e.node).collect(),
            conn.has_previous_page,
            conn.has_next_page,
        )
    }

    fn range(a: i64, b: i64) -> Vec<i64> {
        (a..b).collect()
    }

    #[test]
    fn windows() {
        let all = range(0, 50);
        assert_eq!(
            page(&all, None, None, None, None),
            (range(0, 20), false, true)
        );
        assert_eq!(
            page(&all, None, None, Some(5), None),
            (range(0, 5), false, true)
        );
        assert_eq!(
            page(&all, Some(4), None, Some(5), None),
            (range(5, 10), true, true)
        );
        assert_eq!(
            page(&all, None, None, None, Some(5)),
            (range(45, 50), true, false)
        );
        assert_eq!(
            page(&all, None, Some(10), None, Some(3)),
            (range(7, 10), true, true)
        );
        assert_eq!(
            page(&all, Some(60), None, Some(3), None),
            (vec![], true, false)
        );
        assert_eq!(page(&all, None, None, Some(0), None), (vec![], false, true));
        assert_eq!(
            page(&all, Some(45), None, Some(10), None),
            (range(46, 50), true, false)
        );
    }

    #[test]
    fn cursors_survive_inserts_and_deletes() {
        // The cursor of 9 in a list where 9 has since been deleted and 3
        // inserted: the next page starts at 10 all the same.
        let mut list = range(0, 30);
        list.retain(|n| *n != 9);
        assert_eq!(
            page(&list, Some(9), None, Some(3), None).0,
            vec![10, 11, 12]
        );
        list.insert(0, -1);
        assert_eq!(
            page(&list, Some(9), None, Some(3), None).0,
            vec![10, 11, 12]
        );
        assert_eq!(page(&list, None, Some(9), None, Some(2)).0, vec![7, 8]);
    }

    #[test]
    fn bad_arguments() {
        let limits = Limits::default();
        let other = KeyCursor {
            order: "other".into(),
            key: vec![json!(1)],
        }
        .encode_cursor();
        for args in [
            PageArgs::new(None, None, Some(-1), None),
            PageArgs::new(None, None, Some(101), None),
            PageArgs::new(Some("zzz".into()), None, None, None),
            PageArgs::new(None, Some(other), None, None),
        ] {
            let Err(err) =
                paginate_vec(vec![1_i64], "n", |n| vec![KeyPart::Int(*n)], &args, &limits)
            else {
                panic!("accepted {args:?}");
            };
            assert_eq!(err.code(), "BAD_USER_INPUT");
        }
    }

    #[test]
    fn empty_values_sort_last() {
        let mut parts = vec![KeyPart::Null, KeyPart::Int(3), KeyPart::Int(-1)];
        parts.sort();
        assert_eq!(
            parts,
            vec![KeyPart::Int(-1), KeyPart::Int(3), KeyPart::Null]
        );
    }

    fn cursor_text() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        proptest::option::of(prop_oneof![
            ".{0,30}",
            any::<i64>().prop_map(|n| KeyCursor {
                order: "n".into(),
                key: vec![json!(n)]
            }
            .encode_cursor()),
            "[-+ 0-9a-z:{}\"\\[\\],]{0,30}".prop_map(|t| URL_SAFE_NO_PAD.encode(t)),
        ])
    }

    proptest::proptest! {
        /// Any cursors and sizes give a page no larger than asked, in list
        /// order between the cursors, or BAD_USER_INPUT naming the argument.
        #[test]
        fn prop_any_paging_arguments_give_a_page_or_bad_input(
            after in cursor_text(),
            before in cursor_text(),
            first in proptest::option::of(proptest::num::i32::ANY),
            last in proptest::option::of(proptest::num::i32::ANY),
            total in 0_i64..300,
        ) {
            let limits = Limits::default();
            let args = PageArgs::new(after, before, first, last);
            match paginate_vec(range(0, total), "n", |n| vec![KeyPart::Int(*n)], &args, &limits) {
                Ok(conn) => {
                    let nodes: Vec<i64> = conn.edges.iter().map(|e| e.node).collect();
                    proptest::prop_assert!(nodes.len() <= limits.max_page_size as usize);
                    proptest::prop_assert!(nodes.windows(2).all(|w| w[0] < w[1]));
                    proptest::prop_assert_eq!(conn.additional_fields.total_count, total);
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
