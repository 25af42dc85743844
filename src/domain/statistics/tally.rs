//! The tallies behind the statistics: per-run counts kept in step with the
//! facts they count (tables `stats_run_kind`, `stats_run_service` and
//! `stats_run_service_kind`; see their entities). Beside each people
//! count, a tally keeps the sum of the record keys of what it counts (see
//! [`crate::auth::policy::disclosure`]).
//!
//! Every write that changes a run's sessions, participations or attendance
//! calls [`refresh_run`] in its own transaction (through
//! [`crate::domain::people::completion::recompute`], which those writes
//! already call), so the tallies are never behind the facts that a reader
//! of the same database sees. A refresh recounts the whole run from its
//! facts (a few hundred rows) rather than applying deltas, so it cannot
//! drift; writes to one run take turns on the run's row lock, so two
//! refreshes of a run never interleave. [`rebuild_all`] recounts every run
//! in three statements (after bulk loads such as the synthetic data).

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use uuid::Uuid;

/// The tally statements: each deletes nothing and inserts the counts of
/// the runs that `{run}` narrows to (`{run}` is replaced by a condition on
/// the run id column named before it, or by `1 = 1` for every run).
const INSERTS: [&str; 3] = [
    "INSERT INTO stats_run_kind (run_id, kind, sessions) \
     SELECT run_id, kind, COUNT(*) FROM session WHERE {run:run_id} GROUP BY run_id, kind",
    "INSERT INTO stats_run_service (run_id, service_id, participants, completions, recorded, present, attendees, \
       participants_key, completions_key, recorded_key, present_key, attendees_key, synthetic) \
     SELECT f.run_id, f.service_id, SUM(f.participants), SUM(f.completions), SUM(f.recorded), SUM(f.present), SUM(f.attendees), \
            SUM(f.participants_key), SUM(f.completions_key), SUM(f.recorded_key), SUM(f.present_key), SUM(f.attendees_key), \
            SUM(f.synthetic) FROM ( \
       SELECT pa.run_id AS run_id, pe.service_id AS service_id, COUNT(*) AS participants, \
              SUM(CASE WHEN pa.completed THEN 1 ELSE 0 END) AS completions, 0 AS recorded, 0 AS present, 0 AS attendees, \
              SUM(pe.record_key) AS participants_key, SUM(CASE WHEN pa.completed THEN pe.record_key ELSE 0 END) AS completions_key, \
              0 AS recorded_key, 0 AS present_key, 0 AS attendees_key, \
              SUM(CASE WHEN pe.synthetic THEN 1 ELSE 0 END) AS synthetic \
       FROM participation pa JOIN person pe ON pe.id = pa.person_id WHERE {run:pa.run_id} \
       GROUP BY pa.run_id, pe.service_id \
       UNION ALL \
       SELECT x.run_id, x.service_id, 0, 0, SUM(x.records), SUM(x.presents), SUM(x.attended), \
              0, 0, SUM(x.records * x.k), SUM(x.presents * x.k), SUM(x.attended * x.k), SUM(x.records * x.syn) \
       FROM ( \
         SELECT ss.run_id AS run_id, pe.service_id AS service_id, at.person_id AS person_id, pe.record_key AS k, \
                COUNT(*) AS records, SUM(CASE WHEN at.present THEN 1 ELSE 0 END) AS presents, \
                MAX(CASE WHEN at.present THEN 1 ELSE 0 END) AS attended, \
                MAX(CASE WHEN pe.synthetic THEN 1 ELSE 0 END) AS syn \
         FROM attendance at JOIN session ss ON ss.id = at.session_id JOIN person pe ON pe.id = at.person_id \
         WHERE {run:ss.run_id} \
         GROUP BY ss.run_id, pe.service_id, at.person_id, pe.record_key \
       ) x GROUP BY x.run_id, x.service_id \
     ) f GROUP BY f.run_id, f.service_id",
    "INSERT INTO stats_run_service_kind (run_id, service_id, kind, participants, completions, recorded, present, \
       participants_key, completions_key, recorded_key, present_key, synthetic) \
     SELECT x.run_id, x.service_id, x.kind, SUM(x.participating), SUM(x.completed), SUM(x.records), SUM(x.presents), \
            SUM(x.participating * x.k), SUM(x.completed * x.k), SUM(x.records * x.k), SUM(x.presents * x.k), \
            SUM(x.records * x.syn) \
     FROM ( \
       SELECT ss.run_id AS run_id, pe.service_id AS service_id, ss.kind AS kind, at.person_id AS person_id, pe.record_key AS k, \
              MAX(CASE WHEN at.present AND pa.id IS NOT NULL THEN 1 ELSE 0 END) AS participating, \
              MAX(CASE WHEN at.present AND pa.completed THEN 1 ELSE 0 END) AS completed, \
              COUNT(*) AS records, SUM(CASE WHEN at.present THEN 1 ELSE 0 END) AS presents, \
              MAX(CASE WHEN pe.synthetic THEN 1 ELSE 0 END) AS syn \
       FROM attendance at JOIN session ss ON ss.id = at.session_id JOIN person pe ON pe.id = at.person_id \
       LEFT JOIN participation pa ON pa.run_id = ss.run_id AND pa.person_id = at.person_id \
       WHERE {run:ss.run_id} \
       GROUP BY ss.run_id, pe.service_id, ss.kind, at.person_id, pe.record_key \
     ) x GROUP BY x.run_id, x.service_id, x.kind",
];

