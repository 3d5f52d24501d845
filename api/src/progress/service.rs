//! Progress toward the goal (DOMAIN.md, "Progress"). The facts of a set of schools (their
//! journeys' dated stage changes, certificates, cohorts and AI policies) are read in a fixed
//! number of statements; every number is then worked out in memory for any date, so one read
//! serves a partnership, its cohorts and its trusts, and a whole time series.

use std::{collections::HashMap, sync::Arc};

use chrono::{Days, Months, NaiveDate};
use entity::{cohort, partnership, partnership_goal, school};
use uuid::Uuid;

pub use super::read::{Slice, load};
pub use super::school::{
    Certificate, Journey, PlannedAction, ProgressStage, Risk, RiskKind, SchoolFacts, Settings, Span, Status,
    TrustSpell,
};
use crate::{
    error::{ApiError, ApiResult},
    partnership::goals,
    policy::service::PolicyStatus,
};

/// The window over which the pace of certifications is measured.
pub const PACE_DAYS: i64 = 84;
/// The most points one timeline may have.
pub const MAX_POINTS: usize = 520;

/// A partnership's member schools (open ones) with everything progress reads.
#[derive(Clone, Debug)]
pub struct Facts {
    pub partnership: partnership::Model,
    /// The partnership's goals, oldest first; never empty. A page of schools (`Slice::Page`)
    /// reads no history: it holds the partnership's current deadline only.
    pub goals: Vec<partnership_goal::Model>,
    /// In order.
    pub cohorts: Vec<cohort::Model>,
    /// By URN.
    pub schools: Vec<SchoolFacts>,
}

/// Which schools a summary covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subset {
    All,
    Cohort(Uuid),
    Trust(Uuid),
}

impl Subset {
    /// Whether `s` counted in the subset on `day`.
    fn holds(self, s: &SchoolFacts, day: NaiveDate) -> bool {
        s.counts.holds(day)
            && match self {
                Self::All => true,
                Self::Cohort(c) => s.cohort_on(day) == Some(c),
                Self::Trust(t) => s.trust_on(day) == Some(t),
            }
    }
}

/// Counts over a set of schools on a day: the Progress type's numbers.
#[derive(Clone, Debug)]
pub struct Summary {
    pub as_of: NaiveDate,
    pub total: usize,
    pub certified: usize,
    pub expired: usize,
    /// Every stage, in order, zeros included.
    pub by_stage: Vec<(ProgressStage, usize)>,
    /// (phase, schools, certified), by phase name.
    pub by_phase: Vec<(String, usize, usize)>,
    /// Every policy status, in order, zeros included.
    pub policies: Vec<(PolicyStatus, usize)>,
    pub starts_on: NaiveDate,
    pub deadline: NaiveDate,
    /// Schools newly certified in the `PACE_DAYS` up to `as_of`.
    pub recently_certified: usize,
    pub projected: Option<NaiveDate>,
    pub projection_note: String,
    pub on_track: bool,
    /// Schools at risk, by URN, with their status.
    pub at_risk: Vec<(school::Model, Status)>,
}

impl Summary {
    pub fn percent_certified(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            (self.certified as f64 * 1000.0 / self.total as f64).round() / 10.0
        }
    }

    pub fn days_to_deadline(&self) -> i64 {
        (self.deadline - self.as_of).num_days()
    }

    /// The share of the time from start to deadline that has passed on `as_of`, 0 to 1.
    pub fn time_elapsed(&self) -> f64 {
        let span = (self.deadline - self.starts_on).num_days();
        if span <= 0 {
            return if self.as_of >= self.deadline { 1.0 } else { 0.0 };
        }
        ((self.as_of - self.starts_on).num_days() as f64 / span as f64).clamp(0.0, 1.0)
    }
}

const POLICY_ORDER: [PolicyStatus; 4] =
    [PolicyStatus::Missing, PolicyStatus::Current, PolicyStatus::ReviewDue, PolicyStatus::Overdue];

impl Facts {
    pub fn cohort(&self, id: Uuid) -> Option<&cohort::Model> {
        self.cohorts.iter().find(|c| c.id == id)
    }

    /// The target of its cohort on `day` (or of its cohort now, when it was in none then).
    fn target_of(&self, s: &SchoolFacts, day: NaiveDate) -> Option<NaiveDate> {
        s.cohort_on(day).or_else(|| s.cohort_now()).and_then(|c| self.cohort(c)).map(|c| c.target_on)
    }

    pub fn status(&self, s: &SchoolFacts, day: NaiveDate) -> Status {
        s.status(day, self.target_of(s, day), Settings::from(&self.partnership))
    }

    /// The partnership's deadline as it stood on `day`: that of the goal then in force.
    pub fn deadline_on(&self, day: NaiveDate) -> NaiveDate {
        goals::in_force(&self.goals, day).map_or(self.partnership.deadline, |g| g.deadline)
    }

