//! The rules of action plans: who writes, who comments, what an action may say. Every change
//! runs in one transaction that locks the action's row and writes its history entry.

use chrono::{DateTime, FixedOffset, NaiveDate};
use entity::{
    certification, improvement_action as action, improvement_action_event as action_event,
    mentorship_pairing as pairing,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::{ActionOwner, ActionStatus};
use crate::{
    auth::{Actor, Role, Scope},
    certification::{
        Stage,
        journey::{find_visible, now, role_name, today},
        service::optional_text,
    },
    error::{ApiError, ApiResult},
    framework::{FrameworkData, service as frameworks},
    validate,
};

/// The most actions one journey may hold.
pub const MAX_ACTIONS: u64 = 200;
/// The most criteria one action may name.
pub const MAX_CRITERIA: usize = 20;
const MAX_TITLE: usize = 300;
const MAX_COMMENT: usize = 2_000;

/// An action to add.
#[derive(Clone, Debug)]
pub struct NewAction {
    pub area: String,
    pub criteria: Vec<String>,
    pub title: String,
    pub owner: ActionOwner,
    pub due_on: NaiveDate,
}

/// What to change in an action; None leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ActionPatch {
    pub title: Option<String>,
    pub owner: Option<ActionOwner>,
    pub due_on: Option<NaiveDate>,
    pub status: Option<ActionStatus>,
    pub criteria: Option<Vec<String>>,
    /// Why, kept in the history.
    pub note: Option<String>,
}

#[derive(Clone)]
pub struct PlanService {
    db: DatabaseConnection,
}

fn history(action: &action::Model, actor: &Actor, at: DateTime<FixedOffset>) -> action_event::ActiveModel {
    action_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        action_id: Set(action.id),
        version: Set(action.version),
        kind: Set(String::new()),
        from_status: Set(None),
        to_status: Set(None),
        at: Set(at),
        actor_subject: Set(actor.subject.clone()),
        actor_name: Set(actor.display_name.clone()),
        actor_role: Set(role_name(actor.role)),
        comment: Set(None),
    }
}

/// A due date a plan can mean: from a year back to five years ahead.
fn due(value: NaiveDate) -> ApiResult<NaiveDate> {
    let today = today();
    let earliest = today.checked_sub_months(chrono::Months::new(12)).unwrap_or(today);
    let latest = today.checked_add_months(chrono::Months::new(60)).unwrap_or(today);
    if value < earliest || value > latest {
        return Err(ApiError::invalid("dueOn", "give a date from a year ago to five years ahead"));
    }
    Ok(value)
}

/// The ids of `codes`, criteria of `area` in the journey's framework, as stored.
fn criteria_of(data: &FrameworkData, area: Uuid, codes: &[String]) -> ApiResult<serde_json::Value> {
    if codes.len() > MAX_CRITERIA {
        return Err(ApiError::invalid("criteria", format!("at most {MAX_CRITERIA} criteria")));
    }
    let mut ids = Vec::new();
    for code in codes {
        let code = code.trim();
        let criterion =
            data.criteria.iter().find(|c| c.code == code && c.area_id == area).ok_or_else(|| {
                ApiError::invalid("criteria", format!("{code:?} is not a criterion of this area"))
            })?;
        if !ids.contains(&criterion.id) {
            ids.push(criterion.id);
        }
    }
    Ok(serde_json::json!(ids))
}

/// FORBIDDEN unless the actor leads the journey's own school.
fn own(actor: &Actor, journey: &certification::Model) -> ApiResult<()> {
    match (actor.role, actor.scope) {
        (Role::SchoolLead, Scope::School(s)) if s == journey.school_id => Ok(()),
        _ => Err(ApiError::Forbidden("plan actions: only the school's own lead can")),
    }
}

fn open(journey: &certification::Model) -> ApiResult<()> {
    match Stage::from_db(&journey.stage) {
        Stage::Withdrawn | Stage::Revoked => Err(ApiError::Conflict(format!(
            "the journey is {}: enrol again to plan on a new one",
            journey.stage
        ))),
        _ => Ok(()),
    }
}

