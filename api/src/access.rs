//! The one authorization module: which partnerships a viewer reads, who administers one, the
//! role guards, how far a caller reads a school (below), and which partnership holds a
//! registry row (tenancy, at the end). `auth` says who is asking; this says what they may do.
//!
//! How far a signed-in caller reads a school's certification journeys and AI policy: in full
//! (drafts: ratings, notes, evidence, feedback, history) or the summary only (stages,
//! awarded certificates, policy status). Whether the caller sees the school at all is the
//! registry's rule (`school::service::visible`); this is the next step in.
//!
//! DOMAIN.md: city admins read their partnership's schools in full, trust leads their trust's
//! schools, school leads their own school and (read-only) their active mentees, assessors the
//! journeys that have been submitted in their partnership; partners read summaries.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, ErrorExtensions, Guard, dataloader::Loader};
use entity::{mentorship_pairing as pairing, partnership_school, school, trust};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::{Actor, Role, Scope, Viewer},
    error::{ApiError, ApiResult},
    loaders::load_one,
};

impl Viewer {
    /// Partnerships whose registry this viewer may read; empty unless signed in with a role.
    pub fn partnerships(&self) -> &[Uuid] {
        match self {
            Self::Signed(actor) => &actor.partnerships,
            Self::Anonymous | Self::Unbound(_) => &[],
        }
    }

    pub fn can_read_partnership(&self, id: Uuid) -> bool {
        self.partnerships().contains(&id)
    }

    /// NOT_FOUND unless the viewer reads partnership `id`: another partnership's rows do not
    /// exist for it.
    pub fn require_partnership(&self, id: Uuid) -> ApiResult<()> {
        if self.can_read_partnership(id) { Ok(()) } else { Err(ApiError::NotFound("partnership".into())) }
    }
}

impl Actor {
    /// A city admin's partnership, or FORBIDDEN for every other role.
    pub fn admin_of(&self) -> ApiResult<Uuid> {
        match (self.role, self.scope) {
            (Role::CityAdmin, Scope::Partnership(id)) => Ok(id),
            _ => Err(ApiError::Forbidden("change the registry: that needs the city-admin role")),
        }
    }
}

impl Actor {
    /// Revoking a certificate is for the awarding side: the partnership's assessors and city
    /// admins (which certificates, `find_visible` decides by partnership).
    pub fn may_revoke(&self) -> ApiResult<()> {
        match (self.role, self.scope) {
            (Role::Assessor | Role::CityAdmin, Scope::Partnership(_)) => Ok(()),
            _ => Err(ApiError::Forbidden("revoke a certificate: that needs the assessor or city-admin role")),
        }
    }
}

/// Lets a field through only for the listed roles.
pub struct RoleGuard(pub &'static [Role]);

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data::<Viewer>()? {
            Viewer::Signed(actor) if self.0.contains(&actor.role) => Ok(()),
            Viewer::Signed(_) => Err(ApiError::Forbidden("do this with your role").extend()),
            viewer => Err(viewer.actor().map(|_| ()).unwrap_err().extend()),
        }
    }
}

/// Lets any signed-in caller through; anonymous callers get UNAUTHENTICATED.
pub struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        ctx.data::<Viewer>()?.actor().map(|_| ()).map_err(|e| e.extend())
    }
}

/// What the caller reads of one school's journeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Stages, dates and awarded certificates; the AI policy's status.
    Summary,
    /// Everything, once a journey has been submitted (assessors).
    Submitted,
    /// Everything.
    Full,
}

impl Reach {
    /// Whether a journey with this submission state is read in full.
    pub fn reads_journey(self, submitted: bool) -> bool {
        match self {
            Self::Full => true,
            Self::Submitted => submitted,
            Self::Summary => false,
        }
    }
}

/// Key: the caller's reach over one school.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReachOf(pub Uuid);

/// Works out reach for many schools in one statement (none for partners and own schools).
pub struct ReachLoader {
    pub db: DatabaseConnection,
    pub viewer: Viewer,
}

