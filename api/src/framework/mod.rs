//! Frameworks: areas, ordered levels, stakeholder groups and criteria, loaded from files and
//! kept version by version (a journey stays on the version it started on).

pub mod file;
pub mod graphql;
pub mod loader;
pub mod service;

pub use file::FrameworkFile;
pub use graphql::Framework;
pub use service::{FrameworkData, FrameworkService};
