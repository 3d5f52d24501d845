use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certification")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub school_id: Uuid,
    pub framework_id: Uuid,
    pub framework_slug: String,
    pub target_level_id: Uuid,
    pub stage: String,
    pub version: i32,
    pub renewal_of: Option<Uuid>,
    pub enrolled_at: DateTimeWithTimeZone,
    pub stage_changed_at: DateTimeWithTimeZone,
    pub submitted_at: Option<DateTimeWithTimeZone>,
    pub awarded_level_id: Option<Uuid>,
    #[sea_orm(unique)]
    pub certificate_number: Option<String>,
    pub awarded_on: Option<Date>,
    pub expires_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::SchoolId",
        to = "super::school::Column::Id"
    )]
    School,
    #[sea_orm(
        belongs_to = "super::framework::Entity",
        from = "Column::FrameworkId",
        to = "super::framework::Column::Id"
    )]
    Framework,
    #[sea_orm(
        belongs_to = "super::framework_level::Entity",
        from = "Column::AwardedLevelId",
        to = "super::framework_level::Column::Id"
    )]
    AwardedLevel,
    #[sea_orm(has_many = "super::credential::Entity")]
    Credential,
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::School.def()
    }
}

impl Related<super::framework::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Framework.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
