use api::auth::Role;
use chrono::NaiveDate;
use serde_json::{Value, json};
use tests::TestApp;

const ENROL: &str = "mutation($urn: Int!, $level: String!) { enrol(input: { urn: $urn, framework: \"aied-certified\", targetLevel: $level }) { id stage version renewalOf { id } } }";
const MOVE: &str = "mutation($id: ID!, $stage: CertificationStage!, $v: Int) { moveTo(certification: $id, stage: $stage, expectedVersion: $v) { stage version } }";
const RATE: &str = "mutation($id: ID!, $r: [RatingInput!]!) { rateCriteria(certification: $id, ratings: $r) { selfAssessment { rated total percentComplete readyToSubmit missing byArea { area { key } rated total notYet evidenceCount } } } }";
const EVIDENCE: &str = "mutation($id: ID!, $in: EvidenceInput!) { addEvidence(certification: $id, input: $in) { id kind url criteria { code } } }";
const SUBMIT: &str = "mutation($id: ID!) { submitCertification(certification: $id) { stage submittedAt } }";
const CLAIM: &str =
    "mutation($id: ID!) { claimReview(certification: $id) { stage review { round reviewer } } }";
const DECIDE: &str = "mutation($id: ID!, $in: DecisionInput!) { decideReview(certification: $id, input: $in) { stage certificate { number level awardedOn expiresOn } } }";
const AREAS: [&str; 5] = ["LIT", "POL", "TOO", "PED", "COL"];
const GROUPS: [&str; 3] = ["LEA", "STA", "STU"];

fn explorer_codes() -> Vec<String> {
    AREAS.iter().flat_map(|a| GROUPS.iter().map(move |g| format!("{a}-E-{g}"))).collect()
}

fn ratings(rating: &str) -> Value {
    Value::Array(explorer_codes().into_iter().map(|c| json!({ "criterion": c, "rating": rating })).collect())
}

/// Schools of the demo with no journey yet (cohort 3 has some).
async fn unenrolled(app: &TestApp) -> Vec<i32> {
    let admin = app.token(Role::CityAdmin).sign();
    let q = "{ schools(first: 100) { edges { node { urn certifications { id } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    data["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["certifications"].as_array().unwrap().is_empty())
        .map(|e| e["node"]["urn"].as_i64().unwrap() as i32)
        .collect()
}

/// Journeys of the demo by stored stage: (id, urn), in URN order.
async fn journeys_in(app: &TestApp, stage: &str) -> Vec<(Value, i32)> {
    let admin = app.token(Role::CityAdmin).sign();
    let q = "{ schools(first: 100) { edges { node { urn certifications { id stage(asOf: \"2026-11-22\") } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let mut out: Vec<(Value, i32)> = data["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            let urn = e["node"]["urn"].as_i64().unwrap() as i32;
            e["node"]["certifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["stage"] == stage)
                .map(move |c| (c["id"].clone(), urn))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|(_, urn)| *urn);
    out
}

/// Evidence for every area of the Explorer level, one item each.
async fn add_area_evidence(app: &TestApp, lead: &str, id: &Value) {
    for (k, area) in AREAS.iter().enumerate() {
        let input = if k == 0 {
            json!({ "kind": "DESCRIPTION", "title": "How staff use AI", "text": "Termly review of tools.", "criteria": [format!("{area}-E-STA")], "noPersonalData": true })
        } else {
            json!({ "kind": "LINK", "title": format!("Evidence for {area}"), "url": format!("https://example.org/{area}"), "criteria": [format!("{area}-E-LEA"), format!("{area}-E-STU")], "noPersonalData": true })
        };
        app.gql(Some(lead), EVIDENCE, json!({ "id": id, "in": input })).await.ok();
    }
}

