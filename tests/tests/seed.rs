use std::collections::{HashMap, HashSet};

use api::{
    auth::Role,
    certification::Stage,
    framework::{FrameworkData, file::AIED_CERTIFIED, service as frameworks},
    policy::service::{PolicyStatus, status},
    seed::{Spec, generate_synthetic, national::policy_as_of},
};
use chrono::NaiveDate;
use serde_json::json;
use tests::TestApp;

#[tokio::test]
async fn demo_loading_is_idempotent() {
    let app = TestApp::spawn().await;
    assert!(api::seed::demo(&app.db).await.unwrap());
    assert!(!api::seed::demo(&app.db).await.unwrap());
    assert_eq!(app.count("school").await, 61);
    assert_eq!(app.count("mentorship_pairing").await, 18);
}

#[tokio::test]
async fn synthetic_sets_have_national_proportions() {
    let app = TestApp::spawn().await;
    let spec = api::seed::synthetic(&app.db, 1_500, 42).await.unwrap();
    assert_eq!((spec.partnerships, spec.trusts), (10, 150));
    assert_eq!(app.count("school").await, 1_500);
    assert_eq!(app.count("partnership").await, 10);
    assert_eq!(app.count("local_authority").await, 10);
    assert_eq!(app.count("cohort").await, 30);
    assert_eq!(app.count("cohort_school").await, 1_500);
    let err = api::seed::synthetic(&app.db, 10, 1).await.unwrap_err();
    assert_eq!(err.code(), "CONFLICT");
    let token = app.token(Role::Partner).partnership("synthetic-010").sign();
    let data = app
        .gql(Some(&token), "{ schools(filter: { maintained: false }) { totalCount } }", json!({}))
        .await
        .ok();
    let academies = data["schools"]["totalCount"].as_i64().unwrap();
    assert!((50..=100).contains(&academies), "about half of 150 are academies: {academies}");
}

#[tokio::test]
#[cfg_attr(not(postgres), ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
async fn postgres_is_exercised_when_configured() {
    let app = TestApp::spawn().await;
    assert!(app.is_postgres(), "TEST_DATABASE_URL is set but the suite runs on SQLite")
}

