//! Bulk import of schools and trusts from a GIAS extract ("all establishment data" CSV).

pub mod gias;
pub mod graphql;
pub mod links;
pub mod service;

pub use service::{ImportReport, ImportService};
