use sea_orm::entity::prelude::*;

/// A spell of a school in a trust (`trust_id` null: maintained) from `from_on` (null: always)
/// until `until_on` (null: still). A school without spells was always in its current trust.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "school_trust_spell")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub school_id: Uuid,
    pub trust_id: Option<Uuid>,
    pub from_on: Option<Date>,
    pub until_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