/// The tally tables, in the order they are cleared.
const TABLES: [&str; 3] = [
    "stats_run_service_kind",
    "stats_run_service",
    "stats_run_kind",
];

/// Replaces every `{run:COLUMN}` in `sql` with `COLUMN = <placeholder>`
/// (one bound value each), or with `1 = 1` when `run` is `None`.
fn bind(backend: DatabaseBackend, sql: &str, run: Option<Uuid>) -> Statement {
    let mut out = String::with_capacity(sql.len());
    let mut values: Vec<Value> = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find("{run:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let end = after.find('}').expect("a closed {run:…} marker");
        let column = &after[..end];
        match run {
            Some(id) => {
                values.push(id.into());
                match backend {
                    DatabaseBackend::Postgres => {
                        out.push_str(&format!("{column} = ${}", values.len()))
                    }
                    _ => out.push_str(&format!("{column} = ?")),
                }
            }
            None => out.push_str("1 = 1"),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Statement::from_sql_and_values(backend, out, values)
}

/// Recounts the tallies of one run. Call it inside the transaction of the
/// write that changed the run's facts; on PostgreSQL it takes the run's
/// row lock (held already by the run writes), so that refreshes of one run
/// follow each other.
pub async fn refresh_run(db: &impl ConnectionTrait, run_id: Uuid) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id FROM programme_run WHERE id = $1 FOR UPDATE",
            [run_id.into()],
        ))
        .await?;
    }
    for table in TABLES {
        db.execute_raw(bind(
            backend,
            &format!("DELETE FROM {table} WHERE {{run:run_id}}"),
            Some(run_id),
        ))
        .await?;
    }
    for sql in INSERTS {
        db.execute_raw(bind(backend, sql, Some(run_id))).await?;
    }
    Ok(())
}

/// Recounts the tallies of every run (after a bulk load).
pub async fn rebuild_all(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for table in TABLES {
        db.execute_raw(Statement::from_string(
            backend,
            format!("DELETE FROM {table}"),
        ))
        .await?;
    }
    for sql in INSERTS {
        db.execute_raw(bind(backend, sql, None)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_placeholders_per_engine() {
        let id = Uuid::nil();
        let sql =
            "SELECT 1 FROM a WHERE {run:a.run_id} UNION ALL SELECT 1 FROM b WHERE {run:b.run_id}";
        let pg = bind(DatabaseBackend::Postgres, sql, Some(id));
        assert_eq!(
            pg.sql,
            "SELECT 1 FROM a WHERE a.run_id = $1 UNION ALL SELECT 1 FROM b WHERE b.run_id = $2"
        );
        assert_eq!(pg.values.map(|v| v.0.len()), Some(2));
        let lite = bind(DatabaseBackend::Sqlite, sql, Some(id));
        assert_eq!(
            lite.sql,
            "SELECT 1 FROM a WHERE a.run_id = ? UNION ALL SELECT 1 FROM b WHERE b.run_id = ?"
        );
        let all = bind(DatabaseBackend::Sqlite, sql, None);
        assert_eq!(
            all.sql,
            "SELECT 1 FROM a WHERE 1 = 1 UNION ALL SELECT 1 FROM b WHERE 1 = 1"
        );
        assert!(all.values.is_none_or(|v| v.0.is_empty()));
    }
}
