//! The Action type with its history, the counts everyone who sees a journey may read, and
//! `addAction`, `updateAction`, `commentOnAction`.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{improvement_action as action, improvement_action_event as action_event};
use uuid::Uuid;

use super::{
    ActionOwner, ActionStatus, PlanService,
    loader::{ActionHistoryOf, ActionsOf},
    overdue,
    service::{ActionPatch, NewAction},
};
use crate::{
    access::{RoleGuard, require_full},
    auth::{Role, Viewer},
    certification::{journey::today, loader::JourneyLoader},
    error::{ApiError, Extend},
    framework::{
        FrameworkData,
        graphql::{Criterion, FrameworkArea, framework_by_id},
    },
    ids::{self, global_id},
    loaders::load_one,
    scalars::Date,
};

/// One planned improvement of a school, in one area of its framework.
pub struct Action(pub action::Model, pub Arc<FrameworkData>);

#[Object(name = "ImprovementAction")]
impl Action {
    async fn id(&self) -> ID {
        global_id("ImprovementAction", self.0.id)
    }
    async fn area(&self) -> Option<FrameworkArea> {
        self.1.area(self.0.area_id).cloned().map(|a| FrameworkArea(a, self.1.clone()))
    }
    /// The criteria of the area it works towards, if it names any.
    async fn criteria(&self) -> Vec<Criterion> {
        let ids: Vec<Uuid> = serde_json::from_value(self.0.criteria.clone()).unwrap_or_default();
        self.1
            .criteria
            .iter()
            .filter(|c| ids.contains(&c.id))
            .map(|c| Criterion(c.clone(), self.1.clone()))
            .collect()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Who in the school owns it: a role, never a person.
    async fn owner(&self) -> ActionOwner {
        ActionOwner::from_db(&self.0.owner)
    }
    async fn due_on(&self) -> Date {
        Date(self.0.due_on)
    }
    async fn status(&self) -> ActionStatus {
        ActionStatus::from_db(&self.0.status)
    }
    /// Still open after its due date, on `asOf` (default today).
    async fn overdue(&self, as_of: Option<Date>) -> bool {
        overdue(&self.0, as_of.map_or_else(today, |d| d.0))
    }
    /// Counts changes; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.to_utc()
    }
    /// Its changes and comments, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<ActionEvent>> {
        let rows = load_one::<JourneyLoader, _>(ctx, ActionHistoryOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(ActionEvent).collect())
    }
}

/// How an action's history entry came about.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionEventKind {
    Created,
    Status,
    Edited,
    Commented,
}

/// One entry of an action's history: who, when, what changed, and what they said.
pub struct ActionEvent(pub action_event::Model);