async fn aied(app: &TestApp) -> std::sync::Arc<FrameworkData> {
    let framework = frameworks::load(&app.db, AIED_CERTIFIED).await.unwrap().framework;
    frameworks::data(&app.db, framework.id).await.unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn synthetic_journeys_are_deterministic() {
    let app = TestApp::spawn().await;
    let fw = aied(&app).await;
    let spec = Spec::synthetic(600, 9).unwrap();
    let (a, b) = (generate_synthetic(&spec, &fw), generate_synthetic(&spec, &fw));
    let (a, b) = (a.journeys, b.journeys);
    assert!(!a.certifications.is_empty());
    assert_eq!(a.certifications, b.certifications);
    assert_eq!(a.events, b.events);
    assert_eq!(a.ratings, b.ratings);
    assert_eq!(a.evidence, b.evidence);
    assert_eq!(a.links, b.links);
    assert_eq!(a.reviews, b.reviews);
    assert_eq!(a.policies, b.policies);
    let other = generate_synthetic(&Spec::synthetic(600, 10).unwrap(), &fw).journeys;
    assert_ne!(a.certifications, other.certifications, "another seed tells another story");
}

#[tokio::test]
async fn synthetic_journeys_follow_the_rules_in_the_demo_proportions() {
    let app = TestApp::spawn().await;
    let fw = aied(&app).await;
    let d = generate_synthetic(&Spec::synthetic(3_000, 42).unwrap(), &fw);
    let j = &d.journeys;

    // Every history is a legal walk through the stages, ending where the journey is.
    let mut history: HashMap<_, Vec<_>> = HashMap::new();
    for e in &j.events {
        history.entry(e.certification_id).or_default().push(e);
    }
    for c in &j.certifications {
        let mut events = history.remove(&c.id).expect("every journey has a history");
        events.sort_by_key(|e| e.version);
        assert_eq!(events[0].from_stage, None);
        assert_eq!(events[0].to_stage, "ENROLLED");
        for w in events.windows(2) {
            assert_eq!(w[1].version, w[0].version + 1);
            assert_eq!(w[1].from_stage.as_deref(), Some(w[0].to_stage.as_str()));
            let (from, to) = (Stage::from_db(&w[0].to_stage), Stage::from_db(&w[1].to_stage));
            assert!(from.next().contains(&to), "{from:?} -> {to:?} is not a legal move");
            assert!(w[1].at >= w[0].at, "history runs forwards");
        }
        let last = events.last().unwrap();
        assert_eq!((last.to_stage.as_str(), last.version), (c.stage.as_str(), c.version));
        assert!(last.at.date_naive() <= policy_as_of(), "no event after the story's present");
        // Certificates only on certified journeys, and every certified journey has one.
        let certified = c.stage == "CERTIFIED";
        assert_eq!(c.certificate_number.is_some(), certified, "{c:?}");
        assert_eq!(c.awarded_on.is_some() && c.expires_on.is_some(), certified);
        assert_eq!(c.awarded_level_id.is_some(), certified);
    }
    assert!(history.is_empty(), "no events without a journey");
    let numbers: HashSet<_> = j.certifications.iter().filter_map(|c| c.certificate_number.as_ref()).collect();
    assert_eq!(numbers.len(), j.certifications.iter().filter(|c| c.stage == "CERTIFIED").count());
    assert!(numbers.iter().all(|n| n.starts_with("CERT-SYNT-")));
    // At most one open journey per school (the database's partial unique index).
    let mut open = HashSet::new();
    for c in j.certifications.iter().filter(|c| !matches!(c.stage.as_str(), "CERTIFIED" | "WITHDRAWN")) {
        assert!(open.insert(c.school_id), "two open journeys for one school");
    }
    // A renewal follows an expired certificate of the same school.
    let by_id: HashMap<_, _> = j.certifications.iter().map(|c| (c.id, c)).collect();
    let renewals: Vec<_> = j.certifications.iter().filter(|c| c.renewal_of.is_some()).collect();
    for r in &renewals {
        let old = by_id[&r.renewal_of.unwrap()];
        assert_eq!(old.school_id, r.school_id);
        assert!(old.expires_on.unwrap() < r.enrolled_at.date_naive());
    }
    assert!(renewals.len() >= 10, "{} renewals", renewals.len());
    assert!(renewals.iter().any(|r| r.stage == "CERTIFIED"), "some renewals are certified again");

    // The pioneers are mostly certified on a mid-2026 day; some hold expired certificates.
    let pioneers: HashSet<_> = d.cohorts.iter().filter(|c| c.ordinal == 1).map(|c| c.id).collect();
    let pioneers: HashSet<_> =
        d.cohort_schools.iter().filter(|m| pioneers.contains(&m.cohort_id)).map(|m| m.school_id).collect();
    let valid_on = |c: &&entity::certification::Model, on: NaiveDate| {
        c.stage == "CERTIFIED" && c.awarded_on.unwrap() <= on && c.expires_on.unwrap() >= on
    };
    let certified: HashSet<_> = j
        .certifications
        .iter()
        .filter(|c| valid_on(c, day("2026-06-01")))
        .map(|c| c.school_id)
        .filter(|s| pioneers.contains(s))
        .collect();
    let share = certified.len() as f64 / pioneers.len() as f64;
    assert!((0.65..=0.92).contains(&share), "{share:.2} of {} pioneers certified", pioneers.len());
    let expired =
        j.certifications.iter().filter(|c| c.expires_on.is_some_and(|e| e < day("2025-09-01"))).count();
    assert!(expired >= 10, "{expired} expired certificates");

    // Every stage occurs, returned-once journeys too, and about one later school in nine
    // has not enrolled.
    let stages: HashSet<_> = j.certifications.iter().map(|c| c.stage.as_str()).collect();
    // EXPIRED is read from the date, and the seeds revoke nothing (a rare act of the awarding side).
    for s in Stage::ALL.iter().filter(|s| !matches!(s, Stage::Expired | Stage::Revoked)) {
        assert!(stages.contains(s.as_db()), "no journey is {}", s.as_db());
    }
    assert!(j.events.iter().filter(|e| e.to_stage == "RETURNED").count() > j.certifications.len() / 50);
    let enrolled: HashSet<_> = j.certifications.iter().map(|c| c.school_id).collect();
    let idle = d.schools.len() - enrolled.len();
    assert!((d.schools.len() / 20..d.schools.len() / 8).contains(&idle), "{idle} schools not enrolled");
    // Ratings and evidence belong to journeys that reached those steps; reviews to submitted ones.
    let stage_of: HashMap<_, _> = j.certifications.iter().map(|c| (c.id, c.stage.as_str())).collect();
    assert!(j.ratings.iter().all(|r| !matches!(stage_of[&r.certification_id], "ENROLLED" | "WITHDRAWN")));
    assert!(j.reviews.iter().all(|r| stage_of.contains_key(&r.certification_id)));
    assert!(!j.evidence.is_empty() && j.evidence.iter().all(|e| e.no_personal_data));

    // AI policies: every status, in demo-like shares.
    let policies: HashMap<_, _> = j.policies.iter().map(|p| (p.school_id, p)).collect();
    let counts: Vec<PolicyStatus> =
        d.schools.iter().map(|s| status(policies.get(&s.id).copied(), policy_as_of())).collect();
    let share = |s: PolicyStatus| counts.iter().filter(|c| **c == s).count() as f64 / counts.len() as f64;
    for (kind, low, high) in [
        (PolicyStatus::Missing, 0.10, 0.25),
        (PolicyStatus::Overdue, 0.25, 0.42),
        (PolicyStatus::ReviewDue, 0.10, 0.25),
        (PolicyStatus::Current, 0.25, 0.42),
    ] {
        assert!((low..high).contains(&share(kind)), "{kind:?}: {:.2}", share(kind));
    }
}

#[tokio::test]
async fn synthetic_journeys_load_and_progress_answers() {
    let app = TestApp::spawn().await;
    api::seed::synthetic(&app.db, 450, 5).await.unwrap();
    assert!(app.count("certification").await > 300);
    assert!(app.count("certification_event").await > 1_000);
    assert!(app.count("rating").await > 1_000);
    assert!(app.count("review").await > 0);
    assert!(app.count("ai_policy").await > 300);

    let token = app.token(Role::CityAdmin).partnership("synthetic-002").sign();
    let q = "{ partnershipBySlug(slug: \"synthetic-002\") { id progress(asOf: \"2026-06-01\") {
        totalSchools certified expired atRiskCount byStage { stage count }
        aiPolicy { missing current reviewDue overdue } } } }";
    let data = app.gql(Some(&token), q, json!({})).await.ok();
    let p = &data["partnershipBySlug"]["progress"];
    assert_eq!(p["totalSchools"], 150);
    let certified = p["certified"].as_i64().unwrap();
    assert!((15..=60).contains(&certified), "{p}");
    assert!(p["atRiskCount"].as_i64().unwrap() > 0, "{p}");
    let id = data["partnershipBySlug"]["id"].clone();
    let q = "query($p: ID!) { atRiskSchools(partnership: $p, asOf: \"2026-06-01\", first: 100) { school { urn } reason risks } }";
    let risks = app.gql(Some(&token), q, json!({ "p": id })).await.ok();
    assert!(!risks["atRiskSchools"].as_array().unwrap().is_empty());

    // A synthetic certificate checks out publicly.
    let q = "{ certificate(number: \"CERT-SYNT-000-0001\") { schoolName level expiresOn } }";
    let cert = app.gql(None, q, json!({})).await.ok();
    assert!(cert["certificate"]["schoolName"].as_str().is_some(), "{cert}");
}
