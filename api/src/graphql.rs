//! The schema: merged roots, the Relay `node` query, `me`, and the one place types are
//! registered (`schema_builder`), so the served and the committed SDL cannot drift apart.

use async_graphql::{
    Context, ID, Interface, MergedObject, MergedSubscription, Object, Result, Schema, SchemaBuilder,
};

use crate::{
    auth::{Actor, Role, Scope, Viewer},
    certificate::graphql::{CertificateMutation, CertificateQuery},
    certification::{
        Certification, CertificationService,
        graphql::{CertificationMutation, CertificationQuery, CertificationSubscription},
    },
    cohort::{
        Cohort, CohortService,
        graphql::{CohortMutation, CohortQuery},
    },
    error::{ApiError, Extend},
    framework::graphql::FrameworkQuery,
    grant::graphql::{GrantMutation, GrantQuery},
    ids,
    import::graphql::{ImportMutation, ImportQuery},
    mentorship::{MentorshipPairing, MentorshipService, graphql::MentorshipMutation},
    partnership::{
        LocalAuthority, Partnership, PartnershipService,
        graphql::{PartnershipMutation, PartnershipQuery},
    },
    plan::graphql::PlanMutation,
    policy::graphql::PolicyMutation,
    progress::graphql::{ProgressQuery, ProgressSubscription},
    review::graphql::{ReviewMutation, ReviewQuery},
    school::{
        School, SchoolService,
        graphql::{SchoolMutation, SchoolQuery},
    },
    trust::{
        Trust, TrustService,
        graphql::{TrustMutation, TrustQuery},
    },
};

/// Anything with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id (Relay)."))]
pub enum Node {
    Partnership(Partnership),
    LocalAuthority(LocalAuthority),
    Trust(Trust),
    School(School),
    Cohort(Cohort),
    MentorshipPairing(MentorshipPairing),
    Certification(Certification),
}

pub struct Me(Actor);

/// The caller as the service sees it.
#[Object]
impl Me {
    /// The role from the token.
    async fn role(&self) -> Role {
        self.0.role
    }
    /// The token's subject (`sub`).
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The token's display name; null when it has none.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// The partnership a city admin, partner or assessor works in; null for other roles.
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Option<Partnership>> {
        let Scope::Partnership(id) = self.0.scope else { return Ok(None) };
        let viewer = ctx.data::<Viewer>()?;
        ctx.data::<PartnershipService>()?.by_id(viewer, id).await.map(|p| Some(Partnership(p))).extend()
    }
    /// A trust lead's trust; null for other roles.
    async fn trust(&self, ctx: &Context<'_>) -> Result<Option<Trust>> {
        let Scope::Trust(id) = self.0.scope else { return Ok(None) };
        let viewer = ctx.data::<Viewer>()?;
        ctx.data::<TrustService>()?.by_id(viewer, id).await.map(|t| Some(Trust(t))).extend()
    }
    /// A school lead's school; null for other roles.
    async fn school(&self, ctx: &Context<'_>) -> Result<Option<School>> {
        let Scope::School(id) = self.0.scope else { return Ok(None) };
        let viewer = ctx.data::<Viewer>()?;
        ctx.data::<SchoolService>()?.by_id(viewer, id).await.map(|s| Some(School(s))).extend()
    }
}

#[derive(Default)]
pub struct RootQuery;

#[Object]
impl RootQuery {
    /// The caller's role and scope; null for anonymous callers.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Me>> {
        Ok(match ctx.data::<Viewer>()? {
            Viewer::Signed(actor) => Some(Me(actor.clone())),
            Viewer::Anonymous | Viewer::Unbound(_) => None,
        })
    }

    /// Any object by its global id; NOT_FOUND when the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Node> {
        let viewer = ctx.data::<Viewer>()?;
        let (kind, uuid) = ids::parse_any(&id).extend()?;
        let node = match kind.as_str() {
            "Partnership" => ctx
                .data::<PartnershipService>()?
                .by_id(viewer, uuid)
                .await
                .map(|m| Node::Partnership(Partnership(m))),
            "Trust" => ctx.data::<TrustService>()?.by_id(viewer, uuid).await.map(|m| Node::Trust(Trust(m))),
            "School" => {
                ctx.data::<SchoolService>()?.by_id(viewer, uuid).await.map(|m| Node::School(School(m)))
            }
            "Cohort" => {
                ctx.data::<CohortService>()?.by_id(viewer, uuid).await.map(|m| Node::Cohort(Cohort(m)))
            }
            "MentorshipPairing" => ctx
                .data::<MentorshipService>()?
                .by_id(viewer, uuid)
                .await
                .map(|m| Node::MentorshipPairing(MentorshipPairing(m))),
            "Certification" => ctx
                .data::<CertificationService>()?
                .by_id(viewer, uuid)
                .await
                .map(|m| Node::Certification(Certification(m))),
            _ => Err(ApiError::NotFound("node".into())),
        };
        node.extend()
    }
}

#[derive(MergedObject, Default)]
pub struct Query(
    RootQuery,
    PartnershipQuery,
    SchoolQuery,
    TrustQuery,
    CohortQuery,
    FrameworkQuery,
    GrantQuery,
    CertificationQuery,
    ReviewQuery,
    CertificateQuery,
    ProgressQuery,
    ImportQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    SchoolMutation,
    TrustMutation,
    CohortMutation,
    MentorshipMutation,
    PartnershipMutation,
    ImportMutation,
    PolicyMutation,
    GrantMutation,
    CertificationMutation,
    ReviewMutation,
    CertificateMutation,
    PlanMutation,
);

/// Live updates, over WebSocket (graphql-ws) on the GraphQL endpoint.
#[derive(MergedSubscription, Default)]
pub struct Subscription(CertificationSubscription, ProgressSubscription);

pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// The deepest query accepted.
pub const MAX_DEPTH: usize = 12;

/// Registers every type. Tests print the SDL from here; `build_schema` adds data and limits.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .register_output_type::<Node>()
}

/// The SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().sorted_fields().include_specified_by())
}
