//! The Partnership and LocalAuthority types and their queries.

use std::sync::Arc;

use async_graphql::{
    Context, ID, InputObject, Object, Result,
    connection::{Connection, Edge},
};
use chrono::{DateTime, Utc};
use entity::{audit_event, local_authority, partnership, partnership_goal};

use super::{
    PartnershipService,
    goals::{self, Missed, Outcome},
    service::{PartnershipPatch, audit_cursor_of, la_codes_of},
};
use crate::{
    access::{RoleGuard, SignedIn},
    auth::{Role, Viewer},
    certification::journey::today,
    cohort::{
        Cohort,
        loader::{CohortLoader, CohortsOfPartnership},
    },
    error::{ApiError, Extend},
    ids::{self, MAX_PAGE, Page, global_id},
    loaders::load_one,
    progress::{
        Progress,
        graphql::{TimelinePoint, facts, progress_of, timeline},
        service::{Facts, Interval, ProgressStage, Subset},
    },
    scalars::Date,
    school::{
        School,
        graphql::{SchoolConnection, schools_of},
        loader::Parent,
    },
};

pub struct Partnership(pub partnership::Model);

/// A group of schools that set itself a goal together: every open member school certified
/// by the deadline. Its headline (name, dates) is public; the rest needs a signed-in role.
#[Object]
impl Partnership {
    /// Global id (Relay).
    pub async fn id(&self) -> ID {
        global_id("Partnership", self.0.id)
    }
    /// Short URL-safe name, unique; tokens name a partnership by it.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// When the partnership began working toward its goal.
    async fn starts_on(&self) -> Date {
        self.0.starts_on.into()
    }
    /// The date by which every member school should be certified: the deadline of the
    /// newest goal (`goals` keeps the earlier ones).
    async fn deadline(&self) -> Date {
        self.0.deadline.into()
    }
    /// True for generated demo or benchmark data: no real schools.
    async fn synthetic(&self) -> bool {
        self.0.synthetic
    }
    /// The framework member schools are certified against, by key; null when not chosen yet.
    #[graphql(guard = "SignedIn")]
    async fn default_framework(&self) -> Option<&str> {
        self.0.default_framework.as_deref()
    }
    /// The version of `defaultFramework` that new journeys start on; journeys already
    /// started keep the version they started on. Null when no framework is chosen.
    #[graphql(guard = "SignedIn")]
    async fn framework_version(&self) -> Option<i32> {
        self.0.framework_version
    }
    /// The lowest level (a key of that framework) at which a school counts as certified;
    /// null means the framework's lowest level.
    #[graphql(guard = "SignedIn")]
    async fn required_level(&self) -> Option<&str> {
        self.0.required_level.as_deref()
    }
    /// The three-digit codes of the local authorities the partnership covers: what its
    /// imports keep when they name none. Empty when it names none.
    #[graphql(guard = "SignedIn")]
    async fn local_authority_codes(&self) -> Vec<String> {
        la_codes_of(&self.0)
    }
    /// Every goal the partnership has had, oldest first: the first one, then one per move of
    /// the deadline. Progress on a day answers against the goal in force that day.
    #[graphql(guard = "SignedIn")]
    async fn goals(&self, ctx: &Context<'_>) -> Result<Vec<Goal>> {
        let facts = facts(ctx, self.0.id).await?;
        Ok(facts.goals.iter().map(|g| Goal { facts: facts.clone(), goal: g.clone() }).collect())
    }
    /// Who changed the partnership's settings and goals, and when, newest first (at most 100
    /// a page). The partnership's city admins only; anyone else gets FORBIDDEN.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<AuditEventConnection> {
        let viewer = ctx.data::<Viewer>()?;
        let page = Page::new(first, after.as_deref()).extend()?;
        let (rows, more) =
            ctx.data::<PartnershipService>()?.audit_page(viewer, self.0.id, &page).await.extend()?;
        let mut conn =
            Connection::with_additional_fields(page.after.is_some(), more, AuditLogCount(self.0.id));
        conn.edges.extend(rows.into_iter().map(|e| Edge::new(audit_cursor_of(&e).encode(), AuditEvent(e))));
        Ok(conn)
    }
    /// How many active mentees one mentor school may have.
    #[graphql(guard = "SignedIn")]
    async fn max_active_mentees(&self) -> i32 {
        self.0.max_active_mentees
    }
    /// Member schools, by name (at most 100 a page).
    #[graphql(
        guard = "SignedIn",
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SchoolConnection> {
        schools_of(ctx, Parent::Partnership(self.0.id), first, after).await
    }
    /// The partnership's cohorts, in order.
    #[graphql(guard = "SignedIn")]
    async fn cohorts(&self, ctx: &Context<'_>) -> Result<Vec<Cohort>> {
        let rows =
            load_one::<CohortLoader, _>(ctx, CohortsOfPartnership(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Cohort).collect())
    }
    /// Days in one stage before SUBMITTED after which a school is at risk.
    #[graphql(guard = "SignedIn")]
    async fn stalled_after_days(&self) -> i32 {
        self.0.stalled_after_days
    }
    /// Days RETURNED without resubmitting after which a school is at risk.
    #[graphql(guard = "SignedIn")]
    async fn returned_after_days(&self) -> i32 {
        self.0.returned_after_days
    }
    /// Whether actions of a school's plan open past their due date put it at risk.
    #[graphql(guard = "SignedIn")]
    async fn overdue_actions_at_risk(&self) -> bool {
        self.0.overdue_actions_at_risk
    }
    /// The fewest schools with ratings a group needs before its averages are shown.
    #[graphql(guard = "SignedIn")]
    async fn comparison_min_schools(&self) -> i32 {
        self.0.comparison_min_schools
    }
    /// The partnership's self-assessment per area on `asOf` (default today): the mean share of
    /// criteria rated SECURE or better and of evidence, over its schools with ratings; never
    /// one school's figures. Empty for callers who do not read the partnership.
    async fn area_figures(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> Result<Vec<crate::comparison::graphql::AreaGroupFigures>> {
        let day = as_of.map_or_else(crate::certification::journey::today, |d| d.0);
        crate::comparison::graphql::for_group(ctx, self.0.id, crate::comparison::Group::Partnership, day)
            .await
    }
    /// What the city should do next on `asOf` (default today): the `first` (default 3, at
    /// most 20) areas where most schools are below SECURE, the criteria most often rated
    /// NOT_YET, and the schools able to mentor that are strong in those areas. City admins.
    #[graphql(guard = "crate::access::RoleGuard(&[crate::auth::Role::CityAdmin])")]
    async fn focus(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(default = 3)] first: i32,
    ) -> Result<crate::comparison::graphql::PartnershipFocus> {
        ctx.data::<Viewer>()?.require_partnership(self.0.id).extend()?;
        let day = as_of.map_or_else(crate::certification::journey::today, |d| d.0);
        crate::comparison::graphql::focus_of(ctx, self.0.id, day, first.clamp(1, 20) as usize).await
    }
    /// How far the partnership is from its goal on `asOf` (default today). Anonymous callers
    /// read the headline numbers; the at-risk list and AI policy counts need a sign-in.
    async fn progress(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<Progress> {
        progress_of(ctx, self.0.id, Subset::All, as_of).await
    }
    /// Burn-up of certified schools, in all and per cohort, on every `interval` from `from`
    /// (default the start) to `to` (default the deadline of the goal in force today); at most
    /// 520 points.
    #[graphql(guard = "SignedIn")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        #[graphql(default_with = "Interval::Week")] interval: Interval,
    ) -> Result<Vec<TimelinePoint>> {
        let facts = facts(ctx, self.0.id).await?;
        timeline(&facts, from, to, interval).extend()
    }
}

