//! Local authorities, trusts, schools, partnerships and which schools belong to which
//! partnership.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LocalAuthority::Table)
                .col(pk_uuid(LocalAuthority::Id))
                .col(string_len_uniq(LocalAuthority::Code, 3))
                .col(string_len(LocalAuthority::Name, 200))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Trust::Table)
                .col(pk_uuid(Trust::Id))
                .col(string_len(Trust::Name, 200))
                .col(string_len_uniq(Trust::GroupUid, 20))
                .col(string_len_null(Trust::CompaniesHouseNumber, 8))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(School::Table)
                .col(pk_uuid(School::Id))
                .col(integer_uniq(School::Urn))
                .col(string_len(School::Name, 200))
                .col(string_len(School::Phase, 32))
                .col(string_len(School::EstablishmentType, 120))
                .col(uuid(School::LocalAuthorityId))
                .col(uuid_null(School::TrustId))
                .col(string_len_null(School::Postcode, 8))
                .col(boolean(School::Open))
                .foreign_key(
                    ForeignKey::create()
                        .name("school_local_authority_id_fkey")
                        .from(School::Table, School::LocalAuthorityId)
                        .to(LocalAuthority::Table, LocalAuthority::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("school_trust_id_fkey")
                        .from(School::Table, School::TrustId)
                        .to(Trust::Table, Trust::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("school_trust_id_idx").table(School::Table).col(School::TrustId).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("school_name_urn_idx")
                .table(School::Table)
                .col(School::Name)
                .col(School::Urn)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Partnership::Table)
                .col(pk_uuid(Partnership::Id))
                .col(string_len_uniq(Partnership::Slug, 64))
                .col(string_len(Partnership::Name, 200))
                .col(date(Partnership::StartsOn))
                .col(date(Partnership::Deadline))
                .col(string_len_null(Partnership::DefaultFramework, 64))
                .col(integer(Partnership::MaxActiveMentees).default(3))
                .col(boolean(Partnership::Synthetic).default(false))
                .check((
                    "partnership_deadline_after_start",
                    Expr::col(Partnership::Deadline).gte(Expr::col(Partnership::StartsOn)),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PartnershipSchool::Table)
                .col(uuid(PartnershipSchool::PartnershipId))
                .col(uuid(PartnershipSchool::SchoolId))
                .primary_key(
                    Index::create().col(PartnershipSchool::PartnershipId).col(PartnershipSchool::SchoolId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("partnership_school_partnership_id_fkey")
                        .from(PartnershipSchool::Table, PartnershipSchool::PartnershipId)
                        .to(Partnership::Table, Partnership::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("partnership_school_school_id_fkey")
                        .from(PartnershipSchool::Table, PartnershipSchool::SchoolId)
                        .to(School::Table, School::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("partnership_school_school_id_idx")
                .table(PartnershipSchool::Table)
                .col(PartnershipSchool::SchoolId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PartnershipSchool::Table.into_iden(),
            Partnership::Table.into_iden(),
            School::Table.into_iden(),
            Trust::Table.into_iden(),
            LocalAuthority::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LocalAuthority {
    Table,
    Id,
    Code,
    Name,
}

#[derive(DeriveIden)]
enum Trust {
    Table,
    Id,
    Name,
    GroupUid,
    CompaniesHouseNumber,
}

#[derive(DeriveIden)]
enum School {
    Table,
    Id,
    Urn,
    Name,
    Phase,
    EstablishmentType,
    LocalAuthorityId,
    TrustId,
    Postcode,
    Open,
}

#[derive(DeriveIden)]
enum Partnership {
    Table,
    Id,
    Slug,
    Name,
    StartsOn,
    Deadline,
    DefaultFramework,
    MaxActiveMentees,
    Synthetic,
}

#[derive(DeriveIden)]
enum PartnershipSchool {
    Table,
    PartnershipId,
    SchoolId,
}
