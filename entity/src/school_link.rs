use sea_orm::entity::prelude::*;

/// A GIAS link from a predecessor to a successor school, as one partnership's import saw it,
/// and what became of it (`status`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "school_link")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partnership_id: Uuid,
    pub predecessor_urn: i32,
    pub successor_urn: i32,
    pub kind: String,
    pub established_on: Option<Date>,
    pub status: String,
    pub seen_at: DateTimeWithTimeZone,
    pub applied_at: Option<DateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
