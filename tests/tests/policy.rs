//! The AI policy record: who writes it, who reads what of it, its status over time, and what
//! a bad record gets. Every read passes `asOf`, so no test depends on today's date; the demo
//! city ships policies of its own, so tests compare against what was there before.

use api::auth::Role;
use serde_json::{Value, json};
use tests::{Answer, TestApp};

const RECORD: &str = "mutation($urn: Int!, $input: RecordAiPolicyInput!) { recordAiPolicy(urn: $urn, input: $input) { adoptedOn reviewIntervalMonths } }";
const READ: &str = "query($urn: Int!, $asOf: Date!) { school(urn: $urn) { aiPolicy(asOf: $asOf) { status adoptedOn lastReviewedOn reviewIntervalMonths nextReviewDue roles { role filled title } updatedAt } } }";
const STATUS: &str =
    "query($urn: Int!, $asOf: Date!) { school(urn: $urn) { aiPolicy(asOf: $asOf) { status } } }";
const ADOPTED: &str =
    "query($urn: Int!, $asOf: Date!) { school(urn: $urn) { aiPolicy(asOf: $asOf) { adoptedOn } } }";
/// Later than any date a record may hold (writes refuse dates after today), and the last day
/// the service takes: as of this day a school is MISSING exactly when it has no record, and
/// every stored field shows.
const FAR: &str = "2200-12-31";

/// Schools of the demo city with the shapes the tests need, found by asking, not assumed.
struct Demo {
    /// An academy, neither mentor nor mentee, and its trust's group UID.
    academy: i64,
    trust: String,
    /// An LA-maintained school, neither mentor nor mentee.
    maintained: i64,
    /// A school with an active mentee, and that mentee.
    mentor: i64,
    mentee: i64,
}

