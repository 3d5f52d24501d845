//! Progress toward the partnership's goal: counts by stage, certified and expired schools,
//! on track or not, the projection, schools at risk, the burn-up over time and the CSV export
//! (DOMAIN.md, "Progress").

pub mod cache;
pub mod export;
pub mod graphql;
pub mod loader;
mod read;
mod school;
pub mod service;

pub use cache::FactsCache;
pub use graphql::Progress;
