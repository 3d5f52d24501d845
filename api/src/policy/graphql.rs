//! STUB: to be written (AiPolicy type, School.aiPolicy, recordAiPolicy).

use async_graphql::{Context, Object, Result};
use chrono::NaiveDate;
use entity::school;

pub struct AiPolicy;

#[Object]
impl AiPolicy {
    async fn stub(&self) -> bool {
        false
    }
}

/// The AI policy view of `school` as of `as_of` (today when None).
pub async fn ai_policy_of(
    _ctx: &Context<'_>,
    _school: &school::Model,
    _as_of: Option<NaiveDate>,
) -> Result<AiPolicy> {
    Ok(AiPolicy)
}

#[derive(Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    async fn record_ai_policy_stub(&self) -> bool {
        false
    }
}