async fn demo(app: &TestApp) -> Demo {
    let q =
        "{ schools(first: 100) { edges { node { urn trust { groupUid } mentees { mentee { urn } } } } } }";
    let data = app.gql(Some(&app.token(Role::CityAdmin).sign()), q, json!({})).await.ok();
    let nodes: Vec<Value> =
        data["schools"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    let mentor = nodes.iter().find(|n| !n["mentees"].as_array().unwrap().is_empty()).expect("a mentor");
    let mut paired = Vec::new();
    for n in &nodes {
        let mentees = n["mentees"].as_array().unwrap();
        paired.extend(mentees.iter().map(|m| m["mentee"]["urn"].as_i64().unwrap()));
        if !mentees.is_empty() {
            paired.push(n["urn"].as_i64().unwrap());
        }
    }
    let free = |n: &&Value| !paired.contains(&n["urn"].as_i64().unwrap());
    let academy = nodes.iter().filter(free).find(|n| !n["trust"].is_null()).expect("an academy");
    let maintained = nodes.iter().filter(free).find(|n| n["trust"].is_null()).expect("a maintained school");
    Demo {
        academy: academy["urn"].as_i64().unwrap(),
        trust: academy["trust"]["groupUid"].as_str().unwrap().to_owned(),
        maintained: maintained["urn"].as_i64().unwrap(),
        mentor: mentor["urn"].as_i64().unwrap(),
        mentee: mentor["mentees"][0]["mentee"]["urn"].as_i64().unwrap(),
    }
}

fn school_lead(app: &TestApp, urn: i64) -> String {
    app.token(Role::SchoolLead).school(urn as i32).sign()
}

/// A valid record: adopted 2024-09-01 (no demo record has that date), reviewed 2025-09-15,
/// yearly, three roles given.
fn policy() -> Value {
    json!({
        "adoptedOn": "2024-09-01",
        "lastReviewedOn": "2025-09-15",
        "roles": [
            { "role": "IT_LEAD", "filled": true, "title": "  Network manager " },
            { "role": "GOVERNING_BODY", "filled": true, "title": "Trust board" },
            { "role": "TEACHERS", "filled": false },
        ],
    })
}

async fn record(app: &TestApp, token: &str, urn: i64, input: Value) -> Answer {
    app.gql(Some(token), RECORD, json!({ "urn": urn, "input": input })).await
}

async fn read(app: &TestApp, token: &str, urn: i64, as_of: &str) -> Value {
    let data = app.gql(Some(token), READ, json!({ "urn": urn, "asOf": as_of })).await.ok();
    data["school"]["aiPolicy"].clone()
}

/// Everything stored for each school, `updatedAt` included, as a city admin reads it.
async fn snapshot(app: &TestApp, urns: &[i64]) -> Vec<Value> {
    let admin = app.token(Role::CityAdmin).sign();
    let mut out = Vec::new();
    for urn in urns {
        out.push(read(app, &admin, *urn, FAR).await);
    }
    out
}

#[tokio::test]
async fn a_school_lead_records_its_policy_and_its_status_follows_the_date() {
    let app = TestApp::with_demo().await;
    let d = demo(&app).await;
    let token = school_lead(&app, d.academy);

    let saved = record(&app, &token, d.academy, policy()).await.ok();
    assert_eq!(saved["recordAiPolicy"], json!({ "adoptedOn": "2024-09-01", "reviewIntervalMonths": 12 }));

    let now = read(&app, &token, d.academy, "2026-03-01").await;
    assert_eq!(now["status"], "CURRENT");
    assert_eq!(now["adoptedOn"], "2024-09-01");
    assert_eq!(now["lastReviewedOn"], "2025-09-15");
    assert_eq!(now["reviewIntervalMonths"], 12);
    assert_eq!(now["nextReviewDue"], "2026-09-15");
    let updated_at = now["updatedAt"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(updated_at).is_ok(), "{updated_at}");
    assert_eq!(
        now["roles"],
        json!([
            { "role": "LEADERSHIP_TEAM", "filled": false, "title": null },
            { "role": "GOVERNING_BODY", "filled": true, "title": "Trust board" },
            { "role": "TEACHERS", "filled": false, "title": null },
            { "role": "IT_LEAD", "filled": true, "title": "Network manager" },
            { "role": "EXTERNAL_PARTIES", "filled": false, "title": null },
            { "role": "DATA_PROTECTION_OFFICER", "filled": false, "title": null },
        ])
    );
    for (as_of, status) in [
        ("2026-08-15", "CURRENT"),
        ("2026-08-16", "REVIEW_DUE"),
        ("2026-09-15", "REVIEW_DUE"),
        ("2026-09-16", "OVERDUE"),
    ] {
        let p = read(&app, &token, d.academy, as_of).await;
        assert_eq!(p["status"], status, "as of {as_of}");
        assert_eq!(p["nextReviewDue"], "2026-09-15", "as of {as_of}");
    }
    // Before the review the next one was due a year after adoption; before adoption, nothing.
    let earlier = read(&app, &token, d.academy, "2025-08-20").await;
    assert_eq!(
        (&earlier["status"], &earlier["lastReviewedOn"], &earlier["nextReviewDue"]),
        (&json!("REVIEW_DUE"), &Value::Null, &json!("2025-09-01"))
    );
    let unborn = read(&app, &token, d.academy, "2024-08-31").await;
    assert_eq!(unborn["status"], "MISSING");
    assert!(unborn["adoptedOn"].is_null() && unborn["roles"].is_null());

    // A new record replaces the old one whole: no review, two-yearly, no roles.
    let rows = app.count("ai_policy").await;
    let again = json!({ "adoptedOn": "2025-01-10", "reviewIntervalMonths": 24 });
    record(&app, &token, d.academy, again).await.ok();
    assert_eq!(app.count("ai_policy").await, rows);
    let replaced = read(&app, &token, d.academy, "2026-03-01").await;
    assert_eq!(replaced["lastReviewedOn"], Value::Null);
    assert_eq!(replaced["nextReviewDue"], "2027-01-10");
    assert!(
        replaced["roles"].as_array().unwrap().iter().all(|r| r["filled"] == false && r["title"].is_null())
    );
}

#[tokio::test]
async fn a_review_before_adoption_is_refused_and_nothing_is_written() {
    let app = TestApp::with_demo().await;
    let d = demo(&app).await;
    let token = school_lead(&app, d.academy);
    let rows = app.count("ai_policy").await;
    let before = snapshot(&app, &[d.academy]).await;

    let backwards = json!({ "adoptedOn": "2025-09-01", "lastReviewedOn": "2025-08-31" });
    let answer = record(&app, &token, d.academy, backwards).await;
    let error = answer.fails_with("BAD_USER_INPUT");
    assert!(error["message"].as_str().unwrap().starts_with("lastReviewedOn:"), "{error}");
    assert_eq!(app.count("ai_policy").await, rows);
    assert_eq!(snapshot(&app, &[d.academy]).await, before);

    // The same for every other bad record, over a record of our own.
    record(&app, &token, d.academy, policy()).await.ok();
    let rows = app.count("ai_policy").await;
    let before = snapshot(&app, &[d.academy]).await;
    let long = "x".repeat(101);
    for (field, input) in [
        ("lastReviewedOn", json!({ "adoptedOn": "2025-09-01", "lastReviewedOn": "2025-08-31" })),
        ("adoptedOn", json!({ "adoptedOn": "2199-01-01" })),
        ("lastReviewedOn", json!({ "adoptedOn": "2025-09-01", "lastReviewedOn": "2199-01-01" })),
        ("reviewIntervalMonths", json!({ "adoptedOn": "2025-09-01", "reviewIntervalMonths": 0 })),
        ("reviewIntervalMonths", json!({ "adoptedOn": "2025-09-01", "reviewIntervalMonths": 37 })),
        (
            "roles",
            json!({ "adoptedOn": "2025-09-01", "roles": [
                { "role": "TEACHERS", "filled": true }, { "role": "TEACHERS", "filled": false }
            ] }),
        ),
        (
            "roles.title",
            json!({ "adoptedOn": "2025-09-01", "roles": [{ "role": "IT_LEAD", "filled": true, "title": long }] }),
        ),
    ] {
        let answer = record(&app, &token, d.academy, input).await;
        let message = answer.fails_with("BAD_USER_INPUT")["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(&format!("{field}:")), "{field}: {message}");
    }
    assert_eq!(app.count("ai_policy").await, rows);
    assert_eq!(snapshot(&app, &[d.academy]).await, before);
    assert_eq!(before[0]["adoptedOn"], "2024-09-01");
}

#[tokio::test]
async fn only_a_schools_own_leads_its_trust_and_the_city_record_its_policy() {
    let app = TestApp::with_demo().await;
    let d = demo(&app).await;
    let targets = [d.academy, d.maintained, d.mentee];
    let rows = app.count("ai_policy").await;
    let before = snapshot(&app, &targets).await;

    // Refused, and nothing written.
    let trust_lead = app.token(Role::TrustLead).trust(&d.trust).sign();
    let denied = [
        ("another school's lead", school_lead(&app, d.maintained), d.academy, "FORBIDDEN"),
        ("the mentor school's lead", school_lead(&app, d.mentor), d.mentee, "FORBIDDEN"),
        ("a trust lead, for a maintained school", trust_lead.clone(), d.maintained, "FORBIDDEN"),
        ("a partner", app.token(Role::Partner).sign(), d.academy, "FORBIDDEN"),
        ("an assessor", app.token(Role::Assessor).sign(), d.academy, "FORBIDDEN"),
        (
            "a city admin, for a school that is not there",
            app.token(Role::CityAdmin).sign(),
            123_456,
            "NOT_FOUND",
        ),
    ];
    for (who, token, urn, code) in &denied {
        let answer = record(&app, token, *urn, policy()).await;
        assert_eq!(answer.codes(), vec![code.to_string()], "{who}: {:#}", answer.body);
        answer.fails_with(code);
    }
    let anonymous = app.gql(None, RECORD, json!({ "urn": d.academy, "input": policy() })).await;
    anonymous.fails_with("UNAUTHENTICATED");
    assert_eq!(app.count("ai_policy").await, rows);
    assert_eq!(snapshot(&app, &targets).await, before);

    // Allowed: each writes its record (a new row where there was none).
    let allowed = [
        ("the school's own lead", school_lead(&app, d.mentee), d.mentee),
        ("its trust's lead", trust_lead, d.academy),
        ("a city admin", app.token(Role::CityAdmin).sign(), d.maintained),
    ];
    for (who, token, urn) in &allowed {
        let answer = record(&app, token, *urn, policy()).await;
        assert!(answer.body.get("errors").is_none(), "{who}: {:#}", answer.body);
        assert_eq!(answer.data()["recordAiPolicy"]["adoptedOn"], "2024-09-01", "{who}");
    }
    let after = snapshot(&app, &targets).await;
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(new["adoptedOn"], "2024-09-01");
        assert_ne!(new["updatedAt"], old["updatedAt"]);
    }
    let new_rows = before.iter().filter(|p| p["status"] == "MISSING").count() as i64;
    assert_eq!(app.count("ai_policy").await, rows + new_rows);
}

#[tokio::test]
async fn a_city_admin_records_only_for_its_own_partnership() {
    let app = TestApp::with_demo().await;
    api::seed::synthetic(&app.db, 6, 7).await.unwrap();
    let other = app.token(Role::CityAdmin).partnership("synthetic-001").sign();
    let data =
        app.gql(Some(&other), "{ schools(first: 1) { edges { node { urn } } } }", json!({})).await.ok();
    let theirs = data["schools"]["edges"][0]["node"]["urn"].as_i64().unwrap();
    let d = demo(&app).await;
    let rows = app.count("ai_policy").await;
    let before = snapshot(&app, &[d.academy]).await;

    // Each city's admin sees only its own schools: the other's are not found.
    record(&app, &app.token(Role::CityAdmin).sign(), theirs, policy()).await.fails_with("NOT_FOUND");
    record(&app, &other, d.academy, policy()).await.fails_with("NOT_FOUND");
    assert_eq!(app.count("ai_policy").await, rows);
    assert_eq!(snapshot(&app, &[d.academy]).await, before);

    record(&app, &other, theirs, policy()).await.ok();
    let theirs_now = read(&app, &other, theirs, "2026-03-01").await;
    assert_eq!((&theirs_now["status"], &theirs_now["adoptedOn"]), (&json!("CURRENT"), &json!("2024-09-01")));
}

#[tokio::test]
async fn full_readers_see_the_record_and_everyone_else_the_status_only() {
    let app = TestApp::with_demo().await;
    let d = demo(&app).await;
    let admin = app.token(Role::CityAdmin).sign();
    for urn in [d.academy, d.maintained, d.mentee] {
        record(&app, &admin, urn, policy()).await.ok();
    }
    let vars = |urn: i64| json!({ "urn": urn, "asOf": "2026-03-01" });

    let trust_lead = app.token(Role::TrustLead).trust(&d.trust).sign();
    let full_readers = [
        ("the school's own lead", school_lead(&app, d.mentee), d.mentee),
        ("its mentor school's lead", school_lead(&app, d.mentor), d.mentee),
        ("its trust's lead", trust_lead.clone(), d.academy),
        ("a city admin", admin.clone(), d.mentee),
    ];
    for (who, token, urn) in &full_readers {
        let data = app.gql(Some(token), ADOPTED, vars(*urn)).await;
        assert!(data.body.get("errors").is_none(), "{who}: {:#}", data.body);
        assert_eq!(data.data()["school"]["aiPolicy"]["adoptedOn"], "2024-09-01", "{who}");
    }

    let status_only = [
        ("a partner", app.token(Role::Partner).sign(), d.academy),
        ("an assessor", app.token(Role::Assessor).sign(), d.academy),
        ("another school's lead", school_lead(&app, d.maintained), d.academy),
        ("a trust lead, for a maintained school", trust_lead, d.maintained),
    ];
    for (who, token, urn) in &status_only {
        let status = app.gql(Some(token), STATUS, vars(*urn)).await.ok();
        assert_eq!(status["school"]["aiPolicy"]["status"], "CURRENT", "{who}");
        let answer = app.gql(Some(token), ADOPTED, vars(*urn)).await;
        answer.fails_with("FORBIDDEN");
        assert_eq!(answer.body["errors"][0]["path"], json!(["school", "aiPolicy", "adoptedOn"]), "{who}");
    }
}

#[tokio::test]
async fn a_school_without_a_record_is_missing() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    let create = "mutation { createSchool(input: { urn: 654321, name: \"Quayside Primary\", phase: PRIMARY, establishmentType: \"Community school\", laCode: \"999\", laName: \"Demo City Council (synthetic)\" }) { urn } }";
    app.gql(Some(&admin), create, json!({})).await.ok();

    let p = read(&app, &admin, 654_321, "2026-03-01").await;
    assert_eq!(
        p,
        json!({
            "status": "MISSING", "adoptedOn": null, "lastReviewedOn": null, "reviewIntervalMonths": null,
            "nextReviewDue": null, "roles": null, "updatedAt": null,
        })
    );
    assert_eq!(read(&app, &admin, 654_321, FAR).await["status"], "MISSING");
    let partner = app.token(Role::Partner).sign();
    let data = app.gql(Some(&partner), STATUS, json!({ "urn": 654_321, "asOf": "2026-03-01" })).await.ok();
    assert_eq!(data["school"]["aiPolicy"]["status"], "MISSING");
}

