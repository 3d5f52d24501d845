//! The Certification type (a journey), its drafts, reviews and certificate; the journey
//! queries and mutations.

use std::sync::Arc;

use async_graphql::{
    Context, ID, InputObject, Object, Result, SimpleObject, Subscription,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{certification, certification_event as event, rating};
use futures::Stream;

use super::{
    CertificationService, CertificationStage, EvidenceKind, SelfRating, Stage,
    journey::{stage_on, today},
    loader::{EvidenceItem, EvidenceOf, HistoryOf, JourneyById, JourneyLoader, RatingsOf, ReviewsOf},
    service::{NewEvidence, NewRating, assess},
};
use crate::{
    access::{RoleGuard, SignedIn, require_full},
    auth::{Role, Viewer},
    certificate::{
        CertificateView,
        graphql::{Certificate, Credential},
        loader::CredentialOf,
    },
    comparison::percent,
    error::{ApiError, Extend},
    events::{self, EventBus, StageEvent},
    framework::{
        Framework, FrameworkData,
        graphql::{Criterion, FrameworkArea, FrameworkLevel, framework_by_id},
    },
    ids::{self, global_id},
    loaders::load_one,
    review::Review,
    scalars::Date,
    school::{School, SchoolService, graphql::school_by_id},
};

/// A school's journey through one framework version.
#[derive(Clone)]
pub struct Certification(pub certification::Model);

impl Certification {
    fn submitted(&self) -> bool {
        self.0.submitted_at.is_some()
    }

    async fn full(&self, ctx: &Context<'_>) -> Result<()> {
        require_full(ctx, self.0.school_id, self.submitted()).await
    }

    async fn data(&self, ctx: &Context<'_>) -> Result<Arc<FrameworkData>> {
        framework_by_id(ctx, self.0.framework_id).await
    }
}

fn date_or_today(date: Option<Date>) -> NaiveDate {
    date.map_or_else(today, |d| d.0)
}

#[Object]
impl Certification {
    pub async fn id(&self) -> ID {
        global_id("Certification", self.0.id)
    }
    async fn school(&self, ctx: &Context<'_>) -> Result<School> {
        school_by_id(ctx, self.0.school_id).await
    }
    /// The framework version the journey started on.
    async fn framework(&self, ctx: &Context<'_>) -> Result<Framework> {
        self.data(ctx).await.map(Framework)
    }
    async fn target_level(&self, ctx: &Context<'_>) -> Result<Option<FrameworkLevel>> {
        Ok(self.data(ctx).await?.level(self.0.target_level_id).cloned().map(FrameworkLevel))
    }
    /// The stage on `asOf` (default today): CERTIFIED reads EXPIRED after the expiry date.
    async fn stage(&self, as_of: Option<Date>) -> CertificationStage {
        stage_on(&self.0, date_or_today(as_of))
    }
    /// Counts stage changes; pass it back as `expectedVersion` to make sure nobody moved the
    /// journey since you read it.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn enrolled_at(&self) -> DateTime<Utc> {
        self.0.enrolled_at.to_utc()
    }
    /// When the journey entered its current stage.
    async fn stage_since(&self) -> DateTime<Utc> {
        self.0.stage_changed_at.to_utc()
    }
    /// The latest submission; null before the first.
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at.map(|t| t.to_utc())
    }
    /// The certified journey this one renews; null for a first certification.
    async fn renewal_of(&self, ctx: &Context<'_>) -> Result<Option<Certification>> {
        let Some(id) = self.0.renewal_of else { return Ok(None) };
        Ok(load_one::<JourneyLoader, _>(ctx, JourneyById(id)).await?.map(Certification))
    }
    /// The certificate awarded; null until the journey is certified. Still shown after expiry
    /// and revocation.
    async fn certificate(&self, ctx: &Context<'_>) -> Result<Option<Certificate>> {
        let (Some(number), Some(level), Some(awarded_on), Some(expires_on)) = (
            self.0.certificate_number.clone(),
            self.0.awarded_level_id,
            self.0.awarded_on,
            self.0.expires_on,
        ) else {
            return Ok(None);
        };
        let (data, school, credential) = futures::try_join!(
            self.data(ctx),
            school_by_id(ctx, self.0.school_id),
            load_one::<JourneyLoader, _>(ctx, CredentialOf(self.0.id)),
        )?;
        let level = data.level(level);
        Ok(Some(Certificate(CertificateView {
            number,
            school_name: school.0.name,
            urn: school.0.urn,
            framework_name: data.framework.name.clone(),
            level_name: level.map(|l| l.name.clone()).unwrap_or_default(),
            level_rank: level.map_or(0, |l| l.rank),
            level_count: data.levels.len() as i32,
            awarded_on,
            expires_on,
            revoked_on: (Stage::from_db(&self.0.stage) == Stage::Revoked)
                .then(|| self.0.stage_changed_at.date_naive()),
            credential: credential.map(|c| c.id),
        })))
    }
    /// The school's action plan, soonest due first. For those who read the school in full
    /// (its leads, its trust, its mentor school, the city admins).
    async fn actions(&self, ctx: &Context<'_>) -> Result<Vec<crate::plan::graphql::Action>> {
        let j = &self.0;
        crate::plan::graphql::actions(ctx, j.id, j.framework_id, j.school_id, self.submitted()).await
    }
    /// How many actions the plan holds by status, and how many are overdue on `asOf` (default
    /// today): all that partners and other readers of the journey see of it.
    async fn action_counts(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> Result<crate::plan::graphql::ActionCounts> {
        crate::plan::graphql::counts(ctx, self.0.id, date_or_today(as_of)).await
    }
    /// The award's signed Open Badges 3.0 credential; null until the journey is certified.
    async fn credential(&self, ctx: &Context<'_>) -> Result<Option<Credential>> {
        Ok(load_one::<JourneyLoader, _>(ctx, CredentialOf(self.0.id)).await?.map(Credential))
    }
    /// Every stage change, oldest first. Drafts: for those who read the school in full.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<StageChange>> {
        self.full(ctx).await?;
        let rows = load_one::<JourneyLoader, _>(ctx, HistoryOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(StageChange).collect())
    }
    /// Ratings and progress at the target level, and what still blocks a submission.
    async fn self_assessment(&self, ctx: &Context<'_>) -> Result<SelfAssessment> {
        self.full(ctx).await?;
        let (data, ratings, evidence) = futures::try_join!(
            self.data(ctx),
            load_one::<JourneyLoader, _>(ctx, RatingsOf(self.0.id)),
            load_one::<JourneyLoader, _>(ctx, EvidenceOf(self.0.id)),
        )?;
        Ok(SelfAssessment {
            journey: self.0.clone(),
            data,
            ratings: ratings.unwrap_or_default(),
            evidence: evidence.unwrap_or_default(),
        })
    }
    /// Evidence items, oldest first.
    async fn evidence(&self, ctx: &Context<'_>) -> Result<Vec<Evidence>> {
        self.full(ctx).await?;
        let (data, items) =
            futures::try_join!(self.data(ctx), load_one::<JourneyLoader, _>(ctx, EvidenceOf(self.0.id)))?;
        Ok(items.unwrap_or_default().into_iter().map(|e| Evidence(e, data.clone())).collect())
    }
    /// Reviews, first round first.
    async fn reviews(&self, ctx: &Context<'_>) -> Result<Vec<Review>> {
        self.full(ctx).await?;
        let (data, rows) =
            futures::try_join!(self.data(ctx), load_one::<JourneyLoader, _>(ctx, ReviewsOf(self.0.id)))?;
        Ok(rows.unwrap_or_default().into_iter().map(|r| Review(r, data.clone())).collect())
    }
    /// The latest review; null before an assessor claims the journey.
    async fn review(&self, ctx: &Context<'_>) -> Result<Option<Review>> {
        Ok(self.reviews(ctx).await?.pop())
    }
}

