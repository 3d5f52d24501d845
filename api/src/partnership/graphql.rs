//! The Partnership and LocalAuthority types and their queries.

use crate::scalars::Date;
use async_graphql::{Context, ID, Object, Result};
use entity::{local_authority, partnership};

use super::PartnershipService;
use crate::{
    auth::{Role, RoleGuard, SignedIn, Viewer},
    cohort::{
        Cohort,
        loader::{CohortLoader, CohortsOfPartnership},
    },
    error::Extend,
    ids::{self, global_id},
    loaders::load_one,
    progress::{
        Progress,
        graphql::{TimelinePoint, facts, progress_of, timeline},
        service::{Interval, Subset},
    },
    school::{
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
    /// The date by which every member school should be certified.
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
    /// The lowest level (a key of that framework) at which a school counts as certified;
    /// null means the framework's lowest level.
    #[graphql(guard = "SignedIn")]
    async fn required_level(&self) -> Option<&str> {
        self.0.required_level.as_deref()
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
    /// How far the partnership is from its goal on `asOf` (default today). Anonymous callers
    /// read the headline numbers; the at-risk list and AI policy counts need a sign-in.
    async fn progress(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<Progress> {
        progress_of(ctx, self.0.id, Subset::All, as_of).await
    }
    /// Burn-up of certified schools, in all and per cohort, on every `interval` from `from`
    /// (default the start) to `to` (default the deadline); at most 520 points.
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
    /// Sets the days after which a school counts as at risk in the caller's partnership
    /// (each 1 to 365; one left out is kept). City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn update_risk_thresholds(
        &self,
        ctx: &Context<'_>,
        stalled_after_days: Option<i32>,
        returned_after_days: Option<i32>,
    ) -> Result<Partnership> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        ctx.data::<PartnershipService>()?
            .set_risk_thresholds(actor, stalled_after_days, returned_after_days)
            .await
            .map(Partnership)
            .extend()
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
