//! Schools: the registry's rows, identified by their GIAS URN.

pub mod graphql;
pub mod loader;
pub mod service;

pub use graphql::School;
pub use service::{NewSchool, SchoolFilter, SchoolPatch, SchoolService};

/// A school's phase of education. GIAS's two "middle deemed" phases are one here; GIAS's
/// "Not applicable" becomes SPECIAL or ALTERNATIVE_PROVISION when the establishment type says so.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Nursery,
    Primary,
    /// Middle schools, deemed primary or secondary.
    Middle,
    Secondary,
    AllThrough,
    /// Sixth-form and other 16 to 19 provision.
    SixteenPlus,
    Special,
    AlternativeProvision,
    /// GIAS records no phase and the type implies none.
    NotApplicable,
}

impl Phase {
    pub const ALL: [Self; 9] = [
        Self::Nursery,
        Self::Primary,
        Self::Middle,
        Self::Secondary,
        Self::AllThrough,
        Self::SixteenPlus,
        Self::Special,
        Self::AlternativeProvision,
        Self::NotApplicable,
    ];

    /// The value stored in `school.phase`.
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Nursery => "NURSERY",
            Self::Primary => "PRIMARY",
            Self::Middle => "MIDDLE",
            Self::Secondary => "SECONDARY",
            Self::AllThrough => "ALL_THROUGH",
            Self::SixteenPlus => "SIXTEEN_PLUS",
            Self::Special => "SPECIAL",
            Self::AlternativeProvision => "ALTERNATIVE_PROVISION",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_db() == value)
    }

    /// Reads GIAS's `PhaseOfEducation (name)`, using the establishment type where GIAS says
    /// "Not applicable".
    pub fn from_gias(phase: &str, establishment_type: &str) -> Option<Self> {
        Some(match phase.trim().to_ascii_lowercase().as_str() {
            "nursery" => Self::Nursery,
            "primary" => Self::Primary,
            "middle deemed primary" | "middle deemed secondary" => Self::Middle,
            "secondary" => Self::Secondary,
            "all-through" | "all through" => Self::AllThrough,
            "16 plus" => Self::SixteenPlus,
            "not applicable" => {
                let t = establishment_type.to_ascii_lowercase();
                if t.contains("special") {
                    Self::Special
                } else if t.contains("alternative provision") || t.contains("pupil referral") {
                    Self::AlternativeProvision
                } else {
                    Self::NotApplicable
                }
            }
            _ => return None,
        })
    }
}
