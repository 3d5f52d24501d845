//! Cohorts, which school is in which cohort, and mentorship pairings.
//!
//! The database holds what it can of DOMAIN.md's rules: a school is in at most one cohort of a
//! partnership (unique index), only member schools join a cohort (composite foreign key), no
//! school mentors itself (check) and a mentee has one active mentor (partial unique index).
//! A mentee's cohort membership is checked by the service, not a foreign key: pairings are
//! kept after they end, and that must not pin the school to its cohort forever.
//! The rules that need other rows (cohort order, mentor capacity) live in the service layer.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Cohort::Table)
                .col(pk_uuid(Cohort::Id))
                .col(uuid(Cohort::PartnershipId))
                .col(string_len(Cohort::Name, 100))
                .col(integer(Cohort::Ordinal))
                .col(date(Cohort::StartsOn))
                .col(date(Cohort::TargetOn))
                .check((
                    "cohort_target_after_start",
                    Expr::col(Cohort::TargetOn).gte(Expr::col(Cohort::StartsOn)),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("cohort_partnership_id_fkey")
                        .from(Cohort::Table, Cohort::PartnershipId)
                        .to(Partnership::Table, Partnership::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("cohort_partnership_id_name_key", Cohort::Name),
            ("cohort_partnership_id_ordinal_key", Cohort::Ordinal),
            // Target of cohort_school's composite foreign key.
            ("cohort_id_partnership_id_key", Cohort::Id),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .unique()
                    .table(Cohort::Table)
                    .col(Cohort::PartnershipId)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(CohortSchool::Table)
                .col(uuid(CohortSchool::CohortId))
                .col(uuid(CohortSchool::SchoolId))
                .col(uuid(CohortSchool::PartnershipId))
                .primary_key(Index::create().col(CohortSchool::CohortId).col(CohortSchool::SchoolId))
                .foreign_key(
                    ForeignKey::create()
                        .name("cohort_school_cohort_fkey")
                        .from_tbl(CohortSchool::Table)
                        .from_col(CohortSchool::PartnershipId)
                        .from_col(CohortSchool::CohortId)
                        .to_tbl(Cohort::Table)
                        .to_col(Cohort::PartnershipId)
                        .to_col(Cohort::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("cohort_school_member_fkey")
                        .from_tbl(CohortSchool::Table)
                        .from_col(CohortSchool::PartnershipId)
                        .from_col(CohortSchool::SchoolId)
                        .to_tbl(PartnershipSchool::Table)
                        .to_col(PartnershipSchool::PartnershipId)
                        .to_col(PartnershipSchool::SchoolId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("cohort_school_partnership_id_school_id_key")
                .unique()
                .table(CohortSchool::Table)
                .col(CohortSchool::PartnershipId)
                .col(CohortSchool::SchoolId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("cohort_school_school_id_idx")
                .table(CohortSchool::Table)
                .col(CohortSchool::SchoolId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(MentorshipPairing::Table)
                .col(pk_uuid(MentorshipPairing::Id))
                .col(uuid(MentorshipPairing::PartnershipId))
                .col(uuid(MentorshipPairing::CohortId))
                .col(uuid(MentorshipPairing::MentorSchoolId))
                .col(uuid(MentorshipPairing::MenteeSchoolId))
                .col(date(MentorshipPairing::StartedOn))
                .col(date_null(MentorshipPairing::EndedOn))
                .col(string_len(MentorshipPairing::Status, 16))
                .check((
                    "mentorship_pairing_not_self",
                    Expr::col(MentorshipPairing::MentorSchoolId)
                        .ne(Expr::col(MentorshipPairing::MenteeSchoolId)),
                ))
                .check((
                    "mentorship_pairing_ended_after_start",
                    Expr::col(MentorshipPairing::EndedOn)
                        .is_null()
                        .or(Expr::col(MentorshipPairing::EndedOn)
                            .gte(Expr::col(MentorshipPairing::StartedOn))),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("mentorship_pairing_cohort_fkey")
                        .from_tbl(MentorshipPairing::Table)
                        .from_col(MentorshipPairing::PartnershipId)
                        .from_col(MentorshipPairing::CohortId)
                        .to_tbl(Cohort::Table)
                        .to_col(Cohort::PartnershipId)
                        .to_col(Cohort::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("mentorship_pairing_mentor_fkey")
                        .from_tbl(MentorshipPairing::Table)
                        .from_col(MentorshipPairing::PartnershipId)
                        .from_col(MentorshipPairing::MentorSchoolId)
                        .to_tbl(PartnershipSchool::Table)
                        .to_col(PartnershipSchool::PartnershipId)
                        .to_col(PartnershipSchool::SchoolId),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("mentorship_pairing_mentor_school_id_idx", MentorshipPairing::MentorSchoolId),
            ("mentorship_pairing_mentee_school_id_idx", MentorshipPairing::MenteeSchoolId),
        ] {
            m.create_index(Index::create().name(name).table(MentorshipPairing::Table).col(col).to_owned())
                .await?;
        }
        // One active mentor per mentee in a partnership. sea-query has no partial indexes; this
        // statement reads the same on SQLite and PostgreSQL.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX mentorship_pairing_one_active_mentor_key \
                 ON mentorship_pairing (partnership_id, mentee_school_id) \
                 WHERE ended_on IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in
            [MentorshipPairing::Table.into_iden(), CohortSchool::Table.into_iden(), Cohort::Table.into_iden()]
        {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Partnership {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartnershipSchool {
    Table,
    PartnershipId,
    SchoolId,
}

#[derive(DeriveIden)]
enum Cohort {
    Table,
    Id,
    PartnershipId,
    Name,
    Ordinal,
    StartsOn,
    TargetOn,
}

#[derive(DeriveIden)]
enum CohortSchool {
    Table,
    CohortId,
    SchoolId,
    PartnershipId,
}

#[derive(DeriveIden)]
enum MentorshipPairing {
    Table,
    Id,
    PartnershipId,
    CohortId,
    MentorSchoolId,
    MenteeSchoolId,
    StartedOn,
    EndedOn,
    Status,
}
