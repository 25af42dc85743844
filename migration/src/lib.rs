//! Database migrations of the kompetanse register.
//!
//! Every migration runs unchanged on SQLite and PostgreSQL and has a `down`
//! that removes exactly what its `up` created (a migration that only moves
//! data, like `m20261206_000001_stable_ids`, says why its `down` does
//! nothing). Migrations are frozen once they have landed: a change to the
//! schema is a new migration.
//!
//! [`stable_ids`] is the derivation of the stable ids of seeded rows, shared
//! by the seed and the migration that moves older databases to them.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_domain;
mod m20261124_000001_participation_progress;
mod m20261125_000001_stats_tallies;
mod m20261126_000001_service_area;
mod m20261204_000001_record_keys;
mod m20261205_000001_uniqueness;
mod m20261205_000002_idempotency;
mod m20261205_000003_provider_contact;
mod m20261206_000001_stable_ids;
mod m20261206_000002_synthetic_tally;
mod m20261206_000003_person_erasure;
mod m20261207_000001_people_tallies;
pub mod stable_ids;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_domain::Migration),
            Box::new(m20261124_000001_participation_progress::Migration),
            Box::new(m20261125_000001_stats_tallies::Migration),
            Box::new(m20261126_000001_service_area::Migration),
            Box::new(m20261204_000001_record_keys::Migration),
            Box::new(m20261205_000001_uniqueness::Migration),
            Box::new(m20261205_000002_idempotency::Migration),
            Box::new(m20261205_000003_provider_contact::Migration),
            Box::new(m20261206_000001_stable_ids::Migration),
            Box::new(m20261206_000002_synthetic_tally::Migration),
            Box::new(m20261206_000003_person_erasure::Migration),
            Box::new(m20261207_000001_people_tallies::Migration),
        ]
    }
}
