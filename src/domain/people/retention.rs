//! Retention: personal data is kept a set number of years (5 by default)
//! after the runs a person took part in ended, then erased the way
//! `erasePerson` erases ([`super::privacy::erase`]): the person's record
//! loses its name, e-mail and job title, and its participation and
//! attendance stay, anonymously, in the statistics.
//!
//! A person is due when their record is not erased and has not changed
//! since the cutoff (today less the retention period), they took part in
//! or attended at least one run, and every run they took part in or
//! attended ended before the cutoff. A run ended on its `endsOn`; a run
//! without one, at the end of the year after its (starting) year; a run
//! with neither date never ends for this rule. Persons who never took part
//! in a run are the service's staff register, kept until their leader
//! removes or erases them.
//!
//! `kompetanse retention` erases in batches, one transaction each, so it
//! can run while the server serves: a person the server erased or changed
//! in between is skipped, and a second run finds nothing more to do.

use chrono::{Datelike, Months, NaiveDate};
use entity::person;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    Statement,
};
use uuid::Uuid;

use super::privacy;
use crate::auth::{Scope, Viewer};
use crate::error::ApiResult;

/// The default retention period, in years after the last run ended.
pub const DEFAULT_YEARS: u32 = 5;

/// Persons erased per transaction.
pub const BATCH: u64 = 200;

/// What a retention run found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionReport {
    /// Runs that ended before this day are past retention.
    pub cutoff: NaiveDate,
    /// Persons due when the run started.
    pub due: u64,
    /// Persons erased (0 for a dry run).
    pub erased: u64,
    /// Transactions used.
    pub batches: u64,
}

impl std::fmt::Display for RetentionReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "retention: runs that ended before {} are past retention; {} persons due, {} erased in {} batches",
            self.cutoff, self.due, self.erased, self.batches
        )
    }
}

/// The first day still kept: `today` less `years` years.
pub fn cutoff(today: NaiveDate, years: u32) -> NaiveDate {
    today
        .checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MIN)
}

/// The SQL of the persons due at `cutoff` (see the module), `limit` of them
/// in id order (all when `None`), or their number when `count`.
fn due_sql(cutoff: NaiveDate, limit: Option<u64>, count: bool) -> String {
    // Dates are formatted here, never taken from input: safe to inline.
    let day = cutoff.format("%Y-%m-%d");
    let year = cutoff.year();
    let ended = format!(
        "((r.ends_on IS NOT NULL AND r.ends_on < '{day}') \
          OR (r.ends_on IS NULL AND r.year IS NOT NULL AND r.year + 2 <= {year}))"
    );
    let what = if count { "COUNT(*)" } else { "p.id" };
    let tail = match (count, limit) {
        (false, Some(n)) => format!(" ORDER BY p.id LIMIT {n}"),
        (false, None) => " ORDER BY p.id".to_owned(),
        (true, _) => String::new(),
    };
    format!(
        "SELECT {what} FROM person p \
         WHERE p.erased_at IS NULL AND p.updated_at < '{day}' \
           AND (EXISTS (SELECT 1 FROM participation pa WHERE pa.person_id = p.id) \
                OR EXISTS (SELECT 1 FROM attendance a WHERE a.person_id = p.id)) \
           AND NOT EXISTS (SELECT 1 FROM participation pa JOIN programme_run r ON r.id = pa.run_id \
                           WHERE pa.person_id = p.id AND NOT {ended}) \
           AND NOT EXISTS (SELECT 1 FROM attendance a JOIN session s ON s.id = a.session_id \
                           JOIN programme_run r ON r.id = s.run_id \
                           WHERE a.person_id = p.id AND NOT {ended}){tail}"
    )
}

/// The number of persons due at `cutoff`.
pub async fn count_due(db: &impl ConnectionTrait, cutoff: NaiveDate) -> ApiResult<u64> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, due_sql(cutoff, None, true)))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The ids of up to `limit` persons due at `cutoff`.
async fn due_ids(db: &impl ConnectionTrait, cutoff: NaiveDate, limit: u64) -> ApiResult<Vec<Uuid>> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            due_sql(cutoff, Some(limit), false),
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get_by_index::<Uuid>(0).map_err(Into::into))
        .collect()
}

/// Applies the retention rule of `years` on `today`: erases every person
/// due, `batch` per transaction (or, with `dry_run`, only counts them).
pub async fn apply(
    db: &DatabaseConnection,
    years: u32,
    today: NaiveDate,
    dry_run: bool,
    batch: u64,
) -> ApiResult<RetentionReport> {
    let cutoff = cutoff(today, years);
    let due = count_due(db, cutoff).await?;
    let mut report = RetentionReport {
        cutoff,
        due,
        erased: 0,
        batches: 0,
    };
    if dry_run {
        return Ok(report);
    }
    let actor = Viewer::new("kompetanse retention", vec![Scope::Admin]);
    loop {
        // Reads, then writes: on SQLite it must hold the write lock from
        // the start, or a write of the API landing in between fails it
        // with "database is locked".
        let txn = crate::domain::write::begin(db).await?;
        let ids = due_ids(&txn, cutoff, batch.max(1)).await?;
        if ids.is_empty() {
            txn.rollback().await?;
            break;
        }
        let mut erased = 0;
        for id in ids {
            // Locked (on PostgreSQL) and read again: the server may have
            // erased or changed the person since.
            let Some(row) = person::Entity::find_by_id(id)
                .filter(person::Column::ErasedAt.is_null())
                .lock_exclusive()
                .one(&txn)
                .await?
            else {
                continue;
            };
            let (_, done) = privacy::erase(&txn, &actor, "retention", row).await?;
            erased += u64::from(done.erased);
        }
        txn.commit().await?;
        report.erased += erased;
        report.batches += 1;
        if erased == 0 {
            // Nothing in this batch could be erased: stop rather than spin.
            break;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_today_less_the_years() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(cutoff(day(2026, 12, 5), 5), day(2021, 12, 5));
        assert_eq!(cutoff(day(2028, 2, 29), 1), day(2027, 2, 28));
        assert_eq!(cutoff(day(2026, 12, 5), 0), day(2026, 12, 5));
    }
}
