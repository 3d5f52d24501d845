//! The Progress type, the timeline and the at-risk list; `Partnership.progress`,
//! `Cohort.progress` and `Trust.progress` all read one `Facts` per partnership and request.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject, Subscription};
use entity::partnership;
use futures::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

use super::{
    loader::{FactsOf, ProgressLoader},
    service::{self, Facts, Interval, ProgressStage, RiskKind, Slice, Status, Subset, Summary},
};
use crate::{
    access::SignedIn,
    auth::Viewer,
    certification::journey::today,
    cohort::Cohort,
    error::{ApiError, Extend},
    events::EventBus,
    ids::{self, MAX_PAGE},
    loaders::load_kept,
    partnership::PartnershipService,
    policy::service::PolicyStatus,
    scalars::Date,
    school::{Phase, School},
};

/// The facts of a partnership the caller sees, through the operation's `ProgressLoader`.
pub async fn facts(ctx: &Context<'_>, partnership: Uuid) -> Result<Arc<Facts>> {
    load_kept::<ProgressLoader, _>(ctx, FactsOf(partnership))
        .await?
        .ok_or_else(|| ApiError::NotFound("partnership".into()).into_gql())
}

/// The progress of `subset` of a partnership's schools on `as_of` (default today).
pub async fn progress_of(
    ctx: &Context<'_>,
    partnership: Uuid,
    subset: Subset,
    as_of: Option<Date>,
) -> Result<Progress> {
    let facts = facts(ctx, partnership).await?;
    Ok(Progress(facts.summary(subset, as_of.map_or_else(today, |d| d.0))))
}

/// How far a set of schools (a partnership, a cohort, a trust's schools in a partnership) is
/// from the goal on a date: every open member school certified by the deadline.
pub struct Progress(pub Summary);

/// Schools at one stage.
#[derive(SimpleObject)]
pub struct StageCount {
    pub stage: ProgressStage,
    pub count: i32,
}

/// Schools of one phase.
#[derive(SimpleObject)]
pub struct PhaseCount {
    pub phase: Phase,
    pub total_schools: i32,
    pub certified: i32,
}

/// Schools by AI policy status.
#[derive(SimpleObject)]
pub struct PolicyCounts {
    pub missing: i32,
    pub current: i32,
    pub review_due: i32,
    pub overdue: i32,
}

/// A school at risk, and why.
pub struct AtRisk(pub entity::school::Model, pub Status);

