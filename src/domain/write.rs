//! What every write shares: optimistic locking, snapshots for the audit
//! log, and the checks on input (each failure names its field).
//!
//! A mutation follows one shape:
//! 1. decode and validate its input ([`text`], [`opt_text`], [`email`],
//!    [`dates_in_order`], …) → BAD_USER_INPUT with `extensions.field`;
//! 2. begin a transaction with [`begin`], load what it changes and ask
//!    [`crate::auth::policy`] whether the viewer may;
//! 3. write; an update goes through [`update_versioned`], which changes the
//!    row only at the version the client read (else CONFLICT);
//! 4. write the audit entry ([`audit`]) with before/after [`snapshot`]s and
//!    [`commit`]. Dropping the transaction on any error rolls everything
//!    back.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::value::sea_value_to_json_value;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, Iterable, ModelTrait, QueryFilter,
    SqliteTransactionMode, TransactionOptions, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};

/// Longest name or title (characters).
pub const MAX_NAME: usize = 200;
/// Longest short text: places, periods, units, job titles (characters).
pub const MAX_SHORT: usize = 200;
/// Longest prose: descriptions, notes, reports (characters).
pub const MAX_PROSE: usize = 10_000;
/// Longest e-mail address (RFC 5321).
pub const MAX_EMAIL: usize = 254;

/// Begins the transaction of a write. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`): two deferred transactions that both read and
/// then write would otherwise fail with "database is locked" instead of
/// waiting their turn. PostgreSQL ignores the option; its row locks and the
/// version check settle races there.
pub async fn begin(db: &DatabaseConnection) -> ApiResult<DatabaseTransaction> {
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?)
}

/// Commits a write's transaction. The request's `Idempotency-Key`, if it
/// sent one, becomes `committed` in the same transaction
/// ([`crate::idempotency`]). A commit that fails on the way has an unknown
/// outcome: WRITE_OUTCOME_UNKNOWN, never "try again".
pub async fn commit(txn: DatabaseTransaction) -> ApiResult<()> {
    crate::idempotency::mark_committed(&txn).await?;
    match txn.commit().await {
        Ok(()) => {
            crate::idempotency::note_committed();
            Ok(())
        }
        Err(err) => {
            tracing::error!(error = %err, "a commit failed; whether it was saved is unknown");
            crate::idempotency::note_unknown();
            Err(ApiError::WriteOutcomeUnknown)
        }
    }
}

/// Saves `am` (the changed fields of one row) if the row is still at
/// `expected`, bumping `version` and `updated_at`. A row at another version
/// is CONFLICT and nothing changes; a missing row is NOT_FOUND.
pub async fn update_versioned<A>(
    db: &impl ConnectionTrait,
    am: A,
    expected: i32,
    what: &str,
) -> ApiResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    update_versioned_unique(db, am, expected, what, || {
        ApiError::Conflict(format!(
            "the {what} conflicts with a row written at the same time; read it again and retry"
        ))
    })
    .await
}

/// [`update_versioned`], with the error to give when a unique index
/// refuses the new values (a concurrent write took them first).
pub async fn update_versioned_unique<A>(
    db: &impl ConnectionTrait,
    mut am: A,
    expected: i32,
    what: &str,
    taken: impl FnOnce() -> ApiError,
) -> ApiResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let version = column::<A::Entity>("version")?;
    let updated_at = column::<A::Entity>("updated_at")?;
    am.set(version, Value::from(expected + 1));
    am.set(updated_at, Value::from(Utc::now()));
    let update = <A::Entity as EntityTrait>::update(am)
        .validate()?
        .filter(version.eq(expected));
    match update.exec(db).await {
        Ok(model) => Ok(model),
        Err(DbErr::RecordNotUpdated) => Err(conflict(what, expected)),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(taken())
        }
        Err(e) => Err(e.into()),
    }
}

/// Checks the version a client sent against the row it read, before any
/// write: CONFLICT when they differ. [`update_versioned`] checks again in
/// the UPDATE itself, which settles races.
pub fn check_version(what: &str, current: i32, expected: i32) -> ApiResult<()> {
    if current == expected {
        Ok(())
    } else {
        Err(conflict(what, expected))
    }
}