/// One goal of a partnership, with the facts its outcome is worked out from.
pub struct Goal {
    facts: Arc<Facts>,
    goal: partnership_goal::Model,
}

/// One of a partnership's goals: every open member school certified by a deadline. Moving
/// the deadline adds a goal and keeps this one, so that it can still be judged.
#[Object]
impl Goal {
    /// The day by which every open member school should be certified.
    async fn deadline(&self) -> Date {
        self.goal.deadline.into()
    }
    /// The first day on which this was the partnership's goal; it stays so until a later goal
    /// comes into force.
    async fn in_force_from(&self) -> Date {
        self.goal.in_force_from.into()
    }
    /// When the goal was set.
    async fn set_at(&self) -> DateTime<Utc> {
        self.goal.set_at.to_utc()
    }
    /// Who set it: their display name, or the token's subject when it had none.
    async fn set_by(&self) -> &str {
        self.goal.set_by_name.as_deref().unwrap_or(&self.goal.set_by)
    }
    /// Why it was set; null when no reason was recorded.
    async fn reason(&self) -> Option<&str> {
        self.goal.reason.as_deref()
    }
    /// True for the goal in force today.
    async fn current(&self) -> bool {
        goals::in_force(&self.facts.goals, today()).is_some_and(|g| g.id == self.goal.id)
    }
    /// How the goal turned out as of `asOf` (default today): who was certified by its
    /// deadline, who missed it, and how many of those have been certified since.
    async fn outcome(&self, as_of: Option<Date>) -> GoalOutcome {
        let as_of = as_of.map_or_else(today, |d| d.0);
        GoalOutcome(goals::outcome(&self.facts, self.goal.deadline, as_of))
    }
}

