//! Trusts (multi-academy trusts), identified by their GIAS group UID.

pub mod graphql;
pub mod loader;
pub mod service;

pub use graphql::Trust;
pub use service::TrustService;
