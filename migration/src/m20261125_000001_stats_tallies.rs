//! Tallies for the participation statistics: per-run counts that the server
//! keeps in step with the facts they count, in the same transaction as each
//! write, so that a statistics request sums a few tens of thousands of
//! tally rows instead of joining every attendance record.
//!
//! - `stats_run_kind`: the sessions of a run per session kind;
//! - `stats_run_service`: per run and service (the service of the person),
//!   the participations, completed participations, attendance records,
//!   records marked present and distinct persons present;
//! - `stats_run_service_kind`: the same per session kind, where a
//!   participation counts when the person was present at a session of that
//!   kind.
//!
//! They hold nothing that the facts do not: `up` fills them from the
//! existing rows, and `down` drops them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_stats_tallies"
    }
}

const RUN_KIND: &str = "stats_run_kind";
const RUN_SERVICE: &str = "stats_run_service";
const RUN_SERVICE_KIND: &str = "stats_run_service_kind";

/// A reference that cascades: a tally row goes with its run or service.
fn reference(
    table: &'static str,
    col: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(table, col)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// The count columns of the service tallies.
fn counts(t: &mut TableCreateStatement) {
    for name in ["participants", "completions", "recorded", "present"] {
        t.col(big_integer(name).default(0));
    }
}

/// Distinct persons present at any session of the run (per service only:
/// per kind it is `participants`).
fn attendees(t: &mut TableCreateStatement) {
    t.col(big_integer("attendees").default(0));
}

fn tables() -> Vec<TableCreateStatement> {
    let run_kind = Table::create()
        .table(RUN_KIND)
        .col(uuid("run_id"))
        .col(string_len("kind", 32))
        .col(big_integer("sessions").default(0))
        .primary_key(
            Index::create()
                .name(format!("pk_{RUN_KIND}"))
                .col("run_id")
                .col("kind"),
        )
        .foreign_key(&mut reference(RUN_KIND, "run_id", "programme_run"))
        .to_owned();

    let mut run_service = Table::create();
    run_service
        .table(RUN_SERVICE)
        .col(uuid("run_id"))
        .col(uuid("service_id"));
    counts(&mut run_service);
    attendees(&mut run_service);
    run_service
        .primary_key(
            Index::create()
                .name(format!("pk_{RUN_SERVICE}"))
                .col("run_id")
                .col("service_id"),
        )
        .foreign_key(&mut reference(RUN_SERVICE, "run_id", "programme_run"))
        .foreign_key(&mut reference(RUN_SERVICE, "service_id", "service"));

    let mut run_service_kind = Table::create();
    run_service_kind
        .table(RUN_SERVICE_KIND)
        .col(uuid("run_id"))
        .col(uuid("service_id"))
        .col(string_len("kind", 32));
    counts(&mut run_service_kind);
    run_service_kind
        .primary_key(
            Index::create()
                .name(format!("pk_{RUN_SERVICE_KIND}"))
                .col("run_id")
                .col("service_id")
                .col("kind"),
        )
        .foreign_key(&mut reference(RUN_SERVICE_KIND, "run_id", "programme_run"))
        .foreign_key(&mut reference(RUN_SERVICE_KIND, "service_id", "service"));

    vec![
        run_kind,
        run_service.to_owned(),
        run_service_kind.to_owned(),
    ]
}

/// Fills the tallies from the facts (the same definitions as the server's
/// `domain::statistics::tally`, frozen here as of this migration).
const BACKFILL: [&str; 3] = [
    "INSERT INTO stats_run_kind (run_id, kind, sessions) \
     SELECT run_id, kind, COUNT(*) FROM session GROUP BY run_id, kind",
    "INSERT INTO stats_run_service (run_id, service_id, participants, completions, recorded, present, attendees) \
     SELECT f.run_id, f.service_id, SUM(f.participants), SUM(f.completions), SUM(f.recorded), SUM(f.present), SUM(f.attendees) FROM ( \
       SELECT pa.run_id AS run_id, pe.service_id AS service_id, COUNT(*) AS participants, \
              SUM(CASE WHEN pa.completed THEN 1 ELSE 0 END) AS completions, 0 AS recorded, 0 AS present, 0 AS attendees \
       FROM participation pa JOIN person pe ON pe.id = pa.person_id \
       GROUP BY pa.run_id, pe.service_id \
       UNION ALL \
       SELECT ss.run_id, pe.service_id, 0, 0, COUNT(*), SUM(CASE WHEN at.present THEN 1 ELSE 0 END), \
              COUNT(DISTINCT CASE WHEN at.present THEN at.person_id END) \
       FROM attendance at JOIN session ss ON ss.id = at.session_id JOIN person pe ON pe.id = at.person_id \
       \
       GROUP BY ss.run_id, pe.service_id \
     ) f GROUP BY f.run_id, f.service_id",
    "INSERT INTO stats_run_service_kind (run_id, service_id, kind, participants, completions, recorded, present) \
     SELECT ss.run_id, pe.service_id, ss.kind, \
            COUNT(DISTINCT CASE WHEN at.present AND pa.id IS NOT NULL THEN at.person_id END), \
            COUNT(DISTINCT CASE WHEN at.present AND pa.completed THEN at.person_id END), \
            COUNT(*), SUM(CASE WHEN at.present THEN 1 ELSE 0 END) \
     FROM attendance at JOIN session ss ON ss.id = at.session_id JOIN person pe ON pe.id = at.person_id \
     LEFT JOIN participation pa ON pa.run_id = ss.run_id AND pa.person_id = at.person_id \
     GROUP BY ss.run_id, pe.service_id, ss.kind",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            manager.create_table(t).await?;
        }
        let db = manager.get_connection();
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [RUN_SERVICE_KIND, RUN_SERVICE, RUN_KIND] {
            manager
                .drop_table(Table::drop().table(name).to_owned())
                .await?;
        }
        Ok(())
    }
}
