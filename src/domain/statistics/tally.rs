//! The tallies behind the statistics: per-run counts kept in step with the
//! facts they count (tables `stats_run_kind`, `stats_run_service`,
//! `stats_run_service_kind` and `stats_run_person_kind`; see their
//! entities). Beside each people count, a tally keeps the sum of the record keys of what it counts (see
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
//! in four statements (after bulk loads such as the synthetic data).

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use uuid::Uuid;

/// The tally statements: each deletes nothing and inserts the counts of
/// the runs that `{run}` narrows to (`{run}` is replaced by a condition on
/// the run id column named before it, or by `1 = 1` for every run).
const INSERTS: [&str; 4] = [
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
    "INSERT INTO stats_run_person_kind (run_id, kind, person_id, service_id, record_key) \
     SELECT DISTINCT ss.run_id, ss.kind, at.person_id, pe.service_id, pe.record_key \
     FROM attendance at JOIN session ss ON ss.id = at.session_id \
     JOIN participation pa ON pa.run_id = ss.run_id AND pa.person_id = at.person_id \
     JOIN person pe ON pe.id = at.person_id \
     WHERE {run:ss.run_id} AND at.present = TRUE",
];

/// The distinct people of each service (`stats_service_people`). A
/// person belongs to one service, so a count of distinct persons per
/// service adds up over services: any grouping by area, service kind or
/// service, with or without year, session kind and programme, is a sum of
/// these rows. Each slice is recounted for the services that
/// `{services:COLUMN}` narrows to (a condition on the service id column,
/// or `1 = 1` for every service).
/// The statement that recounts one slice of `stats_service_people`: the
/// distinct persons of each service (narrowed by `{services:…}`), per year
/// when `by_year`, per session kind when `by_kind` (persons signed up and
/// present at a session of the kind, from `stats_run_person_kind`; else
/// persons signed up) and per programme when `by_programme`, with the sum
/// of their record keys (one per person).
fn people_statement(by_year: bool, by_kind: bool, by_programme: bool) -> String {
    let (from, service, person, key, kind) = if by_kind {
        (
            "stats_run_person_kind t JOIN programme_run r ON r.id = t.run_id",
            "t.service_id",
            "t.person_id",
            "t.record_key",
            "t.kind",
        )
    } else {
        (
            "participation pa JOIN person pe ON pe.id = pa.person_id \
             JOIN programme_run r ON r.id = pa.run_id",
            "pe.service_id",
            "pe.id",
            "pe.record_key",
            "CAST(NULL AS VARCHAR(32))",
        )
    };
    let year = if by_year {
        "r.year"
    } else {
        "CAST(NULL AS INTEGER)"
    };
    let programme = if by_programme {
        "r.programme_id"
    } else {
        "CAST(NULL AS UUID)"
    };
    let flag = |on: bool| if on { "TRUE" } else { "FALSE" };
    format!(
        "INSERT INTO stats_service_people (service_id, by_year, year, by_kind, kind, by_programme, \
           programme_id, people, people_key) \
         SELECT x.service_id, {}, x.year, {}, x.kind, {}, x.programme_id, COUNT(*), SUM(x.k) FROM ( \
           SELECT DISTINCT {service} AS service_id, {year} AS year, {kind} AS kind, \
                  {programme} AS programme_id, {person} AS person_id, {key} AS k \
           FROM {from} WHERE {{services:{service}}} \
         ) x GROUP BY x.service_id, x.year, x.kind, x.programme_id",
        flag(by_year),
        flag(by_kind),
        flag(by_programme),
    )
}

/// Every slice's statement (see [`people_statement`]).
fn people_statements() -> Vec<String> {
    let mut out = Vec::with_capacity(8);
    for by_year in [false, true] {
        for by_kind in [false, true] {
            for by_programme in [false, true] {
                out.push(people_statement(by_year, by_kind, by_programme));
            }
        }
    }
    out
}

/// The tally tables, in the order they are cleared.
const TABLES: [&str; 4] = [
    "stats_run_person_kind",
    "stats_run_service_kind",
    "stats_run_service",
    "stats_run_kind",
];

/// Replaces every `{run:COLUMN}` in `sql` with `COLUMN = <placeholder>`
/// (one bound value each), or with `1 = 1` when `run` is `None`.
fn bind(backend: DatabaseBackend, sql: &str, run: Option<Uuid>) -> Statement {
    let run = run.map(|id| vec![id]);
    bind_marker(backend, sql, "run", run.as_deref())
}

/// Replaces every `{MARKER:COLUMN}` in `sql` with a condition on `COLUMN`:
/// `COLUMN = <placeholder>` for one id, `COLUMN IN (<placeholders>)` for
/// several, `1 = 0` for none, and `1 = 1` when `ids` is `None` (every
/// row).
fn bind_marker(
    backend: DatabaseBackend,
    sql: &str,
    marker: &str,
    ids: Option<&[Uuid]>,
) -> Statement {
    let open = format!("{{{marker}:");
    let mut out = String::with_capacity(sql.len());
    let mut values: Vec<Value> = Vec::new();
    let mut rest = sql;
    let placeholder = |values: &mut Vec<Value>, id: Uuid| {
        values.push(id.into());
        match backend {
            DatabaseBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        let after = &rest[start + open.len()..];
        let end = after.find('}').expect("a closed marker");
        let column = &after[..end];
        match ids {
            None => out.push_str("1 = 1"),
            Some([]) => out.push_str("1 = 0"),
            Some([id]) => {
                let p = placeholder(&mut values, *id);
                out.push_str(&format!("{column} = {p}"));
            }
            Some(ids) => {
                let list: Vec<String> =
                    ids.iter().map(|id| placeholder(&mut values, *id)).collect();
                out.push_str(&format!("{column} IN ({})", list.join(", ")));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Statement::from_sql_and_values(backend, out, values)
}

/// The services with tally rows for `run` (every service one of whose
/// persons takes part in the run or has attendance recorded there).
async fn services_of_run(db: &impl ConnectionTrait, run_id: Uuid) -> Result<Vec<Uuid>, DbErr> {
    let rows = db
        .query_all_raw(bind(
            db.get_database_backend(),
            "SELECT service_id FROM stats_run_service WHERE {run:run_id}",
            Some(run_id),
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<Uuid>(0))
        .collect()
}

/// Recounts the distinct people of `services` (every service when
/// `None`) from the participations and the run tallies.
async fn refresh_people(db: &impl ConnectionTrait, services: Option<&[Uuid]>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres && services.is_some() {
        // Refreshes of different runs may share services: they take turns
        // on the services' rows (in one order, so they cannot deadlock),
        // so that each recount starts after the other has committed. The
        // lock does not block rows that merely reference a service.
        db.execute_raw(bind_marker(
            backend,
            "SELECT id FROM service WHERE {services:id} ORDER BY id FOR NO KEY UPDATE",
            "services",
            services,
        ))
        .await?;
    }
    db.execute_raw(bind_marker(
        backend,
        "DELETE FROM stats_service_people WHERE {services:service_id}",
        "services",
        services,
    ))
    .await?;
    for sql in people_statements() {
        db.execute_raw(bind_marker(backend, &sql, "services", services))
            .await?;
    }
    Ok(())
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
    // The services whose persons the run had before and has after.
    let mut services = services_of_run(db, run_id).await?;
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
    services.extend(services_of_run(db, run_id).await?);
    services.sort();
    services.dedup();
    refresh_people(db, Some(&services)).await
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
    refresh_people(db, None).await
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
