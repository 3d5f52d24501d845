//! sea-orm entities, one module per table, in the shape `sea-orm-cli generate entity` writes
//! from the migrated database (`migration/`). Regenerate rather than edit by hand:
//!
//! ```sh
//! cargo run -p api -- migrate && sea-orm-cli generate entity -u sqlite://partnership.db -o entity/src --lib
//! ```

pub mod prelude;

pub mod cohort;
pub mod cohort_school;
pub mod local_authority;
pub mod mentorship_pairing;
pub mod partnership;
pub mod partnership_school;
pub mod school;
pub mod trust;