/// Turns a unique-key violation into CONFLICT (a concurrent write created
/// the same row first); other database errors stay internal.
pub fn unique_as_conflict(what: &str, err: DbErr) -> ApiError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict(format!(
            "the {what} was just written by someone else; read it again and retry"
        )),
        _ => err.into(),
    }
}

fn conflict(what: &str, expected: i32) -> ApiError {
    ApiError::Conflict(format!(
        "the {what} has changed since version {expected}; read it again and retry"
    ))
}

fn column<E: EntityTrait>(name: &str) -> ApiResult<E::Column> {
    name.parse::<E::Column>()
        .map_err(|_| ApiError::internal(format!("entity has no `{name}` column")))
}

/// Columns that never leave the database: the record keys of disclosure
/// control (see `crate::auth::policy::disclosure`).
const SECRET_COLUMNS: [&str; 1] = ["record_key"];

/// A row as JSON for the audit log: every column by its database name,
/// except the secret ones.
pub fn snapshot<M: ModelTrait>(row: &M) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for col in <M::Entity as EntityTrait>::Column::iter() {
        if SECRET_COLUMNS.contains(&sea_orm::IdenStatic::as_str(&col)) {
            continue;
        }
        map.insert(
            sea_orm::IdenStatic::as_str(&col).to_owned(),
            sea_value_to_json_value(&row.get(col)),
        );
    }
    serde_json::Value::Object(map)
}

/// Writes the audit entry of a change: `before` is `None` for a creation,
/// `after` `None` for a deletion.
pub async fn audit<M: ModelTrait>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    before: Option<&M>,
    after: Option<&M>,
) -> ApiResult<()> {
    audit::record(
        db,
        viewer,
        Change {
            action,
            entity_type,
            entity_id,
            change: serde_json::json!({
                "before": before.map(snapshot),
                "after": after.map(snapshot),
            }),
        },
    )
    .await
}

/// A required text: trimmed, 1 to `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    check_len(field, value, max)?;
    Ok(value.to_owned())
}

/// An optional text: trimmed; empty becomes `None`; at most `max` characters.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            check_len(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

