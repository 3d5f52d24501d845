use api::auth::Role;
use serde_json::{Value, json};
use tests::TestApp;

const ACCEPTANCE: &str = "{ partnerships { name deadline schools(first: 5) { totalCount edges { cursor node { urn name phase trust { name } } } } cohorts { name ordinal schools(first: 100) { totalCount edges { node { urn name mentors { mentor { urn name } } mentees { mentee { urn name } } } } } } } }";

#[tokio::test]
async fn partner_reads_the_whole_demo_city() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::Partner).sign();
    let data = app.gql(Some(&token), ACCEPTANCE, json!({})).await.ok();
    let p = &data["partnerships"][0];
    assert_eq!(data["partnerships"].as_array().unwrap().len(), 1);
    assert_eq!(p["deadline"], "2026-08-31");
    assert_eq!(p["schools"]["totalCount"], 61);
    assert_eq!(p["schools"]["edges"].as_array().unwrap().len(), 5);
    let cohorts = p["cohorts"].as_array().unwrap();
    let sizes: Vec<i64> = cohorts.iter().map(|c| c["schools"]["totalCount"].as_i64().unwrap()).collect();
    assert_eq!(sizes, vec![6, 18, 37]);
    assert_eq!(cohorts[0]["ordinal"], 1);
    // Every pioneer mentors three schools of cohort 2, and each of those has one mentor.
    for pioneer in cohorts[0]["schools"]["edges"].as_array().unwrap() {
        assert_eq!(pioneer["node"]["mentees"].as_array().unwrap().len(), 3);
    }
    for mentee in cohorts[1]["schools"]["edges"].as_array().unwrap() {
        assert_eq!(mentee["node"]["mentors"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn anonymous_callers_get_headlines_and_codes_not_data() {
    let app = TestApp::with_demo().await;
    let answer = app.gql(None, ACCEPTANCE, json!({})).await;
    let mut codes = answer.codes();
    codes.dedup();
    assert_eq!(codes, vec!["UNAUTHENTICATED"]);
    let text = answer.body.to_string();
    assert!(!text.contains("\"urn\""), "anonymous answer leaked school data: {text}");
    // The public headline is still there.
    let data = app.gql(None, "{ partnerships { name deadline synthetic } }", json!({})).await.ok();
    assert_eq!(data["partnerships"][0]["synthetic"], true);
    let answer = app.gql(None, "{ schools { totalCount } }", json!({})).await;
    answer.fails_with("UNAUTHENTICATED");
}

#[tokio::test]
async fn pages_are_capped_and_cursors_checked() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::Partner).sign();
    let q = "query($first: Int, $after: String) { schools(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { urn } } } }";
    app.gql(Some(&token), q, json!({ "first": 1000 })).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&token), q, json!({ "first": 0 })).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&token), q, json!({ "first": 5, "after": "forged!" })).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&token), q, json!({ "first": 5, "after": "bm90IGEgY3Vyc29y" }))
        .await
        .fails_with("BAD_USER_INPUT");

    // Walking the pages visits every school once.
    let mut seen = std::collections::HashSet::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app.gql(Some(&token), q, json!({ "first": 25, "after": after })).await.ok();
        let conn = &data["schools"];
        assert_eq!(conn["totalCount"], 61);
        for e in conn["edges"].as_array().unwrap() {
            assert!(seen.insert(e["node"]["urn"].as_i64().unwrap()), "a school came twice");
        }
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!((pages, seen.len()), (3, 61));
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::CityAdmin).sign();
    let q = "query($f: SchoolFilterInput) { schools(filter: $f, first: 100) { totalCount edges { node { urn name maintained phase trust { id } } } } }";
    let maintained = app.gql(Some(&token), q, json!({ "f": { "maintained": true } })).await.ok();
    assert_eq!(maintained["schools"]["totalCount"], 17);
    assert!(maintained["schools"]["edges"].as_array().unwrap().iter().all(|e| e["node"]["trust"].is_null()));
    let academies = app.gql(Some(&token), q, json!({ "f": { "maintained": false } })).await.ok();
    assert_eq!(academies["schools"]["totalCount"], 44);

    let first = &academies["schools"]["edges"][0]["node"];
    let trust = first["trust"]["id"].clone();
    let of_trust = app.gql(Some(&token), q, json!({ "f": { "trust": trust } })).await.ok();
    let n = of_trust["schools"]["totalCount"].as_i64().unwrap();
    assert!((3..=4).contains(&n), "44 academies over 14 trusts: {n}");

    let name = first["name"].as_str().unwrap();
    let word = name.split(' ').nth(1).unwrap().to_lowercase();
    let found = app.gql(Some(&token), q, json!({ "f": { "search": word } })).await.ok();
    assert!(found["schools"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["name"] == name));
    let by_urn = app.gql(Some(&token), q, json!({ "f": { "search": first["urn"].to_string() } })).await.ok();
    assert_eq!(by_urn["schools"]["totalCount"], 1);
    let none = app.gql(Some(&token), q, json!({ "f": { "search": "100%_" } })).await.ok();
    assert_eq!(none["schools"]["totalCount"], 0);

    let primary = app.gql(Some(&token), q, json!({ "f": { "phase": "PRIMARY" } })).await.ok();
    let n = primary["schools"]["totalCount"].as_i64().unwrap();
    assert!((44..=48).contains(&n), "about 75% primary: {n}");
}

