pub use super::cohort::Entity as Cohort;
pub use super::cohort_school::Entity as CohortSchool;
pub use super::local_authority::Entity as LocalAuthority;
pub use super::mentorship_pairing::Entity as MentorshipPairing;
pub use super::partnership::Entity as Partnership;
pub use super::partnership_school::Entity as PartnershipSchool;
pub use super::school::Entity as School;
pub use super::trust::Entity as Trust;
