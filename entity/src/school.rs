use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "school")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub urn: i32,
    pub name: String,
    pub phase: String,
    pub establishment_type: String,
    pub local_authority_id: Uuid,
    pub trust_id: Option<Uuid>,
    pub postcode: Option<String>,
    pub open: bool,
    pub opened_on: Option<Date>,
    pub closed_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::local_authority::Entity",
        from = "Column::LocalAuthorityId",
        to = "super::local_authority::Column::Id"
    )]
    LocalAuthority,
    #[sea_orm(belongs_to = "super::trust::Entity", from = "Column::TrustId", to = "super::trust::Column::Id")]
    Trust,
    #[sea_orm(has_many = "super::partnership_school::Entity")]
    PartnershipSchool,
    #[sea_orm(has_many = "super::cohort_school::Entity")]
    CohortSchool,
}

impl Related<super::local_authority::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LocalAuthority.def()
    }
}

impl Related<super::trust::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Trust.def()
    }
}

impl Related<super::partnership_school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnershipSchool.def()
    }
}

impl Related<super::cohort_school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CohortSchool.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
