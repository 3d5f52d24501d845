//! Builders for test worlds: registry rows inserted straight into the database (one row each,
//! returned as the model), and certification journeys driven through the API as the school's
//! lead and an assessor would, so their ratings, evidence, history and certificates are real.
//!
//! Struct literals end with `..Default::default()`: columns added later (nullable or with a
//! database default) stay unset and do not break the builders.

// Deliberate even where every column is set today: see above.
#![allow(clippy::needless_update)]

use api::auth::Role;
use chrono::NaiveDate;
use entity::{
    ai_policy, cohort, cohort_school, framework, local_authority, mentorship_pairing, partnership,
    partnership_school, school, trust,
};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestApp;

/// The framework every fixture partnership uses.
pub const FRAMEWORK: &str = "aied-certified";
/// The framework file as shipped (version 1).
pub const FRAMEWORK_FILE: &str = include_str!("../../frameworks/aied-certified.toml");
/// The Explorer level's criterion codes are `{area}-E-{group}`.
const AREAS: [&str; 5] = ["LIT", "POL", "TOO", "PED", "COL"];
const GROUPS: [&str; 3] = ["LEA", "STA", "STU"];

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a YYYY-MM-DD date")
}

/// AiEd Certified version 1; loading it again changes nothing, so call it as often as needed.
pub async fn framework(db: &DatabaseConnection) -> framework::Model {
    api::framework::service::load(db, FRAMEWORK_FILE).await.expect("load aied-certified").framework
}

/// A partnership from 2025-09-01 to 2027-07-31 on AiEd Certified (loaded if it is not yet).
pub async fn partnership(db: &DatabaseConnection, slug: &str, name: &str) -> partnership::Model {
    framework(db).await;
    partnership::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        starts_on: Set(date("2025-09-01")),
        deadline: Set(date("2027-07-31")),
        default_framework: Set(Some(FRAMEWORK.to_owned())),
        max_active_mentees: Set(3),
        synthetic: Set(true),
        required_level: Set(None),
        stalled_after_days: Set(60),
        returned_after_days: Set(30),
        overdue_actions_at_risk: Set(false),
        comparison_min_schools: Set(5),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert partnership")
}

