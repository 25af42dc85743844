//! `person.erased_at`: when a person's personal data was erased (by
//! `erasePerson` or the retention rule). An erased person keeps its row,
//! service and record key, so that its participation and attendance still
//! count in the statistics, anonymously; its name, e-mail and job title
//! are gone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000003_person_erasure"
    }
}

#[derive(DeriveIden)]
enum Person {
    Table,
    ErasedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Person::Table)
                    .add_column(timestamp_with_time_zone_null(Person::ErasedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Person::Table)
                    .drop_column(Person::ErasedAt)
                    .to_owned(),
            )
            .await
    }
}