#[tokio::test]
async fn policy_status_of_every_school_costs_the_same_statements_as_of_five() {
    let app = TestApp::with_demo().await;
    let d = demo(&app).await;
    let admin = app.token(Role::CityAdmin).sign();
    let ours = [d.academy, d.maintained, d.mentee];
    for urn in ours {
        record(&app, &admin, urn, policy()).await.ok();
    }
    let list = |n: i32| {
        format!(
            "{{ schools(first: {n}) {{ edges {{ node {{ urn aiPolicy(asOf: \"2026-01-01\") {{ status }} }} }} }} }}"
        )
    };
    let mut costs = Vec::new();
    app.warm(&admin).await;
    for n in [5, 61] {
        app.reset_statements();
        let data = app.gql(Some(&admin), &list(n), json!({})).await.ok();
        costs.push(app.statements());
        let edges = data["schools"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), n as usize);
        for e in edges {
            let status = e["node"]["aiPolicy"]["status"].as_str().unwrap();
            assert!(["MISSING", "CURRENT", "REVIEW_DUE", "OVERDUE"].contains(&status), "{status}");
            if ours.contains(&e["node"]["urn"].as_i64().unwrap()) {
                assert_eq!(status, "CURRENT");
            }
        }
    }
    assert_eq!(costs[0], costs[1], "statements for 5 and 61 schools: {costs:?}");
}