#[Object]
impl AtRisk {
    async fn school(&self) -> School {
        School(self.0.clone())
    }
    /// Every reason in one line, e.g. "in SELF_ASSESSING for 63 days; cohort target 2026-07-15 passed".
    async fn reason(&self) -> String {
        self.1.reason()
    }
    /// The kinds of reason, for filtering.
    async fn risks(&self) -> Vec<RiskKind> {
        self.1.risks.iter().map(|r| r.kind).collect()
    }
    async fn stage(&self) -> ProgressStage {
        self.1.stage
    }
    /// Days since the school entered its stage; null when not enrolled.
    async fn days_in_stage(&self) -> Option<i64> {
        self.1.days_in_stage
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[Object]
impl Progress {
    /// The day these numbers are for.
    async fn as_of(&self) -> Date {
        self.0.as_of.into()
    }
    /// Open member schools in the set.
    async fn total_schools(&self) -> i32 {
        count(self.0.total)
    }
    /// Schools that count as certified on `asOf` (DOMAIN.md): a valid certificate of the
    /// partnership's framework at or above its required level.
    async fn certified(&self) -> i32 {
        count(self.0.certified)
    }
    /// Schools whose certificate has expired and that are not certified again.
    async fn expired(&self) -> i32 {
        count(self.0.expired)
    }
    /// `certified` as a percentage of `totalSchools`, to one decimal place.
    async fn percent_certified(&self) -> f64 {
        self.0.percent_certified()
    }
    /// Schools at each stage (every stage, zeros included; a certified school counts as
    /// CERTIFIED even while a renewal is open). The counts add up to `totalSchools`.
    async fn by_stage(&self) -> Vec<StageCount> {
        self.0.by_stage.iter().map(|(stage, n)| StageCount { stage: *stage, count: count(*n) }).collect()
    }
    /// Schools and certified schools per phase.
    async fn by_phase(&self) -> Vec<PhaseCount> {
        self.0
            .by_phase
            .iter()
            .map(|(phase, n, c)| PhaseCount {
                phase: Phase::from_db(phase).unwrap_or(Phase::NotApplicable),
                total_schools: count(*n),
                certified: count(*c),
            })
            .collect()
    }
    /// Schools by AI policy status on `asOf`.
    #[graphql(guard = "SignedIn")]
    async fn ai_policy(&self) -> PolicyCounts {
        let of = |status| count(self.0.policies.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n));
        PolicyCounts {
            missing: of(PolicyStatus::Missing),
            current: of(PolicyStatus::Current),
            review_due: of(PolicyStatus::ReviewDue),
            overdue: of(PolicyStatus::Overdue),
        }
    }
    /// The start this progress is measured from: the partnership's, or the cohort's.
    async fn starts_on(&self) -> Date {
        self.0.starts_on.into()
    }
    /// The partnership's deadline, or the cohort's target date.
    async fn deadline(&self) -> Date {
        self.0.deadline.into()
    }
    /// Days from `asOf` to the deadline; negative once it has passed.
    async fn days_to_deadline(&self) -> i64 {
        self.0.days_to_deadline()
    }
    /// The share of the time from start to deadline that has passed on `asOf`, as a percentage.
    async fn percent_time_elapsed(&self) -> f64 {
        (self.0.time_elapsed() * 1000.0).round() / 10.0
    }
    /// Schools newly certified in the 12 weeks up to `asOf`: the pace of the projection.
    async fn recently_certified(&self) -> i32 {
        count(self.0.recently_certified)
    }
    /// DOMAIN.md: the certified share is at least the share of time elapsed, or the projected
    /// completion is on or before the deadline.
    async fn on_track(&self) -> bool {
        self.0.on_track
    }
    /// The day the last school would be certified at the pace of the last 12 weeks; null when
    /// there is no pace (see `projectionNote`) or nothing left to do.
    async fn projected_completion(&self) -> Option<Date> {
        self.0.projected.map(Date)
    }
    /// How the projection was made, or why there is none.
    async fn projection_note(&self) -> &str {
        &self.0.projection_note
    }
    /// How many schools are at risk.
    #[graphql(guard = "SignedIn")]
    async fn at_risk_count(&self) -> i32 {
        count(self.0.at_risk.len())
    }
    /// Schools at risk, by URN (at most 100; `atRiskSchools` pages through all of them).
    #[graphql(guard = "SignedIn")]
    async fn at_risk(&self, #[graphql(default = 100)] first: i32) -> Result<Vec<AtRisk>> {
        let first = page_size(first).extend()?;
        Ok(self.0.at_risk.iter().take(first).map(|(s, st)| AtRisk(s.clone(), st.clone())).collect())
    }
}

fn page_size(first: i32) -> Result<usize, ApiError> {
    if (1..=MAX_PAGE as i32).contains(&first) {
        Ok(first as usize)
    } else {
        Err(ApiError::invalid("first", format!("must be between 1 and {MAX_PAGE}")))
    }
}

/// Certified schools of one cohort on a timeline's day.
#[derive(SimpleObject)]
pub struct CohortPoint {
    pub cohort: Cohort,
    pub certified: i32,
    /// The cohort's open member schools now.
    pub total_schools: i32,
}

/// One day of a burn-up.
#[derive(SimpleObject)]
pub struct TimelinePoint {
    pub date: Date,
    /// Certified schools on that day, in any cohort or none.
    pub certified: i32,
    pub by_cohort: Vec<CohortPoint>,
}

/// The burn-up of `facts` on the days from `from` (default the start) to `to` (default the
/// deadline of the goal in force today).
pub fn timeline(
    facts: &Facts,
    from: Option<Date>,
    to: Option<Date>,
    interval: Interval,
) -> Result<Vec<TimelinePoint>, ApiError> {
    let from = from.map_or(facts.partnership.starts_on, |d| d.0);
    // The deadline in force today: a moved deadline stretches the default range.
    let to = to.map_or_else(|| facts.deadline_on(today()), |d| d.0);
    let days = service::points(from, to, interval)?;
    let sizes = facts.cohort_sizes(today());
    Ok(facts
        .burn_up(&days)
        .into_iter()
        .map(|(day, total, per_cohort)| TimelinePoint {
            date: day.into(),
            certified: count(total),
            by_cohort: facts
                .cohorts
                .iter()
                .zip(per_cohort)
                .zip(&sizes)
                .map(|((c, n), size)| CohortPoint {
                    cohort: Cohort(c.clone()),
                    certified: count(n),
                    total_schools: count(*size),
                })
                .collect(),
        })
        .collect())
}

#[derive(Default)]
pub struct ProgressQuery;

#[Object]
impl ProgressQuery {
    /// The partnership's schools at risk on `asOf` (default today), by URN, with reasons.
    /// Pages: `first` at most 100, `after` the last URN of the previous page.
    #[graphql(guard = "SignedIn")]
    async fn at_risk_schools(
        &self,
        ctx: &Context<'_>,
        partnership: ID,
        as_of: Option<Date>,
        #[graphql(default = 100)] first: i32,
        after: Option<i32>,
    ) -> Result<Vec<AtRisk>> {
        let id = ids::parse(&partnership, "Partnership").extend()?;
        ctx.data::<Viewer>()?.require_partnership(id).extend()?;
        let first = page_size(first).extend()?;
        let facts = facts(ctx, id).await?;
        let day = as_of.map_or_else(today, |d| d.0);
        Ok(facts
            .schools
            .iter()
            .filter(|s| after.is_none_or(|a| s.school.urn > a))
            .map(|s| (s, facts.status(s, day)))
            .filter(|(_, status)| !status.risks.is_empty())
            .take(first)
            .map(|(s, status)| AtRisk(s.school.clone(), status))
            .collect())
    }
}

/// Reads a partnership's facts afresh, outside any request (for subscriptions).
#[derive(Clone, Debug)]
pub struct ProgressService {
    db: DatabaseConnection,
}

impl ProgressService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn facts(&self, partnership: &partnership::Model) -> Result<Facts, ApiError> {
        service::load(&self.db, partnership, None, Slice::All).await
    }
}

