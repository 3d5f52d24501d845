//! What an import did, or would do (a dry run): counts, every change school by school, and
//! what became of each GIAS link.

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
    /// An amalgamation or a split: for the city admin to decide, never applied here.
    Reported,
}

impl LinkStatus {
    pub(super) fn as_db(self) -> &'static str {
        match self {
            Self::Applied => "APPLIED",
            Self::Waiting => "WAITING",
            Self::Reported => "REPORTED",
        }
    }
}

/// GIAS's kind of link, as reported.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchoolLinkKind {
    Succession,
    Amalgamation,
    Split,
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
    /// Whether this import changed it (applied it, or recorded it for the first time).
    pub changed: bool,
}
