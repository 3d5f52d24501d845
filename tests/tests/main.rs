//! One test binary (see STYLE.md): every module below runs against SQLite, and against
//! PostgreSQL when TEST_DATABASE_URL is set.

mod auth;
mod certification;
mod conformance;
mod cors;
mod cost;
mod grants;
mod hardening;
mod http;
mod import;
mod mentor_view;
mod metrics;
mod mutations;
mod n_plus_one;
mod oidc;
mod partnerships;
mod policy;
mod progress;
mod registry;
mod schema;
mod seed;
mod shutdown;
mod subscriptions;
mod tenancy;
mod walkthrough;
