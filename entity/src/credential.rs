use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credential")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub status_index: i32,
    #[sea_orm(unique)]
    pub id: Uuid,
    pub certification_id: Uuid,
    pub kid: String,
    pub issued_at: DateTimeWithTimeZone,
    #[sea_orm(column_type = "Text")]
    pub jwt: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::certification::Entity",
        from = "Column::CertificationId",
        to = "super::certification::Column::Id"
    )]
    Certification,
}

impl Related<super::certification::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Certification.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
