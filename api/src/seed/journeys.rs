//! The demo's certification story, so that every query shows something: pioneers certified
//! (one of them after a returned first submission), one pioneer whose earlier certificate has
//! expired and who is renewing, the second cohort at mixed stages (one returned), the third
//! cohort starting out, and AI policy records in every status. All dates are fixed.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use entity::{
    ai_policy, certification, certification_event, evidence, evidence_criterion, rating, review, school,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{Dataset, date, uuid};
use crate::{
    certification::{EvidenceKind, SelfRating, Stage},
    framework::FrameworkData,
};

/// Rows of journeys and AI policies (the demo's or a synthetic set's), in foreign-key order.
#[derive(Default)]
pub struct Journeys {
    pub certifications: Vec<certification::Model>,
    pub events: Vec<certification_event::Model>,
    pub ratings: Vec<rating::Model>,
    pub evidence: Vec<evidence::Model>,
    pub links: Vec<evidence_criterion::Model>,
    pub reviews: Vec<review::Model>,
    pub policies: Vec<ai_policy::Model>,
}

const ASSESSOR: &str = "demo-assessor";
const ASSESSOR_NAME: &str = "Demo Assessor (synthetic)";

/// How one school's journey ends up.
#[derive(Clone, Copy)]
pub(super) struct Plan {
    pub last: Stage,
    pub level: &'static str,
    pub returned_once: bool,
    pub starts: NaiveDate,
}

/// Days from one stage to the next.
fn gap(to: Stage) -> i64 {
    match to {
        Stage::SelfAssessing => 7,
        Stage::GatheringEvidence => 42,
        Stage::Submitted => 35,
        Stage::UnderReview => 6,
        Stage::Returned => 12,
        Stage::Certified => 14,
        Stage::Withdrawn => 30,
        _ => 1,
    }
}

pub(super) fn path(plan: &Plan) -> Vec<Stage> {
    use crate::certification::CertificationStage::*;
    if plan.last == Withdrawn {
        return vec![Enrolled, SelfAssessing, Withdrawn];
    }
    let mut all = vec![Enrolled, SelfAssessing, GatheringEvidence, Submitted, UnderReview];
    if plan.returned_once {
        all.extend([Returned, GatheringEvidence, Submitted, UnderReview]);
    } else if plan.last == Returned {
        all.push(Returned);
    }
    all.push(Certified);
    let end = all.iter().rposition(|s| *s == plan.last).unwrap_or(0);
    all.truncate(end + 1);
    all
}

pub(super) fn at(d: NaiveDate) -> DateTime<FixedOffset> {
    Utc.from_utc_datetime(&d.and_hms_opt(10, 0, 0).expect("valid time")).fixed_offset()
}

fn lead(urn: i32) -> String {
    format!("demo-school-lead-{urn}")
}

const TITLES: [&str; 5] = [
    "Staff training session on generative AI",
    "AI acceptable-use guidance for the school",
    "Inventory of AI tools in use and their checks",
    "Lesson sequence using AI for feedback",
    "Family information evening on AI",
];

