use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_grant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partnership_id: Uuid,
    pub role: String,
    pub trust_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub display_name: Option<String>,
    #[sea_orm(unique)]
    pub code_hash: Option<String>,
    pub expires_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub created_by: String,
    pub redeemed_at: Option<DateTimeWithTimeZone>,
    pub revoked_at: Option<DateTimeWithTimeZone>,
    pub revoked_by: Option<String>,
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
