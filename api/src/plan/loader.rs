//! Batched loads of journeys' actions and of actions' histories.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{improvement_action as action, improvement_action_event as action_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    certification::loader::{JourneyLoader, group},
    error::ApiError,
};

/// Key: a journey's actions, soonest due first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionsOf(pub Uuid);

/// Key: an action's history (its changes and comments), oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionHistoryOf(pub Uuid);

impl Loader<ActionsOf> for JourneyLoader {
    type Value = Vec<action::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[ActionsOf]) -> Result<HashMap<ActionsOf, Self::Value>, ApiError> {
        let rows = action::Entity::find()
            .filter(action::Column::CertificationId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(action::Column::DueOn)
            .order_by_asc(action::Column::CreatedAt)
            .order_by_asc(action::Column::Id)
            .all(&self.db)
            .await?;
        Ok(group(rows.into_iter().map(|a| (ActionsOf(a.certification_id), a))))
    }
}

impl Loader<ActionHistoryOf> for JourneyLoader {
    type Value = Vec<action_event::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[ActionHistoryOf],
    ) -> Result<HashMap<ActionHistoryOf, Self::Value>, ApiError> {
        let rows = action_event::Entity::find()
            .filter(action_event::Column::ActionId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(action_event::Column::At)
            .order_by_asc(action_event::Column::Id)
            .all(&self.db)
            .await?;
        Ok(group(rows.into_iter().map(|e| (ActionHistoryOf(e.action_id), e))))
    }
}
