//! The request shapes users send, each as the list of requests its clients cycle through,
//! built from what the seeded database holds (read directly, before any server starts).

use api::{
    auth::{Jwt, Role, TokenRequest},
    ids::global_id,
};
use hyper::body::Bytes;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::server::SECRET;

pub struct Req {
    pub path: String,
    pub token: String,
    /// A GraphQL POST body; None for a GET (the CSV export).
    pub body: Option<Bytes>,
}

pub struct Shape {
    pub name: &'static str,
    pub kind: Kind,
    pub requests: Vec<Req>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Registry,
    Dashboard,
    Other,
}

/// The partnership most shapes read: the first of the synthetic set.
const HOME: &str = "synthetic-001";

const PAGE: &str = "query($p: ID) { schools(filter: { partnership: $p }, first: 100) { totalCount edges { cursor node { id urn name phase establishmentType postcode maintained open } } pageInfo { hasNextPage endCursor } } }";
const TREE: &str = "{ partnerships { name cohorts { name schools(first: 100) { edges { node { urn name trust { name groupUid } } } } } } }";
const MENTORS: &str = "query($c: ID!) { cohort(id: $c) { name schools(first: 100) { edges { node { urn mentors { status mentor { urn name trust { name } } } } } } } }";
const SCHOOL: &str =
    "query($u: Int!) { school(urn: $u) { urn name phase trust { name groupUid } cohort { name ordinal } } }";
const PROGRESS: &str = "progress { asOf startsOn deadline daysToDeadline totalSchools certified expired recentlyCertified percentCertified percentTimeElapsed onTrack projectedCompletion projectionNote atRiskCount byStage { stage count } byPhase { phase totalSchools certified } aiPolicy { current reviewDue overdue missing } atRisk(first: 20) { school { urn name } stage daysInStage risks reason } }";
const MENTEES: &str = "query($u: Int!) { school(urn: $u) { name mentees { status startedOn mentee { urn name } progress { enrolled stage stageSince daysInStage percentComplete evidenceCount lastActivity blockers areas { area { key name } rated total notYet evidenceCount percentComplete } } } } }";
const QUEUE: &str = "{ reviewQueue(first: 20, includeClaimed: true) { edges { cursor node { id stage stageSince submittedAt school { urn name } framework { name } targetLevel { key name } } } pageInfo { hasNextPage } } }";
const JOURNEY: &str = "query($id: ID!) { certification(id: $id) { id version stage stageSince enrolledAt submittedAt school { urn name } framework { slug name version validityMonths levels { key name rank } } targetLevel { key name rank } renewalOf { id stage } certificate { number level schoolName frameworkName awardedOn expiresOn valid } history { version from to at by role comment } evidence { id kind title url text noPersonalData addedAt criteria { code } } review { round reviewer claimedAt decidedAt outcome feedback level { key } areaFeedback { area { key } feedback } } reviews { round outcome decidedAt } selfAssessment { total rated percentComplete readyToSubmit missing ratings { criterion { code descriptor area { key } level { key } } rating note ratedAt } byArea { area { key name } rated total notYet evidenceCount percentComplete } } } }";
const RATE: &str = "mutation($id: ID!, $r: [RatingInput!]!) { rateCriteria(certification: $id, ratings: $r) { id version selfAssessment { rated total percentComplete } } }";

fn gql(query: &str, variables: serde_json::Value, token: &str) -> Req {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("json");
    Req { path: "/graphql".into(), token: token.to_owned(), body: Some(body.into()) }
}

fn csv(slug: &str, token: &str) -> Req {
    Req { path: format!("/reports/schools.csv?partnership={slug}"), token: token.to_owned(), body: None }
}

/// Reads `sql` (fixed text of this bench, ids from the database itself), a value a row.
async fn select<T>(
    db: &DatabaseConnection,
    sql: String,
    read: impl Fn(&sea_orm::QueryResult) -> T,
) -> Vec<T> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    db.query_all_raw(statement).await.expect("a discovery query").iter().map(read).collect()
}

fn col<T: sea_orm::TryGetable>(row: &sea_orm::QueryResult, name: &str) -> T {
    row.try_get("", name).unwrap_or_else(|e| panic!("column {name}: {e}"))
}

