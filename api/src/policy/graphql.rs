//! The AiPolicy type, `School.aiPolicy` and `recordAiPolicy`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{ai_policy, school};
use uuid::Uuid;

use super::{
    PolicyService,
    loader::{PolicyLoader, PolicyOf},
    service::{
        DEFAULT_INTERVAL_MONTHS, PolicyRecord, PolicyRole, PolicyStatus, RoleEntry, Schedule,
        roles_from_json, status,
    },
};
use crate::{
    access::{self, Reach, RoleGuard},
    auth::{Role, Viewer},
    error::{ApiError, Extend},
    loaders::load_one,
    scalars::Date,
};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A school's AI policy as of a date. Everyone who sees the school sees its status; the
/// record behind it is for those who read the school in full (its own leads, its trust, its
/// mentor school, the city admins): other callers get FORBIDDEN for those fields.
pub struct AiPolicy {
    school: Uuid,
    record: Option<ai_policy::Model>,
    as_of: NaiveDate,
}

impl AiPolicy {
    /// The record as of `as_of` (none before adoption), for callers who read the school in full.
    async fn full(&self, ctx: &Context<'_>) -> Result<Option<&ai_policy::Model>> {
        if access::reach(ctx, self.school).await? != Reach::Full {
            return Err(ApiError::Forbidden("read this school's AI policy record: you see its status only")
                .into_gql());
        }
        Ok(self.record.as_ref().filter(|r| Schedule::from(*r).adopted_by(self.as_of)))
    }
}

#[Object]
impl AiPolicy {
    /// Where the policy stands on the date asked for: MISSING, CURRENT, REVIEW_DUE (within 30
    /// days) or OVERDUE.
    async fn status(&self) -> PolicyStatus {
        status(self.record.as_ref(), self.as_of)
    }
    /// When the school adopted the policy; null while it is MISSING.
    async fn adopted_on(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        Ok(self.full(ctx).await?.map(|r| Date(r.adopted_on)))
    }
    /// The last review on or before the date asked for; null when there has been none since
    /// adoption, or while the policy is MISSING.
    async fn last_reviewed_on(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        Ok(self.full(ctx).await?.and_then(|r| Schedule::from(r).last_review(self.as_of)).map(Date))
    }
    /// How many months after adoption or the last review the next review falls due; null while
    /// the policy is MISSING.
    async fn review_interval_months(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.full(ctx).await?.map(|r| r.review_interval_months))
    }
    /// When the next review is due, as of the date asked for; null while the policy is MISSING.
    async fn next_review_due(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        Ok(self.full(ctx).await?.and_then(|r| Schedule::from(r).next_review_due(self.as_of)).map(Date))
    }
    /// Every role the model policy names, in its order, filled or not; null while the policy
    /// is MISSING.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Option<Vec<PolicyRoleRecord>>> {
        Ok(self
            .full(ctx)
            .await?
            .map(|r| roles_from_json(&r.roles).into_iter().map(PolicyRoleRecord::from).collect()))
    }
    /// When the record was last written; null while the policy is MISSING.
    async fn updated_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.full(ctx).await?.map(|r| r.updated_at.to_utc()))
    }
}

/// One role the model policy names, and whether the school has someone in it.
#[derive(SimpleObject)]
pub struct PolicyRoleRecord {
    pub role: PolicyRole,
    /// Whether someone holds the role.
    pub filled: bool,
    /// The holder's job title, e.g. "Deputy head" (never a person's name); null when not given.
    pub title: Option<String>,
}

impl From<RoleEntry> for PolicyRoleRecord {
    fn from(e: RoleEntry) -> Self {
        Self { role: e.role, filled: e.filled, title: e.title }
    }
}

/// The AI policy view of `school` as of `as_of` (today when None).
pub async fn ai_policy_of(
    ctx: &Context<'_>,
    school: &school::Model,
    as_of: Option<NaiveDate>,
) -> Result<AiPolicy> {
    let record = load_one::<PolicyLoader, _>(ctx, PolicyOf(school.id)).await?;
    Ok(AiPolicy { school: school.id, record, as_of: as_of.unwrap_or_else(today) })
}

/// One role of a policy to record.
#[derive(InputObject)]
pub struct PolicyRoleInput {
    pub role: PolicyRole,
    /// Whether someone holds the role.
    pub filled: bool,
    /// The holder's job title, at most 100 characters; not a person's name. Blank means none.
    pub title: Option<String>,
}

/// A school's whole AI policy record; it replaces the one recorded before.
#[derive(InputObject)]
pub struct RecordAiPolicyInput {
    /// When the school adopted the policy; not after today.
    pub adopted_on: Date,
    /// When it was last reviewed: on or after adoption, not after today. Leave out when it has
    /// not been reviewed since adoption.
    pub last_reviewed_on: Option<Date>,
    /// Months from adoption or the last review to the next review: 1 to 36.
    #[graphql(default_with = "DEFAULT_INTERVAL_MONTHS")]
    pub review_interval_months: i32,
    /// The roles the school has filled or named, each at most once; roles left out are
    /// recorded as unfilled.
    pub roles: Option<Vec<PolicyRoleInput>>,
}

impl From<RecordAiPolicyInput> for PolicyRecord {
    fn from(input: RecordAiPolicyInput) -> Self {
        Self {
            adopted_on: input.adopted_on.0,
            last_reviewed_on: input.last_reviewed_on.map(|d| d.0),
            review_interval_months: input.review_interval_months,
            roles: input
                .roles
                .unwrap_or_default()
                .into_iter()
                .map(|r| RoleEntry { role: r.role, filled: r.filled, title: r.title })
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    /// Records a school's AI policy, replacing any earlier record, and returns it as of today.
    /// School leads record their own school's, trust leads their trust's schools', city admins
    /// those of any school in their partnership.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin, Role::TrustLead, Role::SchoolLead])")]
    async fn record_ai_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The school's six-digit URN.")] urn: i32,
        input: RecordAiPolicyInput,
    ) -> Result<AiPolicy> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let today = today();
        let row = ctx.data::<PolicyService>()?.record(actor, urn, input.into(), today).await.extend()?;
        Ok(AiPolicy { school: row.school_id, record: Some(row), as_of: today })
    }
}
