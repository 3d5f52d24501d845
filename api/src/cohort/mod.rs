//! Cohorts: the schools of a partnership that start their journey together.

pub mod graphql;
pub mod loader;
pub mod service;

pub use graphql::Cohort;
pub use service::CohortService;
