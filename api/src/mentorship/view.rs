//! The mentor view: where a mentee's journey stands on a date and what keeps it from being
//! submitted. Pure functions over rows the caller has loaded (the resolver loads them through
//! the request's loaders), so the rules are tested without a database.

use chrono::{DateTime, FixedOffset, NaiveDate};
use entity::{
    certification, certification_event as event, evidence_criterion, mentorship_pairing as pairing,
};

use crate::{
    auth::{Actor, Role, Scope},
    certification::{
        Stage,
        journey::stage_on_day,
        loader::EvidenceItem,
        service::{Assessment, assess},
    },
    error::{ApiError, ApiResult},
    framework::FrameworkData,
};

/// FORBIDDEN unless the caller leads the pairing's mentor school while the pairing is active,
/// or is a city admin of the pairing's partnership. Nobody else, the mentee's own lead
/// included, reads a mentee's progress through a pairing.
pub fn may_read(actor: &Actor, pairing: &pairing::Model) -> ApiResult<()> {
    match (actor.role, actor.scope) {
        (Role::CityAdmin, Scope::Partnership(p)) if p == pairing.partnership_id => Ok(()),
        (Role::SchoolLead, Scope::School(s)) if s == pairing.mentor_school_id => {
            if pairing.ended_on.is_none() {
                Ok(())
            } else {
                Err(ApiError::Forbidden("read a mentee's progress once the pairing has ended"))
            }
        }
        _ => Err(ApiError::Forbidden(
            "read a mentee's progress: only the mentor school's lead (while the pairing is active) and the partnership's city admins can",
        )),
    }
}

/// The UTC calendar day of a timestamp.
fn day(at: DateTime<FixedOffset>) -> NaiveDate {
    at.to_utc().date_naive()
}

/// The journey a mentor follows: the mentee's newest journey in the framework `slug` that had
/// started by `as_of`.
pub fn current_journey<'a>(
    journeys: &'a [certification::Model],
    slug: &str,
    as_of: NaiveDate,
) -> Option<&'a certification::Model> {
    journeys
        .iter()
        .filter(|j| j.framework_slug == slug && day(j.enrolled_at) <= as_of)
        .max_by_key(|j| (j.enrolled_at, j.id))
}

/// What a mentor sees of one mentee on one date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenteeProgress {
    /// The stage on the date; None when the mentee had no journey by then.
    pub stage: Option<Stage>,
    /// The day the journey entered that stage.
    pub since: Option<NaiveDate>,
    /// Whole days from `since` to the date.
    pub days_in_stage: Option<i64>,
    /// Self-assessment progress from the ratings and evidence recorded by the date.
    pub assessment: Option<Assessment>,
    /// Evidence items added by the date.
    pub evidence_count: usize,
    /// What stops a submission now, in words; empty when nothing does (or once certified).
    pub blockers: Vec<String>,
    /// The latest stage change, rating or evidence item on or before the date.
    pub last_activity: Option<DateTime<FixedOffset>>,
}

/// The view of a mentee with no journey in the partnership's framework (`None`: the
/// partnership has no default framework).
pub fn not_enrolled(framework: Option<&str>) -> MenteeProgress {
    let why = match framework {
        Some(slug) => format!("not enrolled in {slug}"),
        None => "not enrolled: the partnership has no default framework".to_owned(),
    };
    MenteeProgress {
        stage: None,
        since: None,
        days_in_stage: None,
        assessment: None,
        evidence_count: 0,
        blockers: vec![why],
        last_activity: None,
    }
}

/// The stage of `journey` on `as_of` and the day it entered it, from its history (oldest
/// first). CERTIFIED reads EXPIRED from the day after the expiry date, as `stage_on` does.
pub fn stage_as_of(
    journey: &certification::Model,
    history: &[event::Model],
    as_of: NaiveDate,
) -> (Stage, NaiveDate) {
    // The history comes oldest first (by version).
    let changes = history.iter().map(|e| (day(e.at), Stage::from_db(&e.to_stage)));
    stage_on_day(changes, journey.expires_on, as_of).unwrap_or((Stage::Enrolled, day(journey.enrolled_at)))
}

/// Works out the view of a mentee's journey on `as_of` from its history, ratings and evidence
/// (as the loaders return them) and its framework version. Rows dated after `as_of` are left
/// out: a rating changed since then counts from its latest change only.
pub fn progress(
    journey: &certification::Model,
    history: &[event::Model],
    ratings: &[entity::rating::Model],
    evidence: &[EvidenceItem],
    data: &FrameworkData,
    as_of: NaiveDate,
) -> MenteeProgress {
    let (stage, since) = stage_as_of(journey, history, as_of);
    let ratings: Vec<_> = ratings.iter().filter(|r| day(r.rated_at) <= as_of).cloned().collect();
    let evidence: Vec<_> = evidence.iter().filter(|e| day(e.item.added_at) <= as_of).collect();
    let links: Vec<_> = evidence
        .iter()
        .flat_map(|e| {
            e.criteria.iter().map(|c| evidence_criterion::Model { evidence_id: e.item.id, criterion_id: *c })
        })
        .collect();
    let assessment = assess(data, journey.target_level_id, &ratings, &links);
    let last_activity = history
        .iter()
        .map(|e| e.at)
        .chain(ratings.iter().map(|r| r.rated_at))
        .chain(evidence.iter().map(|e| e.item.added_at))
        .filter(|at| day(*at) <= as_of)
        .max();
    MenteeProgress {
        stage: Some(stage),
        since: Some(since),
        days_in_stage: Some((as_of - since).num_days()),
        blockers: blockers(stage, since, journey.expires_on, &assessment.missing),
        evidence_count: evidence.len(),
        assessment: Some(assessment),
        last_activity,
    }
}

