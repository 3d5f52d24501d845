use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{local_authority, partnership, partnership_school};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::ApiError;

/// Key: one partnership by id (reached from a row the viewer may see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartnershipById(pub Uuid);

/// Key: the partnerships one school belongs to, of those the viewer may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartnershipsOfSchool(pub Uuid);

/// Key: one local authority by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalAuthorityById(pub Uuid);

pub struct PartnershipLoader {
    pub db: DatabaseConnection,
    pub partnerships: Vec<Uuid>,
}

impl Loader<PartnershipById> for PartnershipLoader {
    type Value = partnership::Model;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[PartnershipById],
    ) -> Result<HashMap<PartnershipById, Self::Value>, Self::Error> {
        let rows = partnership::Entity::find()
            .filter(partnership::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (PartnershipById(r.id), r)).collect())
    }
}

impl Loader<PartnershipsOfSchool> for PartnershipLoader {
    type Value = Vec<partnership::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[PartnershipsOfSchool],
    ) -> Result<HashMap<PartnershipsOfSchool, Self::Value>, Self::Error> {
        let rows = partnership_school::Entity::find()
            .find_also_related(partnership::Entity)
            .filter(partnership_school::Column::SchoolId.is_in(keys.iter().map(|k| k.0)))
            .filter(partnership_school::Column::PartnershipId.is_in(self.partnerships.clone()))
            .order_by_asc(partnership::Column::StartsOn)
            .all(&self.db)
            .await?;
        let mut out: HashMap<_, Vec<_>> = HashMap::new();
        for (link, p) in rows {
            if let Some(p) = p {
                out.entry(PartnershipsOfSchool(link.school_id)).or_default().push(p);
            }
        }
        Ok(out)
    }
}

impl Loader<LocalAuthorityById> for PartnershipLoader {
    type Value = local_authority::Model;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[LocalAuthorityById],
    ) -> Result<HashMap<LocalAuthorityById, Self::Value>, Self::Error> {
        let rows = local_authority::Entity::find()
            .filter(local_authority::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (LocalAuthorityById(r.id), r)).collect())
    }
}
