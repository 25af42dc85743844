//! `provider`: contact details (website, e-mail, phone, visiting and postal
//! address), all optional, so that a portal can show how to reach a
//! provider.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000003_provider_contact"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Provider {
    Table,
    Website,
    Email,
    Phone,
    VisitingAddress,
    PostalAddress,
}

const COLUMNS: [Provider; 5] = [
    Provider::Website,
    Provider::Email,
    Provider::Phone,
    Provider::VisitingAddress,
    Provider::PostalAddress,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Provider::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Provider::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
