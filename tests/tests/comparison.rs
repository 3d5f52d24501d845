//! Comparisons (issue 13, item 2): a school's self-assessment per area beside its cohort's,
//! trust's and partnership's, figures worked out by hand on a small fixture; groups below the
//! partnership's minimum hidden; partners never reach one school's figures; and the statements
//! for every school of the demo the same as for five.

use api::auth::Role;
use serde_json::{Value, json};
use tests::{
    TestApp,
    fixtures::{self, Upto},
};

const CITY: &str = "cmp-city";
const URNS: [i32; 4] = [950001, 950002, 950003, 950004];
const COMPARISON: &str =
    "query($u: Int!) { school(urn: $u) { comparison { areaKey securePercent evidenceCount
    cohort { schools securePercent evidenceMean hiddenBecause } trust { schools securePercent hiddenBecause }
    partnership { schools securePercent evidenceMean } } } }";

/// Four schools in one cohort, the first two in one trust; three have rated every criterion of
/// Explorer SECURE and linked one evidence item to AI literacy, except that the second rates
/// LIT-E-STA NOT_YET; the fourth has not enrolled.
async fn setup(app: &TestApp) -> uuid::Uuid {
    let p = fixtures::partnership(&app.db, CITY, "Compare City").await;
    let la = fixtures::local_authority(&app.db, "935", "Compare Council").await;
    let trust = fixtures::trust(&app.db, "TR9501", "Heron Trust").await;
    let cohort = fixtures::cohort(&app.db, p.id, "Cohort 1", 1, "2025-09-01", "2027-07-31").await;
    for (i, urn) in URNS.into_iter().enumerate() {
        let t = (i < 2).then_some(trust.id);
        let school = fixtures::school(&app.db, urn, &format!("School {urn}"), la.id, t).await;
        fixtures::member(&app.db, p.id, school.id).await;
        fixtures::cohort_member(&app.db, &cohort, school.id).await;
    }
    // The first school mentors the fourth.
    let ids: Vec<uuid::Uuid> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let rows = entity::school::Entity::find()
            .filter(entity::school::Column::Urn.is_in(URNS))
            .order_by_asc(entity::school::Column::Urn)
            .all(&app.db)
            .await
            .unwrap();
        rows.into_iter().map(|s| s.id).collect()
    };
    fixtures::pairing(&app.db, &cohort, ids[0], ids[3], "2025-10-01").await;
    for urn in &URNS[..3] {
        fixtures::journey(app, CITY, *urn, "Cmp", Upto::GatheringEvidence).await;
    }
    let lead = app.token(Role::SchoolLead).school(URNS[1]).sign();
    let journey = app
        .gql(
            Some(&lead),
            "query($u: Int!) { school(urn: $u) { certifications { id } } }",
            json!({ "u": URNS[1] }),
        )
        .await
        .ok()["school"]["certifications"][0]["id"]
        .clone();
    let rate = "mutation($id: ID!) { rateCriteria(certification: $id, ratings: [{ criterion: \"LIT-E-STA\", rating: NOT_YET }]) { id } }";
    app.gql(Some(&lead), rate, json!({ "id": journey })).await.ok();
    p.id
}

fn area<'a>(answer: &'a Value, key: &str) -> &'a Value {
    answer["school"]["comparison"].as_array().unwrap().iter().find(|a| a["areaKey"] == key).unwrap()
}

