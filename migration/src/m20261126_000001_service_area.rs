//! `service_area`: each service with the current municipalities it covers
//! (its registered municipalities and its host municipality, each followed
//! through up to three steps of `municipality_successor` to the municipality
//! in force today) and their counties.
//!
//! The statistics used to derive this in every request, following the
//! municipality history each time; the planner misjudged the size of that
//! derivation by a factor of seven and sorted where it could hash. The
//! table holds nothing that the other tables do not: `up` fills it from
//! them, the server rebuilds it whenever they change, and `down` drops it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_service_area"
    }
}

const TABLE: &str = "service_area";

/// A reference that cascades: a row goes with its service or municipality.
fn reference(col: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{TABLE}_{col}"))
        .from(TABLE, col)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Fills the table (the definition of the server's
/// `domain::service::area::current_coverage`, frozen here as of this
/// migration).
const BACKFILL: &str = "INSERT INTO service_area (service_id, municipality_id, county_id) \
     SELECT DISTINCT c.service_id, cur.current_id, m.county_id FROM ( \
       SELECT service_id, municipality_id FROM service_municipality \
       UNION SELECT id, host_municipality_id FROM service WHERE host_municipality_id IS NOT NULL \
     ) c JOIN ( \
       SELECT m0.id AS from_id, m0.id AS current_id FROM municipality m0 WHERE m0.valid_to IS NULL \
       UNION SELECT h1.municipality_id, m1.id FROM municipality_successor h1 \
         JOIN municipality m1 ON m1.id = h1.successor_id WHERE m1.valid_to IS NULL \
       UNION SELECT h1.municipality_id, m2.id FROM municipality_successor h1 \
         JOIN municipality_successor h2 ON h2.municipality_id = h1.successor_id \
         JOIN municipality m2 ON m2.id = h2.successor_id WHERE m2.valid_to IS NULL \
       UNION SELECT h1.municipality_id, m3.id FROM municipality_successor h1 \
         JOIN municipality_successor h2 ON h2.municipality_id = h1.successor_id \
         JOIN municipality_successor h3 ON h3.municipality_id = h2.successor_id \
         JOIN municipality m3 ON m3.id = h3.successor_id WHERE m3.valid_to IS NULL \
     ) cur ON cur.from_id = c.municipality_id \
     JOIN municipality m ON m.id = cur.current_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(uuid("service_id"))
                    .col(uuid("municipality_id"))
                    .col(uuid("county_id"))
                    .primary_key(
                        Index::create()
                            .name(format!("pk_{TABLE}"))
                            .col("service_id")
                            .col("municipality_id"),
                    )
                    .foreign_key(&mut reference("service_id", "service"))
                    .foreign_key(&mut reference("municipality_id", "municipality"))
                    .foreign_key(&mut reference("county_id", "county"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(format!("ix_{TABLE}_municipality_id"))
                    .table(TABLE)
                    .col("municipality_id")
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BACKFILL)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).to_owned())
            .await
    }
}
