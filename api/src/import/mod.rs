//! Bulk import of schools and trusts from a GIAS extract ("all establishment data" CSV).

pub mod decide;
pub mod gias;
pub mod graphql;
pub mod links;
pub mod report;
pub mod service;
pub mod succession;

pub use report::ImportReport;
pub use service::{Extract, ImportService};
