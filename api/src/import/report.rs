//! What an import did, or would do (a dry run): counts, every change school by school, and
//! what became of each GIAS link.

use entity::school_link;

use super::links::LinkKind;
use crate::scalars::Date;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows passed over: outside the LA filter, not state-funded, or closed and never imported.
    pub skipped: u64,
    pub schools_created: u64,
    pub schools_updated: u64,
    pub schools_unchanged: u64,
    pub trusts_created: u64,
    pub trusts_updated: u64,
    pub local_authorities_created: u64,
    /// Schools that joined the partnership with this import.
    pub members_added: u64,
    /// Schools whose trust changed (or that joined or left one) with this import.
    pub trust_moves: u64,
    /// The links of the links extract whose predecessor is a member, and what became of each.
    pub links: Vec<LinkReport>,
    /// Every change to the register and the partnership, school by school.
    pub changes: Vec<SchoolChange>,
    /// False for a dry run: the report says what applying would do, and nothing was written.
    pub applied: bool,
}

/// What an import changes about a school.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// New in the register.
    New,
    /// A new member of the partnership.
    Joined,
    /// GIAS closed it.
    Closed,
    /// GIAS opened it again.
    Reopened,
    Renamed,
    /// It joined, left or changed trust.
    MovedTrust,
    /// Another GIAS field changed (type, phase, LA, postcode, dates).
    Updated,
    /// It carries on a predecessor's work (a GIAS succession applied).
    Converted,
    /// It left the partnership: a successor carries on its work.
    Left,
    /// Its mentoring pairing goes on with a partner's successor.
    PairingMoved,
}

/// One change to one school.
#[derive(Clone, Debug, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct SchoolChange {
    pub urn: i32,
    pub kind: ChangeKind,
    /// In words, e.g. `trust 3001 -> 3002`.
    pub detail: String,
}

impl ImportReport {
    pub(super) fn change(&mut self, urn: i32, kind: ChangeKind, detail: impl Into<String>) {
        self.changes.push(SchoolChange { urn, kind, detail: detail.into() });
    }
}

/// What became of a link.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// The successor carries on the predecessor's work in the partnership.
    Applied,
    /// The successor is not open yet (or not in the register): applied by a later import.
    Waiting,
    /// An amalgamation or a split: for the city admin to decide (`decideSchoolLink`), never
    /// applied by an import.
    Reported,
    /// Decided without carrying on: the predecessor left on the link's date, the successor
    /// joined as a school of its own.
    Dismissed,
}

impl LinkStatus {
    const ALL: [Self; 4] = [Self::Applied, Self::Waiting, Self::Reported, Self::Dismissed];

    pub(super) fn as_db(self) -> &'static str {
        match self {
            Self::Applied => "APPLIED",
            Self::Waiting => "WAITING",
            Self::Reported => "REPORTED",
            Self::Dismissed => "DISMISSED",
        }
    }

    pub(super) fn from_db(s: &str) -> Self {
        Self::ALL.into_iter().find(|v| v.as_db() == s).unwrap_or(Self::Reported)
    }

    /// A city admin's decision, which no import changes.
    pub(super) fn decided(self) -> bool {
        matches!(self, Self::Applied | Self::Dismissed)
    }
}

/// GIAS's kind of link, as reported.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchoolLinkKind {
    Succession,
    Amalgamation,
    Split,
}

impl From<LinkKind> for SchoolLinkKind {
    fn from(kind: LinkKind) -> Self {
        match kind {
            LinkKind::Succession => Self::Succession,
            LinkKind::Amalgamation => Self::Amalgamation,
            LinkKind::Split => Self::Split,
        }
    }
}

/// One link of the import that concerns the partnership, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct LinkReport {
    pub predecessor_urn: i32,
    pub successor_urn: i32,
    pub kind: SchoolLinkKind,
    /// The day it takes effect: GIAS's link date, else the successor's opening date.
    pub established_on: Option<Date>,
    pub status: LinkStatus,
    /// Whether the import or decision that answered changed it (applied it, recorded it for
    /// the first time, or decided it); false in `schoolLinks`.
    pub changed: bool,
}

impl From<&school_link::Model> for LinkReport {
    fn from(l: &school_link::Model) -> Self {
        let kind = [LinkKind::Succession, LinkKind::Amalgamation, LinkKind::Split]
            .into_iter()
            .find(|k| k.as_db() == l.kind)
            .unwrap_or(LinkKind::Succession);
        Self {
            predecessor_urn: l.predecessor_urn,
            successor_urn: l.successor_urn,
            kind: kind.into(),
            established_on: l.established_on.map(Date),
            status: LinkStatus::from_db(&l.status),
            changed: false,
        }
    }
}
