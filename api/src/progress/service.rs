//! Progress toward the goal (DOMAIN.md, "Progress"). The facts of a set of schools (their
//! journeys' dated stage changes, certificates, cohorts and AI policies) are read in a fixed
//! number of statements; every number is then worked out in memory for any date, so one read
//! serves a partnership, its cohorts and its trusts, and a whole time series.

use std::{collections::HashMap, sync::Arc};

use chrono::{Days, Months, NaiveDate};
use entity::{ai_policy, cohort, partnership, partnership_goal, school};
use uuid::Uuid;

pub use super::read::{Filter, Slice, load};
use crate::{
    certification::{Stage, journey::stage_on_day},
    error::{ApiError, ApiResult},
    partnership::goals,
    policy::service::{PolicyStatus, Schedule},
};

/// The window over which the pace of certifications is measured.
pub const PACE_DAYS: i64 = 84;
/// The most points one timeline may have.
pub const MAX_POINTS: usize = 520;

/// Where a school stands, for counting: not enrolled, or a journey's stage.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgressStage {
    NotEnrolled,
    Enrolled,
    SelfAssessing,
    GatheringEvidence,
    Submitted,
    UnderReview,
    Returned,
    Certified,
    Expired,
    Withdrawn,
}

impl ProgressStage {
    pub const ALL: [Self; 10] = [
        Self::NotEnrolled,
        Self::Enrolled,
        Self::SelfAssessing,
        Self::GatheringEvidence,
        Self::Submitted,
        Self::UnderReview,
        Self::Returned,
        Self::Certified,
        Self::Expired,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self.stage() {
            Some(stage) => stage.as_db(),
            None => "NOT_ENROLLED",
        }
    }

    /// The journey stage, if the school has a journey.
    pub fn stage(self) -> Option<Stage> {
        Some(match self {
            Self::NotEnrolled => return None,
            Self::Enrolled => Stage::Enrolled,
            Self::SelfAssessing => Stage::SelfAssessing,
            Self::GatheringEvidence => Stage::GatheringEvidence,
            Self::Submitted => Stage::Submitted,
            Self::UnderReview => Stage::UnderReview,
            Self::Returned => Stage::Returned,
            Self::Certified => Stage::Certified,
            Self::Expired => Stage::Expired,
            Self::Withdrawn => Stage::Withdrawn,
        })
    }

    fn of(stage: Stage) -> Self {
        Self::ALL.into_iter().find(|s| s.stage() == Some(stage)).unwrap_or(Self::NotEnrolled)
    }

    /// Stages in which the school itself has to act before it can submit.
    fn before_submission(self) -> bool {
        matches!(self, Self::Enrolled | Self::SelfAssessing | Self::GatheringEvidence)
    }
}

/// Why a school is at risk.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskKind {
    /// Its cohort's target date has passed and it is not certified.
    CohortTargetPassed,
    /// Longer than the partnership allows in one stage before SUBMITTED.
    Stalled,
    /// RETURNED and not resubmitted within the partnership's limit.
    NotResubmitted,
    /// Its AI policy's review is overdue.
    PolicyOverdue,
    /// Actions of its plan are open past their due date (when the partnership says so).
    OverdueActions,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    pub kind: RiskKind,
    pub text: String,
}

/// A certificate as progress needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub awarded_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub level: String,
    /// At or above the partnership's required level.
    pub counts: bool,
}

impl Certificate {
    fn valid_on(&self, day: NaiveDate) -> bool {
        self.counts && self.awarded_on <= day && day <= self.expires_on
    }
}

/// One journey: the days its stage changed, its certificate once awarded, and its plan.
#[derive(Clone, Debug, Default)]
pub struct Journey {
    /// (day, stage entered), in order; the first is the enrolment.
    pub changes: Vec<(NaiveDate, Stage)>,
    pub certificate: Option<Certificate>,
    pub actions: Vec<PlannedAction>,
}

/// An action of a journey's plan, as progress needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedAction {
    pub added_on: NaiveDate,
    pub due_on: NaiveDate,
    /// The day it was done or dropped (its last change), if it is.
    pub closed_on: Option<NaiveDate>,
}

impl PlannedAction {
    /// Added, still open, and past its due date on `day`.
    pub fn overdue_on(&self, day: NaiveDate) -> bool {
        self.added_on <= day && self.due_on < day && self.closed_on.is_none_or(|c| c > day)
    }
}