/// One change of stage: who, when, from what to what, and why.
pub struct StageChange(pub event::Model);

#[Object]
impl StageChange {
    /// Null for the enrolment that started the journey.
    async fn from(&self) -> Option<CertificationStage> {
        self.0.from_stage.as_deref().map(Stage::from_db)
    }
    async fn to(&self) -> CertificationStage {
        Stage::from_db(&self.0.to_stage)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at.to_utc()
    }
    /// The journey's version after this change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Who made the change: the token's display name, or its subject when it has none.
    async fn by(&self) -> &str {
        self.0.actor_name.as_deref().unwrap_or(&self.0.actor_subject)
    }
    async fn role(&self) -> Option<Role> {
        self.0.actor_role.parse().ok()
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
}

/// The self-assessment of a journey at its target level.
pub struct SelfAssessment {
    journey: certification::Model,
    data: Arc<FrameworkData>,
    ratings: Vec<rating::Model>,
    evidence: Vec<EvidenceItem>,
}

impl SelfAssessment {
    fn assessment(&self) -> super::service::Assessment {
        assess(&self.data, self.journey.target_level_id, &self.ratings, &EvidenceItem::links(&self.evidence))
    }
}

#[Object]
impl SelfAssessment {
    /// The ratings given, in the framework's order.
    async fn ratings(&self) -> Vec<CriterionRating> {
        self.data
            .criteria_at(self.journey.target_level_id)
            .filter_map(|c| {
                let r = self.ratings.iter().find(|r| r.criterion_id == c.id)?;
                Some(CriterionRating(r.clone(), Criterion(c.clone(), self.data.clone())))
            })
            .collect()
    }
    /// Progress per area (areas with criteria at the target level).
    async fn by_area(&self) -> Vec<AreaProgress> {
        self.assessment()
            .areas
            .into_iter()
            .filter_map(|p| {
                let area = self.data.area(p.area)?.clone();
                Some(AreaProgress {
                    area: FrameworkArea(area, self.data.clone()),
                    total: p.total as i32,
                    rated: p.rated as i32,
                    not_yet: p.not_yet as i32,
                    evidence_count: p.evidence as i32,
                    percent_complete: percent(p.rated, p.total),
                })
            })
            .collect()
    }
    /// Criteria to rate at the target level.
    async fn total(&self) -> i32 {
        self.assessment().total() as i32
    }
    async fn rated(&self) -> i32 {
        self.assessment().rated() as i32
    }
    /// Share of the criteria rated, 0 to 100.
    async fn percent_complete(&self) -> f64 {
        let a = self.assessment();
        percent(a.rated(), a.total())
    }
    /// DOMAIN.md's rule: all rated, none NOT_YET, evidence for every area.
    async fn ready_to_submit(&self) -> bool {
        self.assessment().missing.is_empty()
    }
    /// What still blocks a submission, in words; empty when ready.
    async fn missing(&self) -> Vec<String> {
        self.assessment().missing
    }
}

#[derive(SimpleObject)]
pub struct AreaProgress {
    pub area: FrameworkArea,
    pub total: i32,
    pub rated: i32,
    pub not_yet: i32,
    /// Evidence items linked to this area's criteria.
    pub evidence_count: i32,
    /// Share of the area's criteria rated, 0 to 100.
    pub percent_complete: f64,
}

/// A school's rating of itself against one criterion.
pub struct CriterionRating(rating::Model, Criterion);

#[Object]
impl CriterionRating {
    async fn criterion(&self) -> &Criterion {
        &self.1
    }
    async fn rating(&self) -> SelfRating {
        SelfRating::from_db(&self.0.rating)
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn rated_at(&self) -> DateTime<Utc> {
        self.0.rated_at.to_utc()
    }
}

/// Evidence: a link or a description, never a file, and never personal data.
pub struct Evidence(pub EvidenceItem, pub Arc<FrameworkData>);

#[Object]
impl Evidence {
    async fn id(&self) -> ID {
        global_id("Evidence", self.0.item.id)
    }
    async fn kind(&self) -> EvidenceKind {
        EvidenceKind::from_db(&self.0.item.kind)
    }
    async fn title(&self) -> &str {
        &self.0.item.title
    }
    async fn url(&self) -> Option<&str> {
        self.0.item.url.as_deref()
    }
    async fn text(&self) -> Option<&str> {
        self.0.item.body.as_deref()
    }
    /// The school declared the item holds no personal data (always true: required to add it).
    async fn no_personal_data(&self) -> bool {
        self.0.item.no_personal_data
    }
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.item.added_at.to_utc()
    }
    async fn criteria(&self) -> Vec<Criterion> {
        self.1
            .criteria
            .iter()
            .filter(|c| self.0.criteria.contains(&c.id))
            .map(|c| Criterion(c.clone(), self.1.clone()))
            .collect()
    }
}

/// A page of journeys.
pub type CertificationConnection = Connection<String, Certification, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct CertificationQuery;

#[Object]
impl CertificationQuery {
    /// One journey; NOT_FOUND when its school is not one the caller sees.
    #[graphql(guard = "SignedIn")]
    async fn certification(&self, ctx: &Context<'_>, id: ID) -> Result<Certification> {
        let id = ids::parse(&id, "Certification").extend()?;
        let viewer = ctx.data::<Viewer>()?;
        ctx.data::<CertificationService>()?.by_id(viewer, id).await.map(Certification).extend()
    }
}

#[derive(InputObject)]
pub struct EnrolInput {
    /// Your school's URN.
    pub urn: i32,
    /// The framework's slug, e.g. `aied-certified`; the latest version is used.
    pub framework: String,
    /// The key of the level aimed at, e.g. `PRACTITIONER`.
    pub target_level: String,
}

#[derive(InputObject)]
pub struct RatingInput {
    /// The criterion's code, e.g. `LIT-P-STA`.
    pub criterion: String,
    pub rating: SelfRating,
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct EvidenceInput {
    pub kind: EvidenceKind,
    pub title: String,
    /// An http(s) link; required unless the kind is DESCRIPTION.
    pub url: Option<String>,
    /// The description (DESCRIPTION) or a note on the link.
    pub text: Option<String>,
    /// Codes of the criteria it supports (at the journey's target level).
    pub criteria: Vec<String>,
    /// Must be true: the item holds no personal data (no pupil data, no staff names).
    pub no_personal_data: bool,
}

#[derive(Default)]
pub struct CertificationMutation;

fn journey_id(id: &ID) -> Result<uuid::Uuid> {
    ids::parse(id, "Certification").extend()
}

#[Object]
impl CertificationMutation {
    /// Enrols your school in a framework at a target level. Enrolling again after a
    /// certificate starts a renewal. School leads, for their own school.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn enrol(&self, ctx: &Context<'_>, input: EnrolInput) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<CertificationService>()?;
        service
            .enrol(actor, input.urn, &input.framework, &input.target_level)
            .await
            .map(Certification)
            .extend()
    }