/// The outcome of one goal, worked out from the progress facts in memory.
pub struct GoalOutcome(Outcome);

/// How a goal turned out, as of a day: who was certified by its deadline, who missed it, and
/// how many of those are certified since. The schools are the partnership's open members as
/// the registry holds them now.
#[Object]
impl GoalOutcome {
    /// The goal's deadline.
    async fn deadline(&self) -> Date {
        self.0.deadline.into()
    }
    /// The day the outcome is read on.
    async fn as_of(&self) -> Date {
        self.0.as_of.into()
    }
    /// True once `asOf` is after the deadline.
    async fn passed(&self) -> bool {
        self.0.as_of > self.0.deadline
    }
    /// Open member schools.
    async fn total_schools(&self) -> i32 {
        count(self.0.total)
    }
    /// Schools that counted as certified on the deadline (on `asOf` while it is still ahead).
    async fn certified_by_deadline(&self) -> i32 {
        count(self.0.certified_by_deadline)
    }
    /// Schools that did not count as certified on the deadline (not yet, while it is ahead).
    async fn missed_count(&self) -> i32 {
        count(self.0.missed.len())
    }
    /// Of the schools that missed the deadline, how many count as certified on `asOf`; 0
    /// while the deadline is still ahead.
    async fn certified_since(&self) -> i32 {
        count(self.0.certified_since())
    }
    /// The schools that missed the deadline, by URN: `first` (at most 100) after the URN
    /// `after` (the last URN of the previous page).
    async fn missed(
        &self,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<MissedSchool>> {
        let first = first.unwrap_or(20);
        if !(1..=MAX_PAGE as i32).contains(&first) {
            return Err(ApiError::invalid("first", format!("must be between 1 and {MAX_PAGE}")).into_gql());
        }
        let after = after
            .map(|a| a.trim().parse::<i32>())
            .transpose()
            .map_err(|_| ApiError::invalid("after", "the URN of a school, as a string").into_gql())?;
        Ok(self
            .0
            .missed
            .iter()
            .filter(|m| after.is_none_or(|a| m.school.urn > a))
            .take(first as usize)
            .cloned()
            .map(MissedSchool)
            .collect())
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// One school of a goal's `missed` list.
pub struct MissedSchool(Missed);

/// A school that was not certified on a goal's deadline, and whether it is since.
#[Object]
impl MissedSchool {
    /// The school, as the registry holds it now.
    async fn school(&self) -> School {
        School(self.0.school.clone())
    }
    /// The award date of the certificate by which the school counts as certified on the
    /// outcome's `asOf`; null while it still does not.
    async fn certified_on(&self) -> Option<Date> {
        self.0.certified_on.map(Date)
    }
    /// Where the school stood on the deadline.
    async fn stage_on_deadline(&self) -> ProgressStage {
        self.0.stage_on_deadline
    }
}

/// One entry of a partnership's audit log.
pub struct AuditEvent(pub audit_event::Model);

/// A change to a partnership's settings, goals or access, as its audit log keeps it.
#[Object]
impl AuditEvent {
    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at.to_utc()
    }
    /// Who made it: the token's subject, or "operator" for the command line.
    async fn actor_subject(&self) -> &str {
        &self.0.actor_subject
    }
    /// Their display name; null when the token had none.
    async fn actor_name(&self) -> Option<&str> {
        self.0.actor_name.as_deref()
    }
    /// What kind of change, e.g. "goal.deadline_moved" or "partnership.renamed".
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The change in words, with the old and new values, e.g. "moved the deadline from
    /// 2026-08-31 to 2027-07-31: the second cohort started late".
    async fn summary(&self) -> &str {
        &self.0.summary
    }
}

/// The partnership whose audit log a connection pages through.
pub struct AuditLogCount(uuid::Uuid);

/// Extra fields of an audit log page.
#[Object]
impl AuditLogCount {
    /// How many entries the whole log holds (all pages).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let viewer = ctx.data::<Viewer>()?;
        Ok(ctx.data::<PartnershipService>()?.audit_count(viewer, self.0).await.extend()? as i64)
    }
}

/// A page of a partnership's audit log.
pub type AuditEventConnection = Connection<String, AuditEvent, AuditLogCount>;

pub struct LocalAuthority(pub local_authority::Model);

/// A council area, with its three-digit LA code.
#[Object]
impl LocalAuthority {
    /// Global id (Relay).
    pub async fn id(&self) -> ID {
        global_id("LocalAuthority", self.0.id)
    }
    /// Three-digit code, e.g. "851" for Portsmouth.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
}

#[derive(Default)]
pub struct PartnershipMutation;

#[Object]
impl PartnershipMutation {
    /// Changes the settings of the caller's own partnership: all of the input or nothing, one
    /// audit log entry per setting that changed (a value equal to the current one changes
    /// nothing). City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn update_partnership(
        &self,
        ctx: &Context<'_>,
        input: UpdatePartnershipInput,
    ) -> Result<Partnership> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        ctx.data::<PartnershipService>()?.update_own(actor, input.into()).await.map(Partnership).extend()
    }

    /// Sets the days after which a school counts as at risk in the caller's partnership
    /// (each 1 to 365; one left out is kept). City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])", deprecation = "use updatePartnership")]
    async fn update_risk_thresholds(
        &self,
        ctx: &Context<'_>,
        stalled_after_days: Option<i32>,
        returned_after_days: Option<i32>,
    ) -> Result<Partnership> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let patch = PartnershipPatch { stalled_after_days, returned_after_days, ..Default::default() };
        ctx.data::<PartnershipService>()?.update_own(actor, patch).await.map(Partnership).extend()
    }
}

