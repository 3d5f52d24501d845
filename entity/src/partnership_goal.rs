use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership_goal")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partnership_id: Uuid,
    pub deadline: Date,
    pub in_force_from: Date,
    pub set_at: DateTimeWithTimeZone,
    pub set_by: String,
    pub set_by_name: Option<String>,
    pub reason: Option<String>,
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