#[Object(name = "ImprovementActionEvent")]
impl ActionEvent {
    async fn kind(&self) -> ActionEventKind {
        match self.0.kind.as_str() {
            "CREATED" => ActionEventKind::Created,
            "STATUS" => ActionEventKind::Status,
            "COMMENTED" => ActionEventKind::Commented,
            _ => ActionEventKind::Edited,
        }
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at.to_utc()
    }
    /// Display name, or the token's subject.
    async fn by(&self) -> &str {
        self.0.actor_name.as_deref().unwrap_or(&self.0.actor_subject)
    }
    /// The role of whoever made it, as in the token.
    async fn role(&self) -> Option<Role> {
        self.0.actor_role.parse().ok()
    }
    async fn from_status(&self) -> Option<ActionStatus> {
        self.0.from_status.as_deref().map(ActionStatus::from_db)
    }
    async fn to_status(&self) -> Option<ActionStatus> {
        self.0.to_status.as_deref().map(ActionStatus::from_db)
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
}

/// How many actions a journey has, by status: what partners and anyone else who sees the
/// journey may read of its plan.
#[derive(SimpleObject, Default)]
pub struct ActionCounts {
    pub planned: i32,
    pub in_progress: i32,
    pub done: i32,
    pub dropped: i32,
    /// Open and past their due date on `asOf`.
    pub overdue: i32,
}

/// The actions of journey `id` (the caller must read the school in full).
pub async fn actions(
    ctx: &Context<'_>,
    journey: Uuid,
    framework: Uuid,
    school: Uuid,
    submitted: bool,
) -> Result<Vec<Action>> {
    require_full(ctx, school, submitted).await?;
    let (data, rows) = futures::try_join!(
        framework_by_id(ctx, framework),
        load_one::<JourneyLoader, _>(ctx, ActionsOf(journey))
    )?;
    Ok(rows.unwrap_or_default().into_iter().map(|a| Action(a, data.clone())).collect())
}

/// The counts of journey `id`'s actions by status, and overdue on `as_of`.
pub async fn counts(ctx: &Context<'_>, journey: Uuid, as_of: NaiveDate) -> Result<ActionCounts> {
    let rows = load_one::<JourneyLoader, _>(ctx, ActionsOf(journey)).await?.unwrap_or_default();
    let mut c = ActionCounts::default();
    for a in &rows {
        match ActionStatus::from_db(&a.status) {
            ActionStatus::Planned => c.planned += 1,
            ActionStatus::InProgress => c.in_progress += 1,
            ActionStatus::Done => c.done += 1,
            ActionStatus::Dropped => c.dropped += 1,
        }
        c.overdue += i32::from(overdue(a, as_of));
    }
    Ok(c)
}

#[derive(InputObject)]
pub struct ActionInput {
    /// The area's key.
    pub area: String,
    /// Criterion codes of that area it works towards.
    #[graphql(default)]
    pub criteria: Vec<String>,
    pub title: String,
    pub owner: ActionOwner,
    pub due_on: Date,
}

#[derive(InputObject, Default)]
pub struct ActionPatchInput {
    pub title: Option<String>,
    pub owner: Option<ActionOwner>,
    pub due_on: Option<Date>,
    pub status: Option<ActionStatus>,
    /// Replaces the criteria (codes of the action's area).
    pub criteria: Option<Vec<String>>,
    /// Why, kept in the history.
    pub note: Option<String>,
}

#[derive(Default)]
pub struct PlanMutation;

async fn answer(ctx: &Context<'_>, row: action::Model) -> Result<Action> {
    let journey =
        load_one::<JourneyLoader, _>(ctx, crate::certification::loader::JourneyById(row.certification_id))
            .await?
            .ok_or_else(|| ApiError::NotFound("certification".into()).into_gql())?;
    let data = framework_by_id(ctx, journey.framework_id).await?;
    Ok(Action(row, data))
}

#[Object]
impl PlanMutation {
    /// Adds an action to a journey's plan. School leads, for their own school.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn add_action(&self, ctx: &Context<'_>, certification: ID, input: ActionInput) -> Result<Action> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let journey = ids::parse(&certification, "Certification").extend()?;
        let new = NewAction {
            area: input.area,
            criteria: input.criteria,
            title: input.title,
            owner: input.owner,
            due_on: input.due_on.0,
        };
        let row = ctx.data::<PlanService>()?.add(actor, journey, new).await.extend()?;
        answer(ctx, row).await
    }

    /// Changes an action (its status, due date, title, owner or criteria). School leads.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead])")]
    async fn update_action(
        &self,
        ctx: &Context<'_>,
        action: ID,
        input: ActionPatchInput,
        expected_version: Option<i32>,
    ) -> Result<Action> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&action, "ImprovementAction").extend()?;
        let patch = ActionPatch {
            title: input.title,
            owner: input.owner,
            due_on: input.due_on.map(|d| d.0),
            status: input.status,
            criteria: input.criteria,
            note: input.note,
        };
        let row = ctx.data::<PlanService>()?.update(actor, id, patch, expected_version).await.extend()?;
        answer(ctx, row).await
    }

    /// Comments on an action. The school's lead, its mentor school's lead, the city admins.
    #[graphql(guard = "RoleGuard(&[Role::SchoolLead, Role::CityAdmin])")]
    async fn comment_on_action(&self, ctx: &Context<'_>, action: ID, comment: String) -> Result<Action> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let id = ids::parse(&action, "ImprovementAction").extend()?;
        let row = ctx.data::<PlanService>()?.comment(actor, id, &comment).await.extend()?;
        answer(ctx, row).await
    }
}
