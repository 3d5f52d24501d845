//! The mentor view: `MentorshipPairing.progress(asOf:)` on the demo city, whose journeys have
//! fixed dates (api/src/seed/journeys.rs). Pioneer 990022 mentors 990041 (gathering evidence
//! since 2025-06-07), 990045 (submitted) and 990015 (returned on 2025-08-03).

use api::auth::Role;
use serde_json::{Value, json};
use tests::TestApp;

const MENTOR: i32 = 990022;
const RETURNED: i32 = 990015;
const GATHERING: i32 = 990041;
/// 990015's trust.
const MENTEE_TRUST: &str = "990012";

const PROGRESS: &str = "progress(asOf: $asOf) { enrolled stage stageSince daysInStage percentComplete evidenceCount blockers lastActivity certification { stage(asOf: $asOf) school { urn } } areas { area { key } rated total notYet evidenceCount percentComplete } }";

fn my_mentees() -> String {
    format!("query($asOf: Date) {{ me {{ school {{ mentees {{ mentee {{ urn name }} {PROGRESS} }} }} }} }}")
}

fn mentees_of() -> String {
    format!(
        "query($urn: Int!, $asOf: Date) {{ school(urn: $urn) {{ mentees(includeEnded: true) {{ id mentee {{ urn }} {PROGRESS} }} }} }}"
    )
}

fn mentor_of() -> String {
    format!("query($urn: Int!, $asOf: Date) {{ school(urn: $urn) {{ mentors {{ {PROGRESS} }} }} }}")
}

