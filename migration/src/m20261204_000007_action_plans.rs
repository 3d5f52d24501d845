//! Action plans: a journey's improvement actions, each linked to an area of its framework (and
//! optionally criteria, as a JSON list of their ids), owned by a role title (never a person),
//! with a due date and a status; and each action's history, which holds its comments too.

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
        m.create_table(
            Table::create()
                .table(Action::Table)
                .col(pk_uuid(Action::Id))
                .col(uuid(Action::CertificationId))
                .col(uuid(Action::AreaId))
                .col(json(Action::Criteria))
                .col(string_len(Action::Title, 300))
                .col(string_len(Action::Owner, 40))
                .col(date(Action::DueOn))
                .col(string_len(Action::Status, 16))
                .col(integer(Action::Version))
                .col(timestamp_with_time_zone(Action::CreatedAt))
                .col(timestamp_with_time_zone(Action::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("improvement_action_certification_id_fkey")
                        .from(Action::Table, Action::CertificationId)
                        .to(Certification::Table, Certification::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("improvement_action_area_id_fkey")
                        .from(Action::Table, Action::AreaId)
                        .to(FrameworkArea::Table, FrameworkArea::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("improvement_action_certification_id_idx", Action::CertificationId),
            ("improvement_action_area_id_idx", Action::AreaId),
        ] {
            m.create_index(Index::create().name(name).table(Action::Table).col(col).to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(ActionEvent::Table)
                .col(pk_uuid(ActionEvent::Id))
                .col(uuid(ActionEvent::ActionId))
                .col(integer(ActionEvent::Version))
                .col(string_len(ActionEvent::Kind, 16))
                .col(string_len_null(ActionEvent::FromStatus, 16))
                .col(string_len_null(ActionEvent::ToStatus, 16))
                .col(timestamp_with_time_zone(ActionEvent::At))
                .col(string_len(ActionEvent::ActorSubject, 200))
                .col(string_len_null(ActionEvent::ActorName, 200))
                .col(string_len(ActionEvent::ActorRole, 32))
                .col(text_null(ActionEvent::Comment))
                .foreign_key(
                    ForeignKey::create()
                        .name("improvement_action_event_action_id_fkey")
                        .from(ActionEvent::Table, ActionEvent::ActionId)
                        .to(Action::Table, Action::Id),
                )
                .to_owned(),
        )
        .await?;
        // Off by default: a partnership decides whether overdue actions put a school at risk.
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .add_column(boolean(Partnership::OverdueActionsAtRisk).default(false))
                .to_owned(),
        )
        .await?;
        // The fewest schools with ratings a group needs before its averages are shown.
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .add_column(integer(Partnership::ComparisonMinSchools).default(5))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("improvement_action_event_action_id_idx")
                .table(ActionEvent::Table)
                .col(ActionEvent::ActionId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .drop_column(Partnership::OverdueActionsAtRisk)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Partnership::Table)
                .drop_column(Partnership::ComparisonMinSchools)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(ActionEvent::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Action::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Action {
    #[sea_orm(iden = "improvement_action")]
    Table,
    Id,
    CertificationId,
    AreaId,
    Criteria,
    Title,
    Owner,
    DueOn,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ActionEvent {
    #[sea_orm(iden = "improvement_action_event")]
    Table,
    Id,
    ActionId,
    Version,
    Kind,
    FromStatus,
    ToStatus,
    At,
    ActorSubject,
    ActorName,
    ActorRole,
    Comment,
}

#[derive(DeriveIden)]
enum Certification {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Partnership {
    Table,
    OverdueActionsAtRisk,
    ComparisonMinSchools,
}

#[derive(DeriveIden)]
enum FrameworkArea {
    Table,
    Id,
}
