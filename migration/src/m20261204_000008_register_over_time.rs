//! The register over time: when a school opened and closed (GIAS's dates), when it joined and
//! left a partnership and a cohort, which trust ran it from when to when, and the links GIAS
//! draws between a closed school and the one that carries on its work (a conversion, an
//! amalgamation, a split), with what became of each; a successor's membership names the school
//! it succeeds. Every new date is nullable: null means
//! "since always" or "still", so the rows that exist keep their meaning.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: all of it, or none, on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [School::OpenedOn, School::ClosedOn] {
            m.alter_table(Table::alter().table(School::Table).add_column(date_null(col)).to_owned()).await?;
        }
        for col in [PartnershipSchool::JoinedOn, PartnershipSchool::LeftOn] {
            m.alter_table(
                Table::alter().table(PartnershipSchool::Table).add_column(date_null(col)).to_owned(),
            )
            .await?;
        }
        // A successor's membership names the school whose work it carries on (no foreign key:
        // SQLite cannot add one to an existing table).
        m.alter_table(
            Table::alter()
                .table(PartnershipSchool::Table)
                .add_column(uuid_null(PartnershipSchool::SucceedsId))
                .to_owned(),
        )
        .await?;
        for col in [CohortSchool::JoinedOn, CohortSchool::LeftOn] {
            m.alter_table(Table::alter().table(CohortSchool::Table).add_column(date_null(col)).to_owned())
                .await?;
        }
        // A school may leave a cohort and join another: one current cohort per school in a
        // partnership, and the rows of the past kept. sea-query has no partial indexes.
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX cohort_school_partnership_id_school_id_key").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX cohort_school_partnership_id_school_id_key ON cohort_school (partnership_id, school_id) \
             WHERE left_on IS NULL",
        )
        .await?;
        m.create_index(
            Index::create()
                .name("cohort_school_partnership_id_school_id_idx")
                .table(CohortSchool::Table)
                .col(CohortSchool::PartnershipId)
                .col(CohortSchool::SchoolId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TrustSpell::Table)
                .col(pk_uuid(TrustSpell::Id))
                .col(uuid(TrustSpell::SchoolId))
                .col(uuid_null(TrustSpell::TrustId))
                .col(date_null(TrustSpell::FromOn))
                .col(date_null(TrustSpell::UntilOn))
                .foreign_key(
                    ForeignKey::create()
                        .name("school_trust_spell_school_id_fkey")
                        .from(TrustSpell::Table, TrustSpell::SchoolId)
                        .to(School::Table, School::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("school_trust_spell_trust_id_fkey")
                        .from(TrustSpell::Table, TrustSpell::TrustId)
                        .to(Trust::Table, Trust::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("school_trust_spell_school_id_idx", TrustSpell::SchoolId),
            ("school_trust_spell_trust_id_idx", TrustSpell::TrustId),
        ] {
            m.create_index(Index::create().name(name).table(TrustSpell::Table).col(col).to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(Link::Table)
                .col(pk_uuid(Link::Id))
                .col(uuid(Link::PartnershipId))
                .col(integer(Link::PredecessorUrn))
                .col(integer(Link::SuccessorUrn))
                .col(string_len(Link::Kind, 16))
                .col(date_null(Link::EstablishedOn))
                .col(string_len(Link::Status, 16))
                .col(timestamp_with_time_zone(Link::SeenAt))
                .col(timestamp_with_time_zone_null(Link::AppliedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("school_link_partnership_id_fkey")
                        .from(Link::Table, Link::PartnershipId)
                        .to(Partnership::Table, Partnership::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("school_link_partnership_pair_key")
                .table(Link::Table)
                .col(Link::PartnershipId)
                .col(Link::PredecessorUrn)
                .col(Link::SuccessorUrn)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Link::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(TrustSpell::Table).to_owned()).await?;
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX cohort_school_partnership_id_school_id_idx").await?;
        db.execute_unprepared("DROP INDEX cohort_school_partnership_id_school_id_key").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX cohort_school_partnership_id_school_id_key ON cohort_school (partnership_id, school_id)",
        )
        .await?;
        for col in [CohortSchool::JoinedOn, CohortSchool::LeftOn] {
            m.alter_table(Table::alter().table(CohortSchool::Table).drop_column(col).to_owned()).await?;
        }
        for col in [PartnershipSchool::JoinedOn, PartnershipSchool::LeftOn, PartnershipSchool::SucceedsId] {
            m.alter_table(Table::alter().table(PartnershipSchool::Table).drop_column(col).to_owned()).await?;
        }
        for col in [School::OpenedOn, School::ClosedOn] {
            m.alter_table(Table::alter().table(School::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum School {
    Table,
    Id,
    OpenedOn,
    ClosedOn,
}

#[derive(DeriveIden)]
enum Trust {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Partnership {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartnershipSchool {
    Table,
    JoinedOn,
    LeftOn,
    SucceedsId,
}

#[derive(DeriveIden)]
enum CohortSchool {
    Table,
    PartnershipId,
    SchoolId,
    JoinedOn,
    LeftOn,
}

/// A spell of a school in a trust (or none: `trust_id` null, maintained) between two dates.
#[derive(DeriveIden)]
enum TrustSpell {
    #[sea_orm(iden = "school_trust_spell")]
    Table,
    Id,
    SchoolId,
    TrustId,
    FromOn,
    UntilOn,
}

/// A GIAS link between a predecessor and a successor, as one partnership's import saw it.
#[derive(DeriveIden)]
enum Link {
    #[sea_orm(iden = "school_link")]
    Table,
    Id,
    PartnershipId,
    PredecessorUrn,
    SuccessorUrn,
    Kind,
    EstablishedOn,
    Status,
    SeenAt,
    AppliedAt,
}
