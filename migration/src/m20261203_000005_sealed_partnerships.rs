//! Sealed partnerships: a partnership pins the framework version its journeys start on and
//! names its local authorities; its deadline has a history (goals); people get access through
//! grants bound to their identity provider's issuer and subject; trusts remember the
//! partnership that created them by hand; and the city admin's changes are kept in an audit log.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DatabaseBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .add_column(integer_null(Partnership::FrameworkVersion))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .add_column(string_len(Partnership::LocalAuthorityCodes, 200).default(""))
                .to_owned(),
        )
        .await?;
        // Pin every partnership to the newest version of its framework, as enrolment used.
        m.get_connection()
            .execute_unprepared(
                "UPDATE partnership SET framework_version = \
                 (SELECT MAX(f.version) FROM framework f WHERE f.slug = partnership.default_framework)",
            )
            .await?;

        m.alter_table(
            Table::alter()
                .table(Trust::Table)
                .add_column(uuid_null(Trust::CreatedByPartnershipId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("trust_created_by_partnership_id_idx")
                .table(Trust::Table)
                .col(Trust::CreatedByPartnershipId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("school_local_authority_id_idx")
                .table(School::Table)
                .col(School::LocalAuthorityId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PartnershipGoal::Table)
                .col(pk_uuid(PartnershipGoal::Id))
                .col(uuid(PartnershipGoal::PartnershipId))
                .col(date(PartnershipGoal::Deadline))
                .col(date(PartnershipGoal::InForceFrom))
                .col(timestamp_with_time_zone(PartnershipGoal::SetAt))
                .col(string_len(PartnershipGoal::SetBy, 255))
                .col(string_len_null(PartnershipGoal::SetByName, 200))
                .col(string_len_null(PartnershipGoal::Reason, 500))
                .foreign_key(
                    ForeignKey::create()
                        .name("partnership_goal_partnership_id_fkey")
                        .from(PartnershipGoal::Table, PartnershipGoal::PartnershipId)
                        .to(Partnership::Table, Partnership::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("partnership_goal_partnership_id_in_force_from_idx")
                .table(PartnershipGoal::Table)
                .col(PartnershipGoal::PartnershipId)
                .col(PartnershipGoal::InForceFrom)
                .to_owned(),
        )
        .await?;
        // Every partnership starts with the goal it has: its deadline, in force from its start.
        // The first goal's id is the partnership's own (unique, and no UUID function is needed).
        let backfill = match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                "INSERT INTO partnership_goal (id, partnership_id, deadline, in_force_from, set_at, set_by, reason) \
                 SELECT id, id, deadline, starts_on, CAST(starts_on AS timestamptz), 'operator', 'the goal the partnership started with' \
                 FROM partnership"
            }
            _ => {
                "INSERT INTO partnership_goal (id, partnership_id, deadline, in_force_from, set_at, set_by, reason) \
                 SELECT id, id, deadline, starts_on, starts_on || 'T00:00:00+00:00', 'operator', 'the goal the partnership started with' \
                 FROM partnership"
            }
        };
        m.get_connection().execute_raw(Statement::from_string(m.get_database_backend(), backfill)).await?;

        m.create_table(
            Table::create()
                .table(AccessGrant::Table)
                .col(pk_uuid(AccessGrant::Id))
                .col(uuid(AccessGrant::PartnershipId))
                .col(string_len(AccessGrant::Role, 16))
                .col(uuid_null(AccessGrant::TrustId))
                .col(uuid_null(AccessGrant::SchoolId))
                .col(string_len_null(AccessGrant::Issuer, 300))
                .col(string_len_null(AccessGrant::Subject, 255))
                .col(string_len_null(AccessGrant::DisplayName, 200))
                .col(string_len_null(AccessGrant::CodeHash, 64))
                .col(timestamp_with_time_zone_null(AccessGrant::ExpiresAt))
                .col(timestamp_with_time_zone(AccessGrant::CreatedAt))
                .col(string_len(AccessGrant::CreatedBy, 255))
                .col(timestamp_with_time_zone_null(AccessGrant::RedeemedAt))
                .col(timestamp_with_time_zone_null(AccessGrant::RevokedAt))
                .col(string_len_null(AccessGrant::RevokedBy, 255))
                .check((
                    "access_grant_bound_or_invited",
                    Expr::col(AccessGrant::Subject)
                        .is_not_null()
                        .or(Expr::col(AccessGrant::CodeHash).is_not_null()),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("access_grant_partnership_id_fkey")
                        .from(AccessGrant::Table, AccessGrant::PartnershipId)
                        .to(Partnership::Table, Partnership::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("access_grant_trust_id_fkey")
                        .from(AccessGrant::Table, AccessGrant::TrustId)
                        .to(Trust::Table, Trust::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("access_grant_school_id_fkey")
                        .from(AccessGrant::Table, AccessGrant::SchoolId)
                        .to(School::Table, School::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("access_grant_code_hash_key")
                .unique()
                .table(AccessGrant::Table)
                .col(AccessGrant::CodeHash)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("access_grant_partnership_id_idx")
                .table(AccessGrant::Table)
                .col(AccessGrant::PartnershipId)
                .to_owned(),
        )
        .await?;
        // One live grant per person: who someone is decides what they may do, unambiguously.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX access_grant_one_live_per_person_key \
                 ON access_grant (issuer, subject) \
                 WHERE revoked_at IS NULL AND subject IS NOT NULL",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(AuditEvent::Table)
                .col(pk_uuid(AuditEvent::Id))
                .col(uuid(AuditEvent::PartnershipId))
                .col(timestamp_with_time_zone(AuditEvent::At))
                .col(string_len(AuditEvent::ActorSubject, 255))
                .col(string_len_null(AuditEvent::ActorName, 200))
                .col(string_len(AuditEvent::Action, 64))
                .col(text(AuditEvent::Summary))
                .foreign_key(
                    ForeignKey::create()
                        .name("audit_event_partnership_id_fkey")
                        .from(AuditEvent::Table, AuditEvent::PartnershipId)
                        .to(Partnership::Table, Partnership::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_event_partnership_id_at_idx")
                .table(AuditEvent::Table)
                .col(AuditEvent::PartnershipId)
                .col(AuditEvent::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvent::Table.into_iden(),
            AccessGrant::Table.into_iden(),
            PartnershipGoal::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.drop_index(Index::drop().name("school_local_authority_id_idx").table(School::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop().name("trust_created_by_partnership_id_idx").table(Trust::Table).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Trust::Table).drop_column(Trust::CreatedByPartnershipId).to_owned(),
        )
        .await?;
        for column in [Partnership::FrameworkVersion, Partnership::LocalAuthorityCodes] {
            m.alter_table(Table::alter().table(Partnership::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Partnership {
    Table,
    Id,
    /// The version of `default_framework` new journeys start on.
    FrameworkVersion,
    /// The LA codes the partnership covers, comma-separated: the default filter of its imports.
    LocalAuthorityCodes,
}

#[derive(DeriveIden)]
enum Trust {
    Table,
    Id,
    /// The partnership whose city admin created the trust by hand (null: from GIAS imports).
    CreatedByPartnershipId,
}

#[derive(DeriveIden)]
enum School {
    Table,
    Id,
    LocalAuthorityId,
}

#[derive(DeriveIden)]
enum PartnershipGoal {
    Table,
    Id,
    PartnershipId,
    Deadline,
    /// The day from which this goal is the partnership's goal.
    InForceFrom,
    SetAt,
    SetBy,
    SetByName,
    Reason,
}

#[derive(DeriveIden)]
enum AccessGrant {
    Table,
    Id,
    PartnershipId,
    Role,
    TrustId,
    SchoolId,
    Issuer,
    Subject,
    DisplayName,
    /// SHA-256 of the invitation code, hex; null once redeemed.
    CodeHash,
    /// When an unredeemed invitation stops working.
    ExpiresAt,
    CreatedAt,
    CreatedBy,
    RedeemedAt,
    RevokedAt,
    RevokedBy,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    PartnershipId,
    At,
    ActorSubject,
    ActorName,
    Action,
    Summary,
}