impl ReachLoader {
    async fn matching(&self, schools: Vec<Uuid>) -> Result<(HashSet<Uuid>, Reach), ApiError> {
        let Viewer::Signed(actor) = &self.viewer else { return Ok((HashSet::new(), Reach::Summary)) };
        let rows: Vec<Uuid> = match (actor.role, actor.scope) {
            (Role::CityAdmin | Role::Assessor, Scope::Partnership(p)) => {
                partnership_school::Entity::find()
                    .select_only()
                    .column(partnership_school::Column::SchoolId)
                    .filter(partnership_school::Column::PartnershipId.eq(p))
                    .filter(partnership_school::Column::SchoolId.is_in(schools))
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            (Role::TrustLead, Scope::Trust(t)) => {
                school::Entity::find()
                    .select_only()
                    .column(school::Column::Id)
                    .filter(school::Column::TrustId.eq(t))
                    .filter(school::Column::Id.is_in(schools))
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            (Role::SchoolLead, Scope::School(own)) => {
                let mut rows: Vec<Uuid> = pairing::Entity::find()
                    .select_only()
                    .column(pairing::Column::MenteeSchoolId)
                    .filter(pairing::Column::MentorSchoolId.eq(own))
                    .filter(pairing::Column::EndedOn.is_null())
                    .filter(pairing::Column::MenteeSchoolId.is_in(schools))
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                rows.push(own);
                rows
            }
            _ => Vec::new(),
        };
        let reach = if actor.role == Role::Assessor { Reach::Submitted } else { Reach::Full };
        Ok((rows.into_iter().collect(), reach))
    }
}

impl Loader<ReachOf> for ReachLoader {
    type Value = Reach;
    type Error = ApiError;

    async fn load(&self, keys: &[ReachOf]) -> Result<HashMap<ReachOf, Reach>, ApiError> {
        let (hits, reach) = self.matching(keys.iter().map(|k| k.0).collect()).await?;
        Ok(keys.iter().map(|k| (*k, if hits.contains(&k.0) { reach } else { Reach::Summary })).collect())
    }
}

/// The caller's reach over `school`.
pub async fn reach(ctx: &Context<'_>, school: Uuid) -> async_graphql::Result<Reach> {
    Ok(load_one::<ReachLoader, _>(ctx, ReachOf(school)).await?.unwrap_or(Reach::Summary))
}

/// FORBIDDEN unless the caller reads this school's journey (submitted or not) in full.
pub async fn require_full(ctx: &Context<'_>, school: Uuid, submitted: bool) -> async_graphql::Result<()> {
    if reach(ctx, school).await?.reads_journey(submitted) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("read a school's drafts: only its own leads, its trust, its mentor, the city admins and (once submitted) assessors can").into_gql())
    }
}

// ---------------------------------------------------------------------------------------------
// Tenancy: which partnerships hold a registry row, and what one partnership's admin may do
// with it. Registry rows mirror GIAS and are shared records: a school is held by the
// partnerships it is a member of; a trust by those whose member schools it runs and by the one
// whose admin created it by hand; local authorities by nobody (only the operator renames one).

/// What a city admin may do with a registry row, given the partnerships that hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Nobody holds it yet, or only the admin's partnership: the admin may change it.
    Own,
    /// The admin's partnership holds it together with another: it may use it, and its GIAS
    /// fields change only through the operator's import.
    Shared,
    /// Only other partnerships hold it: the admin may neither use nor change it.
    Foreign,
}

impl Holding {
    pub fn of(holders: Option<&HashSet<Uuid>>, mine: Uuid) -> Self {
        match holders {
            None => Self::Own,
            Some(h) if h.is_empty() || (h.len() == 1 && h.contains(&mine)) => Self::Own,
            Some(h) if h.contains(&mine) => Self::Shared,
            Some(_) => Self::Foreign,
        }
    }

    /// FORBIDDEN unless the admin may change the row's GIAS fields.
    pub fn require_own(self, what: &'static str) -> ApiResult<()> {
        match self {
            Self::Own => Ok(()),
            Self::Shared => Err(ApiError::Forbidden(what)),
            Self::Foreign => Err(ApiError::NotFound("that record".into())),
        }
    }
}

/// The partnerships holding each of `schools` (their memberships).
pub async fn school_holders(
    db: &impl ConnectionTrait,
    schools: &[Uuid],
) -> ApiResult<HashMap<Uuid, HashSet<Uuid>>> {
    let mut out: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for chunk in schools.chunks(crate::import::service::CHUNK) {
        let rows: Vec<(Uuid, Uuid)> = partnership_school::Entity::find()
            .select_only()
            .column(partnership_school::Column::SchoolId)
            .column(partnership_school::Column::PartnershipId)
            .filter(partnership_school::Column::SchoolId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (school, partnership) in rows {
            out.entry(school).or_default().insert(partnership);
        }
    }
    Ok(out)
}

/// The partnerships holding each of `trusts`: those whose member schools it runs, and the one
/// whose admin created it by hand.
pub async fn trust_holders(
    db: &impl ConnectionTrait,
    trusts: &[Uuid],
) -> ApiResult<HashMap<Uuid, HashSet<Uuid>>> {
    let mut out: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for chunk in trusts.chunks(crate::import::service::CHUNK) {
        let running: Vec<(Option<Uuid>, Uuid)> = school::Entity::find()
            .select_only()
            .column(school::Column::TrustId)
            .column(partnership_school::Column::PartnershipId)
            .inner_join(partnership_school::Entity)
            .filter(school::Column::TrustId.is_in(chunk.iter().copied()))
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        for (trust, partnership) in running {
            if let Some(trust) = trust {
                out.entry(trust).or_default().insert(partnership);
            }
        }
        let created: Vec<(Uuid, Option<Uuid>)> = trust::Entity::find()
            .select_only()
            .column(trust::Column::Id)
            .column(trust::Column::CreatedByPartnershipId)
            .filter(trust::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (trust, partnership) in created {
            if let Some(partnership) = partnership {
                out.entry(trust).or_default().insert(partnership);
            }
        }
    }
    Ok(out)
}

/// How a city admin of `mine` holds one school.
pub async fn school_holding(db: &impl ConnectionTrait, school: Uuid, mine: Uuid) -> ApiResult<Holding> {
    Ok(Holding::of(school_holders(db, &[school]).await?.get(&school), mine))
}

/// How a city admin of `mine` holds one trust.
pub async fn trust_holding(db: &impl ConnectionTrait, trust: Uuid, mine: Uuid) -> ApiResult<Holding> {
    Ok(Holding::of(trust_holders(db, &[trust]).await?.get(&trust), mine))
}
