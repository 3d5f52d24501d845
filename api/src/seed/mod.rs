//! Synthetic data: the demo city (DOMAIN.md, "Demo and scale data") and national-scale sets
//! for benchmarks. Every name is invented, every URN is in the 9xxxxx range GIAS does not
//! use, and every postcode is in the ZZ99 pseudo-area; partnerships are flagged `synthetic`.

use chrono::NaiveDate;
use entity::{
    cohort, cohort_school, local_authority, mentorship_pairing, partnership, partnership_school, school,
    trust,
};
use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

pub mod journeys;
pub mod national;

use crate::{
    error::{ApiError, ApiResult},
    framework::{FrameworkData, file::AIED_CERTIFIED, service as frameworks},
    import::service::insert_chunks,
    mentorship::service::ACTIVE,
    school::Phase,
};

pub const DEMO_SLUG: &str = "demo-city";
/// The most schools `synthetic` makes: URNs 900001 to 989999.
pub const MAX_SYNTHETIC: usize = 89_999;

const ADJECTIVES: [&str; 28] = [
    "Amber", "Azure", "Bramble", "Cobalt", "Copper", "Coral", "Crimson", "Ember", "Garnet", "Indigo",
    "Ivory", "Jade", "Juniper", "Lilac", "Marble", "Onyx", "Opal", "Pewter", "Quartz", "Russet", "Saffron",
    "Sable", "Silver", "Topaz", "Umber", "Velvet", "Willow", "Zephyr",
];
const ANIMALS: [&str; 24] = [
    "Badger", "Bittern", "Curlew", "Dormouse", "Egret", "Ferret", "Gannet", "Heron", "Ibex", "Jackdaw",
    "Kestrel", "Lynx", "Marten", "Newt", "Osprey", "Otter", "Puffin", "Quail", "Raven", "Stoat", "Tern",
    "Vole", "Wren", "Yak",
];
/// Shares of each phase in every generated partnership (about 75% primary, as in England).
const PHASES: [(Phase, f64); 6] = [
    (Phase::Primary, 0.75),
    (Phase::Secondary, 0.16),
    (Phase::Special, 0.03),
    (Phase::Nursery, 0.02),
    (Phase::AllThrough, 0.02),
    (Phase::AlternativeProvision, 0.02),
];

/// How big a generated data set is.
#[derive(Clone, Debug)]
pub struct Spec {
    pub schools: usize,
    pub academies: usize,
    pub trusts: usize,
    pub partnerships: usize,
    pub rng_seed: u64,
    pub demo: bool,
}

impl Spec {
    /// The demo city: 61 schools, 17 maintained and 44 academies in 14 trusts.
    pub fn demo() -> Self {
        Self { schools: 61, academies: 44, trusts: 14, partnerships: 1, rng_seed: 2024, demo: true }
    }

    /// National proportions: about half academies, a trust per ten schools, a partnership
    /// (and LA) per ~150 schools.
    pub fn synthetic(schools: usize, rng_seed: u64) -> ApiResult<Self> {
        if !(1..=MAX_SYNTHETIC).contains(&schools) {
            return Err(ApiError::invalid("schools", format!("ask for 1 to {MAX_SYNTHETIC} schools")));
        }
        Ok(Self {
            schools,
            academies: schools * 11_280 / 22_023,
            trusts: (schools / 10).max(1),
            partnerships: schools.div_ceil(150),
            rng_seed,
            demo: false,
        })
    }
}

/// Rows to insert, in foreign-key order.
#[derive(Default)]
pub struct Dataset {
    pub las: Vec<local_authority::Model>,
    pub trusts: Vec<trust::Model>,
    pub schools: Vec<school::Model>,
    pub partnerships: Vec<partnership::Model>,
    pub members: Vec<partnership_school::Model>,
    pub cohorts: Vec<cohort::Model>,
    pub cohort_schools: Vec<cohort_school::Model>,
    pub pairings: Vec<mentorship_pairing::Model>,
    pub journeys: journeys::Journeys,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid constant date")
}

