//! Recording a school's AI policy and working out where it stands on a date.

use std::{collections::HashSet, ops::RangeInclusive};

use chrono::{Days, Months, NaiveDate};
use entity::{ai_policy, school};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Set, sea_query::OnConflict};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Actor, Role, Scope},
    error::{ApiError, ApiResult},
    school::service::visible_by_urn,
    validate,
};

/// How often a policy is reviewed when the school says nothing else: every year.
pub const DEFAULT_INTERVAL_MONTHS: i32 = 12;
/// The review intervals accepted, in months (the table checks the same range).
pub const INTERVAL_MONTHS: RangeInclusive<i32> = 1..=36;
/// How long before the due date a review counts as due.
pub const REVIEW_WINDOW_DAYS: u64 = 30;
/// The longest role title accepted, in characters.
pub const MAX_TITLE: usize = 100;

/// Where a school's AI policy stands on a date.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyStatus {
    /// No policy had been adopted by that date.
    Missing,
    /// Adopted, and the next review is more than 30 days away.
    Current,
    /// The next review falls due within 30 days, the due day included.
    ReviewDue,
    /// The due day has passed with no review recorded.
    Overdue,
}

/// A team or person the model policy gives responsibilities for AI. The record says whether
/// the school has someone in the role and under what title; it names no one.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyRole {
    /// Senior leaders: steer the use of AI tools, train staff, keep pupils safe, report risks.
    LeadershipTeam,
    /// The governing body, or the trust board for an academy: owns the policy and monitors it.
    GoverningBody,
    /// Teachers: use AI tools in lessons and judge whether they help pupils learn.
    Teachers,
    /// The IT leader or IT department: the technical side, data security and upkeep.
    ItLead,
    /// Suppliers and other outside parties: expert advice and assurance about their systems.
    ExternalParties,
    /// The data protection officer: keeps the use of AI within the law and the school's policies.
    DataProtectionOfficer,
}

impl PolicyRole {
    /// Every role, in the model policy's order.
    pub const ALL: [Self; 6] = [
        Self::LeadershipTeam,
        Self::GoverningBody,
        Self::Teachers,
        Self::ItLead,
        Self::ExternalParties,
        Self::DataProtectionOfficer,
    ];

    /// The name stored in `ai_policy.roles` and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LeadershipTeam => "LEADERSHIP_TEAM",
            Self::GoverningBody => "GOVERNING_BODY",
            Self::Teachers => "TEACHERS",
            Self::ItLead => "IT_LEAD",
            Self::ExternalParties => "EXTERNAL_PARTIES",
            Self::DataProtectionOfficer => "DATA_PROTECTION_OFFICER",
        }
    }
}

/// One role of a policy record, as stored in `ai_policy.roles`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleEntry {
    pub role: PolicyRole,
    #[serde(default)]
    pub filled: bool,
    /// A job title ("Deputy head"), never a person's name.
    #[serde(default)]
    pub title: Option<String>,
}

impl RoleEntry {
    fn unfilled(role: PolicyRole) -> Self {
        Self { role, filled: false, title: None }
    }
}

/// Every role in order, from the stored JSON. Read tolerantly: an entry that does not parse
/// or names an unknown role is skipped, and a role with no entry is unfilled.
pub fn roles_from_json(json: &serde_json::Value) -> Vec<RoleEntry> {
    let stored: Vec<RoleEntry> = json
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| serde_json::from_value(entry.clone()).ok())
        .collect();
    PolicyRole::ALL
        .into_iter()
        .map(|role| {
            stored.iter().find(|e| e.role == role).cloned().unwrap_or_else(|| RoleEntry::unfilled(role))
        })
        .collect()
}

/// The dates that decide a policy's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub adopted_on: NaiveDate,
    pub last_reviewed_on: Option<NaiveDate>,
    pub interval_months: u32,
}

impl From<&ai_policy::Model> for Schedule {
    fn from(p: &ai_policy::Model) -> Self {
        Self {
            adopted_on: p.adopted_on,
            last_reviewed_on: p.last_reviewed_on,
            // The table holds 1 to 36 months; clamping keeps a bad row from breaking reads.
            interval_months: p.review_interval_months.clamp(*INTERVAL_MONTHS.start(), *INTERVAL_MONTHS.end())
                as u32,
        }
    }
}

