//! The journey's rules: who may move it, where it may go, when it is ready, and what an award
//! writes. Every write runs in one transaction that first locks the journey's row, and every
//! stage change also bumps the journey's version with a compare-and-set, so two simultaneous
//! changes of one journey can never both win.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use entity::{
    certification, certification_event as event, evidence, evidence_criterion, framework_level, rating,
    review, school,
};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EvidenceKind, ReviewOutcome, SelfRating, Stage};
use crate::{
    auth::{Actor, Role, Scope, Viewer},
    error::{ApiError, ApiResult},
    events::EventBus,
    framework::{FrameworkData, service as frameworks},
    ids::Page,
    school::service::{visible, visible_by_urn},
    validate,
};

/// The most ratings one `rateCriteria` call may carry.
pub const MAX_RATINGS: usize = 500;
/// The most criteria one evidence item may be linked to.
pub const MAX_EVIDENCE_LINKS: usize = 50;
const MAX_NOTE: usize = 2_000;
const MAX_TEXT: usize = 4_000;
const MAX_URL: usize = 2_000;

/// The stage a journey shows on `as_of`: CERTIFIED turns EXPIRED after the expiry date.
pub fn stage_on(journey: &certification::Model, as_of: NaiveDate) -> Stage {
    match Stage::from_db(&journey.stage) {
        Stage::Certified if journey.expires_on.is_some_and(|e| e < as_of) => Stage::Expired,
        stage => stage,
    }
}

/// The stage on `as_of` of a journey whose stage changes are `changes` (day, stage entered; in
/// order), and the day it entered it; None before the first change. CERTIFIED reads EXPIRED
/// from the day after `expires_on`.
pub fn stage_on_day(
    changes: impl DoubleEndedIterator<Item = (NaiveDate, Stage)>,
    expires_on: Option<NaiveDate>,
    as_of: NaiveDate,
) -> Option<(Stage, NaiveDate)> {
    let (since, stage) = changes.rev().find(|(d, _)| *d <= as_of)?;
    Some(match expires_on {
        Some(expires) if stage == Stage::Certified && expires < as_of => {
            (Stage::Expired, expires.succ_opt().unwrap_or(expires))
        }
        _ => (stage, since),
    })
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Self-assessment progress of one area at the journey's target level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AreaProgress {
    pub area: Uuid,
    pub total: usize,
    pub rated: usize,
    pub not_yet: usize,
    pub evidence: usize,
}

/// Self-assessment progress and what still stands between the journey and a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub areas: Vec<AreaProgress>,
    /// Empty when the journey is ready to submit.
    pub missing: Vec<String>,
}

impl Assessment {
    pub fn total(&self) -> usize {
        self.areas.iter().map(|a| a.total).sum()
    }
    pub fn rated(&self) -> usize {
        self.areas.iter().map(|a| a.rated).sum()
    }
}

/// DOMAIN.md's "ready to submit": every criterion of the target level rated, none NOT_YET,
/// and at least one evidence item linked to each area (that has criteria at that level).
pub fn assess(
    data: &FrameworkData,
    target_level: Uuid,
    ratings: &[rating::Model],
    links: &[evidence_criterion::Model],
) -> Assessment {
    let by_criterion: HashMap<Uuid, &rating::Model> = ratings.iter().map(|r| (r.criterion_id, r)).collect();
    let criteria: Vec<_> = data.criteria_at(target_level).collect();
    let mut areas = Vec::new();
    let mut missing = Vec::new();
    for area in &data.areas {
        let mine: Vec<_> = criteria.iter().filter(|c| c.area_id == area.id).collect();
        if mine.is_empty() {
            continue;
        }
        let ids: HashSet<Uuid> = mine.iter().map(|c| c.id).collect();
        let evidence: HashSet<Uuid> =
            links.iter().filter(|l| ids.contains(&l.criterion_id)).map(|l| l.evidence_id).collect();
        let mut progress =
            AreaProgress { area: area.id, total: mine.len(), rated: 0, not_yet: 0, evidence: evidence.len() };
        for c in &mine {
            match by_criterion.get(&c.id).map(|r| SelfRating::from_db(&r.rating)) {
                None => missing.push(format!("rate {}", c.code)),
                Some(SelfRating::NotYet) => {
                    progress.rated += 1;
                    progress.not_yet += 1;
                    missing.push(format!("{} is rated NOT_YET", c.code));
                }
                Some(_) => progress.rated += 1,
            }
        }
        if evidence.is_empty() {
            missing.push(format!("link evidence to a criterion of area {:?}", area.name));
        }
        areas.push(progress);
    }
    Assessment { areas, missing }
}