impl PlanService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Adds an action to a journey of the school lead's own school.
    pub async fn add(&self, actor: &Actor, journey: Uuid, new: NewAction) -> ApiResult<action::Model> {
        let title = validate::text("title", &new.title, MAX_TITLE)?;
        let due_on = due(new.due_on)?;
        let txn = crate::db::begin_write(&self.db).await?;
        let journey = find_visible(&txn, &actor.partnerships, journey, true).await?;
        own(actor, &journey)?;
        open(&journey)?;
        let held =
            action::Entity::find().filter(action::Column::CertificationId.eq(journey.id)).count(&txn).await?;
        if held >= MAX_ACTIONS {
            return Err(ApiError::Conflict(format!("a journey holds at most {MAX_ACTIONS} actions")));
        }
        let data = frameworks::data(&txn, journey.framework_id).await?;
        let area = data.area_by_key(new.area.trim()).ok_or_else(|| {
            ApiError::invalid("area", format!("this framework has no area {:?}", new.area.trim()))
        })?;
        let at = now();
        let row = action::ActiveModel {
            id: Set(Uuid::new_v4()),
            certification_id: Set(journey.id),
            area_id: Set(area.id),
            criteria: Set(criteria_of(&data, area.id, &new.criteria)?),
            title: Set(title),
            owner: Set(new.owner.as_db().to_owned()),
            due_on: Set(due_on),
            status: Set(ActionStatus::Planned.as_db().to_owned()),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&txn)
        .await?;
        let mut event = history(&row, actor, at);
        event.kind = Set("CREATED".into());
        event.to_status = Set(Some(ActionStatus::Planned.as_db().to_owned()));
        event.insert(&txn).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Changes an action of the school lead's own school; a status change and any other
    /// change are kept in its history, with the note.
    pub async fn update(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: ActionPatch,
        expected: Option<i32>,
    ) -> ApiResult<action::Model> {
        let note = optional_text("note", patch.note, MAX_COMMENT)?;
        let title = patch.title.map(|t| validate::text("title", &t, MAX_TITLE)).transpose()?;
        let due_on = patch.due_on.map(due).transpose()?;
        let txn = crate::db::begin_write(&self.db).await?;
        let (current, journey) = locked(&txn, actor, id).await?;
        own(actor, &journey)?;
        open(&journey)?;
        if let Some(v) = expected.filter(|v| *v != current.version) {
            return Err(ApiError::Conflict(format!(
                "the action has changed since version {v} (it is at version {}); reload it",
                current.version
            )));
        }
        let criteria = match patch.criteria {
            Some(codes) => {
                let data = frameworks::data(&txn, journey.framework_id).await?;
                Some(criteria_of(&data, current.area_id, &codes)?)
            }
            None => None,
        };
        let from = ActionStatus::from_db(&current.status);
        let to = patch.status.unwrap_or(from);
        let edited = title.as_ref().is_some_and(|t| *t != current.title)
            || patch.owner.is_some_and(|o| o.as_db() != current.owner)
            || due_on.is_some_and(|d| d != current.due_on)
            || criteria.as_ref().is_some_and(|c| *c != current.criteria);
        if !edited && to == from {
            return Ok(current);
        }
        let at = now();
        let mut row: action::ActiveModel = current.clone().into();
        if let Some(t) = title {
            row.title = Set(t);
        }
        if let Some(o) = patch.owner {
            row.owner = Set(o.as_db().to_owned());
        }
        if let Some(d) = due_on {
            row.due_on = Set(d);
        }
        if let Some(c) = criteria {
            row.criteria = Set(c);
        }
        row.status = Set(to.as_db().to_owned());
        row.version = Set(current.version + 1);
        row.updated_at = Set(at);
        let row = row.update(&txn).await?;
        let mut event = history(&row, actor, at);
        event.kind = Set(if to != from { "STATUS" } else { "EDITED" }.into());
        if to != from {
            event.from_status = Set(Some(from.as_db().to_owned()));
            event.to_status = Set(Some(to.as_db().to_owned()));
        }
        event.comment = Set(note);
        event.insert(&txn).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Comments on an action: the school's own lead, the lead of its mentor school (while the
    /// pairing is active) and the partnership's city admins.
    pub async fn comment(&self, actor: &Actor, id: Uuid, text: &str) -> ApiResult<action::Model> {
        let text = validate::long_text("comment", text, MAX_COMMENT)?;
        let txn = crate::db::begin_write(&self.db).await?;
        let (current, journey) = locked(&txn, actor, id).await?;
        let allowed = match (actor.role, actor.scope) {
            (Role::CityAdmin, Scope::Partnership(_)) => true,
            (Role::SchoolLead, Scope::School(s)) if s == journey.school_id => true,
            (Role::SchoolLead, Scope::School(s)) => mentors(&txn, s, journey.school_id).await?,
            _ => false,
        };
        if !allowed {
            return Err(ApiError::Forbidden(
                "comment on an action: only the school's lead, its mentor school's lead and the city admins can",
            ));
        }
        let mut event = history(&current, actor, now());
        event.kind = Set("COMMENTED".into());
        event.comment = Set(Some(text));
        event.insert(&txn).await?;
        txn.commit().await?;
        Ok(current)
    }
}

/// Whether school `mentor` mentors school `mentee` in an active pairing.
async fn mentors(db: &impl ConnectionTrait, mentor: Uuid, mentee: Uuid) -> ApiResult<bool> {
    let n = pairing::Entity::find()
        .select_only()
        .column(pairing::Column::Id)
        .filter(pairing::Column::MentorSchoolId.eq(mentor))
        .filter(pairing::Column::MenteeSchoolId.eq(mentee))
        .filter(pairing::Column::EndedOn.is_null())
        .count(db)
        .await?;
    Ok(n > 0)
}

/// The action, locked until commit, and its journey when the caller sees the school.
async fn locked(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<(action::Model, certification::Model)> {
    let current = action::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::NotFound("action".into()))?;
    let journey = find_visible(txn, &actor.partnerships, current.certification_id, false)
        .await
        .map_err(|_| ApiError::NotFound("action".into()))?;
    Ok((current, journey))
}
