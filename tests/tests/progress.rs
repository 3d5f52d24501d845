//! Progress, timeline and at-risk numbers on a small fixture whose every number is worked out
//! by hand below, and a statement bound on the demo.
//!
//! The fixture, "Tiny City" (deadline 2025-12-31, started 2025-01-01: 364 days):
//!
//! | URN    | phase     | trust | cohort | journey                                           | AI policy        |
//! | 100001 | primary   | T     | C1     | certified 2025-05-01 (expires 2027-04-30)         | adopted 2025-01-15 |
//! | 100002 | secondary | T     | C1     | SELF_ASSESSING since 2025-01-15                   | none             |
//! | 100003 | primary   | -     | C1     | 2023 certificate expired 2025-01-09; renewal RETURNED 2025-05-20 | adopted 2024-01-01, never reviewed |
//! | 100004 | primary   | -     | C2     | certified 2025-06-20                              | adopted 2024-06-01, never reviewed |
//! | 100005 | secondary | -     | C2     | not enrolled                                      | adopted 2025-03-01 |
//! | 100006 | primary   | -     | -      | closed: not counted                               | none             |
//! | 100007 | primary   | -     | -      | WITHDRAWN 2025-03-15                              | adopted 2024-07-20 |
//!
//! C1 runs 2025-01-01 to its target 2025-06-30, C2 2025-04-01 to 2025-12-31. Policies are
//! reviewed every 12 months.

use api::{
    auth::Role,
    framework::{file::AIED_CERTIFIED, service as frameworks},
};
use chrono::{NaiveDate, TimeZone, Utc};
use entity::{
    ai_policy, certification, certification_event, cohort, cohort_school, local_authority, partnership,
    partnership_school, school, trust,
};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use tests::TestApp;
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

async fn insert<M: IntoActiveModel<A>, A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send>(
    db: &sea_orm::DatabaseConnection,
    rows: Vec<M>,
) where
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    for row in rows {
        row.into_active_model().insert(db).await.expect("insert");
    }
}

/// Journey stages with the day each was entered; a certificate when it ends CERTIFIED.
struct Plan {
    urn: i32,
    stages: &'static [(&'static str, &'static str)],
    expires: Option<&'static str>,
}

