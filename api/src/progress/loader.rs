use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::{partnership, partnership_goal};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{
    cache::FactsCache,
    service::{self, Facts, Slice},
};
use crate::error::ApiError;

/// Key: the facts of one partnership's schools (the caller already sees the partnership).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FactsOf(pub Uuid);

/// Reads partnerships' facts. Several waves of one query may ask for the same partnership's:
/// the operation's cache (see `loaders`) answers all but the first. A query's loader also reads
/// and keeps them in the facts shared by every query (`cache`).
pub struct ProgressLoader {
    pub db: DatabaseConnection,
    /// The shared facts; None for a mutation or subscription, which read fresh rows.
    pub cache: Option<FactsCache>,
}

impl Loader<FactsOf> for ProgressLoader {
    type Value = Arc<Facts>;
    type Error = ApiError;

    async fn load(&self, keys: &[FactsOf]) -> Result<HashMap<FactsOf, Arc<Facts>>, ApiError> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for key in keys {
            match self.cache.as_ref().and_then(|c| c.get(key.0)) {
                Some(facts) => _ = out.insert(*key, facts),
                None => missing.push(key.0),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let generation = self.cache.as_ref().map(FactsCache::generation);
        // The partnerships with their goals in one statement, oldest goal first.
        let rows = partnership::Entity::find()
            .filter(partnership::Column::Id.is_in(missing))
            .find_with_related(partnership_goal::Entity)
            .order_by_asc(partnership_goal::Column::InForceFrom)
            .order_by_asc(partnership_goal::Column::SetAt)
            .all(&self.db)
            .await?;
        // One partnership per request in practice; each costs a fixed number of statements.
        for (p, goals) in rows {
            let facts = service::load(&self.db, &p, Some(goals), Slice::All).await?;
            let facts = Arc::new(facts);
            if let (Some(cache), Some(generation)) = (&self.cache, generation) {
                cache.put(generation, facts.clone());
            }
            out.insert(FactsOf(p.id), facts);
        }
        Ok(out)
    }
}
