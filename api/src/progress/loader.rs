use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::{partnership, partnership_goal};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::service::{self, Facts, Filter, Slice};
use crate::error::ApiError;

/// Key: the facts of one partnership's schools (the caller already sees the partnership).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FactsOf(pub Uuid);

/// Reads partnerships' facts. Several waves of one query may ask for the same partnership's:
/// the operation's cache (see `loaders`) answers all but the first.
pub struct ProgressLoader {
    pub db: DatabaseConnection,
}

impl Loader<FactsOf> for ProgressLoader {
    type Value = Arc<Facts>;
    type Error = ApiError;

    async fn load(&self, keys: &[FactsOf]) -> Result<HashMap<FactsOf, Arc<Facts>>, ApiError> {
        // The partnerships with their goals in one statement, oldest goal first.
        let rows = partnership::Entity::find()
            .filter(partnership::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .find_with_related(partnership_goal::Entity)
            .order_by_asc(partnership_goal::Column::InForceFrom)
            .order_by_asc(partnership_goal::Column::SetAt)
            .all(&self.db)
            .await?;
        // One partnership per request in practice; each costs a fixed number of statements.
        let mut out = HashMap::new();
        for (p, goals) in rows {
            let facts = service::load(&self.db, &p, Some(goals), Slice::All(Filter::default())).await?;
            out.insert(FactsOf(p.id), Arc::new(facts));
        }
        Ok(out)
    }
}
