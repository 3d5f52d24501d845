//! The School type, its queries and its mutations.

use async_graphql::{
    Context, Enum, ID, InputObject, MaybeUndefined, Object, Result,
    connection::{Connection, Edge, EmptyFields},
};
use entity::school;

use super::{
    NewSchool, Phase, SchoolFilter, SchoolPatch, SchoolService,
    loader::{Parent, SchoolById, SchoolCountOf, SchoolLoader, SchoolWithTrust, SchoolsOf},
    service::SchoolOrder,
};
use crate::{
    access::{RoleGuard, SignedIn},
    auth::{Role, Viewer},
    certification::{
        Certification,
        loader::{JourneyLoader, JourneysOfSchool},
    },
    cohort::{
        Cohort,
        loader::{CohortLoader, CohortsOfSchool},
    },
    error::{ApiError, Extend},
    ids::{self, Page, global_id},
    loaders::{feed, load_one},
    mentorship::{
        MentorshipPairing,
        loader::{PairingLoader, PairingsOfMentee, PairingsOfMentor},
    },
    partnership::{
        Partnership,
        loader::{LocalAuthorityById, PartnershipLoader, PartnershipsOfSchool},
    },
    policy::{AiPolicy, graphql::ai_policy_of},
    scalars::Date,
    trust::{
        Trust,
        loader::{TrustById, TrustLoader},
    },
};

pub struct School(pub school::Model);

/// A page of schools.
pub type SchoolConnection = Connection<String, School, SchoolCount, EmptyFields>;

pub enum SchoolCount {
    Filter(SchoolFilter),
    Parent(Parent),
}

/// Where a school list's total comes from, resolved only when asked for.
#[Object]
impl SchoolCount {
    /// How many schools the whole list holds (all pages), of those the caller may see.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let n = match self {
            Self::Filter(filter) => {
                let viewer = ctx.data::<Viewer>()?;
                ctx.data::<SchoolService>()?.count(viewer, filter).await.extend()?
            }
            Self::Parent(parent) => {
                load_one::<SchoolLoader, _>(ctx, SchoolCountOf(*parent)).await?.unwrap_or(0)
            }
        };
        Ok(n as i64)
    }
}

/// Builds a connection from one page of rows read in `order`.
pub fn connection(
    rows: Vec<school::Model>,
    more: bool,
    page: &Page,
    order: SchoolOrder,
    count: SchoolCount,
) -> SchoolConnection {
    let mut conn = Connection::with_additional_fields(page.after.is_some(), more, count);
    conn.edges.extend(rows.into_iter().map(|s| Edge::new(order.cursor(&s), School(s))));
    conn
}

/// A nested school list: one batched statement for all parents of the same kind.
pub async fn schools_of(
    ctx: &Context<'_>,
    parent: Parent,
    first: Option<i32>,
    after: Option<String>,
) -> Result<SchoolConnection> {
    let page = Page::new(first, after.as_deref()).extend()?;
    // Their trusts come in the same statement when the query asks for them.
    let trusts = ctx.look_ahead().field("edges").field("node").field("trust").exists();
    let key = SchoolsOf { parent, page: page.clone(), trusts };
    let found = load_one::<SchoolLoader, _>(ctx, key).await?.unwrap_or_default();
    feed::<TrustLoader, _>(ctx, found.trusts.into_iter().map(|t| (TrustById(t.id), t))).await?;
    Ok(connection(found.rows, found.more, &page, SchoolOrder::Name, SchoolCount::Parent(parent)))
}

/// Loads one school by id for a relation (pairing.mentor, ...).
pub async fn school_by_id(ctx: &Context<'_>, id: uuid::Uuid) -> Result<School> {
    let school = if ctx.look_ahead().field("trust").exists() {
        // The trust comes in the same statement.
        let found = load_one::<SchoolLoader, _>(ctx, SchoolWithTrust(id)).await?;
        let (school, trust) = found.unzip();
        feed::<TrustLoader, _>(ctx, trust.flatten().map(|t| (TrustById(t.id), t))).await?;
        school
    } else {
        load_one::<SchoolLoader, _>(ctx, SchoolById(id)).await?
    };
    school.map(School).ok_or_else(|| ApiError::NotFound("school".into()).into_gql())
}

