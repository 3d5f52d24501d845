//! Credentials: the signed Open Badges 3.0 credential of each award. A credential is written
//! once, when a review certifies, and never changed; revoking its certificate moves the
//! journey to REVOKED (a history entry), which sets the credential's bit in the published
//! status list. One credential per journey (a renewal is a new journey). `status_index` numbers the credentials in the order they were issued and is
//! their place in that list.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: the index is dropped and made again on one connection
    /// (another connection of the pool would still see the old one), and never half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Credential::Table)
                .col(pk_auto(Credential::StatusIndex))
                .col(uuid_uniq(Credential::Id))
                .col(uuid(Credential::CertificationId))
                .col(string_len(Credential::Kid, 100))
                .col(timestamp_with_time_zone(Credential::IssuedAt))
                .col(text(Credential::Jwt))
                .foreign_key(
                    ForeignKey::create()
                        .name("credential_certification_id_fkey")
                        .from(Credential::Table, Credential::CertificationId)
                        .to(Certification::Table, Certification::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("credential_certification_id_key")
                .table(Credential::Table)
                .col(Credential::CertificationId)
                .unique()
                .to_owned(),
        )
        .await?;
        // A revoked journey is closed too: the school may enrol again.
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX certification_one_open_journey_key").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX certification_one_open_journey_key \
             ON certification (school_id, framework_slug) \
             WHERE stage NOT IN ('CERTIFIED', 'WITHDRAWN', 'REVOKED')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX certification_one_open_journey_key").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX certification_one_open_journey_key \
             ON certification (school_id, framework_slug) WHERE stage NOT IN ('CERTIFIED', 'WITHDRAWN')",
        )
        .await?;
        m.drop_table(Table::drop().table(Credential::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Credential {
    Table,
    StatusIndex,
    Id,
    CertificationId,
    Kid,
    IssuedAt,
    Jwt,
}

#[derive(DeriveIden)]
enum Certification {
    Table,
    Id,
}
