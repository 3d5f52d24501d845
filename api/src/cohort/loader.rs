use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{cohort, cohort_school};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::ApiError;

/// Key: one cohort by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CohortById(pub Uuid);

/// Key: every cohort of one partnership, by ordinal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CohortsOfPartnership(pub Uuid);

/// Key: the cohorts one school is in (one per partnership), of partnerships the viewer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CohortsOfSchool(pub Uuid);

pub struct CohortLoader {
    pub db: DatabaseConnection,
    pub partnerships: Vec<Uuid>,
}

impl Loader<CohortById> for CohortLoader {
    type Value = cohort::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[CohortById]) -> Result<HashMap<CohortById, Self::Value>, Self::Error> {
        let rows = cohort::Entity::find()
            .filter(cohort::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .filter(cohort::Column::PartnershipId.is_in(self.partnerships.clone()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (CohortById(r.id), r)).collect())
    }
}

impl Loader<CohortsOfPartnership> for CohortLoader {
    type Value = Vec<cohort::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[CohortsOfPartnership],
    ) -> Result<HashMap<CohortsOfPartnership, Self::Value>, Self::Error> {
        let rows = cohort::Entity::find()
            .filter(cohort::Column::PartnershipId.is_in(keys.iter().map(|k| k.0)))
            .filter(cohort::Column::PartnershipId.is_in(self.partnerships.clone()))
            .order_by_asc(cohort::Column::Ordinal)
            .all(&self.db)
            .await?;
        let mut out: HashMap<_, Vec<_>> = HashMap::new();
        for r in rows {
            out.entry(CohortsOfPartnership(r.partnership_id)).or_default().push(r);
        }
        Ok(out)
    }
}

impl Loader<CohortsOfSchool> for CohortLoader {
    type Value = Vec<cohort::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[CohortsOfSchool],
    ) -> Result<HashMap<CohortsOfSchool, Self::Value>, Self::Error> {
        let rows = cohort_school::Entity::find()
            .find_also_related(cohort::Entity)
            .filter(cohort_school::Column::SchoolId.is_in(keys.iter().map(|k| k.0)))
            .filter(cohort_school::Column::PartnershipId.is_in(self.partnerships.clone()))
            .filter(cohort_school::Column::LeftOn.is_null())
            .order_by_asc(cohort::Column::StartsOn)
            .all(&self.db)
            .await?;
        let mut out: HashMap<_, Vec<_>> = HashMap::new();
        for (link, c) in rows {
            if let Some(c) = c {
                out.entry(CohortsOfSchool(link.school_id)).or_default().push(c);
            }
        }
        Ok(out)
    }
}
