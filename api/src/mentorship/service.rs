//! Creating and ending mentorship pairings, with DOMAIN.md's rules.

use chrono::NaiveDate;
use entity::{cohort, cohort_school, mentorship_pairing as pairing, partnership, partnership_school};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, Viewer},
    certification::journey::certified_for,
    cohort::service::member_school,
    error::{ApiError, ApiResult},
};

pub const ACTIVE: &str = "ACTIVE";
pub const ENDED: &str = "ENDED";

#[derive(Clone, Debug)]
pub struct MentorshipService {
    db: DatabaseConnection,
}

/// A pairing to create.
#[derive(Clone, Debug)]
pub struct NewPairing {
    pub mentor_urn: i32,
    pub mentee_urn: i32,
    pub started_on: NaiveDate,
}

async fn cohort_of(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    school: Uuid,
) -> ApiResult<Option<cohort::Model>> {
    Ok(cohort_school::Entity::find()
        .find_also_related(cohort::Entity)
        .filter(cohort_school::Column::PartnershipId.eq(partnership))
        .filter(cohort_school::Column::SchoolId.eq(school))
        .filter(cohort_school::Column::LeftOn.is_null())
        .one(db)
        .await?
        .and_then(|(_, c)| c))
}

impl MentorshipService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<pairing::Model> {
        viewer.actor()?;
        pairing::Entity::find_by_id(id)
            .filter(pairing::Column::PartnershipId.is_in(viewer.partnerships().to_vec()))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("mentorship pairing".into()))
    }

    /// Pairs a mentor with a mentee of a later cohort of the city admin's partnership.
    pub async fn create(&self, actor: &Actor, new: NewPairing) -> ApiResult<pairing::Model> {
        let partnership_id = actor.admin_of()?;
        if new.mentor_urn == new.mentee_urn {
            return Err(ApiError::invalid("menteeUrn", "a school cannot mentor itself"));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let mentor = member_school(&txn, partnership_id, new.mentor_urn).await?;
        // Two pairings for one mentor at once must not both pass the capacity check: lock the
        // mentor's membership row until commit (PostgreSQL; SQLite has one writer anyway).
        partnership_school::Entity::find_by_id((partnership_id, mentor.id))
            .lock_exclusive()
            .one(&txn)
            .await?;
        let mentee = member_school(&txn, partnership_id, new.mentee_urn).await?;
        let mentee_cohort = cohort_of(&txn, partnership_id, mentee.id).await?.ok_or_else(|| {
            ApiError::invalid("menteeUrn", format!("school {} is in no cohort yet", new.mentee_urn))
        })?;
        // DOMAIN.md: the mentor's cohort is earlier than the mentee's, or the mentor holds a
        // valid certificate (on the day the pairing starts) for the partnership's framework.
        let partnership = partnership::Entity::find_by_id(partnership_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::NotFound("partnership".into()))?;
        let mentor_cohort = cohort_of(&txn, partnership_id, mentor.id).await?;
        if mentor_cohort.as_ref().is_none_or(|c| c.ordinal >= mentee_cohort.ordinal) {
            let certified = certified_for(&txn, &partnership, vec![mentor.id], new.started_on).await?;
            if !certified.contains(&mentor.id) {
                let why = match mentor_cohort {
                    Some(c) => format!(
                        "the mentor is in {:?}, which is not earlier than the mentee's {:?}",
                        c.name, mentee_cohort.name
                    ),
                    None => format!("school {} is in no cohort", new.mentor_urn),
                };
                return Err(ApiError::invalid(
                    "mentorUrn",
                    format!("{why}, and it holds no valid certificate on {}", new.started_on),
                ));
            }
        }
        let active = pairing::Entity::find()
            .filter(pairing::Column::PartnershipId.eq(partnership_id))
            .filter(pairing::Column::MenteeSchoolId.eq(mentee.id))
            .filter(pairing::Column::EndedOn.is_null())
            .one(&txn)
            .await?;
        if let Some(p) = active {
            let msg = if p.mentor_school_id == mentor.id {
                format!("school {} already mentors school {}", new.mentor_urn, new.mentee_urn)
            } else {
                format!("school {} already has an active mentor; end that pairing first", new.mentee_urn)
            };
            return Err(ApiError::Conflict(msg));
        }
        let mentoring = pairing::Entity::find()
            .filter(pairing::Column::PartnershipId.eq(partnership_id))
            .filter(pairing::Column::MentorSchoolId.eq(mentor.id))
            .filter(pairing::Column::EndedOn.is_null())
            .count(&txn)
            .await?;
        if mentoring >= partnership.max_active_mentees as u64 {
            return Err(ApiError::Conflict(format!(
                "school {} already mentors {mentoring} schools, the most this partnership allows",
                new.mentor_urn
            )));
        }
        let row = pairing::ActiveModel {
            id: Set(Uuid::new_v4()),
            partnership_id: Set(partnership_id),
            cohort_id: Set(mentee_cohort.id),
            mentor_school_id: Set(mentor.id),
            mentee_school_id: Set(mentee.id),
            started_on: Set(new.started_on),
            ended_on: Set(None),
            status: Set(ACTIVE.to_owned()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        tracing::info!(pairing.id = %row.id, mentor.urn = new.mentor_urn, mentee.urn = new.mentee_urn, "paired schools");
        Ok(row)
    }

    /// Ends an active pairing. Pairings are kept, never deleted.
    pub async fn end(&self, actor: &Actor, id: Uuid, ended_on: NaiveDate) -> ApiResult<pairing::Model> {
        let partnership_id = actor.admin_of()?;
        let current = pairing::Entity::find_by_id(id)
            .filter(pairing::Column::PartnershipId.eq(partnership_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("mentorship pairing".into()))?;
        if current.ended_on.is_some() {
            return Err(ApiError::Conflict("that pairing has already ended".into()));
        }
        if ended_on < current.started_on {
            return Err(ApiError::invalid("endedOn", "must not be before the pairing started"));
        }
        let mut row = current.into_active_model();
        row.ended_on = Set(Some(ended_on));
        row.status = Set(ENDED.to_owned());
        Ok(row.update(&self.db).await?)
    }
}
