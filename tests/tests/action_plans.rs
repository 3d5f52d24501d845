//! Action plans (issue 13, item 1): the school lead plans, its mentor school's lead and the city
//! admins comment, partners see counts only, and overdue actions show in the mentor view.

use api::auth::Role;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tests::{
    TestApp,
    fixtures::{self, Upto},
};

const CITY: &str = "plan-city";
const MENTEE: i32 = 940001;
const MENTOR: i32 = 940002;
const OTHER: i32 = 940003;
const ADD: &str = "mutation($id: ID!, $in: ActionInput!) { addAction(certification: $id, input: $in) { id title owner status dueOn version area { key } criteria { code } } }";
const UPDATE: &str = "mutation($id: ID!, $in: ActionPatchInput!, $v: Int) { updateAction(action: $id, input: $in, expectedVersion: $v) { status version history { kind fromStatus toStatus comment role } } }";
const COMMENT: &str = "mutation($id: ID!, $c: String!) { commentOnAction(action: $id, comment: $c) { history { kind by role comment } } }";
const ACTIONS: &str = "query($id: ID!) { certification(id: $id) { actions { title status overdue } } }";
const COUNTS: &str =
    "query($id: ID!) { certification(id: $id) { actionCounts { planned inProgress done dropped overdue } } }";