#[tokio::test]
async fn a_journey_goes_from_enrolment_to_a_public_certificate() {
    let app = TestApp::with_demo().await;
    let urn = unenrolled(&app).await[0];
    let lead = app.token(Role::SchoolLead).school(urn).sign();
    let assessor = app.token(Role::Assessor).sign();

    let j = app.gql(Some(&lead), ENROL, json!({ "urn": urn, "level": "EXPLORER" })).await.ok();
    let id = j["enrol"]["id"].clone();
    assert_eq!(j["enrol"]["stage"], "ENROLLED");
    assert_eq!(j["enrol"]["renewalOf"], Value::Null);
    app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "SELF_ASSESSING", "v": 1 })).await.ok();

    // Bulk ratings: all 15, one NOT_YET; progress and what is missing.
    let mut r = ratings("SECURE");
    r[4]["rating"] = json!("NOT_YET");
    r[4]["note"] = json!("Students have not been asked yet");
    let sa =
        app.gql(Some(&lead), RATE, json!({ "id": id, "r": r })).await.ok()["rateCriteria"]["selfAssessment"]
            .clone();
    assert_eq!(
        (sa["rated"].as_i64(), sa["total"].as_i64(), sa["percentComplete"].as_f64()),
        (Some(15), Some(15), Some(100.0))
    );
    assert_eq!(sa["readyToSubmit"], false);
    let missing: Vec<&str> = sa["missing"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(missing.contains(&"POL-E-STA is rated NOT_YET"), "{missing:?}");
    assert_eq!(missing.iter().filter(|m| m.starts_with("link evidence")).count(), 5);
    assert_eq!(
        sa["byArea"][1],
        json!({ "area": { "key": "POLICIES_AND_ETHICS" }, "rated": 3, "total": 3, "notYet": 1, "evidenceCount": 0 })
    );

    app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "GATHERING_EVIDENCE" })).await.ok();
    add_area_evidence(&app, &lead, &id).await;
    // Not ready while one criterion is NOT_YET: NOT_READY with the list, nothing changes.
    let events = app.count("certification_event").await;
    let err = app.gql(Some(&lead), SUBMIT, json!({ "id": id })).await;
    let e = err.fails_with("NOT_READY");
    assert_eq!(e["extensions"]["missing"], json!(["POL-E-STA is rated NOT_YET"]));
    assert_eq!(app.count("certification_event").await, events);
    app.gql(
        Some(&lead),
        RATE,
        json!({ "id": id, "r": [{ "criterion": "POL-E-STA", "rating": "EMERGING" }] }),
    )
    .await
    .ok();
    let s = app.gql(Some(&lead), SUBMIT, json!({ "id": id })).await.ok();
    assert_eq!(s["submitCertification"]["stage"], "SUBMITTED");

    // The assessor sees it in the queue, claims it and returns it with feedback.
    let q = app
        .gql(
            Some(&assessor),
            "{ reviewQueue(first: 100) { edges { node { id school { urn } } } } }",
            json!({}),
        )
        .await
        .ok();
    assert!(q["reviewQueue"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["id"] == id));
    let c = app.gql(Some(&assessor), CLAIM, json!({ "id": id })).await.ok();
    assert_eq!(c["claimReview"]["stage"], "UNDER_REVIEW");
    assert_eq!(c["claimReview"]["review"]["round"], 1);
    let ret = json!({ "outcome": "RETURNED", "feedback": "Show how students were consulted.", "areaFeedback": [{ "area": "AI_LITERACY", "feedback": "Good start." }] });
    let d = app.gql(Some(&assessor), DECIDE, json!({ "id": id, "in": ret })).await.ok();
    assert_eq!(d["decideReview"], json!({ "stage": "RETURNED", "certificate": null }));

    // The school reads the feedback, goes back to evidence and resubmits; certified second time.
    let fb = app.gql(Some(&lead), "query($id: ID!) { certification(id: $id) { review { outcome feedback areaFeedback { area { key } feedback } } } }", json!({ "id": id })).await.ok();
    assert_eq!(fb["certification"]["review"]["feedback"], "Show how students were consulted.");
    assert_eq!(fb["certification"]["review"]["areaFeedback"][0]["area"]["key"], "AI_LITERACY");
    app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "GATHERING_EVIDENCE" })).await.ok();
    app.gql(Some(&lead), SUBMIT, json!({ "id": id })).await.ok();
    let c = app.gql(Some(&assessor), CLAIM, json!({ "id": id })).await.ok();
    assert_eq!(c["claimReview"]["review"]["round"], 2);
    let d = app
        .gql(
            Some(&assessor),
            DECIDE,
            json!({ "id": id, "in": { "outcome": "CERTIFIED", "level": "EXPLORER" } }),
        )
        .await
        .ok();
    let cert = d["decideReview"]["certificate"].clone();
    assert_eq!(d["decideReview"]["stage"], "CERTIFIED");
    let awarded = NaiveDate::parse_from_str(cert["awardedOn"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let expires = awarded.checked_add_months(chrono::Months::new(24)).unwrap();
    assert_eq!(cert["expiresOn"], expires.to_string());
    let number = cert["number"].as_str().unwrap();
    assert!(number.starts_with("CERT-") && number.len() == 24, "{number}");

    // History: every step, with who and when, in order.
    let h = app.gql(Some(&lead), "query($id: ID!) { certification(id: $id) { version history { from to by role at comment version } } }", json!({ "id": id })).await.ok();
    let history = h["certification"]["history"].as_array().unwrap();
    let steps: Vec<(&str, &str)> =
        history.iter().map(|e| (e["to"].as_str().unwrap(), e["role"].as_str().unwrap())).collect();
    assert_eq!(
        steps,
        [
            ("ENROLLED", "SCHOOL_LEAD"),
            ("SELF_ASSESSING", "SCHOOL_LEAD"),
            ("GATHERING_EVIDENCE", "SCHOOL_LEAD"),
            ("SUBMITTED", "SCHOOL_LEAD"),
            ("UNDER_REVIEW", "ASSESSOR"),
            ("RETURNED", "ASSESSOR"),
            ("GATHERING_EVIDENCE", "SCHOOL_LEAD"),
            ("SUBMITTED", "SCHOOL_LEAD"),
            ("UNDER_REVIEW", "ASSESSOR"),
            ("CERTIFIED", "ASSESSOR"),
        ]
    );
    assert_eq!(history[0]["from"], Value::Null);
    assert_eq!(history[5]["from"], "UNDER_REVIEW");
    assert_eq!(history[5]["comment"], "Show how students were consulted.");
    assert_eq!(history[4]["by"], "dev-assessor");
    assert!(history.iter().all(|e| e["at"].as_str().is_some_and(|t| t.len() >= 20)));
    assert_eq!(h["certification"]["version"], 10);
    let node = app
        .gql(
            Some(&lead),
            "query($id: ID!) { node(id: $id) { id ... on Certification { stage } } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(node["node"], json!({ "id": id, "stage": "CERTIFIED" }));

    // The certificate verifies publicly, with nothing but the public fields.
    let q = "query($n: String!, $on: Date, $after: Date) { certificate(number: $n) { number schoolName frameworkName level awardedOn expiresOn valid(asOf: $on) expired: valid(asOf: $after) } }";
    let vars = json!({ "n": number.to_lowercase(), "on": expires.to_string(), "after": expires.succ_opt().unwrap().to_string() });
    let public = app.gql(None, q, vars).await.ok()["certificate"].clone();
    assert_eq!(public["frameworkName"], "AiEd Certified");
    assert_eq!(public["level"], "Explorer");
    assert_eq!((public["valid"].as_bool(), public["expired"].as_bool()), (Some(true), Some(false)));
    app.gql(None, "{ certificate(number: \"CERT-0000-0000-0000-0000\") { number } }", json!({}))
        .await
        .fails_with("NOT_FOUND");
    // After the expiry date the journey reads EXPIRED, before it CERTIFIED.
    let q = "query($id: ID!, $a: Date, $b: Date) { certification(id: $id) { on: stage(asOf: $a) after: stage(asOf: $b) } }";
    let s = app
        .gql(
            Some(&lead),
            q,
            json!({ "id": id, "a": expires.to_string(), "b": expires.succ_opt().unwrap().to_string() }),
        )
        .await
        .ok();
    assert_eq!(s["certification"], json!({ "on": "CERTIFIED", "after": "EXPIRED" }));

    // Enrolling again is a renewal, starting from the certified journey's ratings.
    let r = app.gql(Some(&lead), ENROL, json!({ "urn": urn, "level": "EXPLORER" })).await.ok();
    assert_eq!(r["enrol"]["renewalOf"]["id"], id);
    let q = "query($id: ID!) { certification(id: $id) { selfAssessment { rated } } }";
    let s = app.gql(Some(&lead), q, json!({ "id": r["enrol"]["id"] })).await.ok();
    assert_eq!(s["certification"]["selfAssessment"]["rated"], 15);
}

#[tokio::test]
async fn illegal_moves_are_conflicts_that_name_the_way_on() {
    let app = TestApp::with_demo().await;
    let urn = unenrolled(&app).await[0];
    let lead = app.token(Role::SchoolLead).school(urn).sign();
    let assessor = app.token(Role::Assessor).sign();
    let id =
        app.gql(Some(&lead), ENROL, json!({ "urn": urn, "level": "EXPLORER" })).await.ok()["enrol"]["id"]
            .clone();
    let events = app.count("certification_event").await;

    let e = app.gql(Some(&lead), SUBMIT, json!({ "id": id })).await;
    let msg = e.fails_with("CONFLICT")["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("ENROLLED") && msg.contains("SELF_ASSESSING, WITHDRAWN"), "{msg}");
    app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "GATHERING_EVIDENCE" }))
        .await
        .fails_with("CONFLICT");
    app.gql(Some(&assessor), CLAIM, json!({ "id": id })).await.fails_with("CONFLICT");
    app.gql(Some(&lead), RATE, json!({ "id": id, "r": ratings("SECURE") })).await.fails_with("CONFLICT");
    app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "CERTIFIED" })).await.fails_with("BAD_USER_INPUT");
    // A stale version is refused even for a legal move.
    app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "SELF_ASSESSING", "v": 7 }))
        .await
        .fails_with("CONFLICT");
    // A second open journey in the same framework is refused.
    app.gql(Some(&lead), ENROL, json!({ "urn": urn, "level": "INNOVATOR" })).await.fails_with("CONFLICT");
    assert_eq!(app.count("certification_event").await, events);

    let w = "mutation($id: ID!) { withdrawCertification(certification: $id, comment: \"changing plans\") { stage } }";
    assert_eq!(
        app.gql(Some(&lead), w, json!({ "id": id })).await.ok()["withdrawCertification"]["stage"],
        "WITHDRAWN"
    );
    let e = app.gql(Some(&lead), MOVE, json!({ "id": id, "stage": "SELF_ASSESSING" })).await;
    assert!(e.fails_with("CONFLICT")["message"].as_str().unwrap().contains("nor anywhere else"));
    // A certified journey cannot be withdrawn.
    let (certified, owner) = journeys_in(&app, "CERTIFIED").await[0].clone();
    let owner = app.token(Role::SchoolLead).school(owner).sign();
    app.gql(Some(&owner), w, json!({ "id": certified })).await.fails_with("CONFLICT");
}

