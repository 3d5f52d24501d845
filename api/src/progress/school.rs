//! One school's facts for progress: its journeys (dated stage changes, certificate, planned
//! actions), its spans in the partnership, its cohorts and trusts, its AI policy, and where it
//! stands on any day (stage, certified or not, risks).

use chrono::NaiveDate;
use entity::{ai_policy, partnership, school};
use uuid::Uuid;

use crate::{
    certification::{Stage, journey::stage_on_day},
    policy::service::{PolicyStatus, Schedule},
};

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

/// A school's trust (None: maintained) for a span of days, with the trust's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustSpell {
    pub trust: Option<Uuid>,
    pub name: Option<String>,
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

    /// The name of the school's trust on `day`, if it was in one.
    pub fn trust_name_on(&self, day: NaiveDate) -> Option<&str> {
        match self.trusts.iter().find(|t| t.span.holds(day)) {
            Some(spell) => spell.name.as_deref(),
            None => self.trust_name.as_deref(),
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
    pub(super) fn newly_certified_in(&self, after: NaiveDate, until: NaiveDate) -> bool {
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
