//! Checks that the statistics tallies of a run are in step with its facts:
//! the rows the writes left (counts and record-key sums) equal a recount
//! from scratch.

use entity::{stats_run_kind, stats_run_service, stats_run_service_kind};
use kompetanse::domain::statistics::tally;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
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
    rows
}

/// Asserts that the tallies the writes kept for `run` equal a recount from
/// its facts (done in a transaction that is rolled back), and returns the
/// rows.
pub async fn assert_in_step(db: &DatabaseConnection, run: Uuid) -> Vec<String> {
    let kept = snapshot(db, run).await;
    let txn = db.begin().await.unwrap();
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
