//! Bulk import of schools and trusts from a GIAS extract ("all establishment data" CSV).

pub mod gias;
pub mod graphql;
pub mod links;
pub mod service;
pub mod succession;

pub use service::{Extract, ImportReport, ImportService};
