use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rating")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub certification_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub criterion_id: Uuid,
    pub rating: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub rated_at: DateTimeWithTimeZone,
    pub rated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::certification::Entity",
        from = "Column::CertificationId",
        to = "super::certification::Column::Id"
    )]
    Certification,
    #[sea_orm(
        belongs_to = "super::criterion::Entity",
        from = "Column::CriterionId",
        to = "super::criterion::Column::Id"
    )]
    Criterion,
}

impl Related<super::criterion::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Criterion.def()
    }
}

impl Related<super::certification::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Certification.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