/// What stops a submission in `stage` (entered on `since`), given what the self-assessment
/// still misses.
fn blockers(stage: Stage, since: NaiveDate, expires: Option<NaiveDate>, missing: &[String]) -> Vec<String> {
    let hint = |s: String| std::iter::once(s).chain(missing.iter().cloned()).collect();
    match stage {
        Stage::Enrolled => hint("move to SELF_ASSESSING to start the self-assessment".to_owned()),
        Stage::SelfAssessing => hint("move to GATHERING_EVIDENCE to gather evidence and submit".to_owned()),
        Stage::GatheringEvidence => missing.to_vec(),
        Stage::Submitted => {
            vec![format!("submitted on {since}: waiting for an assessor to claim the review")]
        }
        Stage::UnderReview => {
            vec![format!("under review since {since}: waiting for the assessor's decision")]
        }
        Stage::Returned => {
            vec![format!("returned on {since}: act on the feedback and move back to GATHERING_EVIDENCE")]
        }
        Stage::Certified => Vec::new(),
        Stage::Expired => vec![format!(
            "the certificate expired on {}: enrol again to renew it",
            expires.map_or_else(|| since.to_string(), |e| e.to_string())
        )],
        Stage::Withdrawn => vec![format!("withdrawn on {since}: enrol again to start a new journey")],
        Stage::Revoked => {
            vec![format!("the certificate was revoked on {since}: enrol again to start a new journey")]
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<FixedOffset> {
        chrono::Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap_or_default().fixed_offset()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn journey(expires_on: Option<NaiveDate>) -> certification::Model {
        certification::Model {
            id: Uuid::nil(),
            school_id: Uuid::nil(),
            framework_id: Uuid::nil(),
            framework_slug: "aied-certified".into(),
            target_level_id: Uuid::nil(),
            stage: "CERTIFIED".into(),
            version: 3,
            renewal_of: None,
            enrolled_at: at(2025, 1, 10, 9),
            stage_changed_at: at(2025, 6, 1, 9),
            submitted_at: None,
            awarded_level_id: None,
            certificate_number: None,
            awarded_on: None,
            expires_on,
        }
    }

    fn event(version: i32, to: Stage, when: DateTime<FixedOffset>) -> event::Model {
        event::Model {
            id: Uuid::nil(),
            certification_id: Uuid::nil(),
            version,
            from_stage: None,
            to_stage: to.as_db().into(),
            at: when,
            actor_subject: "lead".into(),
            actor_name: None,
            actor_role: "school-lead".into(),
            comment: None,
        }
    }

    #[test]
    fn the_stage_on_a_date_comes_from_the_history_and_expires() {
        let j = journey(Some(date(2026, 5, 31)));
        let history = [
            event(1, Stage::Enrolled, at(2025, 1, 10, 9)),
            event(2, Stage::SelfAssessing, at(2025, 2, 1, 23)),
            event(3, Stage::Certified, at(2025, 6, 1, 9)),
        ];
        assert_eq!(stage_as_of(&j, &history, date(2025, 1, 31)), (Stage::Enrolled, date(2025, 1, 10)));
        assert_eq!(stage_as_of(&j, &history, date(2025, 2, 1)), (Stage::SelfAssessing, date(2025, 2, 1)));
        assert_eq!(stage_as_of(&j, &history, date(2026, 5, 31)), (Stage::Certified, date(2025, 6, 1)));
        assert_eq!(stage_as_of(&j, &history, date(2026, 6, 10)), (Stage::Expired, date(2026, 6, 1)));
        assert_eq!(stage_as_of(&j, &[], date(2025, 1, 20)), (Stage::Enrolled, date(2025, 1, 10)));
    }

    #[test]
    fn blockers_say_what_to_do_next() {
        let missing = vec!["rate LIT-E-LEA".to_owned()];
        let d = date(2026, 2, 3);
        assert_eq!(blockers(Stage::Enrolled, d, None, &missing)[1], "rate LIT-E-LEA");
        assert_eq!(blockers(Stage::GatheringEvidence, d, None, &missing), missing);
        assert_eq!(
            blockers(Stage::Returned, d, None, &missing),
            ["returned on 2026-02-03: act on the feedback and move back to GATHERING_EVIDENCE"]
        );
        assert!(blockers(Stage::Certified, d, None, &missing).is_empty());
        assert_eq!(not_enrolled(Some("aied-certified")).blockers, ["not enrolled in aied-certified"]);
    }

    #[test]
    fn the_current_journey_is_the_newest_started_by_the_date() {
        let old = journey(None);
        let mut renewal = journey(None);
        renewal.id = Uuid::from_u128(1);
        renewal.enrolled_at = at(2026, 1, 5, 9);
        let mut other = journey(None);
        other.framework_slug = "ai-quality-mark".into();
        other.enrolled_at = at(2026, 2, 1, 9);
        let all = [renewal.clone(), old.clone(), other];
        let id = |d| current_journey(&all, "aied-certified", d).map(|j| j.id);
        assert_eq!(id(date(2026, 3, 1)), Some(renewal.id));
        assert_eq!(id(date(2025, 12, 31)), Some(old.id));
        assert_eq!(id(date(2025, 1, 9)), None);
    }
}