/// A school of the registry, as GIAS knows it.
#[Object]
impl School {
    /// Global id (Relay).
    pub async fn id(&self) -> ID {
        global_id("School", self.0.id)
    }
    /// Unique reference number from GIAS: six digits.
    async fn urn(&self) -> i32 {
        self.0.urn
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn phase(&self) -> Phase {
        Phase::from_db(&self.0.phase).unwrap_or(Phase::NotApplicable)
    }
    /// GIAS type of establishment, e.g. "Academy converter" or "Community school".
    async fn establishment_type(&self) -> &str {
        &self.0.establishment_type
    }
    /// Postcode; null when not recorded.
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// Whether the school is open (GIAS "Open" or "Open, but proposed to close").
    async fn open(&self) -> bool {
        self.0.open
    }
    /// True when no trust runs the school: it is maintained by its local authority.
    async fn maintained(&self) -> bool {
        self.0.trust_id.is_none()
    }
    /// The local authority the school is in.
    async fn local_authority(&self, ctx: &Context<'_>) -> Result<crate::partnership::LocalAuthority> {
        load_one::<PartnershipLoader, _>(ctx, LocalAuthorityById(self.0.local_authority_id))
            .await?
            .map(crate::partnership::LocalAuthority)
            .ok_or_else(|| ApiError::NotFound("local authority".into()).into_gql())
    }
    /// The trust that runs the school; null for an LA-maintained school.
    async fn trust(&self, ctx: &Context<'_>) -> Result<Option<Trust>> {
        let Some(id) = self.0.trust_id else { return Ok(None) };
        Ok(load_one::<TrustLoader, _>(ctx, TrustById(id)).await?.map(Trust))
    }
    /// The partnerships the school belongs to (of those the caller may see).
    async fn partnerships(&self, ctx: &Context<'_>) -> Result<Vec<Partnership>> {
        let rows =
            load_one::<PartnershipLoader, _>(ctx, PartnershipsOfSchool(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Partnership).collect())
    }
    /// The school's cohort in `partnership`, or, without it, in the first partnership that
    /// placed it in a cohort; null when it is in no cohort.
    async fn cohort(&self, ctx: &Context<'_>, partnership: Option<ID>) -> Result<Option<Cohort>> {
        let wanted = partnership.map(|id| ids::parse(&id, "Partnership")).transpose().extend()?;
        let cohorts = load_one::<CohortLoader, _>(ctx, CohortsOfSchool(self.0.id)).await?.unwrap_or_default();
        Ok(cohorts.into_iter().find(|c| wanted.is_none_or(|p| c.partnership_id == p)).map(Cohort))
    }
    /// Pairings in which this school is mentored; active ones only unless `includeEnded`.
    async fn mentors(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_ended: bool,
    ) -> Result<Vec<MentorshipPairing>> {
        let rows = load_one::<PairingLoader, _>(ctx, PairingsOfMentee(self.0.id)).await?;
        Ok(pairings(rows, include_ended))
    }
    /// The school's certification journeys, newest first (renewals are journeys of their own).
    async fn certifications(&self, ctx: &Context<'_>) -> Result<Vec<Certification>> {
        let rows = load_one::<JourneyLoader, _>(ctx, JourneysOfSchool(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Certification).collect())
    }
    /// The school's AI policy record as of `asOf` (default today). Everyone who sees the school
    /// sees the status; the record itself is for those who read the school in full.
    async fn ai_policy(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<AiPolicy> {
        ai_policy_of(ctx, &self.0, as_of.map(|d| d.0)).await
    }
    /// Per area of its partnership's framework, on `asOf` (default today): the school's share
    /// of its target level's criteria rated SECURE or better and its evidence, beside its
    /// cohort's, trust's and partnership's averages (hidden for groups with fewer schools with
    /// ratings than the partnership's `comparisonMinSchools`). For those who read the school
    /// in full.
    async fn comparison(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> Result<Vec<crate::comparison::graphql::AreaComparison>> {
        let day = as_of.map_or_else(crate::certification::journey::today, |d| d.0);
        crate::comparison::graphql::for_school(ctx, &self.0, day).await
    }
    /// Pairings in which this school mentors another; active ones only unless `includeEnded`.
    async fn mentees(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_ended: bool,
    ) -> Result<Vec<MentorshipPairing>> {
        let rows = load_one::<PairingLoader, _>(ctx, PairingsOfMentor(self.0.id)).await?;
        Ok(pairings(rows, include_ended))
    }
}

fn pairings(
    rows: Option<Vec<entity::mentorship_pairing::Model>>,
    include_ended: bool,
) -> Vec<MentorshipPairing> {
    rows.unwrap_or_default()
        .into_iter()
        .filter(|p| include_ended || p.ended_on.is_none())
        .map(MentorshipPairing)
        .collect()
}

/// The order of a school list. A cursor works only in the order it was made for.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "SchoolOrder", remote = "SchoolOrder")]
pub enum SchoolOrderBy {
    /// By name, then by URN among schools of the same name.
    Name,
    /// By URN, ascending.
    Urn,
}

/// Narrows a school list; every field given must match.
#[derive(InputObject, Default)]
pub struct SchoolFilterInput {
    /// Only schools of this partnership.
    pub partnership: Option<ID>,
    /// Only schools run by this trust.
    pub trust: Option<ID>,
    /// Only schools in this cohort.
    pub cohort: Option<ID>,
    pub phase: Option<Phase>,
    /// True: only LA-maintained schools; false: only academies in a trust.
    pub maintained: Option<bool>,
    /// Part of the name (case-blind), or a whole URN.
    pub search: Option<String>,
}

impl SchoolFilterInput {
    fn into_filter(self) -> Result<SchoolFilter, ApiError> {
        let parse = |id: Option<ID>, kind| id.map(|id| ids::parse(&id, kind)).transpose();
        Ok(SchoolFilter {
            partnership: parse(self.partnership, "Partnership")?,
            trust: parse(self.trust, "Trust")?,
            cohort: parse(self.cohort, "Cohort")?,
            phase: self.phase,
            maintained: self.maintained,
            search: self.search,
        })
    }
}

#[derive(Default)]
pub struct SchoolQuery;

#[Object]
impl SchoolQuery {
    /// One school by URN. NOT_FOUND when there is none the caller may see.
    #[graphql(guard = "SignedIn")]
    async fn school(&self, ctx: &Context<'_>, urn: i32) -> Result<School> {
        let (viewer, service) = (ctx.data::<Viewer>()?, ctx.data::<SchoolService>()?);
        if !ctx.look_ahead().field("trust").exists() {
            return service.by_urn(viewer, urn).await.map(School).extend();
        }
        // The trust comes in the same statement.
        let (school, trust) = service.by_urn_with_trust(viewer, urn).await.extend()?;
        feed::<TrustLoader, _>(ctx, trust.map(|t| (TrustById(t.id), t))).await?;
        Ok(School(school))
    }

    /// Schools the caller may see, in `orderBy` order (by name unless asked), a page at a
    /// time (at most 100 a page). An `after` cursor from the list in another order is
    /// BAD_USER_INPUT.
    #[graphql(
        guard = "SignedIn",
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        filter: Option<SchoolFilterInput>,
        #[graphql(default_with = "SchoolOrderBy::Name")] order_by: SchoolOrderBy,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SchoolConnection> {
        let viewer = ctx.data::<Viewer>()?;
        let filter = filter.unwrap_or_default().into_filter().extend()?;
        let order = SchoolOrder::from(order_by);
        let page = Page::new_in(first, after.as_deref(), order.tag()).extend()?;
        let (rows, more) = ctx.data::<SchoolService>()?.page(viewer, &filter, order, &page).await.extend()?;
        Ok(connection(rows, more, &page, order, SchoolCount::Filter(filter)))
    }
}

/// A school to add to the registry of your partnership.
#[derive(InputObject)]
pub struct CreateSchoolInput {
    /// Six-digit GIAS URN; must not exist yet.
    pub urn: i32,
    pub name: String,
    pub phase: Phase,
    /// A GIAS type of establishment, e.g. "Community school".
    pub establishment_type: String,
    /// Three-digit local authority code.
    pub la_code: String,
    /// The local authority's name (creates or renames the LA with that code).
    pub la_name: String,
    /// The trust that runs it; leave out for an LA-maintained school.
    pub trust: Option<ID>,
    pub postcode: Option<String>,
    #[graphql(default = true)]
    pub open: bool,
}

/// Changes to a school; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateSchoolInput {
    pub name: Option<String>,
    pub phase: Option<Phase>,
    pub establishment_type: Option<String>,
    /// A trust id, or null to make the school LA-maintained.
    pub trust: MaybeUndefined<ID>,
    /// A postcode, or null to clear it.
    pub postcode: MaybeUndefined<String>,
    pub open: Option<bool>,
}

#[derive(Default)]
pub struct SchoolMutation;

#[Object]
impl SchoolMutation {
    /// Adds a school to your partnership's registry. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn create_school(&self, ctx: &Context<'_>, input: CreateSchoolInput) -> Result<School> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let trust = input.trust.map(|id| ids::parse(&id, "Trust")).transpose().extend()?;
        let new = NewSchool {
            urn: input.urn,
            name: input.name,
            phase: input.phase,
            establishment_type: input.establishment_type,
            la_code: input.la_code,
            la_name: input.la_name,
            trust,
            postcode: input.postcode,
            open: input.open,
        };
        ctx.data::<SchoolService>()?.create(actor, new).await.map(School).extend()
    }

    /// Changes a school of your partnership. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn update_school(&self, ctx: &Context<'_>, urn: i32, input: UpdateSchoolInput) -> Result<School> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let trust = match Option::<Option<ID>>::from(input.trust) {
            Some(Some(id)) => Some(Some(ids::parse(&id, "Trust").extend()?)),
            Some(None) => Some(None),
            None => None,
        };
        let patch = SchoolPatch {
            name: input.name,
            phase: input.phase,
            establishment_type: input.establishment_type,
            trust,
            postcode: input.postcode.into(),
            open: input.open,
        };
        ctx.data::<SchoolService>()?.update(actor, urn, patch).await.map(School).extend()
    }
}