#[derive(Default)]
pub struct ProgressSubscription;

#[Subscription]
impl ProgressSubscription {
    /// The partnership's progress as of today, sent after every stage change of one of its
    /// schools (a burst of changes sends one update). Signed-in callers of that partnership.
    #[graphql(guard = "SignedIn")]
    async fn progress_changed(
        &self,
        ctx: &Context<'_>,
        partnership: ID,
    ) -> Result<impl Stream<Item = Progress> + use<>> {
        // Receive before the lookups, so that no change committed meanwhile is missed.
        let received = ctx.data::<EventBus>()?.subscribe();
        let viewer = ctx.data::<Viewer>()?;
        let id = ids::parse(&partnership, "Partnership").extend()?;
        viewer.require_partnership(id).extend()?;
        let p = ctx.data::<PartnershipService>()?.by_id(viewer, id).await.extend()?;
        let service = ctx.data::<ProgressService>()?.clone();
        Ok(futures::stream::unfold(received, move |mut events| {
            let (service, p) = (service.clone(), p.clone());
            async move {
                loop {
                    match events.recv().await {
                        Ok(e) if e.partnership_ids.contains(&p.id) => {}
                        Ok(_) => continue,
                        // Some events were missed: the numbers are worth reading again.
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                    // Take in the rest of a burst before reading.
                    while matches!(events.try_recv(), Ok(_) | Err(TryRecvError::Lagged(_))) {}
                    match service.facts(&p).await {
                        Ok(facts) => return Some((Progress(facts.summary(Subset::All, today())), events)),
                        Err(e) => tracing::error!(error = %e, "could not read progress for a subscriber"),
                    }
                }
            }
        }))
    }
}
