use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::mentorship_pairing as pairing;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::ApiError;

/// Key: the pairings in which a school mentors, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PairingsOfMentor(pub Uuid);

/// Key: the pairings in which a school is mentored, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PairingsOfMentee(pub Uuid);

pub struct PairingLoader {
    pub db: DatabaseConnection,
    pub partnerships: Vec<Uuid>,
}

impl PairingLoader {
    async fn by(&self, column: pairing::Column, schools: Vec<Uuid>) -> Result<Vec<pairing::Model>, ApiError> {
        Ok(pairing::Entity::find()
            .filter(column.is_in(schools))
            .filter(pairing::Column::PartnershipId.is_in(self.partnerships.clone()))
            .order_by_desc(pairing::Column::StartedOn)
            .order_by_asc(pairing::Column::Id)
            .all(&self.db)
            .await?)
    }
}

impl Loader<PairingsOfMentor> for PairingLoader {
    type Value = Vec<pairing::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[PairingsOfMentor],
    ) -> Result<HashMap<PairingsOfMentor, Self::Value>, Self::Error> {
        let mut out: HashMap<_, Vec<_>> = HashMap::new();
        for p in self.by(pairing::Column::MentorSchoolId, keys.iter().map(|k| k.0).collect()).await? {
            out.entry(PairingsOfMentor(p.mentor_school_id)).or_default().push(p);
        }
        Ok(out)
    }
}

impl Loader<PairingsOfMentee> for PairingLoader {
    type Value = Vec<pairing::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[PairingsOfMentee],
    ) -> Result<HashMap<PairingsOfMentee, Self::Value>, Self::Error> {
        let mut out: HashMap<_, Vec<_>> = HashMap::new();
        for p in self.by(pairing::Column::MenteeSchoolId, keys.iter().map(|k| k.0).collect()).await? {
            out.entry(PairingsOfMentee(p.mentee_school_id)).or_default().push(p);
        }
        Ok(out)
    }
}
