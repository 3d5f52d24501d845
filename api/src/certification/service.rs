//! The journey's rules: who may move it, where it may go, when it is ready, and what an award
//! writes. Every write runs in one transaction that first locks the journey's row, and every
//! stage change also bumps the journey's version with a compare-and-set, so two simultaneous
//! changes of one journey can never both win.

use std::collections::{HashMap, HashSet};

use entity::{certification, evidence, evidence_criterion, rating};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::OnConflict,
};
use uuid::Uuid;

use super::{
    EvidenceKind, SelfRating, Stage,
    journey::{allowed, event_row, find_visible, now, transition},
};
use crate::{
    auth::{Actor, Role, Scope, Viewer},
    error::{ApiError, ApiResult},
    events::EventBus,
    framework::{FrameworkData, service as frameworks},
    school::service::visible_by_urn,
    validate,
};

/// The most ratings one `rateCriteria` call may carry.
pub const MAX_RATINGS: usize = 500;
/// The most criteria one evidence item may be linked to.
pub const MAX_EVIDENCE_LINKS: usize = 50;
const MAX_NOTE: usize = 2_000;
const MAX_TEXT: usize = 4_000;
const MAX_URL: usize = 2_000;

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

#[derive(Clone, Debug)]
pub struct CertificationService {
    db: DatabaseConnection,
    /// Told of every stage change once it has committed.
    events: EventBus,
}

fn comment(value: Option<String>) -> ApiResult<Option<String>> {
    optional_text("comment", value, MAX_TEXT)
}

pub(crate) fn optional_text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> ApiResult<Option<String>> {
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
        if let Some(open) = earlier.iter().find(|j| !Stage::from_db(&j.stage).is_closed()) {
            return Err(ApiError::Conflict(format!(
                "the school already has an open {} journey (stage {}); withdraw it first",
                framework.name, open.stage
            )));
        }
        // A revoked certificate is not renewed: the school starts again.
        let renewal_of = earlier
            .iter()
            .filter(|j| j.awarded_on.is_some() && Stage::from_db(&j.stage) == Stage::Certified)
            .max_by_key(|j| j.awarded_on)
            .cloned();
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
