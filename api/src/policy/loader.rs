use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::ai_policy;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiError;

/// Key: the AI policy record of one school (reached from a school the viewer may see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PolicyOf(pub Uuid);

/// Loads the records of every school in a batch with one statement.
pub struct PolicyLoader {
    pub db: DatabaseConnection,
}

impl Loader<PolicyOf> for PolicyLoader {
    type Value = ai_policy::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[PolicyOf]) -> Result<HashMap<PolicyOf, Self::Value>, Self::Error> {
        let rows = ai_policy::Entity::find()
            .filter(ai_policy::Column::SchoolId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (PolicyOf(r.school_id), r)).collect())
    }
}
