//! Batched loads of the credentials of journeys (one per certified journey).

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::credential;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{certification::loader::JourneyLoader, error::ApiError};

/// Key: a journey's credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CredentialOf(pub Uuid);

impl Loader<CredentialOf> for JourneyLoader {
    type Value = credential::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[CredentialOf]) -> Result<HashMap<CredentialOf, Self::Value>, ApiError> {
        let rows = credential::Entity::find()
            .filter(credential::Column::CertificationId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|c| (CredentialOf(c.certification_id), c)).collect())
    }
}