async fn tiny_city(app: &TestApp) -> Uuid {
    let db = &app.db;
    let framework = frameworks::load(db, AIED_CERTIFIED).await.expect("framework").framework;
    let framework = frameworks::data(db, framework.id).await.expect("framework data");
    let explorer = framework.levels[0].id;
    let la = local_authority::Model { id: Uuid::new_v4(), code: "999".into(), name: "Tiny Council".into() };
    let t = trust::Model {
        id: Uuid::new_v4(),
        name: "Tiny Trust, \"North\"".into(),
        group_uid: "TT1".into(),
        companies_house_number: None,
        created_by_partnership_id: None,
    };
    let p = partnership::Model {
        id: Uuid::new_v4(),
        slug: "tiny-city".into(),
        name: "Tiny City".into(),
        starts_on: d("2025-01-01"),
        deadline: d("2025-12-31"),
        default_framework: Some(framework.framework.slug.clone()),
        max_active_mentees: 3,
        synthetic: true,
        required_level: None,
        stalled_after_days: 60,
        returned_after_days: 30,
        overdue_actions_at_risk: false,
        comparison_min_schools: 5,
        framework_version: None,
        local_authority_codes: "999".into(),
    };
    let c1 = cohort::Model {
        id: Uuid::new_v4(),
        partnership_id: p.id,
        name: "C1".into(),
        ordinal: 1,
        starts_on: d("2025-01-01"),
        target_on: d("2025-06-30"),
    };
    let c2 = cohort::Model {
        id: Uuid::new_v4(),
        partnership_id: p.id,
        name: "C2".into(),
        ordinal: 2,
        starts_on: d("2025-04-01"),
        target_on: d("2025-12-31"),
    };
    // (urn, phase, in trust, cohort, open)
    let specs = [
        (100001, "PRIMARY", true, Some(c1.id), true),
        (100002, "SECONDARY", true, Some(c1.id), true),
        (100003, "PRIMARY", false, Some(c1.id), true),
        (100004, "PRIMARY", false, Some(c2.id), true),
        (100005, "SECONDARY", false, Some(c2.id), true),
        (100006, "PRIMARY", false, None, false),
        (100007, "PRIMARY", false, None, true),
    ];
    let schools: Vec<school::Model> = specs
        .iter()
        .map(|(urn, phase, in_trust, _, open)| school::Model {
            id: Uuid::new_v4(),
            urn: *urn,
            name: format!("Tiny School {urn}"),
            phase: (*phase).into(),
            establishment_type: "Community school".into(),
            local_authority_id: la.id,
            trust_id: in_trust.then_some(t.id),
            postcode: None,
            open: *open,
            opened_on: None,
            closed_on: None,
        })
        .collect();
    let id_of = |urn: i32| schools.iter().find(|s| s.urn == urn).expect("school").id;
    insert(db, vec![la.clone()]).await;
    insert(db, vec![t.clone()]).await;
    insert(db, vec![p.clone()]).await;
    insert(db, vec![c1.clone(), c2.clone()]).await;
    insert(db, schools.clone()).await;
    insert(
        db,
        schools
            .iter()
            .map(|s| partnership_school::Model {
                partnership_id: p.id,
                school_id: s.id,
                joined_on: None,
                left_on: None,
                succeeds_id: None,
            })
            .collect(),
    )
    .await;
    insert(
        db,
        specs
            .iter()
            .filter_map(|(urn, _, _, c, _)| {
                c.map(|c| cohort_school::Model {
                    cohort_id: c,
                    school_id: id_of(*urn),
                    partnership_id: p.id,
                    joined_on: None,
                    left_on: None,
                })
            })
            .collect(),
    )
    .await;

    let plans = [
        Plan {
            urn: 100001,
            stages: &[
                ("ENROLLED", "2025-01-10"),
                ("SELF_ASSESSING", "2025-01-20"),
                ("GATHERING_EVIDENCE", "2025-03-01"),
                ("SUBMITTED", "2025-04-01"),
                ("UNDER_REVIEW", "2025-04-05"),
                ("CERTIFIED", "2025-05-01"),
            ],
            expires: Some("2027-04-30"),
        },
        Plan {
            urn: 100002,
            stages: &[("ENROLLED", "2025-01-10"), ("SELF_ASSESSING", "2025-01-15")],
            expires: None,
        },
        Plan {
            urn: 100003,
            stages: &[
                ("ENROLLED", "2022-09-01"),
                ("SELF_ASSESSING", "2022-09-05"),
                ("GATHERING_EVIDENCE", "2022-10-01"),
                ("SUBMITTED", "2022-12-01"),
                ("UNDER_REVIEW", "2022-12-05"),
                ("CERTIFIED", "2023-01-10"),
            ],
            expires: Some("2025-01-09"),
        },
        Plan {
            urn: 100003,
            stages: &[
                ("ENROLLED", "2025-02-01"),
                ("SELF_ASSESSING", "2025-02-01"),
                ("GATHERING_EVIDENCE", "2025-03-01"),
                ("SUBMITTED", "2025-05-01"),
                ("UNDER_REVIEW", "2025-05-02"),
                ("RETURNED", "2025-05-20"),
            ],
            expires: None,
        },
        Plan {
            urn: 100004,
            stages: &[
                ("ENROLLED", "2025-04-10"),
                ("SELF_ASSESSING", "2025-04-10"),
                ("GATHERING_EVIDENCE", "2025-05-01"),
                ("SUBMITTED", "2025-06-01"),
                ("UNDER_REVIEW", "2025-06-02"),
                ("CERTIFIED", "2025-06-20"),
            ],
            expires: Some("2027-06-19"),
        },
        Plan {
            urn: 100007,
            stages: &[
                ("ENROLLED", "2025-02-01"),
                ("SELF_ASSESSING", "2025-02-10"),
                ("WITHDRAWN", "2025-03-15"),
            ],
            expires: None,
        },
    ];
    let at = |day: &str| Utc.from_utc_datetime(&d(day).and_hms_opt(9, 30, 0).expect("time")).fixed_offset();
    for (n, plan) in plans.iter().enumerate() {
        let (last, last_day) = *plan.stages.last().expect("stages");
        let certified = last == "CERTIFIED";
        let journey = certification::Model {
            id: Uuid::new_v4(),
            school_id: id_of(plan.urn),
            framework_id: framework.framework.id,
            framework_slug: framework.framework.slug.clone(),
            target_level_id: explorer,
            stage: last.into(),
            version: plan.stages.len() as i32,
            renewal_of: None,
            enrolled_at: at(plan.stages[0].1),
            stage_changed_at: at(last_day),
            submitted_at: None,
            awarded_level_id: certified.then_some(explorer),
            certificate_number: certified.then(|| format!("CERT-TINY-0000-0000-000{n}")),
            awarded_on: certified.then(|| d(last_day)),
            expires_on: plan.expires.map(d),
        };
        insert(db, vec![journey.clone()]).await;
        let events = plan
            .stages
            .iter()
            .enumerate()
            .map(|(i, (stage, day))| certification_event::Model {
                id: Uuid::new_v4(),
                certification_id: journey.id,
                version: i as i32 + 1,
                from_stage: (i > 0).then(|| plan.stages[i - 1].0.to_owned()),
                to_stage: (*stage).into(),
                at: at(day),
                actor_subject: "fixture".into(),
                actor_name: None,
                actor_role: "SCHOOL_LEAD".into(),
                comment: None,
            })
            .collect();
        insert(db, events).await;
    }
    let policy = |urn: i32, adopted: &str| ai_policy::Model {
        school_id: id_of(urn),
        adopted_on: d(adopted),
        last_reviewed_on: None,
        review_interval_months: 12,
        roles: json!([]),
        updated_at: at(adopted),
        updated_by: "fixture".into(),
    };
    insert(
        db,
        vec![
            policy(100001, "2025-01-15"),
            policy(100003, "2024-01-01"),
            policy(100004, "2024-06-01"),
            policy(100005, "2025-03-01"),
            policy(100007, "2024-07-20"),
        ],
    )
    .await;
    p.id
}

