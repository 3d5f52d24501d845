//! Action plans: what a school plans to improve, area by area, after it self-assesses (the
//! seeds' "Self-Assess & Plan"). The school lead writes them; its mentor school's lead and the
//! city admins comment; everyone who sees the journey sees the counts only.

pub mod export;
pub mod graphql;
pub mod loader;
pub mod service;

use chrono::NaiveDate;
use entity::improvement_action as action;

pub use service::PlanService;

/// Where an action stands.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionStatus {
    Planned,
    InProgress,
    Done,
    Dropped,
}

impl ActionStatus {
    pub const ALL: [Self; 4] = [Self::Planned, Self::InProgress, Self::Done, Self::Dropped];

    pub fn as_db(self) -> &'static str {
        match self {
            Self::Planned => "PLANNED",
            Self::InProgress => "IN_PROGRESS",
            Self::Done => "DONE",
            Self::Dropped => "DROPPED",
        }
    }

    pub fn from_db(value: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.as_db() == value).unwrap_or(Self::Planned)
    }

    /// Whether the action is still to be done.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Planned | Self::InProgress)
    }
}

/// Who in the school owns an action: a role, never a person (the model AI policy's roles).
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionOwner {
    /// The school's AI lead.
    AiLead,
    LeadershipTeam,
    /// The governing body or trust board.
    GoverningBody,
    Teachers,
    ItLead,
    DataProtectionOfficer,
    /// Parents, partners and other people outside the school.
    ExternalParties,
}

impl ActionOwner {
    pub const ALL: [Self; 7] = [
        Self::AiLead,
        Self::LeadershipTeam,
        Self::GoverningBody,
        Self::Teachers,
        Self::ItLead,
        Self::DataProtectionOfficer,
        Self::ExternalParties,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            Self::AiLead => "AI_LEAD",
            Self::LeadershipTeam => "LEADERSHIP_TEAM",
            Self::GoverningBody => "GOVERNING_BODY",
            Self::Teachers => "TEACHERS",
            Self::ItLead => "IT_LEAD",
            Self::DataProtectionOfficer => "DATA_PROTECTION_OFFICER",
            Self::ExternalParties => "EXTERNAL_PARTIES",
        }
    }

    pub fn from_db(value: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.as_db() == value).unwrap_or(Self::AiLead)
    }
}

/// Open and past its due date on `as_of`.
pub fn overdue(action: &action::Model, as_of: NaiveDate) -> bool {
    ActionStatus::from_db(&action.status).is_open() && action.due_on < as_of
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_open_actions_fall_overdue() {
        for s in ActionStatus::ALL {
            assert_eq!(ActionStatus::from_db(s.as_db()), s);
        }
        for o in ActionOwner::ALL {
            assert_eq!(ActionOwner::from_db(o.as_db()), o);
        }
        let open: Vec<_> = ActionStatus::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [ActionStatus::Planned, ActionStatus::InProgress]);
    }
}
