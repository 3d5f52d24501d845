use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cohort")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partnership_id: Uuid,
    pub name: String,
    pub ordinal: i32,
    pub starts_on: Date,
    pub target_on: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::partnership::Entity",
        from = "Column::PartnershipId",
        to = "super::partnership::Column::Id"
    )]
    Partnership,
    #[sea_orm(has_many = "super::cohort_school::Entity")]
    CohortSchool,
}

impl Related<super::partnership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Partnership.def()
    }
}

impl Related<super::cohort_school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CohortSchool.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