const PROGRESS: &str = "totalSchools certified expired percentCertified byStage { stage count }
    byPhase { phase totalSchools certified } aiPolicy { missing current reviewDue overdue }
    startsOn deadline daysToDeadline percentTimeElapsed recentlyCertified onTrack
    projectedCompletion projectionNote atRiskCount atRisk { school { urn name } reason risks stage daysInStage }";

async fn progress(app: &TestApp, token: &str, as_of: &str) -> Value {
    let q = format!(
        "query($asOf: Date) {{ partnershipBySlug(slug: \"tiny-city\") {{
            progress(asOf: $asOf) {{ {PROGRESS} }}
            cohorts {{ name progress(asOf: $asOf) {{ {PROGRESS} }} }} }}
          trusts(first: 10) {{ nodes {{ name progress(asOf: $asOf) {{ {PROGRESS} }} }} }} }}"
    );
    app.gql(Some(token), &q, json!({ "asOf": as_of })).await.ok()
}

fn stages(p: &Value) -> Vec<(String, i64)> {
    p["byStage"]
        .as_array()
        .expect("byStage")
        .iter()
        .filter(|s| s["count"].as_i64() != Some(0))
        .map(|s| (s["stage"].as_str().expect("stage").to_owned(), s["count"].as_i64().expect("count")))
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

#[tokio::test]
async fn progress_on_a_hand_computed_fixture() {
    let app = TestApp::spawn().await;
    tiny_city(&app).await;
    let token = app.token(Role::Partner).partnership("tiny-city").sign();
    let data = progress(&app, &token, "2025-07-01").await;
    let p = &data["partnershipBySlug"]["progress"];

    // 6 open schools (100006 is closed); 100001 and 100004 certified; 100003's 2023
    // certificate expired on 2025-01-09.
    assert_eq!(p["totalSchools"], 6);
    assert_eq!(p["certified"], 2);
    assert_eq!(p["expired"], 1);
    assert_eq!(p["percentCertified"], 33.3);
    assert_eq!(
        stages(p),
        pairs(&[
            ("NOT_ENROLLED", 1),
            ("SELF_ASSESSING", 1),
            ("RETURNED", 1),
            ("CERTIFIED", 2),
            ("WITHDRAWN", 1)
        ])
    );
    assert_eq!(p["byStage"].as_array().map(Vec::len), Some(10), "every stage is listed");
    assert_eq!(
        p["byPhase"],
        json!([
            { "phase": "PRIMARY", "totalSchools": 4, "certified": 2 },
            { "phase": "SECONDARY", "totalSchools": 2, "certified": 0 },
        ])
    );
    // Due dates: 100001 2026-01-15, 100003 2025-01-01, 100004 2025-06-01, 100005 2026-03-01,
    // 100007 2025-07-20 (within 30 days).
    assert_eq!(p["aiPolicy"], json!({ "missing": 1, "current": 2, "reviewDue": 1, "overdue": 2 }));
    assert_eq!(p["deadline"], "2025-12-31");
    assert_eq!(p["daysToDeadline"], 183);
    // 181 of 364 days.
    assert_eq!(p["percentTimeElapsed"], 49.7);
    // Newly certified after 2025-04-08: 100001 (05-01) and 100004 (06-20). 4 left at 2 per
    // 84 days: 168 days after 2025-07-01.
    assert_eq!(p["recentlyCertified"], 2);
    assert_eq!(p["projectedCompletion"], "2025-12-16");
    assert_eq!(
        p["projectionNote"],
        "2 newly certified in the 84 days to 2025-07-01; at that pace the other 4 take 168 days"
    );
    // 33.3% certified is behind 49.7% of the time, but the projection beats the deadline.
    assert_eq!(p["onTrack"], true);

    assert_eq!(p["atRiskCount"], 3);
    assert_eq!(
        p["atRisk"],
        json!([
            {
                "school": { "urn": 100002, "name": "Tiny School 100002" },
                "reason": "in SELF_ASSESSING for 167 days; cohort target 2025-06-30 passed",
                "risks": ["STALLED", "COHORT_TARGET_PASSED"],
                "stage": "SELF_ASSESSING",
                "daysInStage": 167,
            },
            {
                "school": { "urn": 100003, "name": "Tiny School 100003" },
                "reason": "RETURNED 42 days ago and not resubmitted; cohort target 2025-06-30 passed; AI policy review overdue since 2025-01-01",
                "risks": ["NOT_RESUBMITTED", "COHORT_TARGET_PASSED", "POLICY_OVERDUE"],
                "stage": "RETURNED",
                "daysInStage": 42,
            },
            {
                "school": { "urn": 100004, "name": "Tiny School 100004" },
                "reason": "AI policy review overdue since 2025-06-01",
                "risks": ["POLICY_OVERDUE"],
                "stage": "CERTIFIED",
                "daysInStage": 11,
            },
        ])
    );

    // Cohort C1 (100001-100003) is measured against its own target, passed yesterday: its one
    // certificate in 84 days projects the other two 168 days out, after the target.
    let cohorts = data["partnershipBySlug"]["cohorts"].as_array().expect("cohorts");
    let c1 = &cohorts[0]["progress"];
    assert_eq!(cohorts[0]["name"], "C1");
    assert_eq!(
        (c1["totalSchools"].clone(), c1["certified"].clone(), c1["expired"].clone()),
        (json!(3), json!(1), json!(1))
    );
    assert_eq!((c1["deadline"].as_str(), c1["daysToDeadline"].as_i64()), (Some("2025-06-30"), Some(-1)));
    assert_eq!(c1["recentlyCertified"], 1);
    assert_eq!(c1["projectedCompletion"], "2025-12-16");
    assert_eq!(c1["onTrack"], false);
    assert_eq!(c1["atRiskCount"], 2);
    let c2 = &cohorts[1]["progress"];
    assert_eq!(stages(c2), pairs(&[("NOT_ENROLLED", 1), ("CERTIFIED", 1)]));
    assert_eq!(c2["percentCertified"], 50.0);

    // The trust's two schools, against the partnership's deadline.
    let trusts = data["trusts"]["nodes"].as_array().expect("trusts");
    let tp = &trusts.iter().find(|t| t["name"] == "Tiny Trust, \"North\"").expect("trust")["progress"];
    assert_eq!((tp["totalSchools"].as_i64(), tp["certified"].as_i64()), (Some(2), Some(1)));
    assert_eq!(tp["percentCertified"], 50.0);
    assert_eq!(tp["daysToDeadline"], 183);
    assert_eq!(stages(tp), pairs(&[("SELF_ASSESSING", 1), ("CERTIFIED", 1)]));
}

#[tokio::test]
async fn on_track_both_ways_and_no_pace() {
    let app = TestApp::spawn().await;
    tiny_city(&app).await;
    let token = app.token(Role::CityAdmin).partnership("tiny-city").sign();

    // 2025-01-05: 100003's first certificate is still valid: 1 of 6 (16.7%) after 4 of 364
    // days is ahead of time, with no certification in the 84 days before to project from.
    let p = progress(&app, &token, "2025-01-05").await["partnershipBySlug"]["progress"].clone();
    assert_eq!((p["certified"].as_i64(), p["expired"].as_i64()), (Some(1), Some(0)));
    assert_eq!(p["onTrack"], true);
    assert_eq!(p["projectedCompletion"], Value::Null);
    assert_eq!(
        p["projectionNote"],
        "no school was newly certified in the 84 days to 2025-01-05: no pace to project from"
    );

    // 2025-09-30: still 2 certified (33.3%) after 272 of 364 days (74.7%), and nothing new in
    // the 84 days before: behind.
    let p = progress(&app, &token, "2025-09-30").await["partnershipBySlug"]["progress"].clone();
    assert_eq!(p["certified"], 2);
    assert_eq!(p["percentTimeElapsed"], 74.7);
    assert_eq!(p["recentlyCertified"], 0);
    assert_eq!(p["projectedCompletion"], Value::Null);
    assert_eq!(p["onTrack"], false);
    // 100002 has been SELF_ASSESSING since 2025-01-15: 258 days.
    assert_eq!(p["atRisk"][0]["reason"], "in SELF_ASSESSING for 258 days; cohort target 2025-06-30 passed");

    // 2025-01-05, before this year's enrolments: 100003 holds its first certificate, the rest
    // are not enrolled; only 100003's policy (due 2025-01-01) puts a school at risk.
    let p = progress(&app, &token, "2025-01-05").await["partnershipBySlug"]["progress"].clone();
    assert_eq!(stages(&p), pairs(&[("NOT_ENROLLED", 5), ("CERTIFIED", 1)]));
    assert_eq!(p["aiPolicy"], json!({ "missing": 3, "current": 2, "reviewDue": 0, "overdue": 1 }));
    assert_eq!(
        p["atRisk"],
        json!([{
            "school": { "urn": 100003, "name": "Tiny School 100003" },
            "reason": "AI policy review overdue since 2025-01-01",
            "risks": ["POLICY_OVERDUE"],
            "stage": "CERTIFIED",
            "daysInStage": 726,
        }])
    );
}

/// GET /reports/schools.csv with a bearer token; (status, content type, body).
async fn csv_get(app: &TestApp, token: Option<&str>, query: &str) -> (u16, String, String) {
    app.get(&format!("/reports/schools.csv?{query}"), token).await
}

fn records(body: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(body.as_bytes()).records().map(|r| r.expect("a valid CSV record")).collect()
}

#[tokio::test]
async fn csv_export_of_the_fixture() {
    let app = TestApp::spawn().await;
    tiny_city(&app).await;
    let token = app.token(Role::Partner).partnership("tiny-city").sign();
    let (status, kind, body) = csv_get(&app, Some(&token), "partnership=tiny-city&asOf=2025-07-01").await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    assert!(body.starts_with("urn,school,phase,trust,cohort,cohort_target,stage,"), "{body}");
    assert!(body.contains("\r\n") && body.contains("\"Tiny Trust, \"\"North\"\"\""), "RFC 4180: {body}");
    let rows = records(&body);
    let urns: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(urns, ["100001", "100002", "100003", "100004", "100005", "100007"]);
    let row = |urn: &str| {
        rows.iter().find(|r| &r[0] == urn).expect("row").iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(
        row("100001"),
        [
            "100001",
            "Tiny School 100001",
            "PRIMARY",
            "Tiny Trust, \"North\"",
            "C1",
            "2025-06-30",
            "CERTIFIED",
            "2025-05-01",
            "61",
            "true",
            "Explorer",
            "2025-05-01",
            "2027-04-30",
            "false",
            "CURRENT",
            "false",
            "",
            "0",
            "0"
        ]
    );
    assert_eq!(
        row("100003"),
        [
            "100003",
            "Tiny School 100003",
            "PRIMARY",
            "",
            "C1",
            "2025-06-30",
            "RETURNED",
            "2025-05-20",
            "42",
            "false",
            "Explorer",
            "2023-01-10",
            "2025-01-09",
            "true",
            "OVERDUE",
            "true",
            "RETURNED 42 days ago and not resubmitted; cohort target 2025-06-30 passed; AI policy review overdue since 2025-01-01",
            "0",
            "0"
        ]
    );
    assert_eq!(&row("100005")[6..10], ["NOT_ENROLLED", "", "", "false"]);

    // Filters: a cohort and a trust, by their global ids.
    let ids = app
        .gql(Some(&token), "{ partnershipBySlug(slug: \"tiny-city\") { cohorts { id name } } trusts(first: 5) { nodes { id } } }", json!({}))
        .await
        .ok();
    let c2 = ids["partnershipBySlug"]["cohorts"][1]["id"].as_str().expect("id").to_owned();
    let trust = ids["trusts"]["nodes"][0]["id"].as_str().expect("id").to_owned();
    let (_, _, body) =
        csv_get(&app, Some(&token), &format!("partnership=tiny-city&asOf=2025-07-01&cohort={c2}")).await;
    assert_eq!(records(&body).iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(), ["100004", "100005"]);
    let (_, _, body) = csv_get(&app, Some(&token), &format!("partnership=tiny-city&trust={trust}")).await;
    assert_eq!(records(&body).iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(), ["100001", "100002"]);

    // Refusals carry the GraphQL error shape and a stable code; nothing is streamed.
    let code = |body: &str| {
        let v: Value = serde_json::from_str(body).expect("JSON error");
        v["errors"][0]["extensions"]["code"].as_str().expect("code").to_owned()
    };
    let (status, _, body) = csv_get(&app, None, "partnership=tiny-city").await;
    assert_eq!((status, code(&body).as_str()), (401, "UNAUTHENTICATED"));
    let (status, _, body) = csv_get(&app, Some("not-a-token"), "partnership=tiny-city").await;
    assert_eq!((status, code(&body).as_str()), (401, "UNAUTHENTICATED"));
    let other = partnership::Model {
        id: Uuid::new_v4(),
        slug: "other-city".into(),
        name: "Other".into(),
        ..tiny(&app).await
    };
    insert(&app.db, vec![other]).await;
    let other = app.token(Role::Partner).partnership("other-city").sign();
    let (status, _, body) = csv_get(&app, Some(&other), "partnership=tiny-city").await;
    assert_eq!((status, code(&body).as_str()), (404, "NOT_FOUND"), "another partnership's token");
    for bad in [
        "",
        "partnership=tiny-city&asOf=2025-13-01",
        "partnership=tiny-city&cohort=nope",
        "partnership=tiny-city&colour=red",
    ] {
        let (status, _, body) = csv_get(&app, Some(&token), bad).await;
        assert_eq!((status, code(&body).as_str()), (400, "BAD_USER_INPUT"), "{bad}");
    }
}

/// A partnership that fits one page is kept for the next few seconds' queries and exports, as
/// dashboards keep it: the same file again costs no facts statements, and a mutation's change
/// is in the next file.
#[tokio::test]
async fn csv_export_keeps_a_small_partnership_until_a_mutation() {
    let app = TestApp::spawn().await;
    tiny_city(&app).await;
    let admin = app.token(Role::CityAdmin).partnership("tiny-city").sign();
    app.warm(&admin).await;
    let file = || csv_get(&app, Some(&admin), "partnership=tiny-city");
    app.reset_statements();
    let (_, _, first) = file().await;
    let read = app.statements();
    app.reset_statements();
    let (_, _, again) = file().await;
    let kept = app.statements();
    eprintln!("CSV statements: {read} read, {kept} kept");
    assert_eq!(again, first);
    assert!(kept + 8 <= read, "{kept} statements kept against {read} read");
    let cohort_of =
        |body: &str, urn: &str| records(body).iter().find(|r| &r[0] == urn).expect("row")[4].to_owned();
    assert_eq!(cohort_of(&first, "100001"), "C1");

    let ids = app
        .gql(Some(&admin), "{ partnershipBySlug(slug: \"tiny-city\") { cohorts { id } } }", json!({}))
        .await
        .ok();
    let m = "mutation($c: ID!) { removeSchoolFromCohort(cohort: $c, urn: 100001) { urn } }";
    app.gql(Some(&admin), m, json!({ "c": ids["partnershipBySlug"]["cohorts"][0]["id"] })).await.ok();
    let (_, _, after) = file().await;
    assert_eq!(cohort_of(&after, "100001"), "", "the change, not the kept file");
}

#[tokio::test]
async fn csv_export_of_ten_thousand_schools_parses_back() {
    let app = TestApp::spawn().await;
    let spec = api::seed::Spec {
        schools: 10_000,
        academies: 5_000,
        trusts: 500,
        partnerships: 1,
        rng_seed: 7,
        demo: false,
    };
    api::seed::insert(&app.db, api::seed::generate(&spec)).await.expect("seed");
    let slug = partnership::Entity::find().one(&app.db).await.expect("query").expect("partnership").slug;
    let token = app.token(Role::CityAdmin).partnership(&slug).sign();
    let (status, _, body) = csv_get(&app, Some(&token), &format!("partnership={slug}&asOf=2026-01-01")).await;
    assert_eq!(status, 200);
    let rows = records(&body);
    let open = app.count("school WHERE open").await;
    assert_eq!(rows.len() as i64, open, "one row per open school");
    assert!(rows.len() > 9_000);
    let mut urns: Vec<i64> = rows.iter().map(|r| r[0].parse().expect("urn")).collect();
    let sorted = urns.windows(2).all(|w| w[0] < w[1]);
    urns.dedup();
    assert!(sorted && urns.len() == rows.len(), "every school once, by URN, across pages");
}

/// Pages of the export read their own schools' journeys (a URN range of the members): every row
/// says what the whole partnership's facts, read in one go, say of its school.
#[tokio::test]
async fn csv_pages_carry_their_own_schools_journeys() {
    let app = TestApp::spawn().await;
    let framework = frameworks::load(&app.db, AIED_CERTIFIED).await.expect("framework").framework;
    let data = frameworks::data(&app.db, framework.id).await.expect("framework data");
    let spec = api::seed::Spec {
        schools: 1_200,
        academies: 600,
        trusts: 60,
        partnerships: 1,
        rng_seed: 5,
        demo: false,
    };
    api::seed::insert(&app.db, api::seed::generate_synthetic(&spec, &data)).await.expect("seed");
    let p = partnership::Entity::find().one(&app.db).await.expect("query").expect("partnership");
    assert!(spec.schools as u64 > 2 * api::progress::export::PAGE, "three pages at least");

    let token = app.token(Role::CityAdmin).partnership(&p.slug).sign();
    let (status, _, body) =
        csv_get(&app, Some(&token), &format!("partnership={}&asOf=2026-12-01", p.slug)).await;
    assert_eq!(status, 200);
    let facts = api::progress::service::load(&app.db, &p, None, api::progress::service::Slice::All)
        .await
        .expect("facts");
    let as_of = d("2026-12-01");
    let expected: Vec<(String, String, String)> = facts
        .schools
        .iter()
        .map(|s| {
            let st = facts.status(s, as_of);
            (s.school.urn.to_string(), st.stage.as_str().to_owned(), st.certified.to_string())
        })
        .collect();
    let rows: Vec<(String, String, String)> =
        records(&body).iter().map(|r| (r[0].to_owned(), r[6].to_owned(), r[9].to_owned())).collect();
    assert_eq!(rows.len(), expected.len());
    assert!(rows.iter().filter(|r| r.1 != "NOT_ENROLLED").count() > 600, "most schools have journeys");
    assert_eq!(rows, expected);

    // Exports asked for at once, reading the same partnership's pages side by side, each get
    // the whole file.
    let query = format!("partnership={}&asOf=2026-12-01", p.slug);
    let files = futures::future::join_all((0..6).map(|_| csv_get(&app, Some(&token), &query))).await;
    for (status, _, file) in files {
        assert_eq!(status, 200);
        assert!(file == body, "a file asked for with five others is the file asked for alone");
    }
}

#[tokio::test]
async fn timeline_and_at_risk_pages() {
    let app = TestApp::spawn().await;
    let id = tiny_city(&app).await;
    let token = app.token(Role::CityAdmin).partnership("tiny-city").sign();
    let q = "query($from: Date, $to: Date, $i: Interval!) { partnershipBySlug(slug: \"tiny-city\") {
        timeline(from: $from, to: $to, interval: $i) { date certified byCohort { cohort { name } certified totalSchools } } } }";
    let points = |v: Value| -> Vec<(String, i64, Vec<i64>)> {
        v["partnershipBySlug"]["timeline"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| {
                (
                    p["date"].as_str().expect("date").to_owned(),
                    p["certified"].as_i64().expect("n"),
                    p["byCohort"]
                        .as_array()
                        .expect("cohorts")
                        .iter()
                        .map(|c| c["certified"].as_i64().expect("n"))
                        .collect(),
                )
            })
            .collect()
    };
    let monthly = app
        .gql(Some(&token), q, json!({ "from": "2025-04-01", "to": "2025-07-01", "i": "MONTH" }))
        .await
        .ok();
    // 100001 is certified from 2025-05-01 (C1), 100004 from 2025-06-20 (C2); 100003's first
    // certificate expired on 2025-01-09.
    assert_eq!(
        points(monthly.clone()),
        [
            ("2025-04-01".to_owned(), 0, vec![0, 0]),
            ("2025-05-01".to_owned(), 1, vec![1, 0]),
            ("2025-06-01".to_owned(), 1, vec![1, 0]),
            ("2025-07-01".to_owned(), 2, vec![1, 1]),
        ]
    );
    assert_eq!(monthly["partnershipBySlug"]["timeline"][0]["byCohort"][0]["totalSchools"], 3);
    let weekly =
        app.gql(Some(&token), q, json!({ "from": "2025-06-16", "to": "2025-06-30", "i": "WEEK" })).await.ok();
    assert_eq!(
        points(weekly),
        [
            ("2025-06-16".to_owned(), 1, vec![1, 0]),
            ("2025-06-23".to_owned(), 2, vec![1, 1]),
            ("2025-06-30".to_owned(), 2, vec![1, 1]),
        ]
    );
    // By default from the start to the deadline, weekly: 2025-01-01 to 2025-12-31 is 53 points.
    let all = app.gql(Some(&token), q, json!({ "i": "WEEK" })).await.ok();
    let all = points(all);
    assert_eq!((all.len(), all[0].0.as_str(), all[0].1), (53, "2025-01-01", 1));
    assert_eq!((all[1].1, all[2].1), (1, 0), "100003's certificate was valid to 2025-01-09");

    app.gql(Some(&token), q, json!({ "from": "2025-07-01", "to": "2025-06-01", "i": "WEEK" }))
        .await
        .fails_with("BAD_USER_INPUT");
    app.gql(Some(&token), q, json!({ "from": "2000-01-01", "to": "2025-06-01", "i": "WEEK" }))
        .await
        .fails_with("BAD_USER_INPUT");
    app.gql(None, q, json!({ "i": "WEEK" })).await.fails_with("UNAUTHENTICATED");

    // atRiskSchools pages by URN.
    let q = "query($p: ID!, $after: Int) { atRiskSchools(partnership: $p, asOf: \"2025-07-01\", first: 2, after: $after) { school { urn } reason } }";
    let pid = api::ids::global_id("Partnership", id);
    let urns = |v: Value| -> Vec<i64> {
        v["atRiskSchools"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["school"]["urn"].as_i64().expect("urn"))
            .collect()
    };
    assert_eq!(urns(app.gql(Some(&token), q, json!({ "p": pid })).await.ok()), [100002, 100003]);
    assert_eq!(urns(app.gql(Some(&token), q, json!({ "p": pid, "after": 100003 })).await.ok()), [100004]);
    let other = partnership::Model {
        id: Uuid::new_v4(),
        slug: "other-city".into(),
        name: "Other".into(),
        ..tiny(&app).await
    };
    insert(&app.db, vec![other]).await;
    let other = app.token(Role::CityAdmin).partnership("other-city").sign();
    app.gql(Some(&other), q, json!({ "p": pid })).await.fails_with("NOT_FOUND");
}