fn uuid(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// Builds a data set from `spec`; the same spec always gives the same rows.
pub fn generate(spec: &Spec) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.rng_seed);
    let mut data = Dataset::default();
    let mut names: Vec<(usize, usize)> =
        (0..ADJECTIVES.len()).flat_map(|a| (0..ANIMALS.len()).map(move |b| (a, b))).collect();
    names.shuffle(&mut rng);

    for t in 0..spec.trusts {
        let (a, b) = names[(t * 7 + 3) % names.len()];
        data.trusts.push(trust::Model {
            id: uuid(&mut rng),
            name: format!("{} {} Learning Trust", ADJECTIVES[a], ANIMALS[b]),
            group_uid: format!("{}", if spec.demo { 990_000 } else { 900_000 } + t + 1),
            companies_house_number: None,
            created_by_partnership_id: None,
        });
    }
    // Which schools are academies, spread over the partnerships.
    let mut academy = vec![false; spec.schools];
    academy[..spec.academies].fill(true);
    academy.shuffle(&mut rng);
    let mut next_academy = 0usize;

    for p in 0..spec.partnerships {
        let (slug, name, la_code, la_name) = if spec.demo {
            (
                DEMO_SLUG.to_owned(),
                "The Digital City (synthetic demo)".to_owned(),
                "999".to_owned(),
                "Demo City Council (synthetic)".to_owned(),
            )
        } else {
            (
                format!("synthetic-{:03}", p + 1),
                format!("Synthetic Cluster {:03}", p + 1),
                format!("{:03}", 100 + p),
                format!("Synthetic Authority {:03}", p + 1),
            )
        };
        let la = local_authority::Model { id: uuid(&mut rng), code: la_code, name: la_name };
        let part = partnership::Model {
            id: uuid(&mut rng),
            slug,
            name,
            starts_on: date(2024, 9, 1),
            deadline: date(2026, 8, 31),
            default_framework: Some("aied-certified".to_owned()),
            max_active_mentees: 3,
            synthetic: true,
            required_level: None,
            stalled_after_days: 60,
            returned_after_days: 30,
            overdue_actions_at_risk: false,
            comparison_min_schools: 5,
            framework_version: Some(1),
            local_authority_codes: la.code.clone(),
        };
        let first = p * spec.schools / spec.partnerships;
        let last = (p + 1) * spec.schools / spec.partnerships;
        let n = last - first;

        let mut phases = Vec::with_capacity(n);
        for (phase, share) in PHASES.iter().skip(1) {
            phases.extend(std::iter::repeat_n(*phase, (n as f64 * share).round() as usize));
        }
        phases.truncate(n);
        phases.resize(n, Phase::Primary);
        phases.shuffle(&mut rng);

        let mut ids = Vec::with_capacity(n);
        for (k, i) in (first..last).enumerate() {
            let phase = phases[k];
            let trust_id = academy[i].then(|| {
                next_academy += 1;
                data.trusts[(next_academy - 1) % spec.trusts].id
            });
            let (a, b) = names[i % names.len()];
            let school = school::Model {
                id: uuid(&mut rng),
                urn: if spec.demo { 990_001 } else { 900_001 } + i as i32,
                name: format!("{} {} {}", ADJECTIVES[a], ANIMALS[b], suffix(phase, &mut rng)),
                phase: phase.as_db().to_owned(),
                establishment_type: establishment_type(phase, trust_id.is_some()).to_owned(),
                local_authority_id: la.id,
                trust_id,
                postcode: Some(format!(
                    "ZZ99 {}{}{}",
                    rng.random_range(0..10),
                    char::from(b'A' + rng.random_range(0..26u8)),
                    char::from(b'A' + rng.random_range(0..26u8))
                )),
                open: true,
                opened_on: None,
                closed_on: None,
            };
            ids.push(school.id);
            data.members.push(partnership_school::Model {
                partnership_id: part.id,
                school_id: school.id,
                joined_on: None,
                left_on: None,
                succeeds_id: None,
            });
            data.schools.push(school);
        }

        // Cohorts in the demo's proportions: 6 pioneers, 18, then the rest.
        ids.shuffle(&mut rng);
        let c1 = (n * 6).div_ceil(61).min(n);
        let c2 = (n * 18 / 61).min(n - c1);
        let plan = [
            ("Cohort 1 (pioneers)", date(2024, 9, 2), date(2025, 3, 31), &ids[..c1]),
            ("Cohort 2", date(2025, 4, 1), date(2025, 12, 19), &ids[c1..c1 + c2]),
            ("Cohort 3", date(2026, 1, 5), date(2026, 7, 15), &ids[c1 + c2..]),
        ];
        let mut cohort_ids = Vec::new();
        for (ordinal, (name, starts_on, target_on, members)) in plan.into_iter().enumerate() {
            let c = cohort::Model {
                id: uuid(&mut rng),
                partnership_id: part.id,
                name: name.to_owned(),
                ordinal: ordinal as i32 + 1,
                starts_on,
                target_on,
            };
            for s in members {
                data.cohort_schools.push(cohort_school::Model {
                    cohort_id: c.id,
                    school_id: *s,
                    partnership_id: part.id,
                    joined_on: None,
                    left_on: None,
                });
            }
            cohort_ids.push(c.id);
            data.cohorts.push(c);
        }
        // Each pioneer mentors up to three schools of cohort 2.
        for (j, mentee) in ids[c1..c1 + c2].iter().enumerate() {
            if let Some(mentor) = ids[..c1].get(j / 3) {
                data.pairings.push(mentorship_pairing::Model {
                    id: uuid(&mut rng),
                    partnership_id: part.id,
                    cohort_id: cohort_ids[1],
                    mentor_school_id: *mentor,
                    mentee_school_id: *mentee,
                    started_on: date(2025, 4, 1),
                    ended_on: None,
                    status: ACTIVE.to_owned(),
                });
            }
        }
        data.las.push(la);
        data.partnerships.push(part);
    }
    data
}

