use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::trust;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiError;

/// Key: one trust by id (reached from a school the viewer may see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrustById(pub Uuid);

pub struct TrustLoader {
    pub db: DatabaseConnection,
}

impl Loader<TrustById> for TrustLoader {
    type Value = trust::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[TrustById]) -> Result<HashMap<TrustById, Self::Value>, Self::Error> {
        let rows = trust::Entity::find()
            .filter(trust::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (TrustById(r.id), r)).collect())
    }
}