impl Journey {
    /// The stage on `day` and the day it was entered; None before enrolment. A certificate
    /// reads EXPIRED from the day after its expiry.
    pub fn on(&self, day: NaiveDate) -> Option<(Stage, NaiveDate)> {
        let expires_on = self.certificate.as_ref().map(|c| c.expires_on);
        stage_on_day(self.changes.iter().copied(), expires_on, day)
    }

    pub(super) fn enrolled_on(&self) -> Option<NaiveDate> {
        self.changes.first().map(|(d, _)| *d)
    }
}

/// Days from `from` (None: always) until the day before `until` (None: still).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Span {
    pub fn new(from: Option<NaiveDate>, until: Option<NaiveDate>) -> Self {
        Self { from, until }
    }

    pub fn holds(self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= day) && self.until.is_none_or(|u| day < u)
    }
}

/// A school's trust (None: maintained) for a span of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustSpell {
    pub trust: Option<Uuid>,
    pub span: Span,
}

/// What the service holds about one member school.
#[derive(Clone, Debug)]
pub struct SchoolFacts {
    pub school: school::Model,
    pub trust_name: Option<String>,
    /// The days it counts in the partnership: from joining (or opening) until leaving (or
    /// closing).
    pub counts: Span,
    /// Its cohorts, each with the days it was in it (at most one current).
    pub cohorts: Vec<(Uuid, Span)>,
    /// Its trusts over time; empty: always its current one.
    pub trusts: Vec<TrustSpell>,
    /// The member school it carries on from (a conversion).
    pub succeeds: Option<Uuid>,
    /// Journeys for the partnership's framework, oldest enrolment first (with those of the
    /// schools it succeeds or that succeed it).
    pub journeys: Vec<Journey>,
    pub policy: Option<ai_policy::Model>,
}

/// Where one school stands on a day.
#[derive(Clone, Debug)]
pub struct Status {
    pub stage: ProgressStage,
    /// When the school entered that stage.
    pub since: Option<NaiveDate>,
    pub days_in_stage: Option<i64>,
    /// Counts as certified (DOMAIN.md).
    pub certified: bool,
    /// Held a certificate that has expired, and is not certified.
    pub expired: bool,
    /// The latest certificate awarded by that day, valid or not.
    pub certificate: Option<Certificate>,
    pub policy: PolicyStatus,
    pub risks: Vec<Risk>,
}

impl Status {
    /// The reasons in one line, e.g. "in SELF_ASSESSING for 63 days; cohort target 2026-07-15 passed".
    pub fn reason(&self) -> String {
        self.risks.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("; ")
    }
}

/// The partnership's rules for progress.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub stalled_after_days: i64,
    pub returned_after_days: i64,
    pub overdue_actions_at_risk: bool,
}

impl From<&partnership::Model> for Settings {
    fn from(p: &partnership::Model) -> Self {
        Self {
            stalled_after_days: p.stalled_after_days.into(),
            returned_after_days: p.returned_after_days.into(),
            overdue_actions_at_risk: p.overdue_actions_at_risk,
        }
    }
}

impl SchoolFacts {
    /// Its cohort on `day`, if it was in it then.
    pub fn cohort_on(&self, day: NaiveDate) -> Option<Uuid> {
        self.cohorts.iter().find(|(_, span)| span.holds(day)).map(|(c, _)| *c)
    }

    /// Its cohort now (it may have left it since the day asked about).
    pub fn cohort_now(&self) -> Option<Uuid> {
        self.cohorts.iter().find(|(_, span)| span.until.is_none()).map(|(c, _)| *c)
    }

    /// Its trust on `day` (None: maintained).
    pub fn trust_on(&self, day: NaiveDate) -> Option<Uuid> {
        match self.trusts.iter().find(|t| t.span.holds(day)) {
            Some(spell) => spell.trust,
            None => self.school.trust_id,
        }
    }

    /// Whether the school counts as certified on `day`.
    pub fn certified_on(&self, day: NaiveDate) -> bool {
        self.journeys.iter().any(|j| j.certificate.as_ref().is_some_and(|c| c.valid_on(day)))
    }

