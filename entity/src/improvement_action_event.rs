use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "improvement_action_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub action_id: Uuid,
    pub version: i32,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub at: DateTimeWithTimeZone,
    pub actor_subject: String,
    pub actor_name: Option<String>,
    pub actor_role: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::improvement_action::Entity",
        from = "Column::ActionId",
        to = "super::improvement_action::Column::Id"
    )]
    Action,
}

impl Related<super::improvement_action::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Action.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
