//! The MentorshipPairing type and its mutations.

use crate::scalars::Date;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use entity::mentorship_pairing as pairing;

use super::{MentorshipService, service::NewPairing};
use crate::{
    auth::{Role, RoleGuard, Viewer},
    cohort::{
        Cohort,
        loader::{CohortById, CohortLoader},
    },
    error::{ApiError, Extend},
    ids::{self, global_id},
    loaders::load_one,
    school::{School, graphql::school_by_id},
};

/// Whether a pairing is still running.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairingStatus {
    Active,
    Ended,
}

pub struct MentorshipPairing(pub pairing::Model);

/// A mentor school supporting a mentee school of a later cohort.
#[Object]
impl MentorshipPairing {
    /// Global id (Relay).
    pub async fn id(&self) -> ID {
        global_id("MentorshipPairing", self.0.id)
    }
    async fn mentor(&self, ctx: &Context<'_>) -> Result<School> {
        school_by_id(ctx, self.0.mentor_school_id).await
    }
    async fn mentee(&self, ctx: &Context<'_>) -> Result<School> {
        school_by_id(ctx, self.0.mentee_school_id).await
    }
    /// The mentee's cohort.
    async fn cohort(&self, ctx: &Context<'_>) -> Result<Cohort> {
        load_one::<CohortLoader, _>(ctx, CohortById(self.0.cohort_id))
            .await?
            .map(Cohort)
            .ok_or_else(|| ApiError::NotFound("cohort".into()).into_gql())
    }
    async fn started_on(&self) -> Date {
        self.0.started_on.into()
    }
    /// When the pairing ended; null while it is active.
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Date)
    }
    async fn status(&self) -> PairingStatus {
        if self.0.ended_on.is_some() { PairingStatus::Ended } else { PairingStatus::Active }
    }
}

/// A mentorship pairing to create.
#[derive(InputObject)]
pub struct CreateMentorshipPairingInput {
    /// URN of the mentor school: of an earlier cohort than the mentee.
    pub mentor_urn: i32,
    /// URN of the mentee school: in a cohort, with no active mentor.
    pub mentee_urn: i32,
    /// Defaults to today.
    pub started_on: Option<Date>,
}

#[derive(Default)]
pub struct MentorshipMutation;

#[Object]
impl MentorshipMutation {
    /// Pairs a mentor school with a mentee school. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn create_mentorship_pairing(
        &self,
        ctx: &Context<'_>,
        input: CreateMentorshipPairingInput,
    ) -> Result<MentorshipPairing> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let new = NewPairing {
            mentor_urn: input.mentor_urn,
            mentee_urn: input.mentee_urn,
            started_on: input.started_on.map(|d| d.0).unwrap_or_else(|| chrono::Utc::now().date_naive()),
        };
        ctx.data::<MentorshipService>()?.create(actor, new).await.map(MentorshipPairing).extend()
    }

    /// Ends a pairing (it is kept, with its end date). City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn end_mentorship_pairing(
        &self,
        ctx: &Context<'_>,
        id: ID,
        ended_on: Option<Date>,
    ) -> Result<MentorshipPairing> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&id, "MentorshipPairing").extend()?;
        let ended_on = ended_on.map(|d| d.0).unwrap_or_else(|| chrono::Utc::now().date_naive());
        ctx.data::<MentorshipService>()?.end(actor, id, ended_on).await.map(MentorshipPairing).extend()
    }
}