    /// The certificate that makes the school count as certified on `day` (the earliest
    /// awarded, should two), if any.
    pub fn certificate_on(&self, day: NaiveDate) -> Option<&Certificate> {
        self.journeys
            .iter()
            .filter_map(|j| j.certificate.as_ref())
            .filter(|c| c.valid_on(day))
            .min_by_key(|c| c.awarded_on)
    }

    /// The day a certificate made the school count as certified, if that was in `window`
    /// (start exclusive, end inclusive) and it was not certified the day before.
    fn newly_certified_in(&self, after: NaiveDate, until: NaiveDate) -> bool {
        self.journeys.iter().filter_map(|j| j.certificate.as_ref()).any(|c| {
            c.counts
                && after < c.awarded_on
                && c.awarded_on <= until
                && c.awarded_on.pred_opt().is_none_or(|before| !self.certified_on(before))
        })
    }

    /// Actions of the school's plans open past their due date on `day`.
    pub fn overdue_actions_on(&self, day: NaiveDate) -> usize {
        self.journeys.iter().flat_map(|j| &j.actions).filter(|a| a.overdue_on(day)).count()
    }

    /// Actions of the school's plans added by `day` and still open then.
    pub fn open_actions_on(&self, day: NaiveDate) -> usize {
        self.journeys
            .iter()
            .flat_map(|j| &j.actions)
            .filter(|a| a.added_on <= day && a.closed_on.is_none_or(|c| c > day))
            .count()
    }

    pub fn status(&self, day: NaiveDate, target: Option<NaiveDate>, settings: Settings) -> Status {
        let valid = self.journeys.iter().filter_map(|j| j.certificate.as_ref()).find(|c| c.valid_on(day));
        let certified = valid.is_some();
        let latest = self
            .journeys
            .iter()
            .filter_map(|j| j.certificate.as_ref())
            .filter(|c| c.awarded_on <= day)
            .max_by_key(|c| c.awarded_on);
        let (stage, since) = match valid {
            Some(c) => (ProgressStage::Certified, Some(c.awarded_on)),
            None => match self.journeys.iter().rev().find_map(|j| j.on(day)) {
                Some((stage, since)) => (ProgressStage::of(stage), Some(since)),
                None => (ProgressStage::NotEnrolled, None),
            },
        };
        let days_in_stage = since.map(|s| (day - s).num_days());
        let expired = !certified
            && self
                .journeys
                .iter()
                .filter_map(|j| j.certificate.as_ref())
                .any(|c| c.counts && c.expires_on < day);
        let schedule = self.policy.as_ref().map(Schedule::from);
        let policy = schedule.as_ref().map_or(PolicyStatus::Missing, |s| s.status(day));

        let mut risks = Vec::new();
        if !certified {
            let days = days_in_stage.unwrap_or(0);
            if stage.before_submission() && days > settings.stalled_after_days {
                risks.push(Risk {
                    kind: RiskKind::Stalled,
                    text: format!("in {} for {days} days", stage.as_str()),
                });
            }
            if stage == ProgressStage::Returned && days > settings.returned_after_days {
                risks.push(Risk {
                    kind: RiskKind::NotResubmitted,
                    text: format!("RETURNED {days} days ago and not resubmitted"),
                });
            }
            if let Some(target) = target.filter(|t| *t < day) {
                let text = match stage {
                    ProgressStage::NotEnrolled => format!("not enrolled; cohort target {target} passed"),
                    _ => format!("cohort target {target} passed"),
                };
                risks.push(Risk { kind: RiskKind::CohortTargetPassed, text });
            }
        }
        let overdue = self.overdue_actions_on(day);
        if settings.overdue_actions_at_risk && overdue > 0 {
            let text = format!("{overdue} planned action{} overdue", if overdue == 1 { "" } else { "s" });
            risks.push(Risk { kind: RiskKind::OverdueActions, text });
        }
        if policy == PolicyStatus::Overdue {
            let due = schedule.and_then(|s| s.next_review_due(day));
            let text = due.map_or("AI policy review overdue".to_owned(), |d| {
                format!("AI policy review overdue since {d}")
            });
            risks.push(Risk { kind: RiskKind::PolicyOverdue, text });
        }
        Status {
            stage,
            since,
            days_in_stage,
            certified,
            expired,
            certificate: latest.cloned(),
            policy,
            risks,
        }
    }
}

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
