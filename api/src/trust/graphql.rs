//! The Trust type, its queries and its mutations.

use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, Result,
    connection::{Connection, Edge},
};
use entity::trust;

use super::{
    TrustService,
    service::{NewTrust, TrustPatch, cursor_of},
};
use crate::{
    access::{RoleGuard, SignedIn},
    auth::{Role, Viewer},
    error::{ApiError, Extend},
    ids::{self, Page, global_id},
    progress::{Progress, graphql::progress_of, service::Subset},
    scalars::Date,
    school::{
        graphql::{SchoolConnection, schools_of},
        loader::Parent,
    },
};

pub struct Trust(pub trust::Model);

/// A multi-academy trust: a company that runs several academies.
#[Object]
impl Trust {
    /// Global id (Relay).
    pub async fn id(&self) -> ID {
        global_id("Trust", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// GIAS group UID ("Trusts (code)" in GIAS extracts).
    async fn group_uid(&self) -> &str {
        &self.0.group_uid
    }
    /// Companies House number; null when not recorded.
    async fn companies_house_number(&self) -> Option<&str> {
        self.0.companies_house_number.as_deref()
    }
    /// The trust's schools the caller may see, by name (at most 100 a page).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SchoolConnection> {
        schools_of(ctx, Parent::Trust(self.0.id), first, after).await
    }
    /// The trust's self-assessment per area on `asOf` (default today), over its schools in
    /// `partnership` that have ratings; hidden below the partnership's `comparisonMinSchools`.
    /// Empty for callers who do not read the partnership.
    async fn area_figures(
        &self,
        ctx: &Context<'_>,
        partnership: ID,
        as_of: Option<Date>,
    ) -> Result<Vec<crate::comparison::graphql::AreaGroupFigures>> {
        let p = ids::parse(&partnership, "Partnership").extend()?;
        let day = as_of.map_or_else(crate::certification::journey::today, |d| d.0);
        crate::comparison::graphql::for_group(ctx, p, crate::comparison::Group::Trust(self.0.id), day).await
    }
    /// Progress of the trust's schools in a partnership on `asOf` (default today), measured
    /// against the partnership's deadline. `partnership` may be left out when the caller
    /// sees only one.
    #[graphql(guard = "SignedIn")]
    async fn progress(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        partnership: Option<ID>,
    ) -> Result<Progress> {
        let viewer = ctx.data::<Viewer>()?;
        let partnership = match (partnership, viewer.partnerships()) {
            (Some(id), _) => ids::parse(&id, "Partnership").extend()?,
            (None, [only]) => *only,
            (None, _) => {
                return Err(ApiError::invalid("partnership", "name one: you see more than one").into_gql());
            }
        };
        viewer.require_partnership(partnership).extend()?;
        progress_of(ctx, partnership, Subset::Trust(self.0.id), as_of).await
    }
}

pub struct TrustCount;

/// Extra fields of a trust list.
#[Object]
impl TrustCount {
    /// How many trusts the whole list holds (all pages).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let viewer = ctx.data::<Viewer>()?;
        Ok(ctx.data::<TrustService>()?.count(viewer).await.extend()? as i64)
    }
}

pub type TrustConnection = Connection<String, Trust, TrustCount>;

#[derive(Default)]
pub struct TrustQuery;

#[Object]
impl TrustQuery {
    /// One trust by id. NOT_FOUND when there is none the caller may see.
    #[graphql(guard = "SignedIn")]
    async fn trust(&self, ctx: &Context<'_>, id: ID) -> Result<Trust> {
        let viewer = ctx.data::<Viewer>()?;
        let id = ids::parse(&id, "Trust").extend()?;
        ctx.data::<TrustService>()?.by_id(viewer, id).await.map(Trust).extend()
    }

    /// Trusts that run schools the caller may see, by name (at most 100 a page).
    #[graphql(
        guard = "SignedIn",
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn trusts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<TrustConnection> {
        let viewer = ctx.data::<Viewer>()?;
        let page = Page::new(first, after.as_deref()).extend()?;
        let (rows, more) = ctx.data::<TrustService>()?.page(viewer, &page).await.extend()?;
        let mut conn = Connection::with_additional_fields(page.after.is_some(), more, TrustCount);
        conn.edges.extend(rows.into_iter().map(|t| Edge::new(cursor_of(&t).encode(), Trust(t))));
        Ok(conn)
    }
}

/// A trust to add to the registry.
#[derive(InputObject)]
pub struct CreateTrustInput {
    pub name: String,
    /// GIAS group UID; must not exist yet.
    pub group_uid: String,
    /// Eight-character Companies House number.
    pub companies_house_number: Option<String>,
}

/// Changes to a trust; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateTrustInput {
    pub name: Option<String>,
    /// A Companies House number, or null to clear it.
    pub companies_house_number: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct TrustMutation;

#[Object]
impl TrustMutation {
    /// Adds a trust. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn create_trust(&self, ctx: &Context<'_>, input: CreateTrustInput) -> Result<Trust> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let new = NewTrust {
            name: input.name,
            group_uid: input.group_uid,
            companies_house_number: input.companies_house_number,
        };
        ctx.data::<TrustService>()?.create(actor, new).await.map(Trust).extend()
    }

    /// Changes a trust that runs schools of your partnership. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn update_trust(&self, ctx: &Context<'_>, id: ID, input: UpdateTrustInput) -> Result<Trust> {
        let viewer = ctx.data::<Viewer>()?;
        let id = ids::parse(&id, "Trust").extend()?;
        let patch =
            TrustPatch { name: input.name, companies_house_number: input.companies_house_number.into() };
        ctx.data::<TrustService>()?.update(viewer, id, patch).await.map(Trust).extend()
    }
}
