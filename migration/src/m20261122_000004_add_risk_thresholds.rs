//! Progress: the thresholds at which a school counts as at risk are partnership settings
//! (DOMAIN.md, "At risk").

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for (column, days) in [(Partnership::StalledAfterDays, 60), (Partnership::ReturnedAfterDays, 30)] {
            m.alter_table(
                Table::alter()
                    .table(Partnership::Table)
                    .add_column(integer(column).default(days).check(Expr::col(column).gt(0)))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Partnership::StalledAfterDays, Partnership::ReturnedAfterDays] {
            m.alter_table(Table::alter().table(Partnership::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Partnership {
    Table,
    /// More days than this in one stage before SUBMITTED: at risk.
    StalledAfterDays,
    /// More days than this RETURNED without resubmitting: at risk.
    ReturnedAfterDays,
}
