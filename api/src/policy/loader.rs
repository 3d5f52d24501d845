//! STUB: batched loads of AI policy records by school id.

use sea_orm::DatabaseConnection;

pub struct PolicyLoader {
    pub db: DatabaseConnection,
}
