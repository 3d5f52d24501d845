//! Certification journeys: one per school and framework version, from enrolment through
//! self-assessment, evidence, submission and review to a certificate (DOMAIN.md, "The journey").

pub mod graphql;
pub mod journey;
pub mod loader;
pub mod service;

pub use graphql::Certification;
pub use service::CertificationService;

/// Where a journey is. EXPIRED is never stored: a CERTIFIED journey reads as EXPIRED on any
/// date after its certificate's expiry date.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificationStage {
    Enrolled,
    SelfAssessing,
    GatheringEvidence,
    Submitted,
    UnderReview,
    Certified,
    Returned,
    Withdrawn,
    Expired,
    /// The certificate was withdrawn by the awarding side after the award (never deleted: the
    /// history says who revoked it, when and why).
    Revoked,
}

pub use CertificationStage as Stage;

impl Stage {
    pub const ALL: [Self; 10] = [
        Self::Enrolled,
        Self::SelfAssessing,
        Self::GatheringEvidence,
        Self::Submitted,
        Self::UnderReview,
        Self::Certified,
        Self::Returned,
        Self::Withdrawn,
        Self::Expired,
        Self::Revoked,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            Self::Enrolled => "ENROLLED",
            Self::SelfAssessing => "SELF_ASSESSING",
            Self::GatheringEvidence => "GATHERING_EVIDENCE",
            Self::Submitted => "SUBMITTED",
            Self::UnderReview => "UNDER_REVIEW",
            Self::Certified => "CERTIFIED",
            Self::Returned => "RETURNED",
            Self::Withdrawn => "WITHDRAWN",
            Self::Expired => "EXPIRED",
            Self::Revoked => "REVOKED",
        }
    }

    pub fn from_db(value: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.as_db() == value).unwrap_or(Self::Enrolled)
    }

    /// The stages this one may move to (DOMAIN.md's state machine).
    pub fn next(self) -> &'static [Self] {
        match self {
            Self::Enrolled => &[Self::SelfAssessing, Self::Withdrawn],
            Self::SelfAssessing => &[Self::GatheringEvidence, Self::Withdrawn],
            Self::GatheringEvidence => &[Self::SelfAssessing, Self::Submitted, Self::Withdrawn],
            // The school may pull a submission back until an assessor claims it.
            Self::Submitted => &[Self::UnderReview, Self::GatheringEvidence, Self::Withdrawn],
            Self::UnderReview => &[Self::Certified, Self::Returned, Self::Withdrawn],
            Self::Returned => &[Self::GatheringEvidence, Self::Withdrawn],
            // Expiry is read from the date: a CERTIFIED journey is stored CERTIFIED after it.
            Self::Certified => &[Self::Revoked],
            Self::Withdrawn | Self::Expired | Self::Revoked => &[],
        }
    }

    /// Whether the journey is over, so that the school may enrol again (the partial unique
    /// index `certification_one_open_journey_key` says the same).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Certified | Self::Withdrawn | Self::Revoked)
    }

    /// Whether the school is still working on it (ratings and evidence may change).
    pub fn is_drafting(self) -> bool {
        matches!(self, Self::SelfAssessing | Self::GatheringEvidence)
    }
}

/// A school's rating of itself against one criterion.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelfRating {
    NotYet,
    Emerging,
    Secure,
    Exceeding,
}

impl SelfRating {
    pub const ALL: [Self; 4] = [Self::NotYet, Self::Emerging, Self::Secure, Self::Exceeding];

    pub fn as_db(self) -> &'static str {
        match self {
            Self::NotYet => "NOT_YET",
            Self::Emerging => "EMERGING",
            Self::Secure => "SECURE",
            Self::Exceeding => "EXCEEDING",
        }
    }

    pub fn from_db(value: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.as_db() == value).unwrap_or(Self::NotYet)
    }
}

/// What an evidence item is. Only metadata and links are stored, never files.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvidenceKind {
    /// A document kept elsewhere (a link to it).
    Document,
    Link,
    /// A screenshot kept elsewhere (a link to it).
    Screenshot,
    /// A written description, with no link.
    Description,
}

impl EvidenceKind {
    pub const ALL: [Self; 4] = [Self::Document, Self::Link, Self::Screenshot, Self::Description];

    pub fn as_db(self) -> &'static str {
        match self {
            Self::Document => "DOCUMENT",
            Self::Link => "LINK",
            Self::Screenshot => "SCREENSHOT",
            Self::Description => "DESCRIPTION",
        }
    }

    pub fn from_db(value: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.as_db() == value).unwrap_or(Self::Description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_and_only_drafting_stages_edit() {
        for s in Stage::ALL {
            assert_eq!(Stage::from_db(s.as_db()), s);
        }
        let drafting: Vec<_> = Stage::ALL.into_iter().filter(|s| s.is_drafting()).collect();
        assert_eq!(drafting, [Stage::SelfAssessing, Stage::GatheringEvidence]);
    }

    #[test]
    fn every_stage_before_certified_can_withdraw() {
        for s in [
            Stage::Enrolled,
            Stage::SelfAssessing,
            Stage::GatheringEvidence,
            Stage::Submitted,
            Stage::UnderReview,
            Stage::Returned,
        ] {
            assert!(s.next().contains(&Stage::Withdrawn), "{s:?}");
        }
        assert_eq!(Stage::Certified.next(), [Stage::Revoked]);
    }
}
