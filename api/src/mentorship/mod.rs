//! Mentorship pairings: a school of an earlier cohort supports one of a later cohort.

pub mod graphql;
pub mod loader;
pub mod service;
pub mod view;

pub use graphql::MentorshipPairing;
pub use service::MentorshipService;