/// Changes to the caller's partnership; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdatePartnershipInput {
    /// The partnership's name, at most 200 characters.
    pub name: Option<String>,
    /// A new deadline, on or after the partnership's start. It becomes a new goal in force
    /// from today; the old goal is kept, and progress on earlier days still answers against
    /// it. Needs `deadlineReason`.
    pub deadline: Option<Date>,
    /// Why the deadline moves, 1 to 500 characters: required with `deadline`, refused without.
    pub deadline_reason: Option<String>,
    /// The version of the partnership's framework that new journeys start on (it must be
    /// loaded). Journeys already started keep theirs.
    pub framework_version: Option<i32>,
    /// The lowest level at which a school counts as certified: a level key of the pinned
    /// framework version.
    pub required_level: Option<String>,
    /// How many active mentees one mentor school may have, 1 to 20.
    pub max_active_mentees: Option<i32>,
    /// Days in one stage before SUBMITTED after which a school is at risk, 1 to 365.
    pub stalled_after_days: Option<i32>,
    /// Days RETURNED without resubmitting after which a school is at risk, 1 to 365.
    pub returned_after_days: Option<i32>,
    /// Whether a school with actions of its plan open past their due date is at risk.
    pub overdue_actions_at_risk: Option<bool>,
    /// The fewest schools with ratings a cohort, trust or partnership needs before its
    /// self-assessment averages are shown, 3 to 100.
    pub comparison_min_schools: Option<i32>,
}

impl From<UpdatePartnershipInput> for PartnershipPatch {
    fn from(i: UpdatePartnershipInput) -> Self {
        Self {
            name: i.name,
            deadline: i.deadline.map(|d| d.0),
            deadline_reason: i.deadline_reason,
            framework_version: i.framework_version,
            required_level: i.required_level,
            max_active_mentees: i.max_active_mentees,
            stalled_after_days: i.stalled_after_days,
            returned_after_days: i.returned_after_days,
            overdue_actions_at_risk: i.overdue_actions_at_risk,
            comparison_min_schools: i.comparison_min_schools,
            local_authority_codes: None,
        }
    }
}

#[derive(Default)]
pub struct PartnershipQuery;

#[Object]
impl PartnershipQuery {
    /// Partnerships: all of them (headline only) for anonymous callers, the caller's own for
    /// signed-in ones.
    async fn partnerships(&self, ctx: &Context<'_>) -> Result<Vec<Partnership>> {
        let viewer = ctx.data::<Viewer>()?;
        let rows = ctx.data::<PartnershipService>()?.list(viewer).await.extend()?;
        Ok(rows.into_iter().map(Partnership).collect())
    }

    /// One partnership by id.
    async fn partnership(&self, ctx: &Context<'_>, id: ID) -> Result<Partnership> {
        let viewer = ctx.data::<Viewer>()?;
        let id = ids::parse(&id, "Partnership").extend()?;
        ctx.data::<PartnershipService>()?.by_id(viewer, id).await.map(Partnership).extend()
    }

    /// One partnership by slug, e.g. "demo-city".
    async fn partnership_by_slug(&self, ctx: &Context<'_>, slug: String) -> Result<Partnership> {
        let viewer = ctx.data::<Viewer>()?;
        ctx.data::<PartnershipService>()?.by_slug(viewer, &slug).await.map(Partnership).extend()
    }
}
