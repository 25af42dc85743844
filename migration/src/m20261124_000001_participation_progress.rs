//! Derived completion on participations: how many of the sessions meant for
//! the participant they attended, how many there are, and whether that meets
//! the programme's completion rule. The server keeps these in step with
//! attendance, sessions and the rule in the same transaction as each write;
//! they are never typed in. Stored so that statistics can group on them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_participation_progress"
    }
}

const TABLE: &str = "participation";

/// The added columns; SQLite takes one ALTER per column.
fn columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        (
            "sessions_attended",
            integer("sessions_attended").default(0).to_owned(),
        ),
        (
            "sessions_required",
            integer("sessions_required").default(0).to_owned(),
        ),
        ("completed", boolean("completed").default(false).to_owned()),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (_, mut col) in columns() {
            manager
                .alter_table(Table::alter().table(TABLE).add_column(&mut col).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_participation_completed")
                    .table(TABLE)
                    .col("completed")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_participation_completed")
                    .table(TABLE)
                    .to_owned(),
            )
            .await?;
        for (name, _) in columns().into_iter().rev() {
            manager
                .alter_table(Table::alter().table(TABLE).drop_column(name).to_owned())
                .await?;
        }
        Ok(())
    }
}