#[tokio::test]
async fn a_school_sees_its_areas_beside_groups_large_enough_to_hide_each_school() {
    let app = TestApp::spawn().await;
    let p = setup(&app).await;
    let admin = app.token(Role::CityAdmin).partnership(CITY).sign();
    let lead = app.token(Role::SchoolLead).school(URNS[1]).sign();
    let partner = app.token(Role::Partner).partnership(CITY).sign();

    // At the default minimum, 5, no group of three schools shows figures.
    let hidden = app.gql(Some(&lead), COMPARISON, json!({ "u": URNS[1] })).await.ok();
    let lit = area(&hidden, "AI_LITERACY");
    assert_eq!((&lit["securePercent"], &lit["evidenceCount"]), (&json!(66.7), &json!(1)));
    assert_eq!(lit["cohort"]["securePercent"], Value::Null);
    assert_eq!(lit["cohort"]["hiddenBecause"], "3 of its schools have ratings; figures are shown from 5");

    let set = "mutation($n: Int!) { updatePartnership(input: { comparisonMinSchools: $n }) { comparisonMinSchools } }";
    app.gql(Some(&admin), set, json!({ "n": 2 })).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&admin), set, json!({ "n": 3 })).await.ok();

    let shown = app.gql(Some(&lead), COMPARISON, json!({ "u": URNS[1] })).await.ok();
    assert_eq!(shown["school"]["comparison"].as_array().unwrap().len(), 5);
    // (100 + 66.7 + 100) / 3 = 88.9; one evidence item each.
    assert_eq!(
        area(&shown, "AI_LITERACY"),
        &json!({ "areaKey": "AI_LITERACY", "securePercent": 66.7, "evidenceCount": 1,
            "cohort": { "schools": 3, "securePercent": 88.9, "evidenceMean": 1.0, "hiddenBecause": null },
            "trust": { "schools": 2, "securePercent": null, "hiddenBecause": "2 of its schools have ratings; figures are shown from 3" },
            "partnership": { "schools": 3, "securePercent": 88.9, "evidenceMean": 1.0 } })
    );
    let pol = area(&shown, "POLICIES_AND_ETHICS");
    assert_eq!((&pol["securePercent"], &pol["evidenceCount"]), (&json!(100.0), &json!(0)));
    assert_eq!(
        (&pol["cohort"]["securePercent"], &pol["cohort"]["evidenceMean"]),
        (&json!(100.0), &json!(0.0))
    );
    // Before anyone rated, nothing: no school figure, no group.
    let early = "query($u: Int!) { school(urn: $u) { comparison(asOf: \"2025-01-01\") { securePercent cohort { schools } } } }";
    let before = app.gql(Some(&lead), early, json!({ "u": URNS[1] })).await.ok();
    assert_eq!(
        before["school"]["comparison"][0],
        json!({ "securePercent": null, "cohort": { "schools": 0 } })
    );

    // Partners and other schools never reach one school's figures; they read group figures.
    app.gql(Some(&partner), COMPARISON, json!({ "u": URNS[1] })).await.fails_with("FORBIDDEN");
    let other = app.token(Role::SchoolLead).school(URNS[0]).sign();
    app.gql(Some(&other), COMPARISON, json!({ "u": URNS[1] })).await.fails_with("FORBIDDEN");
    let groups =
        "query($p: ID!) { partnership(id: $p) { areaFigures { areaKey figures { schools securePercent } }
        cohorts { areaFigures { areaKey figures { securePercent } } } } }";
    let pid = json!(api::ids::global_id("Partnership", p).to_string());
    let g = app.gql(Some(&partner), groups, json!({ "p": pid })).await.ok();
    assert_eq!(
        g["partnership"]["areaFigures"][0],
        json!({ "areaKey": "AI_LITERACY", "figures": { "schools": 3, "securePercent": 88.9 } })
    );
    assert_eq!(g["partnership"]["cohorts"][0]["areaFigures"][0]["figures"]["securePercent"], 88.9);
    // The trust has two schools with ratings: below the minimum of three, so hidden.
    let trust = "query($u: Int!, $p: ID!) { school(urn: $u) { trust { areaFigures(partnership: $p) { areaKey figures { schools securePercent hiddenBecause } } } } }";
    let t = app.gql(Some(&partner), trust, json!({ "u": URNS[0], "p": pid })).await.ok();
    assert_eq!(
        t["school"]["trust"]["areaFigures"][0],
        json!({ "areaKey": "AI_LITERACY", "figures": { "schools": 2, "securePercent": null,
            "hiddenBecause": "2 of its schools have ratings; figures are shown from 3" } })
    );
}

#[tokio::test]
async fn the_city_sees_its_weakest_areas_commonest_gaps_and_strong_mentors() {
    let app = TestApp::spawn().await;
    let p = setup(&app).await;
    let admin = app.token(Role::CityAdmin).partnership(CITY).sign();
    let partner = app.token(Role::Partner).partnership(CITY).sign();
    let pid = json!(api::ids::global_id("Partnership", p).to_string());
    let q =
        "query($p: ID!) { partnership(id: $p) { focus { weakestAreas { areaKey schoolsBelow schoolsRated }
        notYetCriteria { code schools } strongMentors { school { urn } areaKeys } } } }";
    let focus = app.gql(Some(&admin), q, json!({ "p": pid })).await.ok()["partnership"]["focus"].clone();
    // Only AI literacy has a school below SECURE (the second, with LIT-E-STA NOT_YET); the
    // first school mentors and rates every criterion of it SECURE.
    assert_eq!(
        focus,
        json!({
            "weakestAreas": [{ "areaKey": "AI_LITERACY", "schoolsBelow": 1, "schoolsRated": 3 }],
            "notYetCriteria": [{ "code": "LIT-E-STA", "schools": 1 }],
            "strongMentors": [{ "school": { "urn": URNS[0] }, "areaKeys": ["AI_LITERACY"] }]
        })
    );
    app.gql(Some(&partner), q, json!({ "p": pid })).await.fails_with("FORBIDDEN");
}

#[tokio::test]
async fn comparing_every_school_of_the_demo_costs_what_five_schools_cost() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    app.warm(&admin).await;
    let query = |n: usize| {
        format!(
            "{{ schools(first: {n}) {{ edges {{ node {{ urn comparison {{ areaKey securePercent cohort {{ securePercent }} trust {{ securePercent }} partnership {{ securePercent }} }} }} }} }} }}"
        )
    };
    let mut counts = Vec::new();
    for n in [5, 100] {
        app.reset_statements();
        let answer = app.gql(Some(&admin), &query(n), json!({})).await.ok();
        let edges = answer["schools"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), n.min(61));
        assert!(edges.iter().any(|e| e["node"]["comparison"][0]["securePercent"].is_number()));
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "statements for 5 schools, then for all 61");
}
