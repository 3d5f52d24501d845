use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub starts_on: Date,
    pub deadline: Date,
    pub default_framework: Option<String>,
    pub max_active_mentees: i32,
    pub synthetic: bool,
    pub required_level: Option<String>,
    pub stalled_after_days: i32,
    pub returned_after_days: i32,
    pub overdue_actions_at_risk: bool,
    pub comparison_min_schools: i32,
    pub framework_version: Option<i32>,
    pub local_authority_codes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::cohort::Entity")]
    Cohort,
    #[sea_orm(has_many = "super::partnership_school::Entity")]
    PartnershipSchool,
    #[sea_orm(has_many = "super::partnership_goal::Entity")]
    PartnershipGoal,
}

impl Related<super::cohort::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cohort.def()
    }
}

impl Related<super::partnership_school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnershipSchool.def()
    }
}

impl Related<super::partnership_goal::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnershipGoal.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