fn suffix(phase: Phase, rng: &mut ChaCha8Rng) -> &'static str {
    let pick =
        |options: &'static [&'static str], rng: &mut ChaCha8Rng| options[rng.random_range(0..options.len())];
    match phase {
        Phase::Primary => pick(&["Primary School", "Infant School", "Junior School", "Primary Academy"], rng),
        Phase::Secondary => pick(&["High School", "Academy", "Secondary School"], rng),
        Phase::Special => "Special School",
        Phase::Nursery => "Nursery School",
        Phase::AllThrough => "All-Through School",
        Phase::AlternativeProvision => "Learning Centre",
        Phase::Middle => "Middle School",
        Phase::SixteenPlus => "Sixth Form College",
        Phase::NotApplicable => "School",
    }
}

fn establishment_type(phase: Phase, academy: bool) -> &'static str {
    match (phase, academy) {
        (Phase::Special, true) => "Academy special converter",
        (Phase::Special, false) => "Community special school",
        (Phase::AlternativeProvision, true) => "Academy alternative provision converter",
        (Phase::AlternativeProvision, false) => "Pupil referral unit",
        (Phase::Nursery, false) => "Local authority nursery school",
        (_, true) => "Academy converter",
        (_, false) => "Community school",
    }
}

/// A national-scale set with its journeys and AI policies, on framework `fw`.
pub fn generate_synthetic(spec: &Spec, fw: &FrameworkData) -> Dataset {
    let mut data = generate(spec);
    // A second stream, so adding journeys left the registry rows of a seed as they were.
    data.journeys = national::generate(&data, fw, spec.rng_seed ^ 0x6a6f_7572_6e65_7973);
    data
}

/// Tables a synthetic load fills.
const LOADED: [&str; 16] = [
    "local_authority",
    "trust",
    "partnership",
    "partnership_goal",
    "school",
    "partnership_school",
    "cohort",
    "cohort_school",
    "mentorship_pairing",
    "certification",
    "certification_event",
    "rating",
    "evidence",
    "evidence_criterion",
    "review",
    "ai_policy",
];