#[tokio::test]
async fn anonymous_callers_read_the_headline_only() {
    let app = TestApp::spawn().await;
    tiny_city(&app).await;
    let q = "{ partnershipBySlug(slug: \"tiny-city\") { progress(asOf: \"2025-07-01\") { totalSchools certified onTrack } } }";
    let data = app.gql(None, q, json!({})).await.ok();
    assert_eq!(
        data["partnershipBySlug"]["progress"],
        json!({ "totalSchools": 6, "certified": 2, "onTrack": true })
    );
    let q =
        "{ partnershipBySlug(slug: \"tiny-city\") { progress(asOf: \"2025-07-01\") { atRisk { reason } } } }";
    app.gql(None, q, json!({})).await.fails_with("UNAUTHENTICATED");
}

#[tokio::test]
async fn demo_dashboard_costs_a_fixed_number_of_statements() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::Partner).sign();
    let q = format!(
        "{{ partnershipBySlug(slug: \"demo-city\") {{
            progress(asOf: \"2026-03-01\") {{ {PROGRESS} }}
            cohorts {{ name progress(asOf: \"2026-03-01\") {{ {PROGRESS} }} }}
            timeline(interval: MONTH) {{ date certified byCohort {{ cohort {{ name }} certified }} }} }}
          trusts(first: 100) {{ nodes {{ name progress(asOf: \"2026-03-01\") {{ {PROGRESS} }} }} }}
          atRiskSchools(partnership: \"{}\", asOf: \"2026-03-01\") {{ school {{ urn name }} reason }} }}",
        partnership_id(&app).await
    );
    app.reset_statements();
    let data = app.gql(Some(&token), &q, json!({})).await.ok();
    let statements = app.statements();
    let p = &data["partnershipBySlug"]["progress"];
    assert_eq!(p["totalSchools"], 61);
    assert_eq!(data["trusts"]["nodes"].as_array().map(Vec::len), Some(14));
    assert_eq!(data["partnershipBySlug"]["cohorts"].as_array().map(Vec::len), Some(3));
    assert!(p["atRiskCount"].as_i64().unwrap_or(0) > 0, "the demo has schools at risk");
    // The token's partnership, the partnership, its cohorts, the trusts page and its count,
    // then one read of the facts (partnership, schools, cohorts, cohort members, policies,
    // journeys, stage changes) for every progress, timeline and at-risk field.
    eprintln!("dashboard statements: {statements}");
    assert!(statements <= 14, "{statements} statements");
}

async fn tiny(app: &TestApp) -> partnership::Model {
    use sea_orm::{ColumnTrait, QueryFilter};
    partnership::Entity::find()
        .filter(partnership::Column::Slug.eq("tiny-city"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("tiny-city")
}

async fn partnership_id(app: &TestApp) -> String {
    let p = partnership::Entity::find().one(&app.db).await.expect("query").expect("partnership");
    api::ids::global_id("Partnership", p.id).to_string()
}

#[tokio::test]
async fn thresholds_are_partnership_settings() {
    let app = TestApp::spawn().await;
    tiny_city(&app).await;
    let admin = app.token(Role::CityAdmin).partnership("tiny-city").sign();
    let set = "mutation($s: Int, $r: Int) { updateRiskThresholds(stalledAfterDays: $s, returnedAfterDays: $r) { stalledAfterDays returnedAfterDays } }";
    let risky = |v: Value| -> Vec<(i64, Value)> {
        v["partnershipBySlug"]["progress"]["atRisk"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| (r["school"]["urn"].as_i64().expect("urn"), r["risks"].clone()))
            .collect()
    };
    // On 2025-06-15 no cohort target has passed; 100002 has been SELF_ASSESSING for 151 days,
    // 100003 RETURNED for 26; the policies of 100003 and 100004 are overdue.
    assert_eq!(
        risky(progress(&app, &admin, "2025-06-15").await),
        [
            (100002, json!(["STALLED"])),
            (100003, json!(["POLICY_OVERDUE"])),
            (100004, json!(["POLICY_OVERDUE"]))
        ]
    );
    let data = app.gql(Some(&admin), set, json!({ "s": 200, "r": 25 })).await.ok();
    assert_eq!(data["updateRiskThresholds"], json!({ "stalledAfterDays": 200, "returnedAfterDays": 25 }));
    assert_eq!(
        risky(progress(&app, &admin, "2025-06-15").await),
        [(100003, json!(["NOT_RESUBMITTED", "POLICY_OVERDUE"])), (100004, json!(["POLICY_OVERDUE"]))]
    );
    let data = app.gql(Some(&admin), set, json!({ "r": 30 })).await.ok();
    assert_eq!(data["updateRiskThresholds"], json!({ "stalledAfterDays": 200, "returnedAfterDays": 30 }));

    app.gql(Some(&admin), set, json!({ "s": 0 })).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&admin), set, json!({ "r": 366 })).await.fails_with("BAD_USER_INPUT");
    let partner = app.token(Role::Partner).partnership("tiny-city").sign();
    app.gql(Some(&partner), set, json!({ "s": 10 })).await.fails_with("FORBIDDEN");
    let kept = tiny(&app).await;
    assert_eq!(
        (kept.stalled_after_days, kept.returned_after_days),
        (200, 30),
        "refused changes wrote nothing"
    );
}
