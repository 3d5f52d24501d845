//! One test binary (see STYLE.md): every module below runs against SQLite, and against
//! PostgreSQL when TEST_DATABASE_URL is set.

mod auth;
mod certification;
mod conformance;
mod cors;
mod cost;
mod grants;
mod hardening;
mod hostile;
mod http;
mod import;
mod introspection;
mod mentor_view;
mod metrics;
mod mutations;
mod n_plus_one;
mod oidc;
mod partnerships;
mod plans;
mod policy;
mod progress;
mod rate_limits;
mod registry;
mod schema;
mod schema_walk;
mod school_order;
mod seed;
mod settings;
mod shutdown;
mod spec;
mod subscriptions;
mod tenancy;
mod token_cache;
mod walkthrough;
mod ws_batching;
mod ws_limits;
