//! Record keys for disclosure control (the cell key method).
//!
//! Every person gets `record_key`: a secret random whole number in
//! `[0, 2^32)`, drawn once and kept for good, never exposed by the API. A
//! statistics cell's key is the sum of the record keys of the facts it
//! counts (modulo 2^32), and the published figure's noise is a function of
//! that key, so the same set of facts always gets the same noise. The
//! service tallies carry, beside each count, the sum of the record keys of
//! what it counts (`*_key`), so that a cell key is summed from tallies as
//! its count is.
//!
//! `up` adds the columns, draws a key for every existing person with the
//! engine's own random generator, and recounts the service tallies with
//! their key sums (the same definitions as the server's
//! `domain::statistics::tally`, frozen here as of this migration). `down`
//! drops the columns.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000001_record_keys"
    }
}

const PERSON: &str = "person";
const RUN_SERVICE: &str = "stats_run_service";
const RUN_SERVICE_KIND: &str = "stats_run_service_kind";

/// The key-sum columns of each tally.
const RUN_SERVICE_KEYS: [&str; 5] = [
    "participants_key",
    "completions_key",
    "recorded_key",
    "present_key",
    "attendees_key",
];
const RUN_SERVICE_KIND_KEYS: [&str; 4] = [
    "participants_key",
    "completions_key",
    "recorded_key",
    "present_key",
];

/// Recounts the service tallies with their key sums.
const BACKFILL: [&str; 2] = [
    "INSERT INTO stats_run_service (run_id, service_id, participants, completions, recorded, present, attendees, \
       participants_key, completions_key, recorded_key, present_key, attendees_key) \
     SELECT f.run_id, f.service_id, SUM(f.participants), SUM(f.completions), SUM(f.recorded), SUM(f.present), SUM(f.attendees), \
            SUM(f.participants_key), SUM(f.completions_key), SUM(f.recorded_key), SUM(f.present_key), SUM(f.attendees_key) FROM ( \
       SELECT pa.run_id AS run_id, pe.service_id AS service_id, COUNT(*) AS participants, \
              SUM(CASE WHEN pa.completed THEN 1 ELSE 0 END) AS completions, 0 AS recorded, 0 AS present, 0 AS attendees, \
              SUM(pe.record_key) AS participants_key, SUM(CASE WHEN pa.completed THEN pe.record_key ELSE 0 END) AS completions_key, \
              0 AS recorded_key, 0 AS present_key, 0 AS attendees_key \
       FROM participation pa JOIN person pe ON pe.id = pa.person_id \
       GROUP BY pa.run_id, pe.service_id \
       UNION ALL \
       SELECT x.run_id, x.service_id, 0, 0, SUM(x.records), SUM(x.presents), SUM(x.attended), \
              0, 0, SUM(x.records * x.k), SUM(x.presents * x.k), SUM(x.attended * x.k) \
       FROM ( \
         SELECT ss.run_id AS run_id, pe.service_id AS service_id, at.person_id AS person_id, pe.record_key AS k, \
                COUNT(*) AS records, SUM(CASE WHEN at.present THEN 1 ELSE 0 END) AS presents, \
                MAX(CASE WHEN at.present THEN 1 ELSE 0 END) AS attended \
         FROM attendance at JOIN session ss ON ss.id = at.session_id JOIN person pe ON pe.id = at.person_id \
         GROUP BY ss.run_id, pe.service_id, at.person_id, pe.record_key \
       ) x GROUP BY x.run_id, x.service_id \
     ) f GROUP BY f.run_id, f.service_id",
    "INSERT INTO stats_run_service_kind (run_id, service_id, kind, participants, completions, recorded, present, \
       participants_key, completions_key, recorded_key, present_key) \
     SELECT x.run_id, x.service_id, x.kind, SUM(x.participating), SUM(x.completed), SUM(x.records), SUM(x.presents), \
            SUM(x.participating * x.k), SUM(x.completed * x.k), SUM(x.records * x.k), SUM(x.presents * x.k) \
     FROM ( \
       SELECT ss.run_id AS run_id, pe.service_id AS service_id, ss.kind AS kind, at.person_id AS person_id, pe.record_key AS k, \
              MAX(CASE WHEN at.present AND pa.id IS NOT NULL THEN 1 ELSE 0 END) AS participating, \
              MAX(CASE WHEN at.present AND pa.completed THEN 1 ELSE 0 END) AS completed, \
              COUNT(*) AS records, SUM(CASE WHEN at.present THEN 1 ELSE 0 END) AS presents \
       FROM attendance at JOIN session ss ON ss.id = at.session_id JOIN person pe ON pe.id = at.person_id \
       LEFT JOIN participation pa ON pa.run_id = ss.run_id AND pa.person_id = at.person_id \
       GROUP BY ss.run_id, pe.service_id, ss.kind, at.person_id, pe.record_key \
     ) x GROUP BY x.run_id, x.service_id, x.kind",
];

async fn add_keys(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    for name in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table)
                    .add_column(big_integer(*name).default(0).to_owned())
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

async fn drop_keys(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    for name in columns.iter().rev() {
        manager
            .alter_table(Table::alter().table(table).drop_column(*name).to_owned())
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_keys(manager, PERSON, &["record_key"]).await?;
        add_keys(manager, RUN_SERVICE, &RUN_SERVICE_KEYS).await?;
        add_keys(manager, RUN_SERVICE_KIND, &RUN_SERVICE_KIND_KEYS).await?;
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        // A uniform draw from [0, 2^32) for every existing person, from
        // each engine's strong source: the first 32 bits of a version 4
        // UUID (PostgreSQL's pg_strong_random), SQLite's randomness (seeded
        // from the operating system).
        let draw = match backend {
            DatabaseBackend::Postgres => {
                "('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 8))::bit(32)::bigint"
            }
            _ => "(random() & 4294967295)",
        };
        db.execute_unprepared(&format!("UPDATE person SET record_key = {draw}"))
            .await?;
        for table in [RUN_SERVICE_KIND, RUN_SERVICE] {
            db.execute_unprepared(&format!("DELETE FROM {table}"))
                .await?;
        }
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_keys(manager, RUN_SERVICE_KIND, &RUN_SERVICE_KIND_KEYS).await?;
        drop_keys(manager, RUN_SERVICE, &RUN_SERVICE_KEYS).await?;
        drop_keys(manager, PERSON, &["record_key"]).await
    }
}
