//! Access grants in GraphQL: invitations, redeeming them, the list and revoking.

use async_graphql::{
    Context, ID, InputObject, Object, Result, SimpleObject,
    connection::{Connection, Edge},
};
use chrono::{DateTime, Utc};
use entity::access_grant;

use super::{
    GrantService,
    service::{GrantStatus, NewInvitation, cursor_of, role_of, status},
};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    error::{ApiError, Extend},
    ids::{self, Page, global_id},
    loaders::load_one,
    school::{
        School,
        loader::{SchoolById, SchoolLoader},
    },
    trust::{
        Trust,
        loader::{TrustById, TrustLoader},
    },
};

pub struct AccessGrant(pub access_grant::Model);

/// A role in a partnership given to one person: an invitation until it is redeemed, then bound
/// to the issuer and subject of the person's sign-in. No e-mail address is kept.
#[Object]
impl AccessGrant {
    /// Global id (Relay).
    async fn id(&self) -> ID {
        global_id("AccessGrant", self.0.id)
    }
    async fn role(&self) -> Role {
        role_of(&self.0)
    }
    async fn status(&self) -> GrantStatus {
        status(&self.0)
    }
    /// A school lead's school; null for other roles, and while the caller may not see it.
    async fn school(&self, ctx: &Context<'_>) -> Result<Option<School>> {
        let Some(id) = self.0.school_id else { return Ok(None) };
        Ok(load_one::<SchoolLoader, _>(ctx, SchoolById(id)).await?.map(School))
    }
    /// A trust lead's trust; null for other roles, and while the caller may not see it.
    async fn trust(&self, ctx: &Context<'_>) -> Result<Option<Trust>> {
        let Some(id) = self.0.trust_id else { return Ok(None) };
        Ok(load_one::<TrustLoader, _>(ctx, TrustById(id)).await?.map(Trust))
    }
    /// The identity provider (`iss`) the grant is bound to; null until redeemed.
    async fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }
    /// The person's subject id at that provider (`sub`); null until redeemed.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The person's display name from their sign-in; null until redeemed or when none was given.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.to_utc()
    }
    /// The subject of the admin who made the invitation.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When an unredeemed invitation stops working.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(|t| t.to_utc())
    }
    async fn redeemed_at(&self) -> Option<DateTime<Utc>> {
        self.0.redeemed_at.map(|t| t.to_utc())
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.map(|t| t.to_utc())
    }
}

/// A new invitation, with its one-time code.
#[derive(SimpleObject)]
pub struct Invitation {
    /// Give this to the invitee, who redeems it once signed in. It is shown only here.
    pub code: String,
    pub grant: AccessGrant,
}

/// Who to invite, to what.
#[derive(InputObject)]
pub struct CreateInvitationInput {
    pub role: Role,
    /// The school of a school lead (its URN); must be a member of your partnership.
    pub school_urn: Option<i32>,
    /// The trust of a trust lead; must run schools of your partnership (or be one you created).
    pub trust: Option<ID>,
    /// Days until the invitation expires unredeemed (1 to 30, default 7).
    pub expires_in_days: Option<i32>,
}

#[derive(Default)]
pub struct GrantQuery;

#[Object]
impl GrantQuery {
    /// Your partnership's access grants and open invitations, newest first (at most 100 a
    /// page). City admins only.
    #[graphql(
        guard = "RoleGuard(&[Role::CityAdmin])",
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn grants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] include_revoked: bool,
    ) -> Result<Connection<String, AccessGrant>> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let page = Page::new(first, after.as_deref()).extend()?;
        let (rows, more) = ctx.data::<GrantService>()?.page(actor, include_revoked, &page).await.extend()?;
        let mut conn = Connection::new(page.after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|g| Edge::new(cursor_of(&g).encode(), AccessGrant(g))));
        Ok(conn)
    }
}

#[derive(Default)]
pub struct GrantMutation;

#[Object]
impl GrantMutation {
    /// Invites someone to a role in your partnership. City admins only. The answer holds the
    /// one-time code to pass on; it is stored only as a hash.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn create_invitation(&self, ctx: &Context<'_>, input: CreateInvitationInput) -> Result<Invitation> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let trust = input.trust.as_ref().map(|id| ids::parse(id, "Trust")).transpose().extend()?;
        let new = NewInvitation {
            role: input.role,
            school_urn: input.school_urn,
            trust,
            expires_in_days: input.expires_in_days.map(i64::from),
        };
        let (grant, code) = ctx.data::<GrantService>()?.invite(actor, new).await.extend()?;
        Ok(Invitation { code, grant: AccessGrant(grant) })
    }

    /// Redeems an invitation: binds its role to the person signed in through their identity
    /// provider, who acts with it from the next request on. Needs a token from a configured
    /// OpenID Connect issuer; the code works once.
    async fn redeem_invitation(&self, ctx: &Context<'_>, code: String) -> Result<AccessGrant> {
        let identity = match ctx.data::<Viewer>()? {
            Viewer::Unbound(identity) => identity,
            Viewer::Anonymous => {
                return Err(ApiError::Unauthenticated("sign in with your identity provider first").into_gql());
            }
            Viewer::Signed(_) => {
                return Err(ApiError::Conflict(
                    "you act with a grant or a service token already: only a person without a grant redeems an invitation"
                        .into(),
                )
                .into_gql());
            }
        };
        ctx.data::<GrantService>()?.redeem(identity, &code).await.map(AccessGrant).extend()
    }

    /// Revokes a grant of your partnership, or cancels an open invitation. It stops working on
    /// the holder's next request, and their open WebSocket connections close. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn revoke_grant(&self, ctx: &Context<'_>, id: ID) -> Result<AccessGrant> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&id, "AccessGrant").extend()?;
        ctx.data::<GrantService>()?.revoke(actor, id).await.map(AccessGrant).extend()
    }
}