#[tokio::test]
async fn relations_work_both_ways_and_node_finds_everything() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::CityAdmin).sign();
    let q = "{ cohorts: partnershipBySlug(slug: \"demo-city\") { id cohorts { id name schools(first: 1) { edges { node { id urn cohort { id } partnerships { slug } localAuthority { code } mentors { id mentee { urn } cohort { id } } } } } } } }";
    let data = app.gql(Some(&token), q, json!({})).await.ok();
    let c2 = &data["cohorts"]["cohorts"][1];
    let school = &c2["schools"]["edges"][0]["node"];
    assert_eq!(school["cohort"]["id"], c2["id"]);
    assert_eq!(school["partnerships"][0]["slug"], "demo-city");
    assert_eq!(school["localAuthority"]["code"], "999");
    assert_eq!(school["mentors"][0]["mentee"]["urn"], school["urn"]);
    assert_eq!(school["mentors"][0]["cohort"]["id"], c2["id"]);

    for (id, typename) in [
        (&data["cohorts"]["id"], "Partnership"),
        (&c2["id"], "Cohort"),
        (&school["id"], "School"),
        (&school["mentors"][0]["id"], "MentorshipPairing"),
    ] {
        let found = app
            .gql(Some(&token), "query($id: ID!) { node(id: $id) { __typename id } }", json!({ "id": id }))
            .await
            .ok();
        assert_eq!(found["node"]["__typename"], typename);
        assert_eq!(&found["node"]["id"], id);
    }
    app.gql(Some(&token), "{ node(id: \"garbage\") { id } }", json!({})).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&token), "{ school(urn: 123456) { name } }", json!({})).await.fails_with("NOT_FOUND");
}

#[tokio::test]
async fn me_tells_role_and_scope() {
    let app = TestApp::with_demo().await;
    let q = "{ me { role partnership { slug } school { urn } trust { groupUid } } }";
    let admin = app.token(Role::CityAdmin).sign();
    let me = app.gql(Some(&admin), q, json!({})).await.ok();
    assert_eq!(me["me"]["role"], "CITY_ADMIN");
    assert_eq!(me["me"]["partnership"]["slug"], "demo-city");
    assert!(me["me"]["school"].is_null());

    let lead = app.token(Role::SchoolLead).school(990_001).sign();
    let me = app.gql(Some(&lead), q, json!({})).await.ok();
    assert_eq!(me["me"]["role"], "SCHOOL_LEAD");
    assert_eq!(me["me"]["school"]["urn"], 990_001);

    let trust_lead = app.token(Role::TrustLead).trust("990001").sign();
    let me = app.gql(Some(&trust_lead), q, json!({})).await.ok();
    assert_eq!(me["me"]["trust"]["groupUid"], "990001");

    let anon = app.gql(None, q, json!({})).await.ok();
    assert!(anon["me"].is_null());
}

#[tokio::test]
async fn callers_see_only_their_partnerships() {
    let app = TestApp::with_demo().await;
    api::seed::synthetic(&app.db, 150, 3).await.unwrap();
    let other = app.token(Role::Partner).partnership("synthetic-001").sign();
    let q = "{ partnerships { slug schools(first: 1) { totalCount } } schools(first: 1) { totalCount } }";
    let data = app.gql(Some(&other), q, json!({})).await.ok();
    assert_eq!(data["partnerships"].as_array().unwrap().len(), 1);
    assert_eq!(data["partnerships"][0]["slug"], "synthetic-001");
    assert_eq!(data["schools"]["totalCount"], 150);
    // A demo school is invisible from there.
    app.gql(Some(&other), "{ school(urn: 990001) { name } }", json!({})).await.fails_with("NOT_FOUND");
    let demo = app.gql(Some(&other), "{ partnershipBySlug(slug: \"demo-city\") { id } }", json!({})).await;
    demo.fails_with("NOT_FOUND");
}
