//! `stats_run_service`, `stats_run_service_kind`: a count of the facts of
//! synthetic persons (test data) in each tally row, so that a statistic
//! can say when its figures include synthetic data. Filled from the facts
//! for existing tallies; the server keeps it from then on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000002_synthetic_tally"
    }
}

const TABLES: [&str; 2] = ["stats_run_service", "stats_run_service_kind"];

/// The backfill: participations and attendance records of synthetic
/// persons per run and service (and session kind), as the tally
/// statements count them.
const BACKFILL: [&str; 2] = [
    "UPDATE stats_run_service SET synthetic = \
       (SELECT COUNT(*) FROM participation pa JOIN person pe ON pe.id = pa.person_id \
        WHERE pa.run_id = stats_run_service.run_id AND pe.service_id = stats_run_service.service_id \
          AND pe.synthetic = TRUE) \
     + (SELECT COUNT(*) FROM attendance at JOIN session ss ON ss.id = at.session_id \
        JOIN person pe ON pe.id = at.person_id \
        WHERE ss.run_id = stats_run_service.run_id AND pe.service_id = stats_run_service.service_id \
          AND pe.synthetic = TRUE)",
    "UPDATE stats_run_service_kind SET synthetic = \
       (SELECT COUNT(*) FROM attendance at JOIN session ss ON ss.id = at.session_id \
        JOIN person pe ON pe.id = at.person_id \
        WHERE ss.run_id = stats_run_service_kind.run_id \
          AND pe.service_id = stats_run_service_kind.service_id \
          AND ss.kind = stats_run_service_kind.kind AND pe.synthetic = TRUE)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(big_integer("synthetic").default(0).to_owned())
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column("synthetic")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
