//! How a journey moves and what it counts for: the stage it shows on a day, the state
//! machine's check, the one way a stage changes (`transition`: locked row, compare-and-set on
//! the version, a history entry), and which schools count as certified. The school's side
//! (`service`), the review decisions (`crate::review`) and revocation (`crate::certificate`)
//! all move journeys through here.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use entity::{certification, certification_event as event, framework_level, school};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QuerySelect, RelationTrait, Set,
};
use uuid::Uuid;

use super::Stage;
use crate::{
    auth::{Actor, Role},
    error::{ApiError, ApiResult},
    framework::service as frameworks,
    school::service::visible,
};

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

pub fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

pub fn role_name(role: Role) -> String {
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

/// A journey whose school the caller sees; locked until commit when `lock`.
pub async fn find_visible(
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

/// CONFLICT unless the state machine lets the journey go to `to`, naming where it can go.
pub fn allowed(journey: &certification::Model, to: Stage) -> ApiResult<()> {
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
pub async fn transition(
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