/// Builds the story for the demo partnership (the only one in `data`).
pub fn generate(data: &Dataset, framework: &FrameworkData, seed: u64) -> Journeys {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Journeys::default();
    let urn = |id: Uuid| data.schools.iter().find(|s| s.id == id).map_or(0, |s| s.urn);
    for (c, cohort) in data.cohorts.iter().enumerate() {
        let members: Vec<Uuid> =
            data.cohort_schools.iter().filter(|m| m.cohort_id == cohort.id).map(|m| m.school_id).collect();
        for (i, school) in members.iter().enumerate() {
            let starts = cohort.starts_on + Duration::days(7 + (i as i64 % 5) * 3);
            let plan = match (c, i) {
                (0, 0) => Plan { last: Stage::Certified, level: "PRACTITIONER", returned_once: true, starts },
                (0, 1) => Plan { last: Stage::Certified, level: "INNOVATOR", returned_once: false, starts },
                (0, 5) => {
                    // Certified in a pilot before the partnership; expired; now renewing.
                    let pilot = Plan {
                        last: Stage::Certified,
                        level: "EXPLORER",
                        returned_once: false,
                        starts: date(2023, 2, 1),
                    };
                    let old =
                        journey(&mut out, &mut rng, framework, (*school, urn(*school)), pilot, None, None);
                    let renewal = Plan {
                        last: Stage::GatheringEvidence,
                        level: "PRACTITIONER",
                        returned_once: false,
                        starts: date(2025, 6, 2),
                    };
                    journey(&mut out, &mut rng, framework, (*school, urn(*school)), renewal, Some(old), None);
                    continue;
                }
                (0, _) => {
                    Plan { last: Stage::Certified, level: "PRACTITIONER", returned_once: false, starts }
                }
                (1, _) => {
                    let (last, returned_once) = match i {
                        0..=3 => (Stage::Certified, false),
                        4 => (Stage::Certified, true),
                        5..=6 => (Stage::UnderReview, false),
                        7..=9 => (Stage::Submitted, false),
                        10 => (Stage::Returned, false),
                        11..=14 => (Stage::GatheringEvidence, false),
                        15 => (Stage::Withdrawn, false),
                        _ => (Stage::SelfAssessing, false),
                    };
                    let level = if i % 3 == 0 { "PRACTITIONER" } else { "EXPLORER" };
                    Plan { last, level, returned_once, starts }
                }
                (_, _) => {
                    let last = match i % 9 {
                        0..=2 => Stage::Enrolled,
                        3..=6 => Stage::SelfAssessing,
                        7 => Stage::GatheringEvidence,
                        _ => continue, // not enrolled yet
                    };
                    Plan { last, level: "EXPLORER", returned_once: false, starts }
                }
            };
            journey(&mut out, &mut rng, framework, (*school, urn(*school)), plan, None, None);
        }
    }
    // AI policies: most schools have one, in every status as of late 2026.
    for (i, s) in data.schools.iter().enumerate() {
        let (adopted, reviewed) = match i % 6 {
            0 => continue,
            1 => (date(2024, 10, 14), None),
            2 => (date(2024, 11, 4), Some(date(2025, 12, 8))),
            3 => (date(2025, 1, 20), Some(date(2026, 1, 5))),
            4 => (date(2025, 9, 1), None),
            _ => (date(2026, 3, 2), None),
        };
        out.policies.push(policy(i, s, adopted, reviewed));
    }
    out
}

/// A school's AI policy record with the model policy's roles, some of them unfilled (which
/// ones depends on `i`).
pub(super) fn policy(
    i: usize,
    s: &school::Model,
    adopted: NaiveDate,
    reviewed: Option<NaiveDate>,
) -> ai_policy::Model {
    let filled = |k: usize| !(i + k).is_multiple_of(4);
    let roles = serde_json::json!([
        { "role": "LEADERSHIP_TEAM", "filled": true, "title": "Deputy headteacher" },
        { "role": "GOVERNING_BODY", "filled": filled(1), "title": if s.trust_id.is_some() { "Trust board" } else { "Governing body" } },
        { "role": "TEACHERS", "filled": true, "title": "All teaching staff" },
        { "role": "IT_LEAD", "filled": filled(2), "title": "Network manager" },
        { "role": "EXTERNAL_PARTIES", "filled": filled(3), "title": null },
        { "role": "DATA_PROTECTION_OFFICER", "filled": true, "title": "Trust data protection officer" },
    ]);
    ai_policy::Model {
        school_id: s.id,
        adopted_on: adopted,
        last_reviewed_on: reviewed,
        review_interval_months: 12,
        roles,
        updated_at: at(reviewed.unwrap_or(adopted)),
        updated_by: lead(s.urn),
    }
}

