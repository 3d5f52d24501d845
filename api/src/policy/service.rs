//! STUB: recording AI policies and deriving their status.

use sea_orm::DatabaseConnection;

#[derive(Clone, Debug)]
pub struct PolicyService {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl PolicyService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
