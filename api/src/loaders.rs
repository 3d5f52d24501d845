//! Fresh DataLoaders for each request, so a batch never mixes two callers' scopes.

use async_graphql::{Request, dataloader::DataLoader};
use sea_orm::DatabaseConnection;

use crate::{
    auth::Viewer, cohort::loader::CohortLoader, mentorship::loader::PairingLoader,
    partnership::loader::PartnershipLoader, school::loader::SchoolLoader, trust::loader::TrustLoader,
};

pub fn attach(req: Request, db: &DatabaseConnection, viewer: &Viewer) -> Request {
    let partnerships = viewer.partnerships().to_vec();
    let db = || db.clone();
    req.data(DataLoader::new(SchoolLoader { db: db(), partnerships: partnerships.clone() }, tokio::spawn))
        .data(DataLoader::new(TrustLoader { db: db() }, tokio::spawn))
        .data(DataLoader::new(CohortLoader { db: db(), partnerships: partnerships.clone() }, tokio::spawn))
        .data(DataLoader::new(PairingLoader { db: db(), partnerships: partnerships.clone() }, tokio::spawn))
        .data(DataLoader::new(PartnershipLoader { db: db(), partnerships }, tokio::spawn))
}
