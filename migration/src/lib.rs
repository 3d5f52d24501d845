//! Schema migrations, written by hand and additive. Each runs on SQLite and PostgreSQL.
//!
//! Table and column names are frozen inside each migration rather than taken from `entity`,
//! so renaming a field in code can never rewrite history.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_registry;
mod m20261122_000002_create_cohorts_and_pairings;
mod m20261122_000003_create_certification;
mod m20261122_000004_add_risk_thresholds;
mod m20261203_000005_sealed_partnerships;
mod m20261204_000006_credentials;
mod m20261204_000007_action_plans;
mod m20261204_000008_register_over_time;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_registry::Migration),
            Box::new(m20261122_000002_create_cohorts_and_pairings::Migration),
            Box::new(m20261122_000003_create_certification::Migration),
            Box::new(m20261122_000004_add_risk_thresholds::Migration),
            Box::new(m20261203_000005_sealed_partnerships::Migration),
            Box::new(m20261204_000006_credentials::Migration),
            Box::new(m20261204_000007_action_plans::Migration),
            Box::new(m20261204_000008_register_over_time::Migration),
        ]
    }
}