/// The progress of `urn` among the mentees of a `me { school { mentees } }` answer.
fn of(data: &Value, urn: i32) -> Value {
    data["me"]["school"]["mentees"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["mentee"]["urn"] == urn))
        .map(|m| m["progress"].clone())
        .unwrap_or_else(|| panic!("no mentee {urn} in {data:#}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_mentor_sees_each_mentees_stage_progress_and_blockers() {
    let app = TestApp::with_demo().await;
    let lead = app.token(Role::SchoolLead).school(MENTOR).sign();
    let data = app.gql(Some(&lead), &my_mentees(), json!({ "asOf": "2026-03-01" })).await.ok();
    assert_eq!(data["me"]["school"]["mentees"].as_array().map(Vec::len), Some(3));

    // Returned on 2025-08-03: 28 + 30 + 31 + 30 + 31 + 31 + 28 + 1 = 210 days to 2026-03-01.
    let returned = of(&data, RETURNED);
    assert_eq!(returned["enrolled"], true);
    assert_eq!(returned["stage"], "RETURNED");
    assert_eq!(returned["stageSince"], "2025-08-03");
    assert_eq!(returned["daysInStage"], 210);
    assert_eq!(
        strings(&returned["blockers"]),
        ["returned on 2025-08-03: act on the feedback and move back to GATHERING_EVIDENCE"]
    );
    assert_eq!(returned["lastActivity"], "2025-08-03T10:00:00+00:00");
    assert_eq!(returned["percentComplete"], 100.0);
    // Submitted journeys hold one evidence item per area.
    assert_eq!(returned["evidenceCount"], 5);
    assert_eq!(returned["certification"], json!({ "stage": "RETURNED", "school": { "urn": RETURNED } }));

    // Gathering evidence since 2025-06-07 (23 + 243 + 1 = 267 days): every criterion rated
    // (the seed rates the 4th and 11th NOT_YET while drafting),
    // evidence for the first two areas only, the last item added on 2025-06-11.
    let gathering = of(&data, GATHERING);
    assert_eq!(gathering["stage"], "GATHERING_EVIDENCE");
    assert_eq!(gathering["daysInStage"], 267);
    assert_eq!(gathering["evidenceCount"], 2);
    assert_eq!(gathering["percentComplete"], 100.0);
    assert_eq!(gathering["lastActivity"], "2025-06-11T10:00:00+00:00");
    assert_eq!(
        gathering["areas"],
        json!([
            { "area": { "key": "AI_LITERACY" }, "rated": 3, "total": 3, "notYet": 0, "evidenceCount": 1, "percentComplete": 100.0 },
            { "area": { "key": "POLICIES_AND_ETHICS" }, "rated": 3, "total": 3, "notYet": 1, "evidenceCount": 1, "percentComplete": 100.0 },
            { "area": { "key": "TOOLS_AND_SYSTEMS" }, "rated": 3, "total": 3, "notYet": 0, "evidenceCount": 0, "percentComplete": 100.0 },
            { "area": { "key": "DIGITAL_PEDAGOGY" }, "rated": 3, "total": 3, "notYet": 1, "evidenceCount": 0, "percentComplete": 100.0 },
            { "area": { "key": "COLLABORATION_AND_COMMUNITY" }, "rated": 3, "total": 3, "notYet": 0, "evidenceCount": 0, "percentComplete": 100.0 },
        ])
    );
    assert_eq!(
        strings(&gathering["blockers"]),
        [
            "POL-E-LEA is rated NOT_YET",
            "link evidence to a criterion of area \"Tools and systems\"",
            "PED-E-STA is rated NOT_YET",
            "link evidence to a criterion of area \"Digital pedagogy\"",
            "link evidence to a criterion of area \"Collaboration and community\"",
        ]
    );

    let submitted = of(&data, 990045);
    assert_eq!(
        (submitted["stage"].clone(), submitted["stageSince"].clone()),
        (json!("SUBMITTED"), json!("2025-07-16"))
    );
    assert_eq!(
        strings(&submitted["blockers"]),
        ["submitted on 2025-07-16: waiting for an assessor to claim the review"]
    );
}

#[tokio::test]
async fn progress_reads_the_history_as_of_the_date() {
    let app = TestApp::with_demo().await;
    let lead = app.token(Role::SchoolLead).school(MENTOR).sign();
    let q = my_mentees();
    let on = |d: &'static str| app.gql(Some(&lead), &q, json!({ "asOf": d }));

    // 990015 submitted on 2025-07-10; its evidence was added 2025-06-07 to 06-11.
    let returned = of(&on("2025-07-12").await.ok(), RETURNED);
    assert_eq!((returned["stage"].clone(), returned["daysInStage"].clone()), (json!("SUBMITTED"), json!(2)));
    assert_eq!(returned["lastActivity"], "2025-07-10T10:00:00+00:00");

    // 990041 enrolled on 2025-04-11 and rated from 04-21: nothing rated on 04-15.
    let gathering = of(&on("2025-04-15").await.ok(), GATHERING);
    assert_eq!((gathering["stage"].clone(), gathering["daysInStage"].clone()), (json!("ENROLLED"), json!(4)));
    assert_eq!(
        (gathering["percentComplete"].clone(), gathering["evidenceCount"].clone()),
        (json!(0.0), json!(0))
    );
    assert_eq!(gathering["areas"][0]["rated"], 0);
    let blockers = strings(&gathering["blockers"]);
    assert_eq!(blockers[0], "move to SELF_ASSESSING to start the self-assessment");
    assert_eq!(blockers.len(), 1 + 15 + 5, "{blockers:?}");
    assert_eq!(gathering["lastActivity"], "2025-04-11T10:00:00+00:00");

    // Before enrolment.
    let before = of(&on("2025-04-01").await.ok(), GATHERING);
    assert_eq!(
        before,
        json!({ "enrolled": false, "stage": null, "stageSince": null, "daysInStage": null, "percentComplete": 0.0,
                "evidenceCount": 0, "blockers": ["not enrolled in aied-certified"], "lastActivity": null,
                "certification": null, "areas": [] })
    );

    // A certificate reads EXPIRED after its expiry date: 990034 (mentored by 990030) was
    // certified on 2025-07-26, valid until 2027-07-26.
    let admin = app.token(Role::CityAdmin).sign();
    let q = mentor_of();
    let expired = app.gql(Some(&admin), &q, json!({ "urn": 990034, "asOf": "2027-08-01" })).await.ok();
    let p = &expired["school"]["mentors"][0]["progress"];
    assert_eq!(
        (p["stage"].clone(), p["stageSince"].clone(), p["daysInStage"].clone()),
        (json!("EXPIRED"), json!("2027-07-27"), json!(5))
    );
    assert_eq!(strings(&p["blockers"]), ["the certificate expired on 2027-07-26: enrol again to renew it"]);
    let valid = app.gql(Some(&admin), &q, json!({ "urn": 990034, "asOf": "2027-07-26" })).await.ok();
    let p = &valid["school"]["mentors"][0]["progress"];
    assert_eq!(
        (p["stage"].clone(), p["daysInStage"].clone(), p["blockers"].clone()),
        (json!("CERTIFIED"), json!(730), json!([]))
    );
}

#[tokio::test]
async fn only_the_active_mentor_and_city_admins_read_a_mentees_progress() {
    let app = TestApp::with_demo().await;
    let vars = json!({ "urn": RETURNED, "asOf": "2026-03-01" });
    let q = mentor_of();
    for (who, token) in [
        ("partner", app.token(Role::Partner).sign()),
        ("assessor", app.token(Role::Assessor).sign()),
        ("trust lead", app.token(Role::TrustLead).trust(MENTEE_TRUST).sign()),
        ("the mentee's own lead", app.token(Role::SchoolLead).school(RETURNED).sign()),
        ("another mentor's lead", app.token(Role::SchoolLead).school(990027).sign()),
    ] {
        let answer = app.gql(Some(&token), &q, vars.clone()).await;
        let e = answer.fails_with("FORBIDDEN");
        assert!(e["message"].as_str().unwrap_or_default().contains("mentor school's lead"), "{who}: {e:#}");
        assert_eq!(e["path"], json!(["school", "mentors", 0, "progress"]), "{who}");
        // The pairing itself stays readable: only its progress is null.
        assert_eq!(answer.data()["school"]["mentors"][0]["progress"], Value::Null, "{who}");
    }

    let admin = app.token(Role::CityAdmin).sign();
    let data = app.gql(Some(&admin), &q, vars.clone()).await.ok();
    assert_eq!(data["school"]["mentors"][0]["progress"]["stage"], "RETURNED");
    let lead = app.token(Role::SchoolLead).school(MENTOR).sign();
    let data = app.gql(Some(&lead), &q, vars.clone()).await.ok();
    assert_eq!(data["school"]["mentors"][0]["progress"]["daysInStage"], 210);

    // Once the city admin ends the pairing, its former mentor reads it no more.
    let pairings =
        app.gql(Some(&admin), &mentees_of(), json!({ "urn": MENTOR, "asOf": "2026-03-01" })).await.ok();
    let pairing = pairings["school"]["mentees"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["mentee"]["urn"] == RETURNED))
        .map(|m| m["id"].clone())
        .expect("990022 mentors 990015");
    let end = "mutation($id: ID!) { endMentorshipPairing(id: $id, endedOn: \"2026-01-31\") { status } }";
    app.gql(Some(&admin), end, json!({ "id": pairing })).await.ok();
    let answer = app.gql(Some(&lead), &mentees_of(), json!({ "urn": MENTOR, "asOf": "2026-03-01" })).await;
    let e = answer.fails_with("FORBIDDEN");
    assert!(e["message"].as_str().unwrap_or_default().contains("ended"), "{e:#}");
    let still: Vec<_> = answer.data()["school"]["mentees"]
        .as_array()
        .map(|all| {
            all.iter().filter(|m| !m["progress"].is_null()).map(|m| m["mentee"]["urn"].clone()).collect()
        })
        .unwrap_or_default();
    assert_eq!(still, [json!(GATHERING), json!(990045)], "the active pairings stay readable");
    // The city admin still reads the ended pairing.
    let data =
        app.gql(Some(&admin), &mentees_of(), json!({ "urn": MENTOR, "asOf": "2026-03-01" })).await.ok();
    assert!(
        data["school"]["mentees"]
            .as_array()
            .is_some_and(|all| all.iter().all(|m| m["progress"]["enrolled"] == true))
    );
}