#[tokio::test]
async fn bad_ratings_and_evidence_are_refused_and_write_nothing() {
    let app = TestApp::with_demo().await;
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/nine-area-framework.toml"))
            .unwrap();
    api::framework::service::load(&app.db, &fixture).await.unwrap();
    let (id, urn) = journeys_in(&app, "GATHERING_EVIDENCE").await[0].clone();
    let lead = app.token(Role::SchoolLead).school(urn).sign();
    let (ratings_before, evidence_before) = (app.count("rating").await, app.count("evidence").await);

    // A criterion of another framework, of another level, twice in one call: all refused, and
    // the good rating in the same call is not written either.
    for bad in [
        json!([{ "criterion": "LIT-E-LEA", "rating": "SECURE" }, { "criterion": "A1-G-1", "rating": "SECURE" }]),
        json!([{ "criterion": "LIT-I-LEA", "rating": "SECURE" }]),
        json!([{ "criterion": "LIT-E-LEA", "rating": "SECURE" }, { "criterion": "LIT-E-LEA", "rating": "EMERGING" }]),
        json!([]),
    ] {
        app.gql(Some(&lead), RATE, json!({ "id": id, "r": bad })).await.fails_with("BAD_USER_INPUT");
    }
    let item = |url: &str, declared: bool| json!({ "kind": "LINK", "title": "Plan", "url": url, "criteria": ["LIT-E-LEA"], "noPersonalData": declared });
    for bad in [
        item("ftp://example.org/plan.pdf", true),
        item("javascript:alert(1)", true),
        item("not a url", true),
        item("https://example.org/plan", false),
        json!({ "kind": "DESCRIPTION", "title": "Plan", "criteria": ["LIT-E-LEA"], "noPersonalData": true }),
        json!({ "kind": "LINK", "title": "Plan", "url": "https://example.org", "criteria": ["A1-G-1"], "noPersonalData": true }),
        json!({ "kind": "LINK", "title": "x".repeat(201), "url": "https://example.org", "criteria": ["LIT-E-LEA"], "noPersonalData": true }),
    ] {
        app.gql(Some(&lead), EVIDENCE, json!({ "id": id, "in": bad })).await.fails_with("BAD_USER_INPUT");
    }
    assert_eq!((app.count("rating").await, app.count("evidence").await), (ratings_before, evidence_before));
    let ok = app
        .gql(Some(&lead), EVIDENCE, json!({ "id": id, "in": item("HTTPS://Example.org/plan", true) }))
        .await
        .ok();
    assert_eq!(ok["addEvidence"]["url"], "https://example.org/plan");
    assert_eq!(ok["addEvidence"]["criteria"], json!([{ "code": "LIT-E-LEA" }]));
    assert_eq!(app.count("evidence").await, evidence_before + 1);
}

