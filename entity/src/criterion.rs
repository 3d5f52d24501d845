use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "criterion")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub framework_id: Uuid,
    pub area_id: Uuid,
    pub level_id: Uuid,
    pub group_key: Option<String>,
    pub code: String,
    #[sea_orm(column_type = "Text")]
    pub descriptor: String,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::framework::Entity",
        from = "Column::FrameworkId",
        to = "super::framework::Column::Id"
    )]
    Framework,
    #[sea_orm(
        belongs_to = "super::framework_area::Entity",
        from = "Column::AreaId",
        to = "super::framework_area::Column::Id"
    )]
    FrameworkArea,
    #[sea_orm(
        belongs_to = "super::framework_level::Entity",
        from = "Column::LevelId",
        to = "super::framework_level::Column::Id"
    )]
    FrameworkLevel,
}

impl Related<super::framework::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Framework.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
