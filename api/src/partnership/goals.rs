//! A partnership's goal: its deadline, with the history of every move. A move never rewrites
//! the past: it appends a goal in force from the day it was made, so progress as of an
//! earlier day still answers against the deadline that was in force then.

use chrono::NaiveDate;
use entity::{partnership, partnership_goal, school};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    audit::Who,
    error::ApiResult,
    progress::service::{Facts, ProgressStage},
};

/// The goal a partnership starts with: its deadline, in force from its start. Its id is the
/// partnership's own, as migration 5 gave the goals it backfilled.
pub fn first_goal(p: &partnership::Model) -> partnership_goal::Model {
    partnership_goal::Model {
        id: p.id,
        partnership_id: p.id,
        deadline: p.deadline,
        in_force_from: p.starts_on,
        set_at: p.starts_on.and_time(chrono::NaiveTime::MIN).and_utc().fixed_offset(),
        set_by: "operator".to_owned(),
        set_by_name: None,
        reason: Some("the goal the partnership started with".to_owned()),
    }
}

/// A new deadline for `p`, set by `who` today (UTC). It is in force from today, or from the
/// partnership's start when it has not started yet (so that it wins over the first goal:
/// the goal in force is the one with the latest `in_force_from`, then the latest `set_at`).
pub fn moved(
    p: &partnership::Model,
    deadline: NaiveDate,
    who: &Who,
    reason: String,
) -> partnership_goal::Model {
    let now = chrono::Utc::now();
    partnership_goal::Model {
        id: Uuid::new_v4(),
        partnership_id: p.id,
        deadline,
        in_force_from: now.date_naive().max(p.starts_on),
        set_at: now.fixed_offset(),
        set_by: who.subject.clone(),
        set_by_name: who.name.clone(),
        reason: Some(reason),
    }
}

/// The partnership's goals, oldest first (by the day each came into force, then by when it
/// was set): one statement.
pub async fn of(db: &impl ConnectionTrait, partnership: Uuid) -> ApiResult<Vec<partnership_goal::Model>> {
    Ok(partnership_goal::Entity::find()
        .filter(partnership_goal::Column::PartnershipId.eq(partnership))
        .order_by_asc(partnership_goal::Column::InForceFrom)
        .order_by_asc(partnership_goal::Column::SetAt)
        .all(db)
        .await?)
}

/// The goal in force on `day`: the one with the latest `in_force_from` on or before `day`
/// (ties: the latest `set_at`); before the first goal, the first goal. None only when
/// `goals` is empty.
pub fn in_force(goals: &[partnership_goal::Model], day: NaiveDate) -> Option<&partnership_goal::Model> {
    let key = |g: &&partnership_goal::Model| (g.in_force_from, g.set_at);
    goals.iter().filter(|g| g.in_force_from <= day).max_by_key(key).or_else(|| goals.iter().min_by_key(key))
}

/// How a goal turned out, as of a day: who was certified by its deadline and who was not.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub deadline: NaiveDate,
    pub as_of: NaiveDate,
    /// Open member schools.
    pub total: usize,
    /// Of those, schools that counted as certified on the deadline.
    pub certified_by_deadline: usize,
    /// The others, by URN.
    pub missed: Vec<Missed>,
}

/// A school that was not certified on a goal's deadline.
#[derive(Clone, Debug)]
pub struct Missed {
    pub school: school::Model,
    /// The award date of the certificate that makes it count as certified on `as_of`; None
    /// while it still does not.
    pub certified_on: Option<NaiveDate>,
    /// Where it stood on the deadline.
    pub stage_on_deadline: ProgressStage,
}

impl Outcome {
    /// Missed schools that count as certified on `as_of`.
    pub fn certified_since(&self) -> usize {
        self.missed.iter().filter(|m| m.certified_on.is_some()).count()
    }
}

/// The outcome of a goal with `deadline` as of `as_of`, worked out from the facts in memory.
/// The schools are the partnership's members on the day it is judged.
pub fn outcome(facts: &Facts, deadline: NaiveDate, as_of: NaiveDate) -> Outcome {
    // Until the deadline passes, the outcome is the outcome so far: judged on `as_of`.
    let judged = deadline.min(as_of);
    let (mut total, mut certified_by_deadline) = (0, 0);
    let mut missed = Vec::new();
    for s in facts.schools_on(judged) {
        total += 1;
        if s.certified_on(judged) {
            certified_by_deadline += 1;
            continue;
        }
        missed.push(Missed {
            school: s.school.clone(),
            certified_on: s.certificate_on(as_of).filter(|_| as_of > deadline).map(|c| c.awarded_on),
            stage_on_deadline: facts.status(s, judged).stage,
        });
    }
    Outcome { deadline, as_of, total, certified_by_deadline, missed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(deadline: &str, from: &str, set_at: &str) -> partnership_goal::Model {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        partnership_goal::Model {
            id: Uuid::new_v4(),
            partnership_id: Uuid::nil(),
            deadline: day(deadline),
            in_force_from: day(from),
            set_at: chrono::DateTime::parse_from_rfc3339(set_at).unwrap(),
            set_by: "test".into(),
            set_by_name: None,
            reason: None,
        }
    }

    #[test]
    fn the_goal_in_force_is_the_latest_that_started_then_the_latest_set() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let goals = vec![
            goal("2026-08-31", "2024-09-01", "2024-09-01T00:00:00Z"),
            goal("2027-07-31", "2026-09-15", "2026-09-15T10:00:00Z"),
            goal("2027-08-31", "2026-09-15", "2026-09-15T11:00:00Z"),
        ];
        let deadline = |d: &str| in_force(&goals, day(d)).map(|g| g.deadline.to_string());
        assert_eq!(deadline("2024-01-01").as_deref(), Some("2026-08-31"), "before the first: the first");
        assert_eq!(deadline("2026-09-14").as_deref(), Some("2026-08-31"));
        assert_eq!(deadline("2026-09-15").as_deref(), Some("2027-08-31"), "same day: the latest set");
        assert_eq!(in_force(&[], day("2026-01-01")), None);
    }
}