#[tokio::test]
async fn each_role_reads_and_writes_only_what_domain_md_allows() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    // A cohort-2 school in evidence gathering with an active mentor.
    let q = "{ schools(first: 100) { edges { node { urn trust { groupUid } certifications { id stage } mentors { mentor { urn } } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let mentee = data["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|n| {
            n["certifications"][0]["stage"] == "GATHERING_EVIDENCE"
                && n["mentors"][0]["mentor"]["urn"].is_number()
        })
        .expect("a mentee gathering evidence");
    let id = mentee["certifications"][0]["id"].clone();
    let urn = mentee["urn"].as_i64().unwrap() as i32;
    let mentor = app
        .token(Role::SchoolLead)
        .school(mentee["mentors"][0]["mentor"]["urn"].as_i64().unwrap() as i32)
        .sign();
    let other = app.token(Role::SchoolLead).school(unenrolled(&app).await[0]).sign();
    let own = app.token(Role::SchoolLead).school(urn).sign();
    let partner = app.token(Role::Partner).sign();
    let assessor = app.token(Role::Assessor).sign();

    let drafts = "query($id: ID!) { certification(id: $id) { stage selfAssessment { rated } evidence { title } history { to } } }";
    let summary = "query($id: ID!) { certification(id: $id) { stage version school { urn } } }";
    for token in [&own, &mentor, &admin] {
        app.gql(Some(token), drafts, json!({ "id": id })).await.ok();
    }
    // A trust lead reads its trust's schools in full, and only those.
    let in_trust = data["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|n| n["trust"]["groupUid"].is_string() && !n["certifications"].as_array().unwrap().is_empty())
        .unwrap();
    let trust_lead = app.token(Role::TrustLead).trust(in_trust["trust"]["groupUid"].as_str().unwrap()).sign();
    app.gql(Some(&trust_lead), drafts, json!({ "id": in_trust["certifications"][0]["id"] })).await.ok();
    let outside = data["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|n| {
            n["trust"]["groupUid"] != in_trust["trust"]["groupUid"]
                && !n["certifications"].as_array().unwrap().is_empty()
        })
        .unwrap();
    let a = app.gql(Some(&trust_lead), drafts, json!({ "id": outside["certifications"][0]["id"] })).await;
    assert!(
        a.codes().iter().all(|c| c == "FORBIDDEN" || c == "NOT_FOUND") && !a.codes().is_empty(),
        "{:#}",
        a.body
    );
    // Partners, other schools and assessors (before submission) see the stage, not the drafts.
    for token in [&partner, &other, &assessor] {
        app.gql(Some(token), summary, json!({ "id": id })).await.ok();
        let a = app
            .gql(
                Some(token),
                "query($id: ID!) { certification(id: $id) { selfAssessment { rated } } }",
                json!({ "id": id }),
            )
            .await;
        a.fails_with("FORBIDDEN");
    }
    app.gql(None, summary, json!({ "id": id })).await.fails_with("UNAUTHENTICATED");
    // Assessors read submitted journeys in full.
    let (submitted, _) = journeys_in(&app, "SUBMITTED").await[0].clone();
    app.gql(Some(&assessor), drafts, json!({ "id": submitted })).await.ok();

    // Writes: only the school's own lead; the mentor reads along but cannot write.
    let r = json!({ "id": id, "r": [{ "criterion": "LIT-E-LEA", "rating": "SECURE" }] });
    let ratings = app.count("rating").await;
    for token in [&mentor, &other] {
        app.gql(Some(token), RATE, r.clone()).await.fails_with("FORBIDDEN");
    }
    for token in [&partner, &admin, &assessor] {
        app.gql(Some(token), RATE, r.clone()).await.fails_with("FORBIDDEN");
    }
    app.gql(Some(&other), ENROL, json!({ "urn": urn, "level": "EXPLORER" })).await.fails_with("FORBIDDEN");
    assert_eq!(app.count("rating").await, ratings);
    app.gql(Some(&own), RATE, r).await.ok();
    // Review is for assessors only.
    for token in [&own, &partner, &admin] {
        app.gql(Some(token), CLAIM, json!({ "id": submitted })).await.fails_with("FORBIDDEN");
        app.gql(Some(token), "{ reviewQueue { edges { node { id } } } }", json!({}))
            .await
            .fails_with("FORBIDDEN");
    }
    // A second assessor cannot decide a review the first one claimed.
    app.gql(Some(&assessor), CLAIM, json!({ "id": submitted })).await.ok();
    let mut other_assessor = api::auth::TokenRequest::new(Role::Assessor);
    other_assessor.partnership = Some("demo-city".into());
    other_assessor.sub = "assessor-two".into();
    let second = app.jwt.sign(other_assessor, chrono::Duration::hours(1)).unwrap();
    let cert = json!({ "id": submitted, "in": { "outcome": "CERTIFIED", "level": "EXPLORER" } });
    let written = (app.count("certification_event").await, app.count("review").await);
    app.gql(Some(&second), DECIDE, cert.clone()).await.fails_with("FORBIDDEN");
    // Above the target level is refused; at it, certified.
    let over = json!({ "id": submitted, "in": { "outcome": "CERTIFIED", "level": "INNOVATOR" } });
    app.gql(Some(&assessor), DECIDE, over).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&assessor), DECIDE, json!({ "id": submitted, "in": { "outcome": "RETURNED" } }))
        .await
        .fails_with("BAD_USER_INPUT");
    assert_eq!((app.count("certification_event").await, app.count("review").await), written);
    let q = "query($id: ID!) { certification(id: $id) { stage review { outcome decidedAt } } }";
    let open = app.gql(Some(&assessor), q, json!({ "id": submitted })).await.ok();
    assert_eq!(
        open["certification"],
        json!({ "stage": "UNDER_REVIEW", "review": { "outcome": null, "decidedAt": null } })
    );
    assert_eq!(app.gql(Some(&assessor), DECIDE, cert).await.ok()["decideReview"]["stage"], "CERTIFIED");
}

