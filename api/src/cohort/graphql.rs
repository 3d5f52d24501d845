//! The Cohort type, its queries and its mutations.

use crate::scalars::Date;
use async_graphql::{Context, ID, InputObject, Object, Result};
use entity::cohort;

use super::{CohortService, service::CohortFields};
use crate::{
    access::{RoleGuard, SignedIn},
    auth::{Role, Viewer},
    error::{ApiError, Extend},
    ids::{self, global_id},
    loaders::load_one,
    partnership::{
        Partnership,
        loader::{PartnershipById, PartnershipLoader},
    },
    progress::{Progress, graphql::progress_of, service::Subset},
    school::{
        School,
        graphql::{SchoolConnection, schools_of},
        loader::Parent,
    },
};

pub struct Cohort(pub cohort::Model);

/// The schools of a partnership that start their journey together.
#[Object]
impl Cohort {
    /// Global id (Relay).
    pub async fn id(&self) -> ID {
        global_id("Cohort", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 1 for the pioneers, then 2, 3, ... in the order cohorts start.
    async fn ordinal(&self) -> i32 {
        self.0.ordinal
    }
    async fn starts_on(&self) -> Date {
        self.0.starts_on.into()
    }
    /// The date by which the cohort's schools should be certified.
    async fn target_on(&self) -> Date {
        self.0.target_on.into()
    }
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Partnership> {
        load_one::<PartnershipLoader, _>(ctx, PartnershipById(self.0.partnership_id))
            .await?
            .map(Partnership)
            .ok_or_else(|| ApiError::NotFound("partnership".into()).into_gql())
    }
    /// The cohort's schools, by name (at most 100 a page).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SchoolConnection> {
        schools_of(ctx, Parent::Cohort(self.0.id), first, after).await
    }
    /// The cohort's self-assessment per area on `asOf` (default today), over its schools with
    /// ratings; hidden below the partnership's `comparisonMinSchools`.
    async fn area_figures(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> Result<Vec<crate::comparison::graphql::AreaGroupFigures>> {
        let day = as_of.map_or_else(crate::certification::journey::today, |d| d.0);
        let group = crate::comparison::Group::Cohort(self.0.id);
        crate::comparison::graphql::for_group(ctx, self.0.partnership_id, group, day).await
    }
    /// The cohort's progress on `asOf` (default today), measured from its start to its target date.
    async fn progress(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<Progress> {
        progress_of(ctx, self.0.partnership_id, Subset::Cohort(self.0.id), as_of).await
    }
}

#[derive(Default)]
pub struct CohortQuery;

#[Object]
impl CohortQuery {
    /// One cohort by id.
    #[graphql(guard = "SignedIn")]
    async fn cohort(&self, ctx: &Context<'_>, id: ID) -> Result<Cohort> {
        let viewer = ctx.data::<Viewer>()?;
        let id = ids::parse(&id, "Cohort").extend()?;
        ctx.data::<CohortService>()?.by_id(viewer, id).await.map(Cohort).extend()
    }

    /// A partnership's cohorts, in order.
    #[graphql(guard = "SignedIn")]
    async fn cohorts(&self, ctx: &Context<'_>, partnership: ID) -> Result<Vec<Cohort>> {
        let viewer = ctx.data::<Viewer>()?;
        let id = ids::parse(&partnership, "Partnership").extend()?;
        let rows = ctx.data::<CohortService>()?.list(viewer, id).await.extend()?;
        Ok(rows.into_iter().map(Cohort).collect())
    }
}

/// A cohort's fields.
#[derive(InputObject)]
pub struct CohortInput {
    /// Unique in the partnership, e.g. "Cohort 2".
    pub name: String,
    /// Position in the partnership's order of cohorts (1 = pioneers); unique.
    pub ordinal: i32,
    pub starts_on: Date,
    /// Not before `startsOn`.
    pub target_on: Date,
}

impl From<CohortInput> for CohortFields {
    fn from(i: CohortInput) -> Self {
        Self { name: i.name, ordinal: i.ordinal, starts_on: i.starts_on.0, target_on: i.target_on.0 }
    }
}

#[derive(Default)]
pub struct CohortMutation;

#[Object]
impl CohortMutation {
    /// Adds a cohort to your partnership. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn create_cohort(&self, ctx: &Context<'_>, input: CohortInput) -> Result<Cohort> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        ctx.data::<CohortService>()?.create(actor, input.into()).await.map(Cohort).extend()
    }

    /// Changes a cohort of your partnership. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn update_cohort(&self, ctx: &Context<'_>, id: ID, input: CohortInput) -> Result<Cohort> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&id, "Cohort").extend()?;
        ctx.data::<CohortService>()?.update(actor, id, input.into()).await.map(Cohort).extend()
    }

    /// Puts a school of your partnership into a cohort (one cohort per school). City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn add_school_to_cohort(&self, ctx: &Context<'_>, cohort: ID, urn: i32) -> Result<School> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&cohort, "Cohort").extend()?;
        ctx.data::<CohortService>()?.add_school(actor, id, urn).await.map(School).extend()
    }

    /// Takes a school out of a cohort. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn remove_school_from_cohort(&self, ctx: &Context<'_>, cohort: ID, urn: i32) -> Result<School> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&cohort, "Cohort").extend()?;
        ctx.data::<CohortService>()?.remove_school(actor, id, urn).await.map(School).extend()
    }
}
