//! The dashboard page and the query editor (issue 14): served from the binary with a policy
//! that allows nothing but this server, and every query the page sends answers for the role
//! it is sent for (the page in a real browser: `tests/conformance/dashboard.mjs`).

use api::auth::Role;
use axum::{body::Body, http::Request};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tests::{
    TestApp,
    fixtures::{self, Upto},
};
use tower::ServiceExt as _;

const SCRIPT: &str = include_str!("../../api/src/http/dashboard/dashboard.js");
const EDITOR: &str = include_str!("../../api/src/http/dashboard/ide.js");
/// A namespace name, never fetched: the one URL the scripts may hold.
const SVG_NS: &str = "http://www.w3.org/2000/svg";

async fn get(app: &TestApp, path: &str, accept: &str) -> (u16, String, String, String) {
    let request = Request::get(path).header("accept", accept).body(Body::empty()).unwrap();
    let response = app.router().oneshot(request).await.unwrap();
    let header =
        |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (kind, policy) = (header("content-type"), header("content-security-policy"));
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, policy, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_pages_and_their_assets_come_from_this_server_alone() {
    let app = TestApp::spawn().await;
    for (path, script) in [("/", "/dashboard.js"), ("/graphql", "/ide.js")] {
        let (status, kind, policy, html) = get(&app, path, "text/html").await;
        assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"), "{path}");
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"), "{path}: {policy}");
        assert!(html.contains(&format!(r#"<script src="{script}" defer></script>"#)), "{path}");
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{path}");
    }
    for (path, kind) in [
        ("/dashboard.js", "text/javascript; charset=utf-8"),
        ("/ide.js", "text/javascript; charset=utf-8"),
        ("/dashboard.css", "text/css; charset=utf-8"),
    ] {
        let (status, got, _, body) = get(&app, path, "*/*").await;
        assert_eq!((status, got.as_str()), (200, kind), "{path}");
        let body = body.replace(SVG_NS, "");
        assert!(!body.contains("http://") && !body.contains("https://"), "{path} names another host");
    }
    // The scripts write answers as text, never as HTML.
    assert!(!SCRIPT.contains("innerHTML") && !EDITOR.contains("innerHTML"));
}

#[tokio::test]
async fn the_schema_is_served_as_the_sdl_in_the_repository() {
    let app = TestApp::spawn().await;
    let (status, kind, _, sdl) = get(&app, "/schema.graphql", "*/*").await;
    assert_eq!((status, kind.as_str()), (200, "text/plain; charset=utf-8"));
    assert_eq!(sdl.trim(), include_str!("../../schema.graphql").trim());
}

/// The text of `const NAME = `...`` in the page's script.
fn query(name: &str) -> String {
    let start = format!("const {name} = `");
    let rest = SCRIPT.split(start.as_str()).nth(1).unwrap_or_else(|| panic!("{name} in dashboard.js"));
    rest.split('`').next().expect("a closing backtick").to_owned()
}

async fn ask(app: &TestApp, token: &str, name: &str, variables: Value) -> Value {
    let text = if name == "ME_QUERY" || name == "MENTOR_QUERY" {
        query(name)
    } else {
        query(name) + &query("FIGURES")
    };
    app.gql(Some(token), &text, variables).await.ok()
}

/// A partnership of three schools: two of trust T-DASH (one certified, a pioneer mentoring
/// the other) and one maintained school; two cohorts.
async fn partnership(app: &TestApp) {
    let db = &app.db;
    let p = fixtures::partnership(db, "dash", "Dashboard City").await;
    let la = fixtures::local_authority(db, "991", "Dashboard LA").await;
    let trust = fixtures::trust(db, "T-DASH", "Dashboard Trust").await;
    let pioneer = fixtures::school(db, 991001, "Pioneer Academy", la.id, Some(trust.id)).await;
    let mentee = fixtures::school(db, 991002, "Mentee Academy", la.id, Some(trust.id)).await;
    let maintained = fixtures::school(db, 991003, "Maintained Primary", la.id, None).await;
    for s in [&pioneer, &mentee, &maintained] {
        fixtures::member(db, p.id, s.id).await;
    }
    let first = fixtures::cohort(db, p.id, "Pioneers", 1, "2025-09-01", "2026-07-15").await;
    let second = fixtures::cohort(db, p.id, "Second", 2, "2026-09-01", "2027-07-31").await;
    fixtures::cohort_member(db, &first, pioneer.id).await;
    fixtures::cohort_member(db, &first, maintained.id).await;
    fixtures::cohort_member(db, &second, mentee.id).await;
    fixtures::pairing(db, &second, pioneer.id, mentee.id, "2026-09-01").await;
    fixtures::journey(app, "dash", 991001, "dash", Upto::Certified).await;
}

fn stage(by_stage: &Value, name: &str) -> i64 {
    by_stage.as_array().unwrap().iter().find(|s| s["stage"] == name).unwrap()["count"].as_i64().unwrap()
}

#[tokio::test]
async fn each_view_of_the_page_answers_as_the_api_does() {
    let app = TestApp::spawn().await;
    partnership(&app).await;
    let today = chrono::Utc::now().date_naive().to_string();

    // City admins and partners: the partnership, its cohorts' burn-ups and its trusts.
    for role in [Role::CityAdmin, Role::Partner] {
        let token = app.token(role).partnership("dash").sign();
        let me = ask(&app, &token, "ME_QUERY", json!({})).await;
        let id = me["me"]["partnership"]["id"].clone();
        let page = ask(&app, &token, "PARTNERSHIP_QUERY", json!({ "p": id, "today": today })).await;
        let p = &page["partnership"];
        assert_eq!(
            (p["progress"]["certified"].as_i64(), p["progress"]["totalSchools"].as_i64()),
            (Some(1), Some(3))
        );
        assert_eq!(p["progress"]["aiPolicy"]["missing"], 3, "{role:?}");
        let cohorts: Vec<&str> =
            p["cohorts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(cohorts, ["Pioneers", "Second"]);
        // The burn-up: weekly points from the start for both cohorts; the page ends each line
        // with today's figure, the cohort's progress.
        let timeline = p["timeline"].as_array().unwrap();
        assert_eq!(timeline[0]["date"], "2025-09-01");
        assert!(
            timeline
                .iter()
                .all(|t| t["byCohort"].as_array().unwrap().len() == 2 && t["date"].as_str() <= Some(&today))
        );
        assert_eq!(p["cohorts"][0]["progress"]["certified"], 1);
        let trust =
            page["trusts"]["nodes"].as_array().unwrap().iter().find(|t| t["name"] == "Dashboard Trust");
        let trust = &trust.expect("the trust")["progress"];
        assert_eq!((trust["totalSchools"].as_i64(), stage(&trust["byStage"], "CERTIFIED")), (Some(2), 1));
        assert_eq!(stage(&p["cohorts"][1]["progress"]["byStage"], "NOT_ENROLLED"), 1);
    }

    // A trust lead: the trust's own figures.
    let lead = app.token(Role::TrustLead).trust("T-DASH").sign();
    let me = ask(&app, &lead, "ME_QUERY", json!({})).await;
    assert!(me["me"]["partnership"].is_null());
    let trust = ask(&app, &lead, "TRUST_QUERY", json!({ "t": me["me"]["trust"]["id"] })).await;
    let progress = &trust["trust"]["progress"];
    assert_eq!((progress["certified"].as_i64(), progress["totalSchools"].as_i64()), (Some(1), Some(2)));

    // A mentor school's lead: its mentee, not enrolled yet, and what stops it.
    let mentor = app.token(Role::SchoolLead).school(991001).sign();
    let me = ask(&app, &mentor, "ME_QUERY", json!({})).await;
    assert_eq!(me["me"]["school"]["urn"], 991001);
    let mentees = ask(&app, &mentor, "MENTOR_QUERY", json!({})).await;
    let mentees = mentees["me"]["school"]["mentees"].as_array().unwrap().clone();
    assert_eq!(mentees.len(), 1);
    assert_eq!(mentees[0]["mentee"]["urn"], 991002);
    assert!(mentees[0]["progress"]["stage"].is_null(), "{:#}", mentees[0]);
}
