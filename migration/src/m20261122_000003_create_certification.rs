//! Frameworks (as loaded from their files), certification journeys with their history,
//! self-assessment ratings, evidence, reviews, and each school's AI policy record.
//!
//! A framework version is immutable once loaded: journeys point at the version they started
//! on. The database holds the rules it can: one open journey per school and framework
//! (partial unique index), unique certificate numbers, one rating per criterion, history
//! ordered by the journey's version, evidence only with the no-personal-data declaration.
//! The state machine and "ready to submit" live in the service layer.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).to_owned()
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(Alias::new(*c));
    }
    if unique {
        idx.unique();
    }
    m.create_index(idx.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .add_column(string_len_null(Partnership::RequiredLevel, 40))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Framework::Table)
                .col(pk_uuid(Framework::Id))
                .col(string_len(Framework::Slug, 60))
                .col(integer(Framework::Version))
                .col(string_len(Framework::Name, 200))
                .col(integer(Framework::ValidityMonths))
                .col(json(Framework::StakeholderGroups))
                .col(string_len(Framework::ContentHash, 64))
                .col(timestamp_with_time_zone(Framework::LoadedAt))
                .check(("framework_validity_positive", Expr::col(Framework::ValidityMonths).gt(0)))
                .to_owned(),
        )
        .await?;
        index(m, "framework_slug_version_key", Framework::Table, &["slug", "version"], true).await?;

        m.create_table(
            Table::create()
                .table(FrameworkLevel::Table)
                .col(pk_uuid(FrameworkLevel::Id))
                .col(uuid(FrameworkLevel::FrameworkId))
                .col(string_len(FrameworkLevel::Key, 40))
                .col(string_len(FrameworkLevel::Name, 100))
                .col(integer(FrameworkLevel::Rank))
                .foreign_key(&mut fk(
                    "framework_level_framework_id_fkey",
                    (FrameworkLevel::Table, FrameworkLevel::FrameworkId),
                    (Framework::Table, Framework::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "framework_level_framework_id_key_key",
            FrameworkLevel::Table,
            &["framework_id", "key"],
            true,
        )
        .await?;
        index(
            m,
            "framework_level_framework_id_rank_key",
            FrameworkLevel::Table,
            &["framework_id", "rank"],
            true,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(FrameworkArea::Table)
                .col(pk_uuid(FrameworkArea::Id))
                .col(uuid(FrameworkArea::FrameworkId))
                .col(string_len(FrameworkArea::Key, 40))
                .col(string_len(FrameworkArea::Name, 100))
                .col(integer(FrameworkArea::Position))
                .foreign_key(&mut fk(
                    "framework_area_framework_id_fkey",
                    (FrameworkArea::Table, FrameworkArea::FrameworkId),
                    (Framework::Table, Framework::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(m, "framework_area_framework_id_key_key", FrameworkArea::Table, &["framework_id", "key"], true)
            .await?;

        m.create_table(
            Table::create()
                .table(Criterion::Table)
                .col(pk_uuid(Criterion::Id))
                .col(uuid(Criterion::FrameworkId))
                .col(uuid(Criterion::AreaId))
                .col(uuid(Criterion::LevelId))
                .col(string_len_null(Criterion::GroupKey, 40))
                .col(string_len(Criterion::Code, 40))
                .col(text(Criterion::Descriptor))
                .col(integer(Criterion::Position))
                .foreign_key(&mut fk(
                    "criterion_framework_id_fkey",
                    (Criterion::Table, Criterion::FrameworkId),
                    (Framework::Table, Framework::Id),
                ))
                .foreign_key(&mut fk(
                    "criterion_area_id_fkey",
                    (Criterion::Table, Criterion::AreaId),
                    (FrameworkArea::Table, FrameworkArea::Id),
                ))
                .foreign_key(&mut fk(
                    "criterion_level_id_fkey",
                    (Criterion::Table, Criterion::LevelId),
                    (FrameworkLevel::Table, FrameworkLevel::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(m, "criterion_framework_id_code_key", Criterion::Table, &["framework_id", "code"], true)
            .await?;
        index(m, "criterion_level_id_idx", Criterion::Table, &["level_id"], false).await?;

        m.create_table(
            Table::create()
                .table(Certification::Table)
                .col(pk_uuid(Certification::Id))
                .col(uuid(Certification::SchoolId))
                .col(uuid(Certification::FrameworkId))
                .col(string_len(Certification::FrameworkSlug, 60))
                .col(uuid(Certification::TargetLevelId))
                .col(string_len(Certification::Stage, 24))
                .col(integer(Certification::Version))
                .col(uuid_null(Certification::RenewalOf))
                .col(timestamp_with_time_zone(Certification::EnrolledAt))
                .col(timestamp_with_time_zone(Certification::StageChangedAt))
                .col(timestamp_with_time_zone_null(Certification::SubmittedAt))
                .col(uuid_null(Certification::AwardedLevelId))
                .col(string_len_null(Certification::CertificateNumber, 32))
                .col(date_null(Certification::AwardedOn))
                .col(date_null(Certification::ExpiresOn))
                .check((
                    "certification_expires_after_award",
                    Expr::col(Certification::ExpiresOn)
                        .is_null()
                        .or(Expr::col(Certification::ExpiresOn).gt(Expr::col(Certification::AwardedOn))),
                ))
                .foreign_key(&mut fk(
                    "certification_school_id_fkey",
                    (Certification::Table, Certification::SchoolId),
                    (School::Table, School::Id),
                ))
                .foreign_key(&mut fk(
                    "certification_framework_id_fkey",
                    (Certification::Table, Certification::FrameworkId),
                    (Framework::Table, Framework::Id),
                ))
                .foreign_key(&mut fk(
                    "certification_target_level_id_fkey",
                    (Certification::Table, Certification::TargetLevelId),
                    (FrameworkLevel::Table, FrameworkLevel::Id),
                ))
                .foreign_key(&mut fk(
                    "certification_awarded_level_id_fkey",
                    (Certification::Table, Certification::AwardedLevelId),
                    (FrameworkLevel::Table, FrameworkLevel::Id),
                ))
                .foreign_key(&mut fk(
                    "certification_renewal_of_fkey",
                    (Certification::Table, Certification::RenewalOf),
                    (Certification::Table, Certification::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(m, "certification_school_id_idx", Certification::Table, &["school_id"], false).await?;
        index(m, "certification_stage_idx", Certification::Table, &["stage"], false).await?;
        index(m, "certification_certificate_number_key", Certification::Table, &["certificate_number"], true)
            .await?;
        // One open journey per school and framework; certified and withdrawn ones are closed.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX certification_one_open_journey_key \
                 ON certification (school_id, framework_slug) \
                 WHERE stage NOT IN ('CERTIFIED', 'WITHDRAWN')",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(CertificationEvent::Table)
                .col(pk_uuid(CertificationEvent::Id))
                .col(uuid(CertificationEvent::CertificationId))
                .col(integer(CertificationEvent::Version))
                .col(string_len_null(CertificationEvent::FromStage, 24))
                .col(string_len(CertificationEvent::ToStage, 24))
                .col(timestamp_with_time_zone(CertificationEvent::At))
                .col(string_len(CertificationEvent::ActorSubject, 200))
                .col(string_len_null(CertificationEvent::ActorName, 200))
                .col(string_len(CertificationEvent::ActorRole, 24))
                .col(text_null(CertificationEvent::Comment))
                .foreign_key(&mut fk(
                    "certification_event_certification_id_fkey",
                    (CertificationEvent::Table, CertificationEvent::CertificationId),
                    (Certification::Table, Certification::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "certification_event_certification_id_version_key",
            CertificationEvent::Table,
            &["certification_id", "version"],
            true,
        )
        .await?;
        index(m, "certification_event_at_idx", CertificationEvent::Table, &["at"], false).await?;

        m.create_table(
            Table::create()
                .table(Rating::Table)
                .col(uuid(Rating::CertificationId))
                .col(uuid(Rating::CriterionId))
                .col(string_len(Rating::Rating, 12))
                .col(text_null(Rating::Note))
                .col(timestamp_with_time_zone(Rating::RatedAt))
                .col(string_len(Rating::RatedBy, 200))
                .primary_key(Index::create().col(Rating::CertificationId).col(Rating::CriterionId))
                .foreign_key(&mut fk(
                    "rating_certification_id_fkey",
                    (Rating::Table, Rating::CertificationId),
                    (Certification::Table, Certification::Id),
                ))
                .foreign_key(&mut fk(
                    "rating_criterion_id_fkey",
                    (Rating::Table, Rating::CriterionId),
                    (Criterion::Table, Criterion::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Evidence::Table)
                .col(pk_uuid(Evidence::Id))
                .col(uuid(Evidence::CertificationId))
                .col(string_len(Evidence::Kind, 16))
                .col(string_len(Evidence::Title, 200))
                .col(text_null(Evidence::Url))
                .col(text_null(Evidence::Body))
                .col(boolean(Evidence::NoPersonalData))
                .col(timestamp_with_time_zone(Evidence::AddedAt))
                .col(string_len(Evidence::AddedBy, 200))
                .check((
                    "evidence_declared_free_of_personal_data",
                    Expr::col(Evidence::NoPersonalData).eq(true),
                ))
                .foreign_key(&mut fk(
                    "evidence_certification_id_fkey",
                    (Evidence::Table, Evidence::CertificationId),
                    (Certification::Table, Certification::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(m, "evidence_certification_id_idx", Evidence::Table, &["certification_id"], false).await?;

        m.create_table(
            Table::create()
                .table(EvidenceCriterion::Table)
                .col(uuid(EvidenceCriterion::EvidenceId))
                .col(uuid(EvidenceCriterion::CriterionId))
                .primary_key(
                    Index::create().col(EvidenceCriterion::EvidenceId).col(EvidenceCriterion::CriterionId),
                )
                .foreign_key(&mut fk(
                    "evidence_criterion_evidence_id_fkey",
                    (EvidenceCriterion::Table, EvidenceCriterion::EvidenceId),
                    (Evidence::Table, Evidence::Id),
                ))
                .foreign_key(&mut fk(
                    "evidence_criterion_criterion_id_fkey",
                    (EvidenceCriterion::Table, EvidenceCriterion::CriterionId),
                    (Criterion::Table, Criterion::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Review::Table)
                .col(pk_uuid(Review::Id))
                .col(uuid(Review::CertificationId))
                .col(integer(Review::Round))
                .col(string_len(Review::ReviewerSubject, 200))
                .col(string_len_null(Review::ReviewerName, 200))
                .col(timestamp_with_time_zone(Review::ClaimedAt))
                .col(timestamp_with_time_zone_null(Review::DecidedAt))
                .col(string_len_null(Review::Outcome, 16))
                .col(uuid_null(Review::AwardedLevelId))
                .col(text_null(Review::Feedback))
                .col(json_null(Review::AreaFeedback))
                .foreign_key(&mut fk(
                    "review_certification_id_fkey",
                    (Review::Table, Review::CertificationId),
                    (Certification::Table, Certification::Id),
                ))
                .foreign_key(&mut fk(
                    "review_awarded_level_id_fkey",
                    (Review::Table, Review::AwardedLevelId),
                    (FrameworkLevel::Table, FrameworkLevel::Id),
                ))
                .to_owned(),
        )
        .await?;
        index(m, "review_certification_id_round_key", Review::Table, &["certification_id", "round"], true)
            .await?;

        m.create_table(
            Table::create()
                .table(AiPolicy::Table)
                .col(pk_uuid(AiPolicy::SchoolId))
                .col(date(AiPolicy::AdoptedOn))
                .col(date_null(AiPolicy::LastReviewedOn))
                .col(integer(AiPolicy::ReviewIntervalMonths))
                .col(json(AiPolicy::Roles))
                .col(timestamp_with_time_zone(AiPolicy::UpdatedAt))
                .col(string_len(AiPolicy::UpdatedBy, 200))
                .check((
                    "ai_policy_reviewed_after_adoption",
                    Expr::col(AiPolicy::LastReviewedOn)
                        .is_null()
                        .or(Expr::col(AiPolicy::LastReviewedOn).gte(Expr::col(AiPolicy::AdoptedOn))),
                ))
                .check((
                    "ai_policy_review_interval_range",
                    Expr::col(AiPolicy::ReviewIntervalMonths).between(1, 36),
                ))
                .foreign_key(&mut fk(
                    "ai_policy_school_id_fkey",
                    (AiPolicy::Table, AiPolicy::SchoolId),
                    (School::Table, School::Id),
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AiPolicy::Table.into_iden(),
            Review::Table.into_iden(),
            EvidenceCriterion::Table.into_iden(),
            Evidence::Table.into_iden(),
            Rating::Table.into_iden(),
            CertificationEvent::Table.into_iden(),
            Certification::Table.into_iden(),
            Criterion::Table.into_iden(),
            FrameworkArea::Table.into_iden(),
            FrameworkLevel::Table.into_iden(),
            Framework::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.alter_table(
            Table::alter().table(Partnership::Table).drop_column(Partnership::RequiredLevel).to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Partnership {
    Table,
    RequiredLevel,
}

#[derive(DeriveIden)]
enum School {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Framework {
    Table,
    Id,
    Slug,
    Version,
    Name,
    ValidityMonths,
    StakeholderGroups,
    ContentHash,
    LoadedAt,
}

#[derive(DeriveIden)]
enum FrameworkLevel {
    Table,
    Id,
    FrameworkId,
    Key,
    Name,
    Rank,
}

#[derive(DeriveIden)]
enum FrameworkArea {
    Table,
    Id,
    FrameworkId,
    Key,
    Name,
    Position,
}

#[derive(DeriveIden)]
enum Criterion {
    Table,
    Id,
    FrameworkId,
    AreaId,
    LevelId,
    GroupKey,
    Code,
    Descriptor,
    Position,
}

#[derive(DeriveIden)]
enum Certification {
    Table,
    Id,
    SchoolId,
    FrameworkId,
    FrameworkSlug,
    TargetLevelId,
    Stage,
    Version,
    RenewalOf,
    EnrolledAt,
    StageChangedAt,
    SubmittedAt,
    AwardedLevelId,
    CertificateNumber,
    AwardedOn,
    ExpiresOn,
}

#[derive(DeriveIden)]
enum CertificationEvent {
    Table,
    Id,
    CertificationId,
    Version,
    FromStage,
    ToStage,
    At,
    ActorSubject,
    ActorName,
    ActorRole,
    Comment,
}

// The column is called `rating`, like its table.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Rating {
    Table,
    CertificationId,
    CriterionId,
    Rating,
    Note,
    RatedAt,
    RatedBy,
}

#[derive(DeriveIden)]
enum Evidence {
    Table,
    Id,
    CertificationId,
    Kind,
    Title,
    Url,
    Body,
    NoPersonalData,
    AddedAt,
    AddedBy,
}

#[derive(DeriveIden)]
enum EvidenceCriterion {
    Table,
    EvidenceId,
    CriterionId,
}

#[derive(DeriveIden)]
enum Review {
    Table,
    Id,
    CertificationId,
    Round,
    ReviewerSubject,
    ReviewerName,
    ClaimedAt,
    DecidedAt,
    Outcome,
    AwardedLevelId,
    Feedback,
    AreaFeedback,
}

#[derive(DeriveIden)]
enum AiPolicy {
    Table,
    SchoolId,
    AdoptedOn,
    LastReviewedOn,
    ReviewIntervalMonths,
    Roles,
    UpdatedAt,
    UpdatedBy,
}