async fn get_csv(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    let req = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(app.router(), req).await.unwrap();
    let status = res.status().as_u16();
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn csv(app: &TestApp, token: &str) -> String {
    get_csv(app, &format!("/reports/schools.csv?partnership={CITY}"), token).await.1
}

async fn partnership_id(app: &TestApp) -> uuid::Uuid {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let p = entity::partnership::Entity::find().filter(entity::partnership::Column::Slug.eq(CITY));
    p.one(&app.db).await.unwrap().unwrap().id
}

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

/// A mentee gathering evidence, its active mentor, and a third school of the partnership.
async fn setup(app: &TestApp) -> Value {
    let p = fixtures::partnership(&app.db, CITY, "Plan City").await;
    let la = fixtures::local_authority(&app.db, "934", "Plan Council").await;
    let cohort = fixtures::cohort(&app.db, p.id, "Cohort 2", 2, "2025-09-01", "2027-07-31").await;
    let mut ids = Vec::new();
    for (urn, name) in [(MENTEE, "Wren Primary"), (MENTOR, "Kite Primary"), (OTHER, "Teal Primary")] {
        let school = fixtures::school(&app.db, urn, name, la.id, None).await;
        fixtures::member(&app.db, p.id, school.id).await;
        ids.push(school.id);
    }
    fixtures::cohort_member(&app.db, &cohort, ids[0]).await;
    fixtures::pairing(&app.db, &cohort, ids[1], ids[0], "2025-10-01").await;
    fixtures::journey(app, CITY, MENTEE, "Plan", Upto::GatheringEvidence).await.id
}

#[tokio::test]
async fn a_school_plans_its_mentor_comments_and_partners_see_counts_only() {
    let app = TestApp::spawn().await;
    let journey = setup(&app).await;
    let lead = app.token(Role::SchoolLead).school(MENTEE).sign();
    let mentor = app.token(Role::SchoolLead).school(MENTOR).sign();
    let other = app.token(Role::SchoolLead).school(OTHER).sign();
    let admin = app.token(Role::CityAdmin).partnership(CITY).sign();
    let partner = app.token(Role::Partner).partnership(CITY).sign();

    let input = |title: &str, due: String| json!({ "area": "AI_LITERACY", "criteria": ["LIT-E-STA", "LIT-E-STA"], "title": title, "owner": "TEACHERS", "dueOn": due });
    let a = app
        .gql(Some(&lead), ADD, json!({ "id": journey, "in": input("Staff AI training", day(30)) }))
        .await
        .ok()["addAction"]
        .clone();
    assert_eq!(
        (&a["status"], &a["owner"], &a["version"], &a["area"]["key"]),
        (&json!("PLANNED"), &json!("TEACHERS"), &json!(1), &json!("AI_LITERACY"))
    );
    assert_eq!(a["criteria"], json!([{ "code": "LIT-E-STA" }]));
    let late = app
        .gql(Some(&lead), ADD, json!({ "id": journey, "in": input("Parents' evening", day(-3)) }))
        .await
        .ok()["addAction"]["id"]
        .clone();

    // Bad input and the wrong callers write nothing.
    let before = app.count("improvement_action").await;
    let bad = |patch: Value| {
        let mut i = input("x", day(10));
        i.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        json!({ "id": journey, "in": i })
    };
    for vars in [
        bad(json!({ "area": "NOPE" })),
        bad(json!({ "criteria": ["POL-E-LEA"] })),
        bad(json!({ "title": "  " })),
        bad(json!({ "dueOn": "2019-01-01" })),
    ] {
        app.gql(Some(&lead), ADD, vars).await.fails_with("BAD_USER_INPUT");
    }
    app.gql(Some(&mentor), ADD, bad(json!({}))).await.fails_with("FORBIDDEN");
    app.gql(Some(&partner), ADD, bad(json!({}))).await.fails_with("FORBIDDEN");
    assert_eq!(app.count("improvement_action").await, before);

    // The lead moves an action on, with a note; a stale version is refused.
    let moved = app
        .gql(
            Some(&lead),
            UPDATE,
            json!({ "id": a["id"], "in": { "status": "IN_PROGRESS", "note": "Booked for INSET" }, "v": 1 }),
        )
        .await
        .ok()["updateAction"]
        .clone();
    assert_eq!((&moved["status"], &moved["version"]), (&json!("IN_PROGRESS"), &json!(2)));
    let last = moved["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        json!({ "kind": "STATUS", "fromStatus": "PLANNED", "toStatus": "IN_PROGRESS", "comment": "Booked for INSET", "role": "SCHOOL_LEAD" })
    );
    app.gql(Some(&lead), UPDATE, json!({ "id": a["id"], "in": { "status": "DONE" }, "v": 1 }))
        .await
        .fails_with("CONFLICT");
    app.gql(Some(&mentor), UPDATE, json!({ "id": a["id"], "in": { "status": "DONE" } }))
        .await
        .fails_with("FORBIDDEN");

    // The mentor school's lead and the city admin comment; another school's lead may not.
    let c =
        app.gql(Some(&mentor), COMMENT, json!({ "id": a["id"], "c": "We can share our slides" })).await.ok();
    let last = c["commentOnAction"]["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((&last["kind"], &last["comment"]), (&json!("COMMENTED"), &json!("We can share our slides")));
    app.gql(Some(&admin), COMMENT, json!({ "id": a["id"], "c": "Join the city session" })).await.ok();
    app.gql(Some(&other), COMMENT, json!({ "id": a["id"], "c": "Hello" })).await.fails_with("FORBIDDEN");
    app.gql(Some(&partner), COMMENT, json!({ "id": a["id"], "c": "Hello" })).await.fails_with("FORBIDDEN");

    // Reads: the plan in full for the school, its mentor and the admin; counts for partners.
    for token in [&lead, &mentor, &admin] {
        let plan = app.gql(Some(token), ACTIONS, json!({ "id": journey })).await.ok();
        assert_eq!(
            plan["certification"]["actions"],
            json!([
                { "title": "Parents' evening", "status": "PLANNED", "overdue": true },
                { "title": "Staff AI training", "status": "IN_PROGRESS", "overdue": false }
            ])
        );
    }
    app.gql(Some(&partner), ACTIONS, json!({ "id": journey })).await.fails_with("FORBIDDEN");
    let counts = app.gql(Some(&partner), COUNTS, json!({ "id": journey })).await.ok();
    assert_eq!(
        counts["certification"]["actionCounts"],
        json!({ "planned": 1, "inProgress": 1, "done": 0, "dropped": 0, "overdue": 1 })
    );

    // Overdue actions put the school at risk only once the partnership says so; the CSV
    // counts them either way.
    let risk = "query($p: ID!) { atRiskSchools(partnership: $p) { school { urn } reason risks } }";
    let p = json!(api::ids::global_id("Partnership", partnership_id(&app).await).to_string());
    let mentee_risks = |answer: Value| {
        answer["atRiskSchools"].as_array().unwrap().iter().find(|r| r["school"]["urn"] == MENTEE).cloned()
    };
    let before = mentee_risks(app.gql(Some(&admin), risk, json!({ "p": p })).await.ok());
    assert!(before.is_none_or(|r| !r["risks"].as_array().unwrap().contains(&json!("OVERDUE_ACTIONS"))));
    let on = "mutation { updatePartnership(input: { overdueActionsAtRisk: true }) { overdueActionsAtRisk } }";
    app.gql(Some(&admin), on, json!({})).await.ok();
    let after = mentee_risks(app.gql(Some(&admin), risk, json!({ "p": p })).await.ok()).expect("at risk");
    assert!(after["risks"].as_array().unwrap().contains(&json!("OVERDUE_ACTIONS")), "{after}");
    assert!(after["reason"].as_str().unwrap().contains("1 planned action overdue"), "{after}");
    let export = csv(&app, &admin).await;
    let header: Vec<&str> = export.lines().next().unwrap().split(',').collect();
    let row = export.lines().find(|l| l.starts_with(&MENTEE.to_string())).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    // The city admin's export carries one share per area after the counts: all 15 criteria
    // of the mentee were rated SECURE.
    let at = header.iter().position(|h| *h == "open_actions").unwrap();
    assert_eq!(&header[at..at + 3], ["open_actions", "overdue_actions", "secure_pct_ai_literacy"]);
    assert_eq!(header.len(), at + 7);
    assert_eq!(&cells[at..], ["2", "1", "100", "100", "100", "100", "100"]);
    // A partner's export has the counts but no per-school shares.
    let theirs = csv(&app, &partner).await;
    let header: Vec<&str> = theirs.lines().next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"overdue_actions"));
    assert!(!theirs.contains("secure_pct"));

    // The local authority exports every plan; nobody else does.
    let (status, plans) = get_csv(&app, &format!("/reports/actions.csv?partnership={CITY}"), &admin).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = plans.lines().collect();
    assert_eq!(lines[0], "urn,school,area,title,owner,due_on,status,overdue,updated_on");
    assert_eq!(lines.len(), 3, "{plans}");
    assert!(
        lines[1].starts_with(&format!(
            "{MENTEE},Wren Primary,AI literacy,Parents' evening,TEACHERS,{},PLANNED,true,",
            day(-3)
        )),
        "{plans}"
    );
    assert!(
        lines[2].contains(",Staff AI training,TEACHERS,") && lines[2].contains(",IN_PROGRESS,false,"),
        "{plans}"
    );
    for token in [&partner, &mentor, &lead] {
        let (status, body) = get_csv(&app, &format!("/reports/actions.csv?partnership={CITY}"), token).await;
        assert_eq!(status, 403, "{body}");
        assert!(!body.contains("Parents"));
    }

    // The mentor view counts the overdue action; done, it no longer does.
    let view = "query { me { school { mentees { progress { overdueActions } } } } }";
    let seen = app.gql(Some(&mentor), view, json!({})).await.ok();
    assert_eq!(seen["me"]["school"]["mentees"][0]["progress"]["overdueActions"], 1);
    app.gql(Some(&lead), UPDATE, json!({ "id": late, "in": { "status": "DONE" } })).await.ok();
    let seen = app.gql(Some(&mentor), view, json!({})).await.ok();
    assert_eq!(seen["me"]["school"]["mentees"][0]["progress"]["overdueActions"], 0);
}
