use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "framework")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub version: i32,
    pub name: String,
    pub validity_months: i32,
    #[sea_orm(column_type = "Json")]
    pub stakeholder_groups: Json,
    pub content_hash: String,
    pub loaded_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::framework_level::Entity")]
    FrameworkLevel,
    #[sea_orm(has_many = "super::framework_area::Entity")]
    FrameworkArea,
    #[sea_orm(has_many = "super::criterion::Entity")]
    Criterion,
}

impl Related<super::framework_level::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FrameworkLevel.def()
    }
}

impl Related<super::framework_area::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FrameworkArea.def()
    }
}

impl Related<super::criterion::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Criterion.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