    /// Records ratings (insert or replace), all in one transaction. School leads.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn rate_criteria(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        ratings: Vec<RatingInput>,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let ratings = ratings
            .into_iter()
            .map(|r| NewRating { criterion: r.criterion, rating: r.rating, note: r.note })
            .collect();
        let service = ctx.data::<CertificationService>()?;
        service.rate(actor, journey_id(&certification)?, ratings).await.map(Certification).extend()
    }

    /// Adds an evidence item linked to criteria. School leads.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn add_evidence(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        input: EvidenceInput,
    ) -> Result<Evidence> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let new = NewEvidence {
            kind: input.kind,
            title: input.title,
            url: input.url,
            text: input.text,
            criteria: input.criteria,
            no_personal_data: input.no_personal_data,
        };
        let service = ctx.data::<CertificationService>()?;
        let (item, criteria) =
            service.add_evidence(actor, journey_id(&certification)?, new).await.extend()?;
        let data = framework_by_id(ctx, certification_framework(ctx, item.certification_id).await?).await?;
        Ok(Evidence(EvidenceItem { item, criteria }, data))
    }

    /// Removes an evidence item while the school is still drafting. School leads.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn remove_evidence(&self, ctx: &Context<'_>, evidence: ID) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&evidence, "Evidence").extend()?;
        ctx.data::<CertificationService>()?.remove_evidence(actor, id).await.map(Certification).extend()
    }

    /// Moves the journey to SELF_ASSESSING or GATHERING_EVIDENCE (from ENROLLED, from each
    /// other, from a SUBMITTED journey not yet claimed, or from RETURNED). School leads.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn move_to(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        stage: CertificationStage,
        expected_version: Option<i32>,
        comment: Option<String>,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<CertificationService>()?;
        let id = journey_id(&certification)?;
        service.move_to(actor, id, stage, expected_version, comment).await.map(Certification).extend()
    }

    /// Submits for review; NOT_READY (with `extensions.missing`) until the rules hold.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn submit_certification(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        expected_version: Option<i32>,
        comment: Option<String>,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<CertificationService>()?;
        let id = journey_id(&certification)?;
        service.submit(actor, id, expected_version, comment).await.map(Certification).extend()
    }

    /// Withdraws a journey that is not certified. School leads.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn withdraw_certification(
        &self,
        ctx: &Context<'_>,
        certification: ID,
        expected_version: Option<i32>,
        comment: Option<String>,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<CertificationService>()?;
        let id = journey_id(&certification)?;
        service.withdraw(actor, id, expected_version, comment).await.map(Certification).extend()
    }
}

