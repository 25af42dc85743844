//! `stats_run_person_kind`: per run and session kind, the persons signed up
//! to the run who were present at one of its sessions of that kind at
//! least once, with their service and record key. Distinct people per
//! session kind are counted from it, instead of joining every attendance
//! record to its session and participation at each request.
//!
//! `stats_service_people`: distinct persons per service, over all years
//! or per run year, over all programmes or per programme, each for persons
//! signed up and per session kind. A person belongs to one service, so
//! distinct people per area or service kind are sums of these rows. Its
//! slices are marked by `by_year`, `by_kind` and `by_programme`; `year`,
//! `kind` and `programme_id` are null outside them (and `year` is null,
//! too, for runs without a year), so the table has no primary key, only
//! indexes: the server deletes and recounts a service's rows, never
//! updates them.
//!
//! They hold nothing that the facts do not: `up` fills them from the
//! existing rows (the same definitions as the server's
//! `domain::statistics::tally`, frozen here as of this migration), and
//! `down` drops them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_people_tallies"
    }
}

const TABLE: &str = "stats_run_person_kind";
const PEOPLE: &str = "stats_service_people";

/// A reference that cascades: a tally row goes with its run, person or
/// service.
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

const BACKFILL: [&str; 1] = [
    "INSERT INTO stats_run_person_kind (run_id, kind, person_id, service_id, record_key) \
     SELECT DISTINCT ss.run_id, ss.kind, at.person_id, pe.service_id, pe.record_key \
     FROM attendance at JOIN session ss ON ss.id = at.session_id \
     JOIN participation pa ON pa.run_id = ss.run_id AND pa.person_id = at.person_id \
     JOIN person pe ON pe.id = at.person_id \
     WHERE at.present = TRUE",
];

/// The statement that recounts one slice of `stats_service_people`: the
/// distinct persons of each service, per year when `by_year`, per session kind when `by_kind` (persons signed up and
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
           FROM {from} \
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(uuid("run_id"))
                    .col(string_len("kind", 32))
                    .col(uuid("person_id"))
                    .col(uuid("service_id"))
                    .col(big_integer("record_key"))
                    .primary_key(
                        Index::create()
                            .name(format!("pk_{TABLE}"))
                            .col("run_id")
                            .col("kind")
                            .col("person_id"),
                    )
                    .foreign_key(&mut reference(TABLE, "run_id", "programme_run"))
                    .foreign_key(&mut reference(TABLE, "person_id", "person"))
                    .foreign_key(&mut reference(TABLE, "service_id", "service"))
                    .to_owned(),
            )
            .await?;
        // Deleting a person or service cascades here without scanning.
        for col in ["person_id", "service_id"] {
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_{TABLE}_{col}"))
                        .table(TABLE)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PEOPLE)
                    .col(uuid("service_id"))
                    .col(boolean("by_year"))
                    .col(integer_null("year"))
                    .col(boolean("by_kind"))
                    .col(string_len_null("kind", 32))
                    .col(boolean("by_programme"))
                    .col(uuid_null("programme_id"))
                    .col(big_integer("people"))
                    .col(big_integer("people_key"))
                    .foreign_key(&mut reference(PEOPLE, "service_id", "service"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("service_id", &["service_id"][..]),
            ("slice", &["by_year", "by_kind", "by_programme"][..]),
        ] {
            let mut index = Index::create();
            index.name(format!("idx_{PEOPLE}_{name}")).table(PEOPLE);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        let db = manager.get_connection();
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        for sql in people_statements() {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [PEOPLE, TABLE] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