impl Schedule {
    /// Whether the policy had been adopted by `as_of`.
    pub fn adopted_by(&self, as_of: NaiveDate) -> bool {
        self.adopted_on <= as_of
    }

    /// The last review on or before `as_of`: a review recorded later had not happened yet.
    pub fn last_review(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        self.last_reviewed_on.filter(|d| *d <= as_of)
    }

    /// When the next review is due as of `as_of`: the interval after the last review, or
    /// after adoption if there has been none. None before adoption.
    pub fn next_review_due(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        if !self.adopted_by(as_of) {
            return None;
        }
        let base = self.last_review(as_of).unwrap_or(self.adopted_on);
        base.checked_add_months(Months::new(self.interval_months))
    }

    pub fn status(&self, as_of: NaiveDate) -> PolicyStatus {
        if !self.adopted_by(as_of) {
            return PolicyStatus::Missing;
        }
        // No due date means one past the end of the calendar: never due.
        let Some(due) = self.next_review_due(as_of) else { return PolicyStatus::Current };
        let window_opens = due.checked_sub_days(Days::new(REVIEW_WINDOW_DAYS)).unwrap_or(NaiveDate::MIN);
        if as_of > due {
            PolicyStatus::Overdue
        } else if as_of >= window_opens {
            PolicyStatus::ReviewDue
        } else {
            PolicyStatus::Current
        }
    }
}

/// A school's status as of a date; `record` is its row, if it has one.
pub fn status(record: Option<&ai_policy::Model>, as_of: NaiveDate) -> PolicyStatus {
    record.map_or(PolicyStatus::Missing, |r| Schedule::from(r).status(as_of))
}

/// A whole policy record, as a school lead (or its trust, or the city) enters it.
#[derive(Clone, Debug)]
pub struct PolicyRecord {
    pub adopted_on: NaiveDate,
    pub last_reviewed_on: Option<NaiveDate>,
    pub review_interval_months: i32,
    /// The roles given, in any order; those left out are unfilled.
    pub roles: Vec<RoleEntry>,
}

