//! Each school's AI policy record (DOMAIN.md, "AI policy") and its status as of a date.

pub mod graphql;
pub mod loader;
pub mod service;

pub use graphql::AiPolicy;
pub use service::PolicyService;
