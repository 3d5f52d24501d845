//! sea-orm entities, one module per table of the migrated schema (`migration/`).
//!
//! The `Model` structs are column for column what `sea-orm-cli generate entity` (2.0.4)
//! writes from the migrated PostgreSQL database; compare after changing a migration with
//!
//! ```sh
//! cargo run -p api -- migrate --database-url postgres://.../db
//! sea-orm-cli generate entity -u postgres://.../db -o /tmp/entities --lib
//! ```
//!
//! The `Relation` enums are kept by hand: the generator turns the composite foreign keys
//! (`cohort_school` to `cohort`, pairings to memberships) into relations that do not compile,
//! and the services join on the single columns declared here.

pub mod prelude;

pub mod access_grant;
pub mod ai_policy;
pub mod audit_event;
pub mod certification;
pub mod certification_event;
pub mod cohort;
pub mod cohort_school;
pub mod credential;
pub mod criterion;
pub mod evidence;
pub mod evidence_criterion;
pub mod framework;
pub mod framework_area;
pub mod framework_level;
pub mod improvement_action;
pub mod improvement_action_event;
pub mod local_authority;
pub mod mentorship_pairing;
pub mod partnership;
pub mod partnership_goal;
pub mod partnership_school;
pub mod rating;
pub mod review;
pub mod school;
pub mod school_link;
pub mod school_trust_spell;
pub mod trust;