impl PolicyRecord {
    /// Checks the record against `today` and completes its roles: all six, in order, titles
    /// trimmed (a blank title is no title).
    pub fn checked(self, today: NaiveDate) -> ApiResult<Self> {
        if self.adopted_on > today {
            return Err(ApiError::invalid("adoptedOn", format!("{} is after today", self.adopted_on)));
        }
        if let Some(reviewed) = self.last_reviewed_on {
            if reviewed < self.adopted_on {
                return Err(ApiError::invalid(
                    "lastReviewedOn",
                    format!("{reviewed} is before the policy was adopted on {}", self.adopted_on),
                ));
            }
            if reviewed > today {
                return Err(ApiError::invalid("lastReviewedOn", format!("{reviewed} is after today")));
            }
        }
        if !INTERVAL_MONTHS.contains(&self.review_interval_months) {
            return Err(ApiError::invalid(
                "reviewIntervalMonths",
                format!(
                    "use {} to {} months, not {}",
                    INTERVAL_MONTHS.start(),
                    INTERVAL_MONTHS.end(),
                    self.review_interval_months
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut given = Vec::with_capacity(self.roles.len());
        for entry in self.roles {
            if !seen.insert(entry.role) {
                return Err(ApiError::invalid("roles", format!("{} is listed twice", entry.role.as_str())));
            }
            let title = entry
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| validate::text("roles.title", t, MAX_TITLE))
                .transpose()?;
            given.push(RoleEntry { title, ..entry });
        }
        let roles = PolicyRole::ALL
            .into_iter()
            .map(|role| {
                given.iter().find(|e| e.role == role).cloned().unwrap_or_else(|| RoleEntry::unfilled(role))
            })
            .collect();
        Ok(Self { roles, ..self })
    }
}

#[derive(Clone, Debug)]
pub struct PolicyService {
    db: DatabaseConnection,
}

impl PolicyService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Records the whole AI policy of the school with `urn`, replacing any earlier record.
    /// School leads write their own school's, trust leads their trust's schools', city admins
    /// any school of their partnership. `today` bounds the dates.
    pub async fn record(
        &self,
        actor: &Actor,
        urn: i32,
        record: PolicyRecord,
        today: NaiveDate,
    ) -> ApiResult<ai_policy::Model> {
        let txn = crate::db::begin_write(&self.db).await?;
        let school = writable_school(&txn, actor, urn).await?;
        let record = record.checked(today)?;
        let roles = serde_json::to_value(&record.roles).map_err(anyhow::Error::from)?;
        let row = ai_policy::ActiveModel {
            school_id: Set(school.id),
            adopted_on: Set(record.adopted_on),
            last_reviewed_on: Set(record.last_reviewed_on),
            review_interval_months: Set(record.review_interval_months),
            roles: Set(roles),
            updated_at: Set(chrono::Utc::now().fixed_offset()),
            updated_by: Set(actor.subject.clone()),
        };
        // One statement whether or not a record exists: two writers cannot both insert.
        let saved = ai_policy::Entity::insert(row)
            .on_conflict(
                OnConflict::column(ai_policy::Column::SchoolId)
                    .update_columns([
                        ai_policy::Column::AdoptedOn,
                        ai_policy::Column::LastReviewedOn,
                        ai_policy::Column::ReviewIntervalMonths,
                        ai_policy::Column::Roles,
                        ai_policy::Column::UpdatedAt,
                        ai_policy::Column::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec_with_returning(&txn)
            .await?;
        txn.commit().await?;
        let filled = record.roles.iter().filter(|r| r.filled).count();
        tracing::info!(
            school.urn = urn,
            policy.adopted_on = %saved.adopted_on,
            policy.roles_filled = filled,
            "recorded AI policy"
        );
        Ok(saved)
    }
}

/// The school with `urn` if `actor` may write its policy: NOT_FOUND when the actor cannot see
/// it, FORBIDDEN when it can but the school is not one of its own.
async fn writable_school(db: &impl ConnectionTrait, actor: &Actor, urn: i32) -> ApiResult<school::Model> {
    let school = visible_by_urn(db, &actor.partnerships, urn).await?;
    let yours = match (actor.role, actor.scope) {
        // A city admin sees exactly the member schools of its partnership.
        (Role::CityAdmin, Scope::Partnership(_)) => true,
        (Role::TrustLead, Scope::Trust(trust)) => school.trust_id == Some(trust),
        (Role::SchoolLead, Scope::School(own)) => school.id == own,
        _ => false,
    };
    if yours {
        Ok(school)
    } else {
        Err(ApiError::Forbidden(
            "record this school's AI policy: school leads record their own school's, trust leads their trust's schools'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn schedule(adopted: &str, reviewed: Option<&str>, months: u32) -> Schedule {
        Schedule { adopted_on: d(adopted), last_reviewed_on: reviewed.map(d), interval_months: months }
    }

    #[test]
    fn status_turns_at_the_window_and_the_due_day() {
        let s = schedule("2025-01-15", None, 12);
        assert_eq!(s.next_review_due(d("2025-06-01")), Some(d("2026-01-15")));
        assert_eq!(s.status(d("2025-01-14")), PolicyStatus::Missing);
        assert_eq!(s.status(d("2025-01-15")), PolicyStatus::Current);
        assert_eq!(s.status(d("2025-12-15")), PolicyStatus::Current, "31 days before");
        assert_eq!(s.status(d("2025-12-16")), PolicyStatus::ReviewDue, "exactly 30 days before");
        assert_eq!(s.status(d("2026-01-15")), PolicyStatus::ReviewDue, "the due day");
        assert_eq!(s.status(d("2026-01-16")), PolicyStatus::Overdue, "the day after");
    }

    #[test]
    fn a_review_restarts_the_interval_once_it_has_happened() {
        let s = schedule("2024-03-01", Some("2025-02-20"), 12);
        assert_eq!(s.next_review_due(d("2025-02-20")), Some(d("2026-02-20")));
        assert_eq!(s.status(d("2025-03-02")), PolicyStatus::Current);
        // As of a date before the review, the review had not happened: due from adoption.
        assert_eq!(s.last_review(d("2025-02-19")), None);
        assert_eq!(s.next_review_due(d("2025-02-19")), Some(d("2025-03-01")));
        assert_eq!(s.status(d("2025-02-19")), PolicyStatus::ReviewDue);
        assert_eq!(schedule("2024-03-01", None, 12).status(d("2025-03-02")), PolicyStatus::Overdue);
    }

    #[test]
    fn months_end_on_the_last_day_when_the_day_does_not_exist() {
        let s = schedule("2024-01-31", None, 1);
        assert_eq!(s.next_review_due(d("2024-02-01")), Some(d("2024-02-29")));
        assert_eq!(status(None, d("2024-02-01")), PolicyStatus::Missing);
    }

    fn record(adopted: &str, reviewed: Option<&str>, months: i32, roles: Vec<RoleEntry>) -> PolicyRecord {
        PolicyRecord {
            adopted_on: d(adopted),
            last_reviewed_on: reviewed.map(d),
            review_interval_months: months,
            roles,
        }
    }

    fn field_of(r: ApiResult<PolicyRecord>) -> &'static str {
        match r {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn records_are_checked_and_completed() {
        let today = d("2026-01-10");
        let entry =
            |role, title: Option<&str>| RoleEntry { role, filled: true, title: title.map(str::to_owned) };
        let ok = record(
            "2025-09-01",
            Some("2026-01-10"),
            12,
            vec![
                entry(PolicyRole::ItLead, Some("  Network manager ")),
                entry(PolicyRole::Teachers, Some("  ")),
            ],
        )
        .checked(today)
        .unwrap();
        assert_eq!(ok.roles.len(), 6);
        assert_eq!(ok.roles.iter().map(|r| r.role).collect::<Vec<_>>(), PolicyRole::ALL);
        assert_eq!(ok.roles[3].title.as_deref(), Some("Network manager"));
        assert_eq!(ok.roles[2], RoleEntry { role: PolicyRole::Teachers, filled: true, title: None });
        assert_eq!(ok.roles[0], RoleEntry::unfilled(PolicyRole::LeadershipTeam));

        let bad = |r: PolicyRecord| field_of(r.checked(today));
        assert_eq!(bad(record("2025-09-01", Some("2025-08-31"), 12, vec![])), "lastReviewedOn");
        assert_eq!(bad(record("2026-01-11", None, 12, vec![])), "adoptedOn");
        assert_eq!(bad(record("2025-09-01", Some("2026-01-11"), 12, vec![])), "lastReviewedOn");
        assert_eq!(bad(record("2025-09-01", None, 0, vec![])), "reviewIntervalMonths");
        assert_eq!(bad(record("2025-09-01", None, 37, vec![])), "reviewIntervalMonths");
        let twice = vec![entry(PolicyRole::Teachers, None), entry(PolicyRole::Teachers, None)];
        assert_eq!(bad(record("2025-09-01", None, 12, twice)), "roles");
        let long = "x".repeat(MAX_TITLE + 1);
        assert_eq!(
            bad(record("2025-09-01", None, 12, vec![entry(PolicyRole::ItLead, Some(&long))])),
            "roles.title"
        );
        assert!(record("2025-09-01", None, 36, vec![]).checked(today).is_ok());
    }

    #[test]
    fn stored_roles_are_read_tolerantly() {
        let json = serde_json::json!([
            { "role": "GOVERNING_BODY", "filled": true, "title": "Trust board" },
            { "role": "HEAD_COOK", "filled": true },
            { "role": "TEACHERS" },
            "junk",
        ]);
        let roles = roles_from_json(&json);
        assert_eq!(roles.len(), 6);
        assert_eq!(
            roles[1],
            RoleEntry { role: PolicyRole::GoverningBody, filled: true, title: Some("Trust board".into()) }
        );
        assert_eq!(roles[2], RoleEntry::unfilled(PolicyRole::Teachers));
        assert!(roles_from_json(&serde_json::json!({ "not": "a list" })).iter().all(|r| !r.filled));
        let stored = serde_json::to_value(&roles).unwrap();
        assert_eq!(stored[3]["role"], "IT_LEAD");
        assert_eq!(roles_from_json(&stored), roles);
    }
}