#[tokio::test]
async fn every_pairings_progress_costs_what_one_mentors_does() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    let vars = json!({ "asOf": "2026-03-01" });
    let all = format!(
        "query($asOf: Date) {{ schools(first: 100) {{ edges {{ node {{ urn mentees {{ mentee {{ urn name }} {PROGRESS} }} }} }} }} }}"
    );
    app.warm(&admin).await;
    app.reset_statements();
    let data = app.gql(Some(&admin), &all, vars.clone()).await.ok();
    let every = app.statements();
    let read: usize = data["schools"]["edges"]
        .as_array()
        .map(|e| e.iter().map(|n| n["node"]["mentees"].as_array().map_or(0, |m| m.len())).sum())
        .unwrap_or_default();
    assert_eq!(read, 18, "every demo pairing");

    let one = format!(
        "query($urn: Int!, $asOf: Date) {{ school(urn: $urn) {{ mentees {{ mentee {{ urn name }} {PROGRESS} }} }} }}"
    );
    app.reset_statements();
    app.gql(Some(&admin), &one, json!({ "urn": MENTOR, "asOf": "2026-03-01" })).await.ok();
    let single = app.statements();

    let lead = app.token(Role::SchoolLead).school(MENTOR).sign();
    app.warm(&lead).await;
    app.reset_statements();
    app.gql(Some(&lead), &my_mentees(), vars).await.ok();
    let mine = app.statements();

    // The school(s), the pairings, then one batch per loader for all pairings:
    // mentee schools, partnerships, journeys, history, ratings, evidence (2) and the journeys'
    // schools; framework versions come from the process's cache.
    assert_eq!(every, single, "18 pairings cost what 3 do");
    assert_eq!(mine, single, "the mentor's own view costs the same");
    assert!(every <= 10, "{every} statements");
}
