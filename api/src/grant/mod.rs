//! Access grants: a person's role and scope in a partnership, given by its city admin as a
//! one-time invitation and bound, when redeemed, to the issuer and subject of the person's
//! identity provider.

pub mod cli;
pub mod graphql;
pub mod service;

pub use service::GrantService;