    /// The numbers for `subset` on `as_of`, in one pass. A cohort is measured against its own
    /// start and target dates, the partnership and a trust against the partnership's start
    /// and the deadline of the goal in force on `as_of`.
    pub fn summary(&self, subset: Subset, as_of: NaiveDate) -> Summary {
        let goal = (self.partnership.starts_on, self.deadline_on(as_of));
        let (starts_on, deadline) = match subset {
            Subset::Cohort(c) => self.cohort(c).map_or(goal, |c| (c.starts_on, c.target_on)),
            _ => goal,
        };
        let mut stages: HashMap<ProgressStage, usize> = HashMap::new();
        let mut phases: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut policies = [0usize; POLICY_ORDER.len()];
        let (mut total, mut certified, mut expired, mut recent) = (0, 0, 0, 0);
        let mut at_risk = Vec::new();
        // Checked, as all date arithmetic here: `as_of` is a caller's date (within the Date
        // scalar's years), and a panic would drop the connection rather than answer.
        let window_start =
            as_of.checked_sub_days(Days::new(PACE_DAYS.unsigned_abs())).unwrap_or(NaiveDate::MIN);
        for s in self.schools.iter().filter(|s| subset.holds(s, as_of)) {
            let status = self.status(s, as_of);
            total += 1;
            certified += usize::from(status.certified);
            expired += usize::from(status.expired);
            recent += usize::from(s.newly_certified_in(window_start, as_of));
            *stages.entry(status.stage).or_default() += 1;
            policies[POLICY_ORDER.iter().position(|p| *p == status.policy).unwrap_or(0)] += 1;
            let phase = phases.entry(s.school.phase.as_str()).or_default();
            phase.0 += 1;
            phase.1 += usize::from(status.certified);
            if !status.risks.is_empty() {
                at_risk.push((s.school.clone(), status));
            }
        }
        let mut by_phase: Vec<_> = phases.into_iter().map(|(p, (n, c))| (p.to_owned(), n, c)).collect();
        by_phase.sort();
        let remaining = total - certified;
        let (projected, projection_note) = if total == 0 {
            (None, "there are no schools to certify".to_owned())
        } else if remaining == 0 {
            (None, "every school is certified".to_owned())
        } else if recent == 0 {
            (
                None,
                format!(
                    "no school was newly certified in the {PACE_DAYS} days to {as_of}: no pace to project from"
                ),
            )
        } else {
            let days = (remaining as u64 * PACE_DAYS.unsigned_abs()).div_ceil(recent as u64);
            let note = format!(
                "{recent} newly certified in the {PACE_DAYS} days to {as_of}; at that pace the other {remaining} take {days} days"
            );
            // Past the end of the calendar is no date at all, as with no pace.
            (as_of.checked_add_days(Days::new(days)), note)
        };
        let mut summary = Summary {
            as_of,
            total,
            certified,
            expired,
            by_stage: ProgressStage::ALL.iter().map(|s| (*s, stages.get(s).copied().unwrap_or(0))).collect(),
            by_phase,
            policies: POLICY_ORDER.into_iter().zip(policies).collect(),
            starts_on,
            deadline,
            recently_certified: recent,
            projected,
            projection_note,
            on_track: false,
            at_risk,
        };
        let share = if total == 0 { 1.0 } else { certified as f64 / total as f64 };
        summary.on_track = share >= summary.time_elapsed() || projected.is_some_and(|d| d <= deadline);
        summary
    }

    /// Certified schools per cohort on each day of `days` (schools in no cohort count in the
    /// total only). Returns (day, total certified, certified per cohort in `cohorts` order).
    pub fn burn_up(&self, days: &[NaiveDate]) -> Vec<(NaiveDate, usize, Vec<usize>)> {
        days.iter()
            .map(|day| {
                let mut per_cohort = vec![0; self.cohorts.len()];
                let mut total = 0;
                for s in self.schools.iter().filter(|s| s.counts.holds(*day) && s.certified_on(*day)) {
                    total += 1;
                    if let Some(i) =
                        s.cohort_on(*day).and_then(|c| self.cohorts.iter().position(|x| x.id == c))
                    {
                        per_cohort[i] += 1;
                    }
                }
                (*day, total, per_cohort)
            })
            .collect()
    }

    /// Schools per cohort on `day`, in `cohorts` order.
    pub fn cohort_sizes(&self, day: NaiveDate) -> Vec<usize> {
        let sizes = self
            .cohorts
            .iter()
            .map(|c| self.schools.iter().filter(|s| Subset::Cohort(c.id).holds(s, day)).count());
        sizes.collect()
    }

    /// The schools that counted in the partnership on `day`.
    pub fn schools_on(&self, day: NaiveDate) -> impl Iterator<Item = &SchoolFacts> {
        self.schools.iter().filter(move |s| s.counts.holds(day))
    }
}

/// Steps of a timeline.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Week,
    Month,
}

/// The days of a timeline: `from`, then every interval while on or before `to`.
pub fn points(from: NaiveDate, to: NaiveDate, interval: Interval) -> ApiResult<Vec<NaiveDate>> {
    if to < from {
        return Err(ApiError::invalid("to", format!("{to} is before `from` ({from})")));
    }
    let mut days = Vec::new();
    for i in 0.. {
        let day = match interval {
            Interval::Week => from.checked_add_days(chrono::Days::new(7 * i)),
            Interval::Month => from.checked_add_months(Months::new(i as u32)),
        };
        let Some(day) = day.filter(|d| *d <= to) else { break };
        if days.len() == MAX_POINTS {
            return Err(ApiError::invalid(
                "from",
                format!(
                    "a timeline has at most {MAX_POINTS} points: shorten the range or use a longer interval"
                ),
            ));
        }
        days.push(day);
    }
    Ok(days)
}

/// Narrows an export or a page of schools.
/// Reads the facts of one partnership, shared by everything that asks in one request.
pub type SharedFacts = Arc<Facts>;
