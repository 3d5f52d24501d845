use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership_school")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub partnership_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: Uuid,
    pub joined_on: Option<Date>,
    pub left_on: Option<Date>,
    /// The member school this one carries on from (a GIAS succession applied).
    pub succeeds_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::partnership::Entity",
        from = "Column::PartnershipId",
        to = "super::partnership::Column::Id"
    )]
    Partnership,
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::SchoolId",
        to = "super::school::Column::Id"
    )]
    School,
}

impl Related<super::partnership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Partnership.def()
    }
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::School.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
