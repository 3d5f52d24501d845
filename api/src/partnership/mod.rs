//! Partnerships (the goal, its deadline, its schools) and local authorities.

pub mod cli;
pub mod goals;
pub mod graphql;
pub mod loader;
pub mod service;

pub use graphql::{LocalAuthority, Partnership};
pub use service::PartnershipService;
