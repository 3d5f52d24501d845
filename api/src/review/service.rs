//! Expert review: the assessor's queue, claiming a submission, and the decision that
//! certifies (writing the certificate and issuing its signed credential in the same
//! transaction) or returns the journey with feedback.

use std::{collections::HashSet, sync::Arc};

use chrono::{DateTime, NaiveDate};
use entity::{certification, review, school};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReviewOutcome;
use crate::{
    auth::{Actor, Role, Scope},
    certificate::{Credentials, service::issue},
    certification::{
        Stage,
        journey::{allowed, find_visible, now, today, transition},
        service::optional_text,
    },
    error::{ApiError, ApiResult},
    events::EventBus,
    framework::service as frameworks,
    ids::Page,
    school::service::visible,
    validate,
};

const MAX_TEXT: usize = 4_000;

/// An assessor's decision.
#[derive(Clone, Debug)]
pub struct Decision {
    pub outcome: ReviewOutcome,
    pub level: Option<String>,
    pub feedback: Option<String>,
    pub area_feedback: Vec<(String, String)>,
    pub awarded_on: Option<NaiveDate>,
}

/// Feedback on one area, as stored in `review.area_feedback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaFeedback {
    pub area: String,
    pub feedback: String,
}

/// A certificate number: 80 random bits from a cryptographically secure generator (rand's
/// thread generator, seeded by the operating system), in Crockford base32 groups
/// (`CERT-XXXX-XXXX-XXXX-XXXX`). Not derived from anything guessable.
pub fn certificate_number() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes: [u8; 10] = rand::rng().random();
    let mut bits = u128::from_be_bytes([[0u8; 6].as_slice(), &bytes].concat().try_into().expect("16 bytes"));
    let mut chars = [0u8; 16];
    for c in chars.iter_mut().rev() {
        *c = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    let s = std::str::from_utf8(&chars).expect("ascii");
    format!("CERT-{}-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
}

#[derive(Clone)]
pub struct ReviewService {
    db: DatabaseConnection,
    /// Told of every stage change once it has committed.
    events: EventBus,
    /// Signs the credential of each award.
    credentials: Arc<Credentials>,
}

impl ReviewService {
    pub fn new(db: DatabaseConnection, events: EventBus, credentials: Arc<Credentials>) -> Self {
        Self { db, events, credentials }
    }

    /// SUBMITTED journeys (and, with `include_claimed`, those UNDER_REVIEW) of the assessor's
    /// partnership, longest waiting first.
    pub async fn queue(
        &self,
        actor: &Actor,
        page: &Page,
        include_claimed: bool,
    ) -> ApiResult<(Vec<certification::Model>, bool)> {
        let (Role::Assessor, Scope::Partnership(p)) = (actor.role, actor.scope) else {
            return Err(ApiError::Forbidden("see the review queue: that needs the assessor role"));
        };
        let mut stages = vec![Stage::Submitted.as_db()];
        if include_claimed {
            stages.push(Stage::UnderReview.as_db());
        }
        let mut q = certification::Entity::find()
            .inner_join(school::Entity)
            .filter(certification::Column::Stage.is_in(stages))
            .filter(visible(&[p]));
        if let Some(cursor) = &page.after {
            let bad = || ApiError::invalid("after", "not a cursor this API issued");
            let at = DateTime::parse_from_rfc3339(&cursor.name).map_err(|_| bad())?;
            let tie = Uuid::parse_str(&cursor.tie).map_err(|_| bad())?;
            q = q.filter(
                Condition::any().add(certification::Column::SubmittedAt.gt(at)).add(
                    Condition::all()
                        .add(certification::Column::SubmittedAt.eq(at))
                        .add(certification::Column::Id.gt(tie)),
                ),
            );
        }
        let rows = q
            .order_by_asc(certification::Column::SubmittedAt)
            .order_by_asc(certification::Column::Id)
            .limit(page.first + 1)
            .all(&self.db)
            .await?;
        Ok(page.split(rows))
    }

    /// An assessor of the school's partnership picks up a submission.
    pub async fn claim(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i32>,
    ) -> ApiResult<certification::Model> {
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_for_assessor(&txn, actor, id).await?;
        let from = Stage::from_db(&journey.stage);
        let journey = transition(&txn, actor, journey, Stage::UnderReview, expected, None, |_| {}).await?;
        let rounds =
            review::Entity::find().filter(review::Column::CertificationId.eq(id)).count(&txn).await?;
        review::ActiveModel {
            id: Set(Uuid::new_v4()),
            certification_id: Set(id),
            round: Set(rounds as i32 + 1),
            reviewer_subject: Set(actor.subject.clone()),
            reviewer_name: Set(actor.display_name.clone()),
            claimed_at: Set(journey.stage_changed_at),
            decided_at: Set(None),
            outcome: Set(None),
            awarded_level_id: Set(None),
            feedback: Set(None),
            area_feedback: Set(None),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        self.events.stage_changed(&journey, Some(from)).await;
        Ok(journey)
    }

    /// The assessor who claimed a review certifies at a level (at most the target) or returns
    /// the journey with feedback.
    pub async fn decide(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
        expected: Option<i32>,
    ) -> ApiResult<certification::Model> {
        let feedback = optional_text("feedback", decision.feedback, MAX_TEXT)?;
        let mut area_feedback = Vec::new();
        for (area, text) in decision.area_feedback {
            area_feedback.push(AreaFeedback {
                area: area.trim().to_owned(),
                feedback: validate::long_text("areaFeedback", &text, MAX_TEXT)?,
            });
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_for_assessor(&txn, actor, id).await?;
        let from = Stage::from_db(&journey.stage);
        allowed(&journey, Stage::from(decision.outcome))?;
        let open = review::Entity::find()
            .filter(review::Column::CertificationId.eq(id))
            .filter(review::Column::DecidedAt.is_null())
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::Conflict("no review of this journey is open".into()))?;
        if open.reviewer_subject != actor.subject {
            return Err(ApiError::Forbidden("decide a review another assessor has claimed"));
        }
        let data = frameworks::data(&txn, journey.framework_id).await?;
        let mut seen = HashSet::new();
        for f in &area_feedback {
            if data.area_by_key(&f.area).is_none() {
                return Err(ApiError::invalid(
                    "areaFeedback",
                    format!("this framework has no area {:?}", f.area),
                ));
            }
            if !seen.insert(f.area.clone()) {
                return Err(ApiError::invalid("areaFeedback", format!("area {} is given twice", f.area)));
            }
        }
        let at = now();
        let mut review_row: review::ActiveModel = open.into();
        review_row.decided_at = Set(Some(at));
        review_row.outcome = Set(Some(decision.outcome.as_db().to_owned()));
        review_row.feedback = Set(feedback.clone());
        review_row.area_feedback = Set(if area_feedback.is_empty() {
            None
        } else {
            Some(serde_json::to_value(&area_feedback).map_err(anyhow::Error::from)?)
        });
        let journey = match decision.outcome {
            ReviewOutcome::Returned => {
                let feedback = feedback
                    .ok_or_else(|| ApiError::invalid("feedback", "say what the school should improve"))?;
                review_row.update(&txn).await?;
                transition(&txn, actor, journey, Stage::Returned, expected, Some(feedback), |_| {}).await?
            }
            ReviewOutcome::Certified => {
                let target = data.level(journey.target_level_id).map_or(0, |l| l.rank);
                let key = decision.level.as_deref().map(str::trim).ok_or_else(|| {
                    ApiError::invalid("level", "give the level awarded (at most the target level)")
                })?;
                let level = data.level_by_key(key).ok_or_else(|| {
                    ApiError::invalid("level", format!("this framework has no level {key:?}"))
                })?;
                if level.rank > target {
                    return Err(ApiError::invalid(
                        "level",
                        "the level awarded cannot be above the target level",
                    ));
                }
                let today = today();
                let awarded_on = decision.awarded_on.unwrap_or(today);
                let submitted = journey.submitted_at.map(|t| t.date_naive());
                if awarded_on > today || submitted.is_some_and(|s| awarded_on < s) {
                    return Err(ApiError::invalid(
                        "awardedOn",
                        "the award date lies between the submission and today",
                    ));
                }
                let expires_on = awarded_on
                    .checked_add_months(chrono::Months::new(data.framework.validity_months as u32))
                    .ok_or_else(|| ApiError::invalid("awardedOn", "out of range"))?;
                let number = certificate_number();
                review_row.awarded_level_id = Set(Some(level.id));
                review_row.update(&txn).await?;
                let note = format!("certified at {}: certificate {number}", level.name);
                let level_id = level.id;
                let journey = transition(&txn, actor, journey, Stage::Certified, expected, Some(note), |m| {
                    m.awarded_level_id = Set(Some(level_id));
                    m.certificate_number = Set(Some(number));
                    m.awarded_on = Set(Some(awarded_on));
                    m.expires_on = Set(Some(expires_on));
                })
                .await?;
                issue(&txn, &self.credentials, &journey, &data).await?;
                journey
            }
        };
        txn.commit().await?;
        tracing::info!(certification.id = %journey.id, outcome = decision.outcome.as_db(), "review decided");
        self.events.stage_changed(&journey, Some(from)).await;
        Ok(journey)
    }
}

impl From<ReviewOutcome> for Stage {
    fn from(o: ReviewOutcome) -> Self {
        match o {
            ReviewOutcome::Certified => Self::Certified,
            ReviewOutcome::Returned => Self::Returned,
        }
    }
}

/// The journey, locked, when the caller assesses the school's partnership.
async fn locked_for_assessor(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<certification::Model> {
    if actor.role != Role::Assessor {
        return Err(ApiError::Forbidden("review a journey: that needs the assessor role"));
    }
    find_visible(txn, &actor.partnerships, id, true).await
}