/// Inserts a data set in one transaction.
pub async fn insert(db: &DatabaseConnection, data: Dataset) -> ApiResult<()> {
    let txn = crate::db::begin_write(db).await?;
    macro_rules! put {
        ($rows:expr, $am:ty) => {
            insert_chunks(&txn, $rows.into_iter().map(<$am>::from).collect()).await?
        };
    }
    put!(data.las, local_authority::ActiveModel);
    put!(data.trusts, trust::ActiveModel);
    let goals = data.partnerships.iter().map(crate::partnership::goals::first_goal).collect::<Vec<_>>();
    put!(data.partnerships, partnership::ActiveModel);
    put!(goals, entity::partnership_goal::ActiveModel);
    put!(data.schools, school::ActiveModel);
    put!(data.members, partnership_school::ActiveModel);
    put!(data.cohorts, cohort::ActiveModel);
    put!(data.cohort_schools, cohort_school::ActiveModel);
    put!(data.pairings, mentorship_pairing::ActiveModel);
    let j = data.journeys;
    put!(j.certifications, entity::certification::ActiveModel);
    put!(j.events, entity::certification_event::ActiveModel);
    put!(j.ratings, entity::rating::ActiveModel);
    put!(j.evidence, entity::evidence::ActiveModel);
    put!(j.links, entity::evidence_criterion::ActiveModel);
    put!(j.reviews, entity::review::ActiveModel);
    put!(j.policies, entity::ai_policy::ActiveModel);
    txn.commit().await?;
    Ok(())
}

/// Loads the demo city unless it is there already; says whether it loaded it.
pub async fn demo(db: &DatabaseConnection) -> ApiResult<bool> {
    let present =
        partnership::Entity::find().filter(partnership::Column::Slug.eq(DEMO_SLUG)).count(db).await? > 0;
    if present {
        return Ok(false);
    }
    let framework = frameworks::load(db, AIED_CERTIFIED).await?.framework;
    let framework = frameworks::data(db, framework.id).await?;
    let mut data = generate(&Spec::demo());
    data.journeys = journeys::generate(&data, &framework, 2025);
    insert(db, data).await?;
    tracing::info!("loaded the synthetic demo partnership {DEMO_SLUG:?}");
    Ok(true)
}

/// Loads a national-scale synthetic set; refuses when one is loaded already.
pub async fn synthetic(db: &DatabaseConnection, schools: usize, rng_seed: u64) -> ApiResult<Spec> {
    let spec = Spec::synthetic(schools, rng_seed)?;
    let present = partnership::Entity::find()
        .filter(partnership::Column::Slug.starts_with("synthetic-"))
        .count(db)
        .await?;
    if present > 0 {
        return Err(ApiError::Conflict(
            "a synthetic data set is loaded already; use a fresh database".into(),
        ));
    }
    let framework = frameworks::load(db, AIED_CERTIFIED).await?.framework;
    let framework = frameworks::data(db, framework.id).await?;
    insert(db, generate_synthetic(&spec, &framework)).await?;
    crate::db::analyze(db, &LOADED).await;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_city_has_the_documented_shape() {
        let d = generate(&Spec::demo());
        assert_eq!(d.schools.len(), 61);
        assert_eq!(d.schools.iter().filter(|s| s.trust_id.is_none()).count(), 17);
        assert_eq!(d.trusts.len(), 14);
        let trusts_used: std::collections::HashSet<_> = d.schools.iter().filter_map(|s| s.trust_id).collect();
        assert_eq!(trusts_used.len(), 14);
        let primary = d.schools.iter().filter(|s| s.phase == "PRIMARY").count();
        assert!((44..=48).contains(&primary), "{primary} primary schools");
        let per_cohort: Vec<usize> = d
            .cohorts
            .iter()
            .map(|c| d.cohort_schools.iter().filter(|m| m.cohort_id == c.id).count())
            .collect();
        assert_eq!(per_cohort, vec![6, 18, 37]);
        assert_eq!(d.pairings.len(), 18);
        let names: std::collections::HashSet<_> = d.schools.iter().map(|s| &s.name).collect();
        assert_eq!(names.len(), 61, "demo school names are unique");
    }

    #[test]
    fn synthetic_sets_are_deterministic() {
        let a = generate(&Spec::synthetic(500, 7).unwrap());
        let b = generate(&Spec::synthetic(500, 7).unwrap());
        assert_eq!(a.schools, b.schools);
        assert_eq!(a.partnerships.len(), 4);
        assert_eq!(a.trusts.len(), 50);
    }
}