fn check_len(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` contains control characters"),
        ));
    }
    Ok(())
}

/// An optional e-mail address: trimmed and lower-cased; `local@domain`
/// with a dot in the domain, no spaces, at most [`MAX_EMAIL`] characters.
pub fn email(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(value) = opt_text(field, value, MAX_EMAIL)? else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_input(
            field,
            format!("`{field}` is not an e-mail address (name@example.no)"),
        )
    };
    let (local, domain) = value.rsplit_once('@').ok_or_else(bad)?;
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2 && labels.iter().all(|l| label_ok(l));
    if !local_ok || !domain_ok {
        return Err(bad());
    }
    Ok(Some(value.to_lowercase()))
}

/// An optional input of an update, checked by `f`: `None` when left out
/// (keep), `Some(None)` for `null` (clear), `Some(Some(v))` for a value.
pub fn maybe<T, U>(
    value: &async_graphql::MaybeUndefined<T>,
    f: impl FnOnce(&T) -> ApiResult<U>,
) -> ApiResult<Option<Option<U>>> {
    use async_graphql::MaybeUndefined;
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => f(v).map(|u| Some(Some(u))),
    }
}

/// An optional text of an update: as [`maybe`]; an empty text also clears.
pub fn maybe_text(
    field: &str,
    value: &async_graphql::MaybeUndefined<String>,
    max: usize,
) -> ApiResult<Option<Option<String>>> {
    Ok(maybe(value, |v| opt_text(field, Some(v), max))?.map(Option::flatten))
}

/// `from` must not come after `to` (either may be missing); the error names
/// `to_field`.
pub fn dates_in_order(
    to_field: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<()> {
    match (from, to) {
        (Some(a), Some(b)) if b < a => Err(ApiError::bad_input(
            to_field,
            format!("`{to_field}` ({b}) is before the start ({a})"),
        )),
        _ => Ok(()),
    }
}

/// A new slug (the natural key of programmes, networks, services): trimmed,
/// 1 to 120 characters of lower-case letters a–z, digits and single
/// hyphens between them — what `slugify` makes of a name.
pub fn new_slug(field: &str, value: &str) -> ApiResult<String> {
    let value = value.trim();
    crate::domain::check_slug(value, field)?;
    let made = crate::domain::reference::slugify(value);
    if made != value {
        return Err(ApiError::bad_input(
            field,
            format!(
                "`{field}` may hold only lower-case letters a–z, digits and single hyphens between them, e.g. \"{made}\""
            ),
        ));
    }
    Ok(value.to_owned())
}

/// An integer within `min..=max`.
pub fn in_range(field: &str, value: i32, min: i32, max: i32) -> ApiResult<i32> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must be between {min} and {max}"),
        ))
    }
}

/// A year the register can hold.
pub fn year(field: &str, value: i32) -> ApiResult<i32> {
    in_range(field, value, 1990, 2100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::BadUserInput { field, .. } => field,
            other => panic!("not BAD_USER_INPUT: {other:?}"),
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("input.name", "  Lier  ", 10).unwrap(), "Lier");
        assert_eq!(
            field_of(text("input.name", "   ", 10).unwrap_err()),
            "input.name"
        );
        assert!(text("input.name", &"x".repeat(11), 10).is_err());
        assert!(text("input.name", "a\u{0}b", 10).is_err());
        assert_eq!(opt_text("f", Some("  "), 5).unwrap(), None);
        assert_eq!(opt_text("f", None, 5).unwrap(), None);
        // Characters, not bytes: "æøå" is 3 characters.
        assert_eq!(
            opt_text("f", Some("æøå"), 3).unwrap().as_deref(),
            Some("æøå")
        );
    }

    #[test]
    fn email_syntax() {
        assert_eq!(
            email("e", Some(" Kari.Nordmann@Lier.Kommune.NO "))
                .unwrap()
                .as_deref(),
            Some("kari.nordmann@lier.kommune.no")
        );
        assert_eq!(email("e", Some("")).unwrap(), None);
        for bad in [
            "kari",
            "kari@",
            "@lier.no",
            "kari@lier",
            "kari nordmann@lier.no",
            "kari@lier..no",
            "kari@-lier.no",
            ".kari@lier.no",
        ] {
            assert_eq!(
                field_of(email("input.email", Some(bad)).unwrap_err()),
                "input.email",
                "{bad}"
            );
        }
    }

    #[test]
    fn slugs_are_lower_case_and_hyphenated() {
        assert_eq!(
            new_slug("s", " laeringsnettverk-agder-2 ").unwrap(),
            "laeringsnettverk-agder-2"
        );
        for bad in [
            "",
            "Mitt-Liv",
            "mitt liv",
            "mitt--liv",
            "-mitt",
            "mitt-",
            "møte",
            &"a".repeat(121),
        ] {
            assert_eq!(
                field_of(new_slug("input.slug", bad).unwrap_err()),
                "input.slug",
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_and_ranges() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert!(dates_in_order("to", d("2025-01-01"), d("2025-01-01")).is_ok());
        assert!(dates_in_order("to", d("2025-01-02"), None).is_ok());
        assert_eq!(
            field_of(dates_in_order("input.endsOn", d("2025-01-02"), d("2025-01-01")).unwrap_err()),
            "input.endsOn"
        );
        assert!(year("y", 2025).is_ok());
        assert!(year("y", 1800).is_err());
        assert!(in_range("p", 101, 0, 100).is_err());
    }

    proptest::proptest! {
        /// Any text is a clean, bounded text or BAD_USER_INPUT on its
        /// field; any e-mail is lower-cased and well formed or refused.
        #[test]
        fn prop_any_text_is_clean_or_bad_input(value in "\\PC{0,60}|.{0,60}|[ -~]{0,300}") {
            match text("input.name", &value, MAX_NAME) {
                Ok(t) => {
                    proptest::prop_assert!(!t.is_empty() && t.chars().count() <= MAX_NAME);
                    proptest::prop_assert!(!t.contains('\0'));
                }
                Err(err) => proptest::prop_assert_eq!(field_of(err), "input.name"),
            }
            match email("input.email", Some(&value)) {
                Ok(Some(mail)) => {
                    proptest::prop_assert_eq!(mail.to_lowercase(), mail.clone());
                    proptest::prop_assert!(mail.contains('@') && !mail.contains('\0'));
                }
                Ok(None) => proptest::prop_assert!(value.trim().is_empty()),
                Err(err) => proptest::prop_assert_eq!(field_of(err), "input.email"),
            }
        }
    }
}