async fn certification_framework(ctx: &Context<'_>, id: uuid::Uuid) -> Result<uuid::Uuid> {
    load_one::<JourneyLoader, _>(ctx, JourneyById(id))
        .await?
        .map(|j| j.framework_id)
        .ok_or_else(|| ApiError::NotFound("certification".into()).into_gql())
}

pub struct CertificationEvent(pub StageEvent);

/// A change of stage of one of a school's journeys, sent to `certificationEvents` subscribers.
#[Object]
impl CertificationEvent {
    /// The journey as it is now, which may be past this change if it moved again since.
    async fn certification(&self, ctx: &Context<'_>) -> Result<Certification> {
        load_one::<JourneyLoader, _>(ctx, JourneyById(self.0.certification_id))
            .await?
            .map(Certification)
            .ok_or_else(|| ApiError::NotFound("certification".into()).into_gql())
    }
    async fn school(&self, ctx: &Context<'_>) -> Result<School> {
        school_by_id(ctx, self.0.school_id).await
    }
    /// The stage before; null for the enrolment that started the journey.
    async fn from(&self) -> Option<CertificationStage> {
        self.0.from.as_deref().map(Stage::from_db)
    }
    async fn to(&self) -> CertificationStage {
        Stage::from_db(&self.0.to)
    }
    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at.to_utc()
    }
    /// The journey's version after this change.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Default)]
pub struct CertificationSubscription;

#[Subscription]
impl CertificationSubscription {
    /// Every stage change of the journeys of the school with this URN, from now on. Signed-in
    /// callers who see the school; NOT_FOUND for a URN they do not see.
    #[graphql(guard = "SignedIn")]
    async fn certification_events(
        &self,
        ctx: &Context<'_>,
        school: i32,
    ) -> Result<impl Stream<Item = CertificationEvent> + use<>> {
        // Receive before looking the school up: a change committed after this line is not
        // missed, however long the lookup takes.
        let received = ctx.data::<EventBus>()?.subscribe();
        let viewer = ctx.data::<Viewer>()?;
        let school = ctx.data::<SchoolService>()?.by_urn(viewer, school).await.extend()?;
        let stream = events::of_school(received, school.id, viewer.partnerships().to_vec());
        Ok(futures::StreamExt::map(stream, CertificationEvent))
    }
}