#[tokio::test]
async fn framework_files_load_once_and_report_what_is_wrong() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    // Publishing is the operator's act (`partnership-api load-framework`), which calls this.
    let load = |source: String| {
        let db = app.db.clone();
        async move { api::framework::service::load(&db, &source).await }
    };
    let shape = "query($slug: String) { frameworks(slug: $slug) { slug version stakeholderGroups { key } levels { key rank } areas { key } criteria { code stakeholderGroup { key } } } }";
    let aied =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../frameworks/aied-certified.toml"))
            .unwrap();
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/nine-area-framework.toml"))
            .unwrap();

    // The demo loaded AiEd Certified already: loading it again changes nothing.
    let criteria = app.count("criterion").await;
    assert!(!load(aied.clone()).await.unwrap().created);
    assert_eq!(app.count("criterion").await, criteria);
    let a = app.gql(None, shape, json!({ "slug": "aied-certified" })).await.ok()["frameworks"][0].clone();
    assert_eq!(a["criteria"].as_array().unwrap().len(), 45);
    assert_eq!(a["stakeholderGroups"].as_array().unwrap().len(), 3);

    // The nine-area fixture: levels up to Gold, no stakeholder groups.
    let loaded = load(fixture.clone()).await.unwrap();
    assert!(loaded.created);
    let slug = loaded.framework.slug.clone();
    let f = app.gql(None, shape, json!({ "slug": slug })).await.ok()["frameworks"][0].clone();
    assert_eq!(f["areas"].as_array().unwrap().len(), 9);
    assert_eq!(f["levels"][2], json!({ "key": "GOLD", "rank": 3 }));
    assert_eq!(f["stakeholderGroups"], json!([]));
    assert!(f["criteria"].as_array().unwrap().iter().all(|c| c["stakeholderGroup"].is_null()));
    assert!(!load(fixture.clone()).await.unwrap().created);

    // Same version, other content: CONFLICT. Malformed files name the line or the field.
    // None of them writes anything.
    let held = (app.count("framework").await, app.count("criterion").await);
    let changed = fixture.replacen("validity_months = 36", "validity_months = 12", 1);
    assert_eq!(load(changed).await.err().unwrap().code(), "CONFLICT");
    let broken = fixture.replacen("[[levels]]", "[[levels]\n", 1);
    let e = load(broken).await.err().unwrap();
    assert_eq!(e.code(), "BAD_USER_INPUT");
    assert!(e.to_string().contains("line"), "{e}");
    let unknown = fixture.replacen("area = \"AREA_9\"", "area = \"AREA_10\"", 1);
    let e = load(unknown).await.err().unwrap();
    assert!(e.to_string().contains(".area: no area has the key \"AREA_10\""), "{e}");
    assert_eq!((app.count("framework").await, app.count("criterion").await), held);

    // No partnership publishes frameworks: the mutation is not in the schema.
    app.gql(
        Some(&admin),
        "mutation($s: String!) { loadFramework(source: $s) { created } }",
        json!({ "s": fixture }),
    )
    .await
    .fails_with("GRAPHQL_VALIDATION_FAILED");

    // A new version loads beside the old one; journeys stay on the version they started on.
    let v2 = aied.replacen("version = 1", "version = 2", 1).replacen(
        "validity_months = 24",
        "validity_months = 36",
        1,
    );
    assert_eq!(load(v2).await.unwrap().framework.version, 2);
    let all = app.gql(None, "{ frameworks(slug: \"aied-certified\", allVersions: true) { version } latest: frameworks { slug version } }", json!({})).await.ok();
    assert_eq!(all["frameworks"], json!([{ "version": 2 }, { "version": 1 }]));
    let (id, _) = journeys_in(&app, "SELF_ASSESSING").await[0].clone();
    let v = app
        .gql(
            Some(&admin),
            "query($id: ID!) { certification(id: $id) { framework { version } } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(v["certification"]["framework"]["version"], 1);
}

