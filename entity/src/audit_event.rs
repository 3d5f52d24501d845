use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partnership_id: Uuid,
    pub at: DateTimeWithTimeZone,
    pub actor_subject: String,
    pub actor_name: Option<String>,
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::partnership::Entity",
        from = "Column::PartnershipId",
        to = "super::partnership::Column::Id"
    )]
    Partnership,
}

impl Related<super::partnership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Partnership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
