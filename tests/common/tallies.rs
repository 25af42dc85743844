//! Checks that the statistics tallies of a run are in step with its facts:
//! the rows the writes left (counts and record-key sums) equal a recount
//! from scratch.

use entity::{stats_run_kind, stats_run_person_kind, stats_run_service, stats_run_service_kind};
use kompetanse::domain::statistics::tally;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Statement, TransactionTrait,
};
use uuid::Uuid;

/// The tally rows of a run, as comparable text.
async fn snapshot(db: &impl sea_orm::ConnectionTrait, run: Uuid) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for r in stats_run_kind::Entity::find()
        .filter(stats_run_kind::Column::RunId.eq(run))
        .order_by_asc(stats_run_kind::Column::Kind)
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!("kind {} {}", r.kind, r.sessions));
    }
    for r in stats_run_service::Entity::find()
        .filter(stats_run_service::Column::RunId.eq(run))
        .order_by_asc(stats_run_service::Column::ServiceId)
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!(
            "service {} keys {}/{}/{}/{}/{} {} {} {} {} {}",
            r.service_id,
            r.participants_key,
            r.completions_key,
            r.recorded_key,
            r.present_key,
            r.attendees_key,
            r.participants,
            r.completions,
            r.recorded,
            r.present,
            r.attendees
        ));
    }
    for r in stats_run_service_kind::Entity::find()
        .filter(stats_run_service_kind::Column::RunId.eq(run))
        .order_by_asc(stats_run_service_kind::Column::ServiceId)
        .order_by_asc(stats_run_service_kind::Column::Kind)
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!(
            "service×kind {} {} keys {}/{}/{}/{} {} {} {} {}",
            r.service_id,
            r.kind,
            r.participants_key,
            r.completions_key,
            r.recorded_key,
            r.present_key,
            r.participants,
            r.completions,
            r.recorded,
            r.present
        ));
    }
    for r in stats_run_person_kind::Entity::find()
        .filter(stats_run_person_kind::Column::RunId.eq(run))
        .order_by_asc(stats_run_person_kind::Column::Kind)
        .order_by_asc(stats_run_person_kind::Column::PersonId)
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!(
            "person×kind {} {} {} key {}",
            r.kind, r.person_id, r.service_id, r.record_key
        ));
    }
    // The distinct people of the run's services.
    rows.extend(people_rows(db, Some(run)).await);
    rows
}

/// The rows of `stats_service_people`, sorted, as comparable text: of the
/// services with persons in `run`, or every row.
pub async fn people_rows(db: &impl ConnectionTrait, run: Option<Uuid>) -> Vec<String> {
    let backend = db.get_database_backend();
    let mut sql = "SELECT p.service_id, p.by_year, p.year, p.by_kind, p.kind, p.by_programme, \
           p.programme_id, p.people, p.people_key FROM stats_service_people p"
        .to_owned();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(run) = run {
        let p = if backend == DatabaseBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        sql.push_str(&format!(
            " WHERE p.service_id IN \
             (SELECT t.service_id FROM stats_run_service t WHERE t.run_id = {p})"
        ));
        values.push(run.into());
    }
    let mut people: Vec<String> = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "people {} {}/{:?} {}/{:?} {}/{:?} {} key {}",
                r.try_get_by_index::<Uuid>(0).unwrap(),
                r.try_get_by_index::<bool>(1).unwrap(),
                r.try_get_by_index::<Option<i32>>(2).unwrap(),
                r.try_get_by_index::<bool>(3).unwrap(),
                r.try_get_by_index::<Option<String>>(4).unwrap(),
                r.try_get_by_index::<bool>(5).unwrap(),
                r.try_get_by_index::<Option<Uuid>>(6).unwrap(),
                r.try_get_by_index::<i64>(7).unwrap(),
                r.try_get_by_index::<i64>(8).unwrap(),
            )
        })
        .collect();
    // The table has no key that both engines order alike.
    people.sort();
    people
}

/// Asserts that the tallies the writes kept for `run` equal a recount from
/// its facts (done in a transaction that is rolled back), and returns the
/// rows.
pub async fn assert_in_step(db: &DatabaseConnection, run: Uuid) -> Vec<String> {
    // Read and recount in one transaction that first takes the locks that
    // writes take (the run's row and its services' rows on PostgreSQL, the
    // database's write lock on SQLite), so that writes of other tests to
    // the same services cannot land between the two readings.
    let txn = db.begin().await.unwrap();
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres {
        "SELECT s.id FROM service s WHERE s.id IN \
         (SELECT t.service_id FROM stats_run_service t WHERE t.run_id = $1) \
         ORDER BY s.id FOR NO KEY UPDATE"
    } else {
        "UPDATE stats_run_kind SET sessions = sessions WHERE run_id = ?"
    };
    if backend == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id FROM programme_run WHERE id = $1 FOR UPDATE",
            [run.into()],
        ))
        .await
        .unwrap();
    }
    txn.execute_raw(Statement::from_sql_and_values(backend, lock, [run.into()]))
        .await
        .unwrap();
    let kept = snapshot(&txn, run).await;
    tally::refresh_run(&txn, run).await.unwrap();
    let recounted = snapshot(&txn, run).await;
    txn.rollback().await.unwrap();
    assert_eq!(
        kept, recounted,
        "the statistics tallies of run {run} drifted from its facts"
    );
    kept
}

/// Asserts that the tallies of `run` are in step (see [`assert_in_step`])
/// and that one service's row holds `counts`: participations, completions,
/// records, records present and distinct persons present.
pub async fn assert_service_counts(db: &DatabaseConnection, run: Uuid, counts: [i64; 5]) {
    let rows = assert_in_step(db, run).await;
    let suffix: String = counts.iter().map(|c| format!(" {c}")).collect();
    assert!(
        rows.iter()
            .any(|r| r.starts_with("service ") && r.ends_with(&suffix)),
        "no service tally with{suffix}: {rows:?}"
    );
}
