use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{FrameworkData, service::known};
use crate::error::ApiError;

/// Key: one framework version with its parts. Frameworks are public: no scope applies, and
/// versions never change, so they come from the process-wide cache after their first load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameworkById(pub Uuid);

pub struct FrameworkLoader {
    pub db: DatabaseConnection,
}

impl Loader<FrameworkById> for FrameworkLoader {
    type Value = Arc<FrameworkData>;
    type Error = ApiError;

    async fn load(&self, keys: &[FrameworkById]) -> Result<HashMap<FrameworkById, Self::Value>, Self::Error> {
        let rows = known(&self.db, keys.iter().map(|k| k.0).collect()).await?;
        Ok(rows.into_iter().map(|d| (FrameworkById(d.framework.id), d)).collect())
    }
}