/// Every shape, with requests for `clients` clients.
pub async fn build(db: &DatabaseConnection, clients: usize) -> Vec<Shape> {
    let jwt = Jwt::hs256(SECRET.as_bytes(), "partnership-api", "partnership-api");
    let sign = |role: Role, f: &dyn Fn(&mut TokenRequest)| {
        let mut req = TokenRequest::new(role);
        f(&mut req);
        jwt.sign(req, chrono::Duration::hours(12)).expect("sign")
    };
    let partnerships: Vec<(Uuid, String)> = select(
        db,
        "SELECT id, slug FROM partnership WHERE slug LIKE 'synthetic-%' ORDER BY slug".into(),
        |r| (col(r, "id"), col(r, "slug")),
    )
    .await;
    assert!(!partnerships.is_empty(), "no synthetic partnerships: seed first");
    let (home, _) = partnerships.iter().find(|(_, s)| s == HOME).cloned().expect("the home partnership");
    let for_slug = |role: Role, slug: &str| sign(role, &|r| r.partnership = Some(slug.to_owned()));
    let partner = for_slug(Role::Partner, HOME);
    let admin = for_slug(Role::CityAdmin, HOME);
    let assessor = for_slug(Role::Assessor, HOME);
    let home_id = global_id("Partnership", home).0;

    let cohorts: Vec<Uuid> =
        select(db, format!("SELECT id FROM cohort WHERE partnership_id = '{home}' ORDER BY ordinal"), |r| {
            col(r, "id")
        })
        .await;
    let urns: Vec<i32> = select(
        db,
        format!(
            "SELECT s.urn FROM school s JOIN partnership_school ps ON ps.school_id = s.id \
             WHERE ps.partnership_id = '{home}' ORDER BY s.urn"
        ),
        |r| col(r, "urn"),
    )
    .await;
    let trusts: Vec<(Uuid, String)> = select(
        db,
        format!(
            "SELECT DISTINCT t.id, t.group_uid FROM trust t JOIN school s ON s.trust_id = t.id \
             JOIN partnership_school ps ON ps.school_id = s.id WHERE ps.partnership_id = '{home}' \
             ORDER BY t.group_uid LIMIT {clients}"
        ),
        |r| (col(r, "id"), col(r, "group_uid")),
    )
    .await;
    let mentors: Vec<i32> = select(
        db,
        format!(
            "SELECT DISTINCT s.urn FROM mentorship_pairing m JOIN school s ON s.id = m.mentor_school_id \
             WHERE m.status = 'ACTIVE' ORDER BY s.urn LIMIT {clients}"
        ),
        |r| col(r, "urn"),
    )
    .await;
    // Journeys with the most to show: certified renewals, then any certified.
    let full: Vec<(Uuid, i32)> = select(
        db,
        format!(
            "SELECT c.id, s.urn FROM certification c JOIN school s ON s.id = c.school_id \
             WHERE c.stage = 'CERTIFIED' ORDER BY c.renewal_of IS NULL, s.urn LIMIT {clients}"
        ),
        |r| (col(r, "id"), col(r, "urn")),
    )
    .await;
    // One drafting journey per client, each its own school, and the criteria of its level.
    let drafting: Vec<(Uuid, i32, Uuid)> = select(
        db,
        format!(
            "SELECT c.id, s.urn, c.target_level_id FROM certification c JOIN school s ON s.id = c.school_id \
             WHERE c.stage IN ('SELF_ASSESSING', 'GATHERING_EVIDENCE') ORDER BY s.urn LIMIT {clients}"
        ),
        |r| (col(r, "id"), col(r, "urn"), col(r, "target_level_id")),
    )
    .await;
    for (what, n) in [("cohorts", cohorts.len()), ("trusts", trusts.len()), ("mentors", mentors.len())] {
        assert!(n > 0, "no {what} in {HOME}");
    }
    assert!(!full.is_empty() && !drafting.is_empty(), "the data set has no journeys");

    let mut rating = Vec::new();
    for (id, urn, level) in &drafting {
        let codes: Vec<String> = select(
            db,
            format!("SELECT code FROM criterion WHERE level_id = '{level}' ORDER BY position"),
            |r| col(r, "code"),
        )
        .await;
        let ratings: Vec<_> = codes.iter().map(|c| json!({ "criterion": c, "rating": "SECURE" })).collect();
        let token = sign(Role::SchoolLead, &|r| r.school = Some(*urn));
        rating.push(gql(RATE, json!({ "id": global_id("Certification", *id).0, "r": ratings }), &token));
    }

    // A trust may run schools in several partnerships: its progress names one.
    let dashboard = |kind: &str, id: String, token: &str, extra: &str| {
        let query = if kind == "trust" {
            let progress = PROGRESS.replacen("progress", "progress(partnership: $p)", 1);
            format!("query($id: ID!, $p: ID) {{ {kind}(id: $id) {{ name {progress} {extra} }} }}")
        } else {
            format!("query($id: ID!) {{ {kind}(id: $id) {{ name {PROGRESS} {extra} }} }}")
        };
        let variables = if kind == "trust" { json!({ "id": id, "p": home_id }) } else { json!({ "id": id }) };
        gql(&query, variables, token)
    };
    let timeline =
        "timeline(interval: MONTH) { date certified byCohort { cohort { name } certified totalSchools } }";
    vec![
        Shape {
            name: "page of 100 schools",
            kind: Kind::Registry,
            requests: vec![gql(PAGE, json!({ "p": home_id }), &partner)],
        },
        Shape {
            name: "partnership>cohorts>schools>trust",
            kind: Kind::Registry,
            requests: vec![gql(TREE, json!({}), &partner)],
        },
        Shape {
            name: "cohort>schools>mentors>trust",
            kind: Kind::Registry,
            requests: cohorts
                .iter()
                .map(|c| gql(MENTORS, json!({ "c": global_id("Cohort", *c).0 }), &partner))
                .collect(),
        },
        Shape {
            name: "school by URN",
            kind: Kind::Registry,
            requests: urns.iter().map(|u| gql(SCHOOL, json!({ "u": u }), &partner)).collect(),
        },
        Shape {
            name: "partnership dashboard",
            kind: Kind::Dashboard,
            requests: vec![dashboard("partnership", home_id.clone(), &partner, timeline)],
        },
        Shape {
            name: "cohort dashboard",
            kind: Kind::Dashboard,
            requests: cohorts
                .iter()
                .map(|c| dashboard("cohort", global_id("Cohort", *c).0, &partner, ""))
                .collect(),
        },
        Shape {
            name: "trust dashboard",
            kind: Kind::Dashboard,
            requests: trusts
                .iter()
                .map(|(id, uid)| {
                    let token = sign(Role::TrustLead, &|r| r.trust = Some(uid.clone()));
                    dashboard("trust", global_id("Trust", *id).0, &token, "")
                })
                .collect(),
        },
        Shape {
            name: "mentor's view of mentees",
            kind: Kind::Other,
            requests: mentors
                .iter()
                .map(|u| gql(MENTEES, json!({ "u": u }), &sign(Role::SchoolLead, &|r| r.school = Some(*u))))
                .collect(),
        },
        Shape { name: "review queue", kind: Kind::Other, requests: vec![gql(QUEUE, json!({}), &assessor)] },
        Shape {
            name: "journey, every field",
            kind: Kind::Other,
            requests: full
                .iter()
                .map(|(id, urn)| {
                    let token = sign(Role::SchoolLead, &|r| r.school = Some(*urn));
                    gql(JOURNEY, json!({ "id": global_id("Certification", *id).0 }), &token)
                })
                .collect(),
        },
        Shape { name: "bulk rating", kind: Kind::Other, requests: rating },
        Shape { name: "CSV, one partnership", kind: Kind::Other, requests: vec![csv(HOME, &admin)] },
        Shape {
            name: "CSV, every partnership",
            kind: Kind::Other,
            requests: partnerships
                .iter()
                .map(|(_, slug)| csv(slug, &for_slug(Role::CityAdmin, slug)))
                .collect(),
        },
    ]
}
