//! Reading and changing cohorts and who is in them.

use chrono::NaiveDate;
use entity::{cohort, cohort_school, mentorship_pairing, school};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, ModelTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, Viewer},
    error::{ApiError, ApiResult},
    school::service::visible as visible_school,
    validate,
};

/// A cohort to add, or the new values of one.
#[derive(Clone, Debug)]
pub struct CohortFields {
    pub name: String,
    pub ordinal: i32,
    pub starts_on: NaiveDate,
    pub target_on: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct CohortService {
    db: DatabaseConnection,
}

impl CohortFields {
    fn check(&self) -> ApiResult<String> {
        if !(1..=100).contains(&self.ordinal) {
            return Err(ApiError::invalid("ordinal", "use 1 for the first cohort, up to 100"));
        }
        if self.target_on < self.starts_on {
            return Err(ApiError::invalid("targetOn", "must not be before startsOn"));
        }
        validate::text("name", &self.name, 100)
    }
}

impl CohortService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<cohort::Model> {
        viewer.actor()?;
        cohort::Entity::find_by_id(id)
            .filter(cohort::Column::PartnershipId.is_in(viewer.partnerships().to_vec()))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("cohort".into()))
    }

    pub async fn list(&self, viewer: &Viewer, partnership: Uuid) -> ApiResult<Vec<cohort::Model>> {
        viewer.actor()?;
        viewer.require_partnership(partnership)?;
        Ok(cohort::Entity::find()
            .filter(cohort::Column::PartnershipId.eq(partnership))
            .order_by_asc(cohort::Column::Ordinal)
            .all(&self.db)
            .await?)
    }

    pub async fn create(&self, actor: &Actor, fields: CohortFields) -> ApiResult<cohort::Model> {
        let partnership = actor.admin_of()?;
        let name = fields.check()?;
        self.check_unique(partnership, None, &name, fields.ordinal).await?;
        let row = cohort::ActiveModel {
            id: Set(Uuid::new_v4()),
            partnership_id: Set(partnership),
            name: Set(name),
            ordinal: Set(fields.ordinal),
            starts_on: Set(fields.starts_on),
            target_on: Set(fields.target_on),
        }
        .insert(&self.db)
        .await?;
        tracing::info!(cohort.id = %row.id, "created cohort {}", row.name);
        Ok(row)
    }

    pub async fn update(&self, actor: &Actor, id: Uuid, fields: CohortFields) -> ApiResult<cohort::Model> {
        let partnership = actor.admin_of()?;
        let name = fields.check()?;
        let current = self.admin_cohort(&self.db, partnership, id).await?;
        self.check_unique(partnership, Some(id), &name, fields.ordinal).await?;
        let mut row = current.into_active_model();
        row.name = Set(name);
        row.ordinal = Set(fields.ordinal);
        row.starts_on = Set(fields.starts_on);
        row.target_on = Set(fields.target_on);
        Ok(row.update(&self.db).await?)
    }

    /// Puts a member school into a cohort; a school is in at most one cohort per partnership.
    pub async fn add_school(&self, actor: &Actor, cohort: Uuid, urn: i32) -> ApiResult<school::Model> {
        let partnership = actor.admin_of()?;
        let txn = crate::db::begin_write(&self.db).await?;
        let cohort = self.admin_cohort(&txn, partnership, cohort).await?;
        let school = member_school(&txn, partnership, urn).await?;
        let existing = cohort_school::Entity::find()
            .find_also_related(cohort::Entity)
            .filter(cohort_school::Column::PartnershipId.eq(partnership))
            .filter(cohort_school::Column::SchoolId.eq(school.id))
            .filter(cohort_school::Column::LeftOn.is_null())
            .one(&txn)
            .await?;
        if let Some((_, other)) = existing {
            let name = other.map(|c| c.name).unwrap_or_default();
            return Err(ApiError::Conflict(format!(
                "school {urn} is already in cohort {name:?}; remove it from there first"
            )));
        }
        // In it from today once the cohort has begun (from its start before); back in a cohort it
        // had left, it is in it again from when it first joined.
        let today = chrono::Utc::now().date_naive();
        match cohort_school::Entity::find_by_id((cohort.id, school.id)).one(&txn).await? {
            Some(left) => {
                let mut again = left.into_active_model();
                again.left_on = Set(None);
                again.update(&txn).await?;
            }
            None => {
                cohort_school::ActiveModel {
                    cohort_id: Set(cohort.id),
                    school_id: Set(school.id),
                    partnership_id: Set(partnership),
                    joined_on: Set((today > cohort.starts_on).then_some(today)),
                    left_on: Set(None),
                }
                .insert(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        tracing::info!(cohort.id = %cohort.id, school.urn = urn, "added school to cohort");
        Ok(school)
    }

    /// Takes a school out of a cohort, unless an active pairing still hangs on it.
    pub async fn remove_school(&self, actor: &Actor, cohort: Uuid, urn: i32) -> ApiResult<school::Model> {
        let partnership = actor.admin_of()?;
        let txn = crate::db::begin_write(&self.db).await?;
        let cohort = self.admin_cohort(&txn, partnership, cohort).await?;
        let school = member_school(&txn, partnership, urn).await?;
        let link = cohort_school::Entity::find_by_id((cohort.id, school.id))
            .one(&txn)
            .await?
            .filter(|l| l.left_on.is_none())
            .ok_or_else(|| ApiError::NotFound(format!("school {urn} in cohort {:?}", cohort.name)))?;
        let active = mentorship_pairing::Entity::find()
            .filter(mentorship_pairing::Column::CohortId.eq(cohort.id))
            .filter(mentorship_pairing::Column::MenteeSchoolId.eq(school.id))
            .filter(mentorship_pairing::Column::EndedOn.is_null())
            .one(&txn)
            .await?;
        if active.is_some() {
            return Err(ApiError::Conflict(format!(
                "school {urn} has an active mentor in this cohort; end that pairing first"
            )));
        }
        // Out of it from today, the days it was in it kept; a school in it since today only
        // leaves no trace.
        let today = chrono::Utc::now().date_naive();
        if link.joined_on.unwrap_or(cohort.starts_on) < today {
            let mut left = link.into_active_model();
            left.left_on = Set(Some(today));
            left.update(&txn).await?;
        } else {
            link.delete(&txn).await?;
        }
        txn.commit().await?;
        tracing::info!(cohort.id = %cohort.id, school.urn = urn, "removed school from cohort");
        Ok(school)
    }

    async fn admin_cohort(
        &self,
        db: &impl ConnectionTrait,
        partnership: Uuid,
        id: Uuid,
    ) -> ApiResult<cohort::Model> {
        cohort::Entity::find_by_id(id)
            .filter(cohort::Column::PartnershipId.eq(partnership))
            .one(db)
            .await?
            .ok_or_else(|| ApiError::NotFound("cohort".into()))
    }

    async fn check_unique(
        &self,
        partnership: Uuid,
        except: Option<Uuid>,
        name: &str,
        ordinal: i32,
    ) -> ApiResult<()> {
        let clash = cohort::Entity::find()
            .filter(cohort::Column::PartnershipId.eq(partnership))
            .filter(
                Condition::any().add(cohort::Column::Name.eq(name)).add(cohort::Column::Ordinal.eq(ordinal)),
            )
            .filter(cohort::Column::Id.ne(except.unwrap_or_default()))
            .one(&self.db)
            .await?;
        match clash {
            Some(c) if c.name == name => {
                Err(ApiError::Conflict(format!("a cohort called {name:?} already exists")))
            }
            Some(_) => Err(ApiError::Conflict(format!("another cohort already has ordinal {ordinal}"))),
            None => Ok(()),
        }
    }
}

/// A school of `partnership` by URN, or NOT_FOUND.
pub async fn member_school(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    urn: i32,
) -> ApiResult<school::Model> {
    school::Entity::find()
        .filter(school::Column::Urn.eq(urn))
        .filter(visible_school(&[partnership]))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("school with URN {urn} in this partnership")))
}
