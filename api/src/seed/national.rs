//! Journeys and AI policies for national-scale synthetic sets: the demo's story told for
//! every partnership, in its proportions rather than with its fixed cast. Pioneers are mostly
//! certified (some after one return, a few from a pilot whose certificate has expired, most
//! of those renewing), the second cohort is at every stage, the third is starting out, and a
//! few schools withdraw. Dates follow each cohort's start; every choice comes from the
//! seeded generator, so the same seed gives the same rows.

use std::collections::HashMap;

use chrono::{Duration, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{
    Dataset, date,
    journeys::{Journeys, Plan, journey, policy},
};
use crate::{certification::Stage, framework::FrameworkData};

/// The date the AI policy mix is drawn for (late 2026, as the demo's): on it about a sixth
/// of schools have no policy, a third are overdue, a sixth are due for review and a third
/// are current. Later dates drift towards overdue, as real records would.
pub fn policy_as_of() -> NaiveDate {
    date(2026, 12, 1)
}

/// Synthetic certificate numbers: a prefix the real generator (four groups of four) and the
/// demo (`CERT-DEMO-`) never produce, and a running count, so they are unique nationally.
fn number(issued: &mut u32) -> String {
    *issued += 1;
    format!("CERT-SYNT-{:03}-{:04}", *issued / 10_000, *issued % 10_000)
}

/// Picks the index of a weighted choice.
fn pick(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let mut roll = rng.random_range(0..weights.iter().sum::<u32>());
    for (k, w) in weights.iter().enumerate() {
        if roll < *w {
            return k;
        }
        roll -= w;
    }
    weights.len() - 1
}

/// Builds journeys for every cohort in `data` and a policy record for most schools.
pub fn generate(data: &Dataset, fw: &FrameworkData, seed: u64) -> Journeys {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Journeys::default();
    let mut issued = 0u32;
    let urns: HashMap<Uuid, i32> = data.schools.iter().map(|s| (s.id, s.urn)).collect();
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for m in &data.cohort_schools {
        members.entry(m.cohort_id).or_default().push(m.school_id);
    }
    for cohort in &data.cohorts {
        for school in members.get(&cohort.id).map_or(&[][..], Vec::as_slice) {
            let who = (*school, urns[school]);
            let starts = cohort.starts_on + Duration::days(rng.random_range(5..25));
            let plan = match cohort.ordinal {
                1 => pioneer(&mut out, &mut rng, fw, who, starts, &mut issued),
                2 => second(&mut rng, starts),
                _ => later(&mut rng, starts),
            };
            if let Some(plan) = plan {
                let numbered = (plan.last == Stage::Certified).then(|| number(&mut issued));
                journey(&mut out, &mut rng, fw, who, plan, None, numbered);
            }
        }
    }
    policies(&mut out, &mut rng, data);
    out
}

/// A pioneer's story; returns the plan of its one journey, or None when it was written here
/// (an expired pilot certificate, with or without a renewal).
fn pioneer(
    out: &mut Journeys,
    rng: &mut ChaCha8Rng,
    fw: &FrameworkData,
    who: (Uuid, i32),
    starts: NaiveDate,
    issued: &mut u32,
) -> Option<Plan> {
    let level = ["EXPLORER", "PRACTITIONER", "INNOVATOR"][pick(rng, &[15, 70, 15])];
    let plan = |last, returned_once| Some(Plan { last, level, returned_once, starts });
    match pick(rng, &[62, 15, 12, 5, 3, 3]) {
        0 => plan(Stage::Certified, false),
        1 => plan(Stage::Certified, true),
        k @ (2 | 3) => {
            // Certified in a pilot before the partnership began; that certificate has expired.
            let pilot = Plan {
                last: Stage::Certified,
                level: "EXPLORER",
                returned_once: false,
                starts: date(2022, 9, 1) + Duration::days(rng.random_range(0..180)),
            };
            let old = journey(out, rng, fw, who, pilot, None, Some(number(issued)));
            if k == 2 {
                let expired = pilot_expiry(out, old);
                let last = [
                    Stage::SelfAssessing,
                    Stage::GatheringEvidence,
                    Stage::Submitted,
                    Stage::UnderReview,
                    Stage::Certified,
                ][pick(rng, &[2, 4, 2, 1, 3])];
                let renewal = Plan {
                    last,
                    level: "PRACTITIONER",
                    returned_once: false,
                    starts: expired + Duration::days(rng.random_range(7..60)),
                };
                let numbered = (last == Stage::Certified).then(|| number(issued));
                journey(out, rng, fw, who, renewal, Some(old), numbered);
            }
            None
        }
        4 => plan(Stage::Returned, false),
        _ => plan(Stage::Withdrawn, false),
    }
}

/// When the pilot journey `id` (just added) expires.
fn pilot_expiry(out: &Journeys, id: Uuid) -> NaiveDate {
    out.certifications
        .iter()
        .rev()
        .find(|c| c.id == id)
        .and_then(|c| c.expires_on)
        .expect("a certified journey has an expiry date")
}

/// The second cohort in the demo's eighteenths: certified, at review, submitted, returned,
/// gathering evidence, withdrawn, self-assessing.
fn second(rng: &mut ChaCha8Rng, starts: NaiveDate) -> Option<Plan> {
    let (last, returned_once) = [
        (Stage::Certified, false),
        (Stage::Certified, true),
        (Stage::UnderReview, false),
        (Stage::Submitted, false),
        (Stage::Returned, false),
        (Stage::GatheringEvidence, false),
        (Stage::Withdrawn, false),
        (Stage::SelfAssessing, false),
    ][pick(rng, &[4, 1, 2, 3, 1, 4, 1, 2])];
    let level = if rng.random_ratio(1, 3) { "PRACTITIONER" } else { "EXPLORER" };
    Some(Plan { last, level, returned_once, starts })
}

/// Later cohorts are starting out; about one school in nine has not enrolled yet.
fn later(rng: &mut ChaCha8Rng, starts: NaiveDate) -> Option<Plan> {
    let last = [
        None,
        Some(Stage::Enrolled),
        Some(Stage::SelfAssessing),
        Some(Stage::GatheringEvidence),
        Some(Stage::Withdrawn),
    ][pick(rng, &[11, 32, 43, 12, 2])]?;
    Some(Plan { last, level: "EXPLORER", returned_once: false, starts })
}

/// Policy records whose status on `policy_as_of()` is overdue, due for review or current,
/// for all but about a sixth of schools.
fn policies(out: &mut Journeys, rng: &mut ChaCha8Rng, data: &Dataset) {
    let as_of = policy_as_of();
    let year = Months::new(12);
    let year_before = as_of - year;
    for (i, s) in data.schools.iter().enumerate() {
        // The last review (or adoption) the next due date counts from.
        let base = match pick(rng, &[16, 33, 17, 34]) {
            0 => continue,
            1 => year_before - Duration::days(rng.random_range(1..300)),
            2 => year_before + Duration::days(rng.random_range(1..30)),
            _ => as_of - Duration::days(rng.random_range(10..300)),
        };
        let (adopted, reviewed) = if rng.random_bool(0.5) {
            (base - year - Duration::days(rng.random_range(0..60)), Some(base))
        } else {
            (base, None)
        };
        out.policies.push(policy(i, s, adopted, reviewed));
    }
}