#[tokio::test]
async fn two_simultaneous_moves_of_one_journey_cannot_both_win() {
    let app = TestApp::with_demo().await;
    let submitted = journeys_in(&app, "SUBMITTED").await;
    for (id, _) in submitted {
        let events = app.count("certification_event").await;
        let tasks: Vec<_> = (0..4)
            .map(|n| {
                let mut who = api::auth::TokenRequest::new(Role::Assessor);
                who.partnership = Some("demo-city".into());
                who.sub = format!("assessor-{n}");
                let token = app.jwt.sign(who, chrono::Duration::hours(1)).unwrap();
                let router = app.router();
                let id = id.clone();
                tokio::spawn(
                    async move { tests::post(router, Some(&token), CLAIM, json!({ "id": id })).await },
                )
            })
            .collect();
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap().codes().first().cloned().unwrap_or_else(|| "OK".into()));
        }
        codes.sort();
        assert_eq!(codes, ["CONFLICT", "CONFLICT", "CONFLICT", "OK"]);
        assert_eq!(app.count("certification_event").await, events + 1);
    }
}

#[tokio::test]
async fn the_demo_shows_every_part_of_the_journey() {
    let app = TestApp::with_demo().await;
    for (stage, at_least) in [
        ("CERTIFIED", 9),
        ("EXPIRED", 1),
        ("RETURNED", 1),
        ("SUBMITTED", 2),
        ("UNDER_REVIEW", 2),
        ("GATHERING_EVIDENCE", 4),
        ("SELF_ASSESSING", 4),
        ("ENROLLED", 2),
        ("WITHDRAWN", 1),
    ] {
        let n = journeys_in(&app, stage).await.len();
        assert!(n >= at_least, "{n} journeys {stage}");
    }
    // The expired school is renewing.
    let (_, urn) = journeys_in(&app, "EXPIRED").await[0].clone();
    let admin = app.token(Role::CityAdmin).sign();
    let q = "query($urn: Int!) { school(urn: $urn) { certifications { stage(asOf: \"2026-11-22\") renewalOf { stage(asOf: \"2026-11-22\") } } } }";
    let s = app.gql(Some(&admin), q, json!({ "urn": urn })).await.ok();
    assert_eq!(
        s["school"]["certifications"][0],
        json!({ "stage": "GATHERING_EVIDENCE", "renewalOf": { "stage": "EXPIRED" } })
    );
    let queue = app
        .gql(
            Some(&app.token(Role::Assessor).sign()),
            "{ reviewQueue(first: 2) { pageInfo { hasNextPage endCursor } edges { node { stage } } } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(queue["reviewQueue"]["edges"].as_array().unwrap().len(), 2);
    let after = queue["reviewQueue"]["pageInfo"]["endCursor"].clone();
    let rest = app
        .gql(
            Some(&app.token(Role::Assessor).sign()),
            "query($a: String) { reviewQueue(first: 2, after: $a) { edges { node { stage } } } }",
            json!({ "a": after }),
        )
        .await
        .ok();
    assert_eq!(rest["reviewQueue"]["edges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_certified_school_may_mentor_a_school_of_its_own_cohort() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    let q = "{ partnershipBySlug(slug: \"demo-city\") { cohorts { ordinal schools(first: 100) { edges { node { urn certifications { stage(asOf: \"2026-01-10\") } mentees { id } mentors { id } } } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let cohort2: Vec<Value> = data["partnershipBySlug"]["cohorts"][1]["schools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let stage = |n: &Value| n["certifications"][0]["stage"].as_str().unwrap_or("").to_owned();
    let certified = cohort2.iter().find(|n| stage(n) == "CERTIFIED").expect("a certified cohort-2 school");
    let uncertified = cohort2.iter().find(|n| stage(n) == "SELF_ASSESSING").expect("an uncertified one");
    // End the mentee's current pairing first: one active mentor per mentee.
    let mentee = cohort2
        .iter()
        .find(|n| stage(n) == "GATHERING_EVIDENCE" && !n["mentors"].as_array().unwrap().is_empty())
        .unwrap();
    let end = "mutation($id: ID!) { endMentorshipPairing(id: $id, endedOn: \"2026-01-09\") { status } }";
    app.gql(Some(&admin), end, json!({ "id": mentee["mentors"][0]["id"] })).await.ok();
    let pair = "mutation($mentor: Int!, $mentee: Int!) { createMentorshipPairing(input: { mentorUrn: $mentor, menteeUrn: $mentee, startedOn: \"2026-01-10\" }) { status } }";
    let e =
        app.gql(Some(&admin), pair, json!({ "mentor": uncertified["urn"], "mentee": mentee["urn"] })).await;
    assert!(e.fails_with("BAD_USER_INPUT")["message"].as_str().unwrap().contains("no valid certificate"));
    let ok = app
        .gql(Some(&admin), pair, json!({ "mentor": certified["urn"], "mentee": mentee["urn"] }))
        .await
        .ok();
    assert_eq!(ok["createMentorshipPairing"]["status"], "ACTIVE");
}

#[tokio::test]
async fn journey_fields_cost_a_bounded_number_of_statements() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    let q = "query($n: Int) { schools(first: $n) { edges { node { urn certifications { stage version framework { name levels { key } } targetLevel { key } renewalOf { stage } certificate { number level } history { to by } selfAssessment { percentComplete readyToSubmit byArea { area { name } rated } ratings { rating criterion { code } } } evidence { title criteria { code } } review { outcome level { key } } } } } } }";
    let mut counts = Vec::new();
    for n in [5, 61] {
        app.reset_statements();
        app.gql(Some(&admin), q, json!({ "n": n })).await.ok();
        counts.push(app.statements());
    }
    // One statement per loader the query touches (caller, schools, journeys, reach, history,
    // ratings, evidence x2, reviews, the certificate's school, the renewed journey; framework
    // versions come from the process's cache), whatever the number of schools. Five schools
    // may touch fewer kinds of data than 61.
    assert!(counts[0] <= counts[1] && counts[1] <= 11, "statements for 5 and 61 schools: {counts:?}");
}