/// A rating to record.
#[derive(Clone, Debug)]
pub struct NewRating {
    pub criterion: String,
    pub rating: SelfRating,
    pub note: Option<String>,
}

/// An evidence item to record.
#[derive(Clone, Debug)]
pub struct NewEvidence {
    pub kind: EvidenceKind,
    pub title: String,
    pub url: Option<String>,
    pub text: Option<String>,
    pub criteria: Vec<String>,
    pub no_personal_data: bool,
}

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

/// What the public certificate check shows, and nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateView {
    pub number: String,
    pub school_name: String,
    pub framework_name: String,
    pub level_name: String,
    pub awarded_on: NaiveDate,
    pub expires_on: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct CertificationService {
    db: DatabaseConnection,
    /// Told of every stage change once it has committed.
    events: EventBus,
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
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

fn role_name(role: Role) -> String {
    serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The history row of a stage change.
pub fn event_row(
    journey: Uuid,
    version: i32,
    from: Option<Stage>,
    to: Stage,
    at: DateTime<FixedOffset>,
    actor: &Actor,
    comment: Option<String>,
) -> event::ActiveModel {
    event::ActiveModel {
        id: Set(Uuid::new_v4()),
        certification_id: Set(journey),
        version: Set(version),
        from_stage: Set(from.map(|s| s.as_db().to_owned())),
        to_stage: Set(to.as_db().to_owned()),
        at: Set(at),
        actor_subject: Set(actor.subject.clone()),
        actor_name: Set(actor.display_name.clone()),
        actor_role: Set(role_name(actor.role)),
        comment: Set(comment),
    }
}

fn comment(value: Option<String>) -> ApiResult<Option<String>> {
    optional_text("comment", value, MAX_TEXT)
}

fn optional_text(field: &'static str, value: Option<String>, max: usize) -> ApiResult<Option<String>> {
    match value {
        Some(v) if !v.trim().is_empty() => validate::long_text(field, &v, max).map(Some),
        _ => Ok(None),
    }
}

impl CertificationService {
    pub fn new(db: DatabaseConnection, events: EventBus) -> Self {
        Self { db, events }
    }

    /// A journey the viewer may see (its school is visible), or NOT_FOUND.
    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<certification::Model> {
        viewer.actor()?;
        find_visible(&self.db, viewer.partnerships(), id, false).await
    }

    /// The public certificate check.
    pub async fn certificate(&self, number: &str) -> ApiResult<CertificateView> {
        let number = number.trim().to_ascii_uppercase();
        let not_found = || ApiError::NotFound("certificate".into());
        if number.len() > 40 || !validate::matchable(&number) {
            return Err(not_found());
        }
        let (journey, school) = certification::Entity::find()
            .filter(certification::Column::CertificateNumber.eq(&number))
            .find_also_related(school::Entity)
            .one(&self.db)
            .await?
            .ok_or_else(not_found)?;
        let data = frameworks::data(&self.db, journey.framework_id).await?;
        let level = journey.awarded_level_id.and_then(|id| data.level(id));
        let (Some(school), Some(level), Some(awarded_on), Some(expires_on)) =
            (school, level, journey.awarded_on, journey.expires_on)
        else {
            return Err(not_found());
        };
        Ok(CertificateView {
            number,
            school_name: school.name,
            framework_name: data.framework.name.clone(),
            level_name: level.name.clone(),
            awarded_on,
            expires_on,
        })
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

    /// Enrols the school lead's school in the version of a framework its partnership pins.
    /// Enrolling again
    /// after a certificate is a renewal: the new journey links to the certified one and starts
    /// with its ratings (for criteria the new version still has at the target level).
    pub async fn enrol(
        &self,
        actor: &Actor,
        urn: i32,
        framework_slug: &str,
        target_level: &str,
    ) -> ApiResult<certification::Model> {
        let txn = crate::db::begin_write(&self.db).await?;
        let school = visible_by_urn(&txn, &actor.partnerships, urn).await?;
        own_school(actor, school.id)?;
        let framework = frameworks::pinned_for_school(&txn, school.id, framework_slug.trim()).await?;
        let data = frameworks::data(&txn, framework.id).await?;
        let level = data.level_by_key(target_level.trim()).ok_or_else(|| {
            let keys: Vec<_> = data.levels.iter().map(|l| l.key.as_str()).collect();
            ApiError::invalid("targetLevel", format!("{framework_slug} has the levels {}", keys.join(", ")))
        })?;
        let earlier = certification::Entity::find()
            .filter(certification::Column::SchoolId.eq(school.id))
            .filter(certification::Column::FrameworkSlug.eq(&framework.slug))
            .order_by_desc(certification::Column::EnrolledAt)
            .all(&txn)
            .await?;
        if let Some(open) =
            earlier.iter().find(|j| !matches!(Stage::from_db(&j.stage), Stage::Certified | Stage::Withdrawn))
        {
            return Err(ApiError::Conflict(format!(
                "the school already has an open {} journey (stage {}); withdraw it first",
                framework.name, open.stage
            )));
        }
        let renewal_of =
            earlier.iter().filter(|j| j.awarded_on.is_some()).max_by_key(|j| j.awarded_on).cloned();
        let at = now();
        let journey = certification::ActiveModel {
            id: Set(Uuid::new_v4()),
            school_id: Set(school.id),
            framework_id: Set(framework.id),
            framework_slug: Set(framework.slug.clone()),
            target_level_id: Set(level.id),
            stage: Set(Stage::Enrolled.as_db().to_owned()),
            version: Set(1),
            renewal_of: Set(renewal_of.as_ref().map(|j| j.id)),
            enrolled_at: Set(at),
            stage_changed_at: Set(at),
            submitted_at: Set(None),
            awarded_level_id: Set(None),
            certificate_number: Set(None),
            awarded_on: Set(None),
            expires_on: Set(None),
        }
        .insert(&txn)
        .await?;
        let note = renewal_of.as_ref().map(|j| {
            format!("renewal of certificate {}", j.certificate_number.as_deref().unwrap_or("(unnumbered)"))
        });
        event_row(journey.id, 1, None, Stage::Enrolled, at, actor, note).insert(&txn).await?;
        if let Some(previous) = renewal_of {
            copy_ratings(&txn, &previous, &journey, &data, actor).await?;
        }
        txn.commit().await?;
        tracing::info!(certification.id = %journey.id, school.urn = urn, framework = %framework.slug, "enrolled");
        self.events.stage_changed(&journey, None).await;
        Ok(journey)
    }

    /// Records many ratings at once (insert or replace), all or nothing.
    pub async fn rate(
        &self,
        actor: &Actor,
        id: Uuid,
        ratings: Vec<NewRating>,
    ) -> ApiResult<certification::Model> {
        if ratings.is_empty() || ratings.len() > MAX_RATINGS {
            return Err(ApiError::invalid("ratings", format!("give 1 to {MAX_RATINGS} ratings")));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_own(&txn, actor, id).await?;
        drafting(&journey, "rate criteria")?;
        let data = frameworks::data(&txn, journey.framework_id).await?;
        let criteria = data.codes_at(journey.target_level_id);
        let mut seen = HashSet::new();
        let at = now();
        let mut rows = Vec::with_capacity(ratings.len());
        for r in ratings {
            let criterion = criterion_of(&criteria, "criterion", &r.criterion)?;
            if !seen.insert(criterion) {
                return Err(ApiError::invalid(
                    "criterion",
                    format!("{} is rated twice in one call", r.criterion),
                ));
            }
            rows.push(rating::ActiveModel {
                certification_id: Set(journey.id),
                criterion_id: Set(criterion),
                rating: Set(r.rating.as_db().to_owned()),
                note: Set(optional_text("note", r.note, MAX_NOTE)?),
                rated_at: Set(at),
                rated_by: Set(actor.subject.clone()),
            });
        }
        // At most MAX_RATINGS rows of six values: one statement on SQLite and PostgreSQL.
        rating::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([rating::Column::CertificationId, rating::Column::CriterionId])
                    .update_columns([
                        rating::Column::Rating,
                        rating::Column::Note,
                        rating::Column::RatedAt,
                        rating::Column::RatedBy,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(journey)
    }

    /// Adds an evidence item (metadata and a link or text only) linked to criteria.
    pub async fn add_evidence(
        &self,
        actor: &Actor,
        id: Uuid,
        new: NewEvidence,
    ) -> ApiResult<(evidence::Model, Vec<Uuid>)> {
        if !new.no_personal_data {
            return Err(ApiError::invalid(
                "noPersonalData",
                "confirm that the item holds no personal data (DOMAIN.md: no pupil data at all)",
            ));
        }
        let title = validate::text("title", &new.title, 200)?;
        let (url, text) = match new.kind {
            EvidenceKind::Description => {
                if new.url.is_some() {
                    return Err(ApiError::invalid("url", "a DESCRIPTION has text, not a link"));
                }
                let text = optional_text("text", new.text, MAX_TEXT)?
                    .ok_or_else(|| ApiError::invalid("text", "a DESCRIPTION needs its text"))?;
                (None, Some(text))
            }
            _ => {
                let url =
                    new.url.as_deref().ok_or_else(|| ApiError::invalid("url", "give the item's link"))?;
                (Some(validate::web_url("url", url, MAX_URL)?), optional_text("text", new.text, MAX_TEXT)?)
            }
        };
        if new.criteria.is_empty() || new.criteria.len() > MAX_EVIDENCE_LINKS {
            return Err(ApiError::invalid("criteria", format!("link 1 to {MAX_EVIDENCE_LINKS} criteria")));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_own(&txn, actor, id).await?;
        drafting(&journey, "add evidence")?;
        let data = frameworks::data(&txn, journey.framework_id).await?;
        let criteria = data.codes_at(journey.target_level_id);
        let mut links = Vec::new();
        for code in &new.criteria {
            let c = criterion_of(&criteria, "criteria", code)?;
            if !links.contains(&c) {
                links.push(c);
            }
        }
        let item = evidence::ActiveModel {
            id: Set(Uuid::new_v4()),
            certification_id: Set(journey.id),
            kind: Set(new.kind.as_db().to_owned()),
            title: Set(title),
            url: Set(url),
            body: Set(text),
            no_personal_data: Set(true),
            added_at: Set(now()),
            added_by: Set(actor.subject.clone()),
        }
        .insert(&txn)
        .await?;
        evidence_criterion::Entity::insert_many(
            links.iter().map(|c| evidence_criterion::ActiveModel {
                evidence_id: Set(item.id),
                criterion_id: Set(*c),
            }),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok((item, links))
    }

    /// Removes an evidence item while the school is still drafting.
    pub async fn remove_evidence(&self, actor: &Actor, evidence_id: Uuid) -> ApiResult<certification::Model> {
        let txn = crate::db::begin_write(&self.db).await?;
        let item = evidence::Entity::find_by_id(evidence_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::NotFound("evidence item".into()))?;
        let journey = locked_own(&txn, actor, item.certification_id).await?;
        drafting(&journey, "remove evidence")?;
        evidence_criterion::Entity::delete_many()
            .filter(evidence_criterion::Column::EvidenceId.eq(item.id))
            .exec(&txn)
            .await?;
        evidence::Entity::delete_by_id(item.id).exec(&txn).await?;
        txn.commit().await?;
        Ok(journey)
    }

    /// The school moves between self-assessment and evidence gathering (and back from a
    /// submission not yet claimed, or from RETURNED).
    pub async fn move_to(
        &self,
        actor: &Actor,
        id: Uuid,
        to: Stage,
        expected: Option<i32>,
        note: Option<String>,
    ) -> ApiResult<certification::Model> {
        if !matches!(to, Stage::SelfAssessing | Stage::GatheringEvidence) {
            return Err(ApiError::invalid(
                "stage",
                "moveTo goes to SELF_ASSESSING or GATHERING_EVIDENCE; submitCertification, \
                 withdrawCertification, claimReview and decideReview make the other moves",
            ));
        }
        let note = comment(note)?;
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_own(&txn, actor, id).await?;
        let from = Stage::from_db(&journey.stage);
        let journey = transition(&txn, actor, journey, to, expected, note, |_| {}).await?;
        txn.commit().await?;
        self.events.stage_changed(&journey, Some(from)).await;
        Ok(journey)
    }

    /// Submits the journey for review, when DOMAIN.md's "ready to submit" holds.
    pub async fn submit(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i32>,
        note: Option<String>,
    ) -> ApiResult<certification::Model> {
        let note = comment(note)?;
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_own(&txn, actor, id).await?;
        allowed(&journey, Stage::Submitted)?;
        let data = frameworks::data(&txn, journey.framework_id).await?;
        let ratings =
            rating::Entity::find().filter(rating::Column::CertificationId.eq(journey.id)).all(&txn).await?;
        let links = evidence_criterion::Entity::find()
            .inner_join(evidence::Entity)
            .filter(evidence::Column::CertificationId.eq(journey.id))
            .all(&txn)
            .await?;
        let assessment = assess(&data, journey.target_level_id, &ratings, &links);
        if !assessment.missing.is_empty() {
            return Err(ApiError::NotReady(assessment.missing));
        }
        let at = now();
        let from = Stage::from_db(&journey.stage);
        let journey = transition(&txn, actor, journey, Stage::Submitted, expected, note, |m| {
            m.submitted_at = Set(Some(at));
        })
        .await?;
        txn.commit().await?;
        self.events.stage_changed(&journey, Some(from)).await;
        Ok(journey)
    }

    /// Withdraws a journey that has no certificate yet.
    pub async fn withdraw(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i32>,
        note: Option<String>,
    ) -> ApiResult<certification::Model> {
        let note = comment(note)?;
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = locked_own(&txn, actor, id).await?;
        let from = Stage::from_db(&journey.stage);
        let journey = transition(&txn, actor, journey, Stage::Withdrawn, expected, note, |_| {}).await?;
        txn.commit().await?;
        self.events.stage_changed(&journey, Some(from)).await;
        Ok(journey)
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
                transition(&txn, actor, journey, Stage::Certified, expected, Some(note), |m| {
                    m.awarded_level_id = Set(Some(level_id));
                    m.certificate_number = Set(Some(number));
                    m.awarded_on = Set(Some(awarded_on));
                    m.expires_on = Set(Some(expires_on));
                })
                .await?
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

/// A journey whose school the caller sees; locked until commit when `lock`.
async fn find_visible(
    db: &impl ConnectionTrait,
    partnerships: &[Uuid],
    id: Uuid,
    lock: bool,
) -> ApiResult<certification::Model> {
    let mut q = certification::Entity::find_by_id(id);
    if lock {
        q = q.lock_exclusive();
    }
    let journey = q.one(db).await?.ok_or_else(|| ApiError::NotFound("certification".into()))?;
    let seen = school::Entity::find_by_id(journey.school_id).filter(visible(partnerships)).count(db).await?;
    if seen == 0 {
        return Err(ApiError::NotFound("certification".into()));
    }
    Ok(journey)
}

/// The criterion with `code` among a journey's criteria, or BAD_USER_INPUT on `field`.
fn criterion_of(criteria: &HashMap<&str, Uuid>, field: &'static str, code: &str) -> ApiResult<Uuid> {
    let code = code.trim();
    criteria.get(code).copied().ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{code:?} is not a criterion of this journey's framework at its target level"),
        )
    })
}

fn own_school(actor: &Actor, school: Uuid) -> ApiResult<()> {
    match (actor.role, actor.scope) {
        (Role::SchoolLead, Scope::School(own)) if own == school => Ok(()),
        _ => Err(ApiError::Forbidden("change this journey: only the school's own lead can")),
    }
}

/// The journey, locked, when it belongs to the school lead's own school.
async fn locked_own(txn: &DatabaseTransaction, actor: &Actor, id: Uuid) -> ApiResult<certification::Model> {
    let journey = find_visible(txn, &actor.partnerships, id, true).await?;
    own_school(actor, journey.school_id)?;
    Ok(journey)
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

fn drafting(journey: &certification::Model, what: &'static str) -> ApiResult<()> {
    let stage = Stage::from_db(&journey.stage);
    if stage.is_drafting() {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "cannot {what} while the journey is {}: that happens in SELF_ASSESSING or GATHERING_EVIDENCE",
            stage.as_db()
        )))
    }
}

/// CONFLICT unless the state machine lets the journey go to `to`, naming where it can go.
fn allowed(journey: &certification::Model, to: Stage) -> ApiResult<()> {
    let from = Stage::from_db(&journey.stage);
    if from.next().contains(&to) {
        return Ok(());
    }
    let next: Vec<_> = from.next().iter().map(|s| s.as_db()).collect();
    Err(ApiError::Conflict(format!(
        "the journey is {}; it cannot go to {}{}",
        from.as_db(),
        to.as_db(),
        if next.is_empty() {
            ", nor anywhere else".to_owned()
        } else {
            format!(", only to {}", next.join(", "))
        }
    )))
}

/// Moves the journey to `to`: checks the state machine and the expected version, writes the
/// stage with a compare-and-set on the version, and keeps the change in the history.
async fn transition(
    txn: &DatabaseTransaction,
    actor: &Actor,
    journey: certification::Model,
    to: Stage,
    expected: Option<i32>,
    note: Option<String>,
    also: impl FnOnce(&mut certification::ActiveModel),
) -> ApiResult<certification::Model> {
    if let Some(v) = expected.filter(|v| *v != journey.version) {
        return Err(ApiError::Conflict(format!(
            "the journey has changed since version {v} (it is at version {}); reload it",
            journey.version
        )));
    }
    allowed(&journey, to)?;
    let at = now();
    let version = journey.version + 1;
    let mut change = certification::ActiveModel {
        stage: Set(to.as_db().to_owned()),
        version: Set(version),
        stage_changed_at: Set(at),
        ..Default::default()
    };
    also(&mut change);
    let done = certification::Entity::update_many()
        .set(change)
        .filter(certification::Column::Id.eq(journey.id))
        .filter(certification::Column::Version.eq(journey.version))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::Conflict(
            "the journey changed while this change was being saved; reload it".into(),
        ));
    }
    let from = Stage::from_db(&journey.stage);
    event_row(journey.id, version, Some(from), to, at, actor, note).insert(txn).await?;
    tracing::info!(certification.id = %journey.id, from = from.as_db(), to = to.as_db(), "stage changed");
    certification::Entity::find_by_id(journey.id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::NotFound("certification".into()))
}

/// Starts a renewal with the ratings of the certified journey, where the criterion codes match.
async fn copy_ratings(
    txn: &DatabaseTransaction,
    previous: &certification::Model,
    journey: &certification::Model,
    data: &FrameworkData,
    actor: &Actor,
) -> ApiResult<()> {
    let old = rating::Entity::find()
        .find_also_related(entity::criterion::Entity)
        .filter(rating::Column::CertificationId.eq(previous.id))
        .all(txn)
        .await?;
    let codes = data.codes_at(journey.target_level_id);
    let at = now();
    let rows: Vec<rating::ActiveModel> = old
        .into_iter()
        .filter_map(|(r, c)| {
            let criterion = *codes.get(c?.code.as_str())?;
            Some(rating::ActiveModel {
                certification_id: Set(journey.id),
                criterion_id: Set(criterion),
                rating: Set(r.rating),
                note: Set(r.note),
                rated_at: Set(at),
                rated_by: Set(actor.subject.clone()),
            })
        })
        .collect();
    if !rows.is_empty() {
        rating::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// The schools among `schools` that count as certified for `partnership` on `as_of`
/// (DOMAIN.md): a certificate of the partnership's framework, valid that day, at or above its
/// required level (default the lowest; ranked as in the framework's latest version).
pub async fn certified_for(
    db: &impl ConnectionTrait,
    partnership: &entity::partnership::Model,
    schools: Vec<Uuid>,
    as_of: NaiveDate,
) -> ApiResult<HashSet<Uuid>> {
    let Some(slug) = partnership.default_framework.as_deref() else { return Ok(HashSet::new()) };
    let min_rank = match partnership.required_level.as_deref() {
        Some(key) => {
            let latest = frameworks::latest(db, slug).await?;
            frameworks::data(db, latest.id).await?.level_by_key(key).map_or(1, |l| l.rank)
        }
        None => 1,
    };
    certified_schools(db, schools, slug, min_rank, as_of).await
}

/// Schools among `schools` that hold a certificate of framework `slug` valid on `as_of`, at
/// or above the level ranked `min_rank`.
pub async fn certified_schools(
    db: &impl ConnectionTrait,
    schools: Vec<Uuid>,
    slug: &str,
    min_rank: i32,
    as_of: NaiveDate,
) -> ApiResult<HashSet<Uuid>> {
    let rows: Vec<Uuid> = certification::Entity::find()
        .select_only()
        .column(certification::Column::SchoolId)
        .join(JoinType::InnerJoin, certification::Relation::AwardedLevel.def())
        .filter(certification::Column::SchoolId.is_in(schools))
        .filter(certification::Column::FrameworkSlug.eq(slug))
        .filter(certification::Column::Stage.eq(Stage::Certified.as_db()))
        .filter(certification::Column::AwardedOn.lte(as_of))
        .filter(certification::Column::ExpiresOn.gte(as_of))
        .filter(framework_level::Column::Rank.gte(min_rank))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