/// Adds one journey of `school` (id, URN) walked along `plan`; returns its id. A certified
/// journey gets `number`, or a random demo number when that is None.
pub(super) fn journey(
    out: &mut Journeys,
    rng: &mut ChaCha8Rng,
    fw: &FrameworkData,
    (school, urn): (Uuid, i32),
    plan: Plan,
    renewal_of: Option<Uuid>,
    number: Option<String>,
) -> Uuid {
    let id = uuid(rng);
    let level = fw.level_by_key(plan.level).or(fw.levels.first()).expect("a framework has levels");
    let stages = path(&plan);
    let mut day = plan.starts;
    let mut submitted = None;
    let mut stage_since = day;
    let mut round = 0;
    for (v, stage) in stages.iter().enumerate() {
        if v > 0 {
            day += Duration::days(gap(*stage) + rng.random_range(0..5));
        }
        stage_since = day;
        let (by, name, role) = match stage {
            Stage::UnderReview | Stage::Returned | Stage::Certified => {
                (ASSESSOR.to_owned(), Some(ASSESSOR_NAME.to_owned()), "assessor")
            }
            _ => (lead(urn), None, "school-lead"),
        };
        let comment = match stage {
            Stage::Returned => {
                Some("Evidence for students' voice is thin; add examples from pupil panels.".to_owned())
            }
            Stage::Withdrawn => Some("Paused while the school changes leadership.".to_owned()),
            _ => None,
        };
        match stage {
            Stage::Submitted => submitted = Some(day),
            Stage::UnderReview => {
                round += 1;
                out.reviews.push(review::Model {
                    id: uuid(rng),
                    certification_id: id,
                    round,
                    reviewer_subject: ASSESSOR.to_owned(),
                    reviewer_name: Some(ASSESSOR_NAME.to_owned()),
                    claimed_at: at(day),
                    decided_at: None,
                    outcome: None,
                    awarded_level_id: None,
                    feedback: None,
                    area_feedback: None,
                });
            }
            Stage::Returned | Stage::Certified => {
                if let Some(r) = out.reviews.last_mut().filter(|r| r.certification_id == id) {
                    r.decided_at = Some(at(day));
                    r.outcome = Some(stage.as_db().to_owned());
                    r.feedback = comment.clone().or(Some("A clear, well-evidenced submission.".to_owned()));
                    r.awarded_level_id = (*stage == Stage::Certified).then_some(level.id);
                }
            }
            _ => {}
        }
        out.events.push(certification_event::Model {
            id: uuid(rng),
            certification_id: id,
            version: v as i32 + 1,
            from_stage: (v > 0).then(|| stages[v - 1].as_db().to_owned()),
            to_stage: stage.as_db().to_owned(),
            at: at(day),
            actor_subject: by,
            actor_name: name,
            actor_role: role.to_owned(),
            comment,
        });
    }
    let last = *stages.last().expect("a path has stages");
    let certified = last == Stage::Certified;
    let awarded_on = certified.then_some(day);
    let number = certified.then(|| {
        number.unwrap_or_else(|| {
            let n: u64 = rng.random();
            format!("CERT-DEMO-{:04X}-{:04X}-{:04X}", (n >> 32) & 0xFFFF, (n >> 16) & 0xFFFF, n & 0xFFFF)
        })
    });
    out.certifications.push(certification::Model {
        id,
        school_id: school,
        framework_id: fw.framework.id,
        framework_slug: fw.framework.slug.clone(),
        target_level_id: level.id,
        stage: last.as_db().to_owned(),
        version: stages.len() as i32,
        renewal_of,
        enrolled_at: at(plan.starts),
        stage_changed_at: at(stage_since),
        submitted_at: submitted.map(at),
        awarded_level_id: certified.then_some(level.id),
        certificate_number: number,
        awarded_on,
        expires_on: awarded_on
            .and_then(|d| d.checked_add_months(chrono::Months::new(fw.framework.validity_months as u32))),
    });
    // Ratings: complete once evidence gathering starts; partial while self-assessing.
    let criteria: Vec<_> = fw.criteria_at(level.id).collect();
    let rated = match last {
        Stage::Enrolled | Stage::Withdrawn => 0,
        Stage::SelfAssessing => criteria.len() / 2,
        _ => criteria.len(),
    };
    for (k, c) in criteria.iter().take(rated).enumerate() {
        let value = match (last, k % 7) {
            (Stage::SelfAssessing | Stage::GatheringEvidence, 3) => SelfRating::NotYet,
            (_, 0 | 4) => SelfRating::Emerging,
            (_, 6) => SelfRating::Exceeding,
            _ => SelfRating::Secure,
        };
        out.ratings.push(rating::Model {
            certification_id: id,
            criterion_id: c.id,
            rating: value.as_db().to_owned(),
            note: (k % 5 == 0).then(|| "Discussed at the spring staff meeting.".to_owned()),
            rated_at: at(plan.starts + Duration::days(10 + k as i64)),
            rated_by: lead(urn),
        });
    }
    // Evidence: one item per area once submitted; two while gathering.
    let areas = match last {
        Stage::GatheringEvidence => 2,
        Stage::Submitted | Stage::UnderReview | Stage::Returned | Stage::Certified => fw.areas.len(),
        _ => 0,
    };
    for (k, area) in fw.areas.iter().take(areas).enumerate() {
        let kind = EvidenceKind::ALL[k % EvidenceKind::ALL.len()];
        let item = evidence::Model {
            id: uuid(rng),
            certification_id: id,
            kind: kind.as_db().to_owned(),
            title: TITLES[k % TITLES.len()].to_owned(),
            url: (kind != EvidenceKind::Description)
                .then(|| format!("https://example.org/demo/{urn}/{}", k + 1)),
            body: (kind == EvidenceKind::Description)
                .then(|| "A short account of how the school put this into practice.".to_owned()),
            no_personal_data: true,
            added_at: at(plan.starts + Duration::days(60 + k as i64)),
            added_by: lead(urn),
        };
        for c in criteria.iter().filter(|c| c.area_id == area.id).take(2) {
            out.links.push(evidence_criterion::Model { evidence_id: item.id, criterion_id: c.id });
        }
        out.evidence.push(item);
    }
    id
}
