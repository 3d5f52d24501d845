//! The MentorshipPairing type and its mutations.

use std::sync::Arc;

use crate::scalars::Date;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{certification, mentorship_pairing as pairing};

use super::{MentorshipService, service::NewPairing, view};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    certification::{
        Certification, CertificationStage,
        graphql::AreaProgress,
        journey::today,
        loader::{EvidenceOf, HistoryOf, JourneyLoader, JourneysOfSchool, RatingsOf},
    },
    cohort::{
        Cohort,
        loader::{CohortById, CohortLoader},
    },
    comparison::percent,
    error::{ApiError, Extend},
    framework::{
        FrameworkData,
        graphql::{FrameworkArea, framework_by_id},
    },
    ids::{self, global_id},
    loaders::load_one,
    partnership::loader::{PartnershipById, PartnershipLoader},
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
    /// The mentee's certification progress on `asOf` (default today): stage, days in it,
    /// self-assessment by area, evidence, what blocks a submission and the last activity.
    /// Only the mentor school's lead (while the pairing is active) and the partnership's city
    /// admins may read it: for everyone else it is null, with a FORBIDDEN error.
    async fn progress(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<Option<MenteeProgress>> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        view::may_read(actor, &self.0).extend()?;
        mentee_progress(ctx, &self.0, as_of.map_or_else(today, |d| d.0)).await.map(Some)
    }
}

/// Loads what the mentor view needs through the request's loaders (one batch per kind of
/// row for all pairings of the query) and works the view out.
async fn mentee_progress(ctx: &Context<'_>, p: &pairing::Model, as_of: NaiveDate) -> Result<MenteeProgress> {
    let (partnership, journeys) = futures::try_join!(
        load_one::<PartnershipLoader, _>(ctx, PartnershipById(p.partnership_id)),
        load_one::<JourneyLoader, _>(ctx, JourneysOfSchool(p.mentee_school_id)),
    )?;
    let framework = partnership.and_then(|p| p.default_framework);
    let journeys = journeys.unwrap_or_default();
    let journey = framework.as_deref().and_then(|slug| view::current_journey(&journeys, slug, as_of));
    let Some(journey) = journey.cloned() else {
        let view = view::not_enrolled(framework.as_deref());
        return Ok(MenteeProgress { view, journey: None, data: None, as_of });
    };
    let id = journey.id;
    let (data, history, ratings, evidence) = futures::try_join!(
        framework_by_id(ctx, journey.framework_id),
        load_one::<JourneyLoader, _>(ctx, HistoryOf(id)),
        load_one::<JourneyLoader, _>(ctx, RatingsOf(id)),
        load_one::<JourneyLoader, _>(ctx, EvidenceOf(id)),
    )?;
    let view = view::progress(
        &journey,
        &history.unwrap_or_default(),
        &ratings.unwrap_or_default(),
        &evidence.unwrap_or_default(),
        &data,
        as_of,
    );
    Ok(MenteeProgress { view, journey: Some(journey), data: Some(data), as_of })
}

pub struct MenteeProgress {
    view: view::MenteeProgress,
    journey: Option<certification::Model>,
    data: Option<Arc<FrameworkData>>,
    as_of: NaiveDate,
}

/// A mentee's certification progress on one date, as its mentor follows it.
#[Object]
impl MenteeProgress {
    /// The mentee's journey in the partnership's framework: the newest one started by
    /// `asOf`. Null when the mentee had not enrolled by then.
    async fn certification(&self) -> Option<Certification> {
        self.journey.clone().map(Certification)
    }
    /// The mentee's planned actions still open after their due date on `asOf`: where a
    /// mentor's help is overdue too.
    async fn overdue_actions(&self, ctx: &Context<'_>) -> Result<i32> {
        match &self.journey {
            Some(j) => Ok(crate::plan::graphql::counts(ctx, j.id, self.as_of).await?.overdue),
            None => Ok(0),
        }
    }
    /// Whether the mentee had enrolled in the partnership's framework by `asOf`.
    async fn enrolled(&self) -> bool {
        self.journey.is_some()
    }
    /// The stage on `asOf`, from the journey's history: CERTIFIED reads EXPIRED after the
    /// expiry date. Null when not enrolled.
    async fn stage(&self) -> Option<CertificationStage> {
        self.view.stage
    }
    /// The day the journey entered that stage; null when not enrolled.
    async fn stage_since(&self) -> Option<Date> {
        self.view.since.map(Date)
    }
    /// Days from the last stage change on or before `asOf` to `asOf`; null when not enrolled.
    async fn days_in_stage(&self) -> Option<i64> {
        self.view.days_in_stage
    }
    /// Self-assessment progress per area at the target level, from the ratings and evidence
    /// recorded by `asOf`; empty when not enrolled.
    async fn areas(&self) -> Vec<AreaProgress> {
        let (Some(assessment), Some(data)) = (&self.view.assessment, &self.data) else { return Vec::new() };
        assessment
            .areas
            .iter()
            .filter_map(|p| {
                Some(AreaProgress {
                    area: FrameworkArea(data.area(p.area)?.clone(), data.clone()),
                    total: p.total as i32,
                    rated: p.rated as i32,
                    not_yet: p.not_yet as i32,
                    evidence_count: p.evidence as i32,
                    percent_complete: percent(p.rated, p.total),
                })
            })
            .collect()
    }
    /// Share of the target level's criteria rated by `asOf`, 0 to 100; 0 when not enrolled.
    async fn percent_complete(&self) -> f64 {
        self.view.assessment.as_ref().map_or(0.0, |a| percent(a.rated(), a.total()))
    }
    /// Evidence items of the journey added by `asOf`.
    async fn evidence_count(&self) -> i32 {
        self.view.evidence_count as i32
    }
    /// What stops the mentee submitting now, in words: what the self-assessment still misses
    /// while drafting, the review it waits for once submitted, what to do when returned.
    /// Empty when nothing does (ready to submit, or certified).
    async fn blockers(&self) -> &[String] {
        &self.view.blockers
    }
    /// The latest stage change, rating or evidence item of the journey on or before `asOf`;
    /// null when there is none.
    async fn last_activity(&self) -> Option<DateTime<Utc>> {
        self.view.last_activity.map(|t| t.to_utc())
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
