//! The Review type (one round of expert review), the assessor's queue and the decisions.

use std::sync::Arc;

use async_graphql::{
    Context, ID, InputObject, Object, Result, SimpleObject,
    connection::{Connection, Edge},
};
use chrono::{DateTime, Utc};
use entity::review;

use super::{
    ReviewOutcome, ReviewService,
    service::{AreaFeedback, Decision},
};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    certification::{Certification, graphql::CertificationConnection},
    error::Extend,
    framework::{
        FrameworkData,
        graphql::{FrameworkArea, FrameworkLevel},
    },
    ids::{self, Cursor, Page},
    scalars::Date,
};

/// One round of expert review.
pub struct Review(pub review::Model, pub Arc<FrameworkData>);

#[Object]
impl Review {
    /// 1 for the first review, 2 after one resubmission, ...
    async fn round(&self) -> i32 {
        self.0.round
    }
    /// The assessor: display name, or the token's subject.
    async fn reviewer(&self) -> &str {
        self.0.reviewer_name.as_deref().unwrap_or(&self.0.reviewer_subject)
    }
    async fn claimed_at(&self) -> DateTime<Utc> {
        self.0.claimed_at.to_utc()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at.map(|t| t.to_utc())
    }
    /// Null while the review is open.
    async fn outcome(&self) -> Option<ReviewOutcome> {
        match self.0.outcome.as_deref() {
            Some("CERTIFIED") => Some(ReviewOutcome::Certified),
            Some("RETURNED") => Some(ReviewOutcome::Returned),
            _ => None,
        }
    }
    /// The level awarded, when certified.
    async fn level(&self) -> Option<FrameworkLevel> {
        self.1.level(self.0.awarded_level_id?).cloned().map(FrameworkLevel)
    }
    async fn feedback(&self) -> Option<&str> {
        self.0.feedback.as_deref()
    }
    async fn area_feedback(&self) -> Vec<AreaFeedbackItem> {
        let items: Vec<AreaFeedback> =
            self.0.area_feedback.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
        items
            .into_iter()
            .filter_map(|f| {
                let area = self.1.area_by_key(&f.area)?.clone();
                Some(AreaFeedbackItem { area: FrameworkArea(area, self.1.clone()), feedback: f.feedback })
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct AreaFeedbackItem {
    pub area: FrameworkArea,
    pub feedback: String,
}

#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    /// Submitted journeys of the assessor's partnership, longest waiting first; with
    /// `includeClaimed`, those under review too. Assessors only.
    #[graphql(
        guard = "RoleGuard(&[Role::Assessor])",
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn review_queue(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] include_claimed: bool,
    ) -> Result<CertificationConnection> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let page = Page::new(first, after.as_deref()).extend()?;
        let (rows, more) =
            ctx.data::<ReviewService>()?.queue(actor, &page, include_claimed).await.extend()?;
        let mut conn = Connection::new(page.after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|j| {
            let cursor = Cursor {
                name: j.submitted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                tie: j.id.to_string(),
            };
            Edge::new(cursor.encode(), Certification(j))
        }));
        Ok(conn)
    }
}

#[derive(InputObject)]
pub struct AreaFeedbackInput {
    /// The area's key.
    pub area: String,
    pub feedback: String,
}

#[derive(InputObject)]
pub struct DecisionInput {
    pub outcome: ReviewOutcome,
    /// The level awarded (a level key), at most the target; required for CERTIFIED.
    pub level: Option<String>,
    /// Overall feedback; required for RETURNED.
    pub feedback: Option<String>,
    #[graphql(default)]
    pub area_feedback: Vec<AreaFeedbackInput>,
    /// The award date (default today); not before the submission, not after today.
    pub awarded_on: Option<Date>,
}

#[derive(Default)]
pub struct ReviewMutation;

fn journey_id(id: &ID) -> Result<uuid::Uuid> {
    ids::parse(id, "Certification").extend()
}

#[Object]
impl ReviewMutation {
    /// Picks up a submitted journey for review (UNDER_REVIEW). Assessors.
    #[graphql(guard = "RoleGuard(&[Role::Assessor])")]
    async fn claim_review(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        expected_version: Option<i32>,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<ReviewService>()?;
        service.claim(actor, journey_id(&certification)?, expected_version).await.map(Certification).extend()
    }

    /// Certifies at a level or returns with feedback. The assessor who claimed the review.
    #[graphql(guard = "RoleGuard(&[Role::Assessor])")]
    async fn decide_review(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        input: DecisionInput,
        expected_version: Option<i32>,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let decision = Decision {
            outcome: input.outcome,
            level: input.level,
            feedback: input.feedback,
            area_feedback: input.area_feedback.into_iter().map(|f| (f.area, f.feedback)).collect(),
            awarded_on: input.awarded_on.map(|d| d.0),
        };
        let service = ctx.data::<ReviewService>()?;
        let id = journey_id(&certification)?;
        service.decide(actor, id, decision, expected_version).await.map(Certification).extend()
    }
}