pub async fn local_authority(db: &DatabaseConnection, code: &str, name: &str) -> local_authority::Model {
    local_authority::ActiveModel {
        id: Set(Uuid::new_v4()),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert local authority")
}

/// A trust as GIAS imports would hold it (`group_uid` must be digits, as GIAS's are).
pub async fn trust(db: &DatabaseConnection, group_uid: &str, name: &str) -> trust::Model {
    trust::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(name.to_owned()),
        group_uid: Set(group_uid.to_owned()),
        companies_house_number: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert trust")
}

/// An open primary school: an academy converter in a trust, or a community school without one.
pub async fn school(
    db: &DatabaseConnection,
    urn: i32,
    name: &str,
    la_id: Uuid,
    trust_id: Option<Uuid>,
) -> school::Model {
    let kind = if trust_id.is_some() { "Academy converter" } else { "Community school" };
    school::ActiveModel {
        id: Set(Uuid::new_v4()),
        urn: Set(urn),
        name: Set(name.to_owned()),
        phase: Set(api::school::Phase::Primary.as_db().to_owned()),
        establishment_type: Set(kind.to_owned()),
        local_authority_id: Set(la_id),
        trust_id: Set(trust_id),
        postcode: Set(None),
        open: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert school")
}

/// Makes a school a member of a partnership.
pub async fn member(db: &DatabaseConnection, partnership_id: Uuid, school_id: Uuid) {
    partnership_school::ActiveModel {
        partnership_id: Set(partnership_id),
        school_id: Set(school_id),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert membership");
}

pub async fn cohort(
    db: &DatabaseConnection,
    partnership_id: Uuid,
    name: &str,
    ordinal: i32,
    starts_on: &str,
    target_on: &str,
) -> cohort::Model {
    cohort::ActiveModel {
        id: Set(Uuid::new_v4()),
        partnership_id: Set(partnership_id),
        name: Set(name.to_owned()),
        ordinal: Set(ordinal),
        starts_on: Set(date(starts_on)),
        target_on: Set(date(target_on)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert cohort")
}

/// Puts a member school (see `member`) into a cohort of its partnership.
pub async fn cohort_member(db: &DatabaseConnection, cohort: &cohort::Model, school_id: Uuid) {
    cohort_school::ActiveModel {
        cohort_id: Set(cohort.id),
        school_id: Set(school_id),
        partnership_id: Set(cohort.partnership_id),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert cohort member");
}

/// An active pairing; `mentee_cohort` is the mentee's cohort, the mentor a member school.
pub async fn pairing(
    db: &DatabaseConnection,
    mentee_cohort: &cohort::Model,
    mentor: Uuid,
    mentee: Uuid,
    started_on: &str,
) -> mentorship_pairing::Model {
    mentorship_pairing::ActiveModel {
        id: Set(Uuid::new_v4()),
        partnership_id: Set(mentee_cohort.partnership_id),
        cohort_id: Set(mentee_cohort.id),
        mentor_school_id: Set(mentor),
        mentee_school_id: Set(mentee),
        started_on: Set(date(started_on)),
        ended_on: Set(None),
        status: Set(api::mentorship::service::ACTIVE.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert pairing")
}

/// An AI policy adopted on `adopted_on`, reviewed yearly, with every role filled by a title.
pub async fn ai_policy(
    db: &DatabaseConnection,
    school_id: Uuid,
    adopted_on: &str,
    title: &str,
) -> ai_policy::Model {
    let roles: Vec<Value> = api::policy::service::PolicyRole::ALL
        .iter()
        .map(|r| json!({ "role": r.as_str(), "filled": true, "title": format!("{title} {}", r.as_str()) }))
        .collect();
    ai_policy::ActiveModel {
        school_id: Set(school_id),
        adopted_on: Set(date(adopted_on)),
        last_reviewed_on: Set(None),
        review_interval_months: Set(12),
        roles: Set(Value::Array(roles)),
        updated_at: Set(chrono::Utc::now().fixed_offset()),
        updated_by: Set("fixture".to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert AI policy")
}

/// How far `journey` takes a school.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Upto {
    /// Every Explorer criterion rated SECURE with a note, one evidence item.
    GatheringEvidence,
    /// Evidence for every area too, and submitted.
    Submitted,
    /// Claimed by the partnership's assessor and certified at Explorer.
    Certified,
}

/// A journey made through the API.
#[derive(Clone, Debug)]
pub struct Journey {
    /// The certification's global id.
    pub id: Value,
    /// Global ids of its evidence items, first added first.
    pub evidence: Vec<Value>,
    pub certificate: Option<String>,
}

/// Enrols school `urn` of `partnership` (a slug) at Explorer and drives it to `upto`. Notes
/// and evidence titles start with `label`, so a test can look for them in answers.
pub async fn journey(app: &TestApp, partnership: &str, urn: i32, label: &str, upto: Upto) -> Journey {
    let lead = app.token(Role::SchoolLead).school(urn).sign();
    let run = |token: String, query: &'static str, vars: Value| async move {
        let answer = app.gql(Some(&token), query, vars).await;
        assert!(answer.body.get("errors").is_none(), "journey of {urn}: {query}: {:#}", answer.body);
        answer.body["data"].clone()
    };
    let enrol = "mutation($urn: Int!) { enrol(input: { urn: $urn, framework: \"aied-certified\", targetLevel: \"EXPLORER\" }) { id } }";
    let id = run(lead.clone(), enrol, json!({ "urn": urn })).await["enrol"]["id"].clone();
    let mv =
        "mutation($id: ID!, $s: CertificationStage!) { moveTo(certification: $id, stage: $s) { stage } }";
    run(lead.clone(), mv, json!({ "id": id, "s": "SELF_ASSESSING" })).await;
    let ratings: Vec<Value> = AREAS
        .iter()
        .flat_map(|a| GROUPS.iter().map(move |g| format!("{a}-E-{g}")))
        .map(|c| json!({ "criterion": c, "rating": "SECURE", "note": format!("{label} note on {c}") }))
        .collect();
    let rate =
        "mutation($id: ID!, $r: [RatingInput!]!) { rateCriteria(certification: $id, ratings: $r) { id } }";
    run(lead.clone(), rate, json!({ "id": id, "r": ratings })).await;
    run(lead.clone(), mv, json!({ "id": id, "s": "GATHERING_EVIDENCE" })).await;
    let add =
        "mutation($id: ID!, $in: EvidenceInput!) { addEvidence(certification: $id, input: $in) { id } }";
    let areas = if upto == Upto::GatheringEvidence { &AREAS[..1] } else { &AREAS[..] };
    let mut evidence = Vec::new();
    for area in areas {
        let input = json!({ "kind": "LINK", "title": format!("{label} evidence for {area}"),
            "url": format!("https://example.org/{urn}/{area}"), "criteria": [format!("{area}-E-LEA")], "noPersonalData": true });
        evidence.push(
            run(lead.clone(), add, json!({ "id": id, "in": input })).await["addEvidence"]["id"].clone(),
        );
    }
    let mut certificate = None;
    if upto >= Upto::Submitted {
        let submit = "mutation($id: ID!) { submitCertification(certification: $id) { stage } }";
        run(lead.clone(), submit, json!({ "id": id })).await;
    }
    if upto == Upto::Certified {
        let assessor = app.token(Role::Assessor).partnership(partnership).sign();
        let claim = "mutation($id: ID!) { claimReview(certification: $id) { stage } }";
        run(assessor.clone(), claim, json!({ "id": id })).await;
        let decide = "mutation($id: ID!) { decideReview(certification: $id, input: { outcome: CERTIFIED, level: \"EXPLORER\" }) { certificate { number } } }";
        let data = run(assessor, decide, json!({ "id": id })).await;
        certificate = data["decideReview"]["certificate"]["number"].as_str().map(str::to_owned);
    }
    Journey { id, evidence, certificate }
}
