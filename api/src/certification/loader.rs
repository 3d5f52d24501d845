//! Batched loads of journeys and everything hanging off them.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{
    certification, certification_event as event, evidence, evidence_criterion, rating, review, school,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{error::ApiError, school::service::visible};

/// Key: a school's journeys, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JourneysOfSchool(pub Uuid);

/// Key: one journey (whose school the viewer sees).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JourneyById(pub Uuid);

/// Key: a journey's ratings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RatingsOf(pub Uuid);

/// Key: a journey's evidence items, oldest first, each with the criteria it is linked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EvidenceOf(pub Uuid);

/// Key: a journey's stage changes, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub Uuid);

/// Key: a journey's reviews, by round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReviewsOf(pub Uuid);

#[derive(Clone, Debug)]
pub struct EvidenceItem {
    pub item: evidence::Model,
    pub criteria: Vec<Uuid>,
}

impl EvidenceItem {
    pub fn links(items: &[Self]) -> Vec<evidence_criterion::Model> {
        items
            .iter()
            .flat_map(|e| {
                e.criteria
                    .iter()
                    .map(|c| evidence_criterion::Model { evidence_id: e.item.id, criterion_id: *c })
            })
            .collect()
    }
}

pub struct JourneyLoader {
    pub db: DatabaseConnection,
    pub partnerships: Vec<Uuid>,
}

/// Rows grouped by key, in their order.
pub(crate) fn group<K: std::hash::Hash + Eq, V>(
    rows: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        out.entry(k).or_default().push(v);
    }
    out
}

fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| id(*k)).collect()
}

impl Loader<JourneysOfSchool> for JourneyLoader {
    type Value = Vec<certification::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[JourneysOfSchool],
    ) -> Result<HashMap<JourneysOfSchool, Self::Value>, ApiError> {
        let rows = certification::Entity::find()
            .filter(certification::Column::SchoolId.is_in(ids(keys, |k| k.0)))
            .order_by_desc(certification::Column::EnrolledAt)
            .order_by_asc(certification::Column::Id)
            .all(&self.db)
            .await?;
        Ok(group(rows.into_iter().map(|r| (JourneysOfSchool(r.school_id), r))))
    }
}

impl Loader<JourneyById> for JourneyLoader {
    type Value = certification::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[JourneyById]) -> Result<HashMap<JourneyById, Self::Value>, ApiError> {
        let rows = certification::Entity::find()
            .inner_join(school::Entity)
            .filter(certification::Column::Id.is_in(ids(keys, |k| k.0)))
            .filter(visible(&self.partnerships))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (JourneyById(r.id), r)).collect())
    }
}

impl Loader<RatingsOf> for JourneyLoader {
    type Value = Vec<rating::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[RatingsOf]) -> Result<HashMap<RatingsOf, Self::Value>, ApiError> {
        let rows = rating::Entity::find()
            .filter(rating::Column::CertificationId.is_in(ids(keys, |k| k.0)))
            .all(&self.db)
            .await?;
        Ok(group(rows.into_iter().map(|r| (RatingsOf(r.certification_id), r))))
    }
}

impl Loader<EvidenceOf> for JourneyLoader {
    type Value = Vec<EvidenceItem>;
    type Error = ApiError;

    async fn load(&self, keys: &[EvidenceOf]) -> Result<HashMap<EvidenceOf, Self::Value>, ApiError> {
        let items = evidence::Entity::find()
            .filter(evidence::Column::CertificationId.is_in(ids(keys, |k| k.0)))
            .order_by_asc(evidence::Column::AddedAt)
            .order_by_asc(evidence::Column::Id)
            .all(&self.db)
            .await?;
        let mut links = group(
            evidence_criterion::Entity::find()
                .filter(evidence_criterion::Column::EvidenceId.is_in(items.iter().map(|e| e.id)))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|l| (l.evidence_id, l.criterion_id)),
        );
        Ok(group(items.into_iter().map(|item| {
            let criteria = links.remove(&item.id).unwrap_or_default();
            (EvidenceOf(item.certification_id), EvidenceItem { item, criteria })
        })))
    }
}

impl Loader<HistoryOf> for JourneyLoader {
    type Value = Vec<event::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[HistoryOf]) -> Result<HashMap<HistoryOf, Self::Value>, ApiError> {
        let rows = event::Entity::find()
            .filter(event::Column::CertificationId.is_in(ids(keys, |k| k.0)))
            .order_by_asc(event::Column::Version)
            .all(&self.db)
            .await?;
        Ok(group(rows.into_iter().map(|r| (HistoryOf(r.certification_id), r))))
    }
}

impl Loader<ReviewsOf> for JourneyLoader {
    type Value = Vec<review::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[ReviewsOf]) -> Result<HashMap<ReviewsOf, Self::Value>, ApiError> {
        let rows = review::Entity::find()
            .filter(review::Column::CertificationId.is_in(ids(keys, |k| k.0)))
            .order_by_asc(review::Column::Round)
            .all(&self.db)
            .await?;
        Ok(group(rows.into_iter().map(|r| (ReviewsOf(r.certification_id), r))))
    }
}
