use api::auth::Role;
use serde_json::{Value, json};
use tests::TestApp;

async fn admin(app: &TestApp) -> String {
    app.token(Role::CityAdmin).sign()
}

/// URNs of the demo's cohorts, in cohort order.
async fn cohort_urns(app: &TestApp, token: &str) -> (Vec<Value>, Vec<Vec<i64>>) {
    let q = "{ partnershipBySlug(slug: \"demo-city\") { cohorts { id schools(first: 100) { edges { node { urn } } } } } }";
    let data = app.gql(Some(token), q, json!({})).await.ok();
    let cohorts = data["partnershipBySlug"]["cohorts"].as_array().unwrap().clone();
    let urns = cohorts
        .iter()
        .map(|c| {
            c["schools"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["urn"].as_i64().unwrap())
                .collect()
        })
        .collect();
    (cohorts.iter().map(|c| c["id"].clone()).collect(), urns)
}

const PAIR: &str = "mutation($mentor: Int!, $mentee: Int!) { createMentorshipPairing(input: { mentorUrn: $mentor, menteeUrn: $mentee, startedOn: \"2026-01-10\" }) { id status mentor { urn } mentee { urn } cohort { ordinal } } }";

#[tokio::test]
async fn registry_changes_round_trip() {
    let app = TestApp::with_demo().await;
    let token = admin(&app).await;
    let trust = app
        .gql(Some(&token), "mutation { createTrust(input: { name: \"Harbour Learning Trust\", groupUid: \"16001\", companiesHouseNumber: \"08123456\" }) { id groupUid } }", json!({}))
        .await
        .ok();
    let trust_id = trust["createTrust"]["id"].clone();
    let renamed = app
        .gql(
            Some(&token),
            "mutation($t: ID!) { updateTrust(id: $t, input: { name: \"Harbour Trust\", companiesHouseNumber: null }) { name companiesHouseNumber } }",
            json!({ "t": trust_id }),
        )
        .await
        .ok();
    assert_eq!(renamed["updateTrust"], json!({ "name": "Harbour Trust", "companiesHouseNumber": null }));
    let school = app
        .gql(
            Some(&token),
            "mutation($t: ID) { createSchool(input: { urn: 654321, name: \"Quayside Primary\", phase: PRIMARY, establishmentType: \"Academy converter\", laCode: \"999\", laName: \"Demo City Council (synthetic)\", trust: $t, postcode: \"zz99 1aa\" }) { urn postcode maintained trust { groupUid } partnerships { slug } } }",
            json!({ "t": trust_id }),
        )
        .await
        .ok();
    assert_eq!(school["createSchool"]["postcode"], "ZZ99 1AA");
    assert_eq!(school["createSchool"]["trust"]["groupUid"], "16001");
    assert_eq!(school["createSchool"]["partnerships"][0]["slug"], "demo-city");

    let updated = app
        .gql(Some(&token), "mutation { updateSchool(urn: 654321, input: { name: \"Quayside Primary School\", trust: null, open: false }) { name maintained open } }", json!({}))
        .await
        .ok();
    assert_eq!(
        updated["updateSchool"],
        json!({ "name": "Quayside Primary School", "maintained": true, "open": false })
    );

    let cohort = app
        .gql(Some(&token), "mutation { createCohort(input: { name: \"Cohort 4\", ordinal: 4, startsOn: \"2026-09-01\", targetOn: \"2027-07-15\" }) { id ordinal } }", json!({}))
        .await
        .ok();
    let cohort_id = cohort["createCohort"]["id"].clone();
    let moved = app
        .gql(
            Some(&token),
            "mutation($c: ID!) { updateCohort(id: $c, input: { name: \"Cohort 4 (late)\", ordinal: 4, startsOn: \"2026-10-01\", targetOn: \"2027-07-15\" }) { name startsOn } }",
            json!({ "c": cohort_id }),
        )
        .await
        .ok();
    assert_eq!(moved["updateCohort"], json!({ "name": "Cohort 4 (late)", "startsOn": "2026-10-01" }));
    app.gql(
        Some(&token),
        "mutation($c: ID!) { addSchoolToCohort(cohort: $c, urn: 654321) { urn } }",
        json!({ "c": cohort_id }),
    )
    .await
    .ok();
    let again = app
        .gql(
            Some(&token),
            "mutation($c: ID!) { addSchoolToCohort(cohort: $c, urn: 654321) { urn } }",
            json!({ "c": cohort_id }),
        )
        .await;
    again.fails_with("CONFLICT");
    let members = app
        .gql(
            Some(&token),
            "query($c: ID!) { cohort(id: $c) { schools { totalCount } } }",
            json!({ "c": cohort_id }),
        )
        .await
        .ok();
    assert_eq!(members["cohort"]["schools"]["totalCount"], 1);
    app.gql(
        Some(&token),
        "mutation($c: ID!) { removeSchoolFromCohort(cohort: $c, urn: 654321) { urn } }",
        json!({ "c": cohort_id }),
    )
    .await
    .ok();
    let members = app
        .gql(
            Some(&token),
            "query($c: ID!) { cohort(id: $c) { schools { totalCount } } }",
            json!({ "c": cohort_id }),
        )
        .await
        .ok();
    assert_eq!(members["cohort"]["schools"]["totalCount"], 0);
}

#[tokio::test]
async fn bad_registry_input_is_refused_and_nothing_is_written() {
    let app = TestApp::with_demo().await;
    let token = admin(&app).await;
    let create = "mutation($i: CreateSchoolInput!) { createSchool(input: $i) { urn } }";
    let good = json!({ "urn": 654322, "name": "Dockside Infants", "phase": "PRIMARY", "establishmentType": "Community school", "laCode": "999", "laName": "Demo City Council (synthetic)" });
    let with = |k: &str, v: Value| {
        let mut i = good.clone();
        i[k] = v;
        json!({ "i": i })
    };
    for (what, vars, code) in [
        ("five-digit URN", with("urn", json!(12345)), "BAD_USER_INPUT"),
        ("empty name", with("name", json!("   ")), "BAD_USER_INPUT"),
        ("unknown type", with("establishmentType", json!("Castle")), "BAD_USER_INPUT"),
        ("bad LA code", with("laCode", json!("99")), "BAD_USER_INPUT"),
        ("bad postcode", with("postcode", json!("NOT A POSTCODE")), "BAD_USER_INPUT"),
        ("existing URN", with("urn", json!(990001)), "CONFLICT"),
        (
            "trust id of another type",
            with("trust", json!("U2Nob29sOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA")),
            "BAD_USER_INPUT",
        ),
    ] {
        let answer = app.gql(Some(&token), create, vars).await;
        assert_eq!(answer.codes(), vec![code.to_owned()], "{what}: {:#}", answer.body);
    }
    assert_eq!(app.count("school").await, 61);
    assert_eq!(app.count("partnership_school").await, 61);
    assert_eq!(app.count("local_authority").await, 1);

    let cohort = "mutation($i: CohortInput!) { createCohort(input: $i) { id } }";
    let bad_dates =
        json!({ "i": { "name": "Late", "ordinal": 9, "startsOn": "2027-01-01", "targetOn": "2026-01-01" } });
    app.gql(Some(&token), cohort, bad_dates).await.fails_with("BAD_USER_INPUT");
    let taken = json!({ "i": { "name": "Cohort 2", "ordinal": 9, "startsOn": "2026-01-01", "targetOn": "2027-01-01" } });
    app.gql(Some(&token), cohort, taken).await.fails_with("CONFLICT");
    assert_eq!(app.count("cohort").await, 3);
    app.gql(
        Some(&token),
        "mutation { updateSchool(urn: 123456, input: { open: false }) { urn } }",
        json!({}),
    )
    .await
    .fails_with("NOT_FOUND");
}

#[tokio::test]
async fn pairing_rules_hold_and_leave_nothing_behind() {
    let app = TestApp::with_demo().await;
    let token = admin(&app).await;
    let (_, urns) = cohort_urns(&app, &token).await;
    let (pioneer, c2, c3) = (urns[0][0], urns[1][0], urns[2][0]);
    let before = app.count("mentorship_pairing").await;
    assert_eq!(before, 18);

    for (what, mentor, mentee, code) in [
        ("itself", c3, c3, "BAD_USER_INPUT"),
        ("mentor from a later cohort", c3, c2, "BAD_USER_INPUT"),
        ("mentor from the same cohort", urns[2][1], c3, "BAD_USER_INPUT"),
        ("mentee already has a mentor", urns[0][5], c2, "CONFLICT"),
        ("unknown URN", 123456, c3, "NOT_FOUND"),
        ("mentor at capacity (3 mentees)", pioneer, c3, "CONFLICT"),
    ] {
        let answer = app.gql(Some(&token), PAIR, json!({ "mentor": mentor, "mentee": mentee })).await;
        assert_eq!(answer.codes(), vec![code.to_owned()], "{what}: {:#}", answer.body);
    }
    // The duplicate of an existing pairing.
    let existing = app
        .gql(
            Some(&token),
            "query($u: Int!) { school(urn: $u) { mentors { id mentor { urn } } } }",
            json!({ "u": c2 }),
        )
        .await
        .ok();
    let mentor_of_c2 = existing["school"]["mentors"][0]["mentor"]["urn"].as_i64().unwrap();
    let dup = app.gql(Some(&token), PAIR, json!({ "mentor": mentor_of_c2, "mentee": c2 })).await;
    assert!(dup.fails_with("CONFLICT")["message"].as_str().unwrap().contains("already mentors"));
    assert_eq!(app.count("mentorship_pairing").await, before);

    // A cohort-2 school may mentor a cohort-3 school; ending keeps the row.
    let made = app.gql(Some(&token), PAIR, json!({ "mentor": c2, "mentee": c3 })).await.ok();
    assert_eq!(made["createMentorshipPairing"]["status"], "ACTIVE");
    assert_eq!(made["createMentorshipPairing"]["cohort"]["ordinal"], 3);
    let id = made["createMentorshipPairing"]["id"].clone();
    let end =
        "mutation($id: ID!, $on: Date) { endMentorshipPairing(id: $id, endedOn: $on) { status endedOn } }";
    app.gql(Some(&token), end, json!({ "id": id, "on": "2025-01-01" })).await.fails_with("BAD_USER_INPUT");
    let ended = app.gql(Some(&token), end, json!({ "id": id, "on": "2026-03-01" })).await.ok();
    assert_eq!(ended["endMentorshipPairing"], json!({ "status": "ENDED", "endedOn": "2026-03-01" }));
    app.gql(Some(&token), end, json!({ "id": id, "on": "2026-03-02" })).await.fails_with("CONFLICT");
    assert_eq!(app.count("mentorship_pairing").await, before + 1);
    let history = app
        .gql(Some(&token), "query($u: Int!) { school(urn: $u) { mentors { id } all: mentors(includeEnded: true) { status } } }", json!({ "u": c3 }))
        .await
        .ok();
    assert_eq!(history["school"]["mentors"].as_array().unwrap().len(), 0);
    assert_eq!(history["school"]["all"][0]["status"], "ENDED");
    // Once ended, the mentee can take a new mentor.
    app.gql(Some(&token), PAIR, json!({ "mentor": urns[1][1], "mentee": c3 })).await.ok();
}

#[tokio::test]
async fn a_school_with_an_active_mentor_stays_in_its_cohort() {
    let app = TestApp::with_demo().await;
    let token = admin(&app).await;
    let (ids, urns) = cohort_urns(&app, &token).await;
    let answer = app
        .gql(
            Some(&token),
            "mutation($c: ID!, $u: Int!) { removeSchoolFromCohort(cohort: $c, urn: $u) { urn } }",
            json!({ "c": ids[1], "u": urns[1][0] }),
        )
        .await;
    answer.fails_with("CONFLICT");
    assert_eq!(app.count("cohort_school").await, 61);
}

/// Sends each (mentor, mentee) pairing request from a task of its own, all at once.
async fn pair_all_at_once(app: &TestApp, token: &str, pairs: Vec<(i64, i64)>) -> (usize, usize) {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(pairs.len()));
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|(mentor, mentee)| {
            let (router, token, start) = (app.router(), token.to_owned(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                tests::post(router, Some(&token), PAIR, json!({ "mentor": mentor, "mentee": mentee })).await
            })
        })
        .collect();
    let mut outcome = (0, 0);
    for task in tasks {
        let answer = task.await.expect("task");
        match answer.codes().as_slice() {
            [] => outcome.0 += 1,
            [code] if code == "CONFLICT" => outcome.1 += 1,
            other => panic!("unexpected answer {other:?}: {:#}", answer.body),
        }
    }
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pairings_cannot_break_the_rules() {
    let app = TestApp::with_demo().await;
    let token = admin(&app).await;
    let (_, urns) = cohort_urns(&app, &token).await;

    // Six mentees for one mentor at once: the capacity of three holds.
    let mentor = urns[1][0];
    let pairs = urns[2][..6].iter().map(|m| (mentor, *m)).collect();
    assert_eq!(pair_all_at_once(&app, &token, pairs).await, (3, 3));

    // Four mentors for one mentee at once: one wins.
    let mentee = urns[2][10];
    let pairs = urns[1][1..5].iter().map(|m| (*m, mentee)).collect();
    assert_eq!(pair_all_at_once(&app, &token, pairs).await, (1, 3));
    assert_eq!(app.count("mentorship_pairing").await, 18 + 3 + 1);
}

/// The capacity check and the insert after it see the mentor's other pairings even while
/// those are still being written: here another transaction fills the mentor's three places
/// and commits only after the new request has started. The request must wait for it and then
/// refuse, not count the mentee places as free and make a fourth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_waits_for_pairings_still_being_written() {
    use entity::{cohort, mentorship_pairing, school};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    let app = TestApp::with_demo().await;
    let token = admin(&app).await;
    let (_, urns) = cohort_urns(&app, &token).await;
    let id_of = |urn: i64| {
        let db = app.db.clone();
        async move {
            school::Entity::find().filter(school::Column::Urn.eq(urn as i32)).one(&db).await.unwrap().unwrap()
        }
    };
    let mentor = id_of(urns[1][0]).await;
    let cohort3 =
        cohort::Entity::find().filter(cohort::Column::Ordinal.eq(3)).one(&app.db).await.unwrap().unwrap();

    let writer = api::db::begin_write(&app.db).await.unwrap();
    for urn in &urns[2][..3] {
        mentorship_pairing::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            partnership_id: Set(cohort3.partnership_id),
            cohort_id: Set(cohort3.id),
            mentor_school_id: Set(mentor.id),
            mentee_school_id: Set(id_of(*urn).await.id),
            started_on: Set(chrono::NaiveDate::from_ymd_opt(2026, 1, 10).unwrap()),
            ended_on: Set(None),
            status: Set("ACTIVE".into()),
        }
        .insert(&writer)
        .await
        .unwrap();
    }
    let (router, t, fourth) = (app.router(), token.clone(), urns[2][3]);
    let request = tokio::spawn(async move {
        tests::post(router, Some(&t), PAIR, json!({ "mentor": mentor.urn, "mentee": fourth })).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    writer.commit().await.unwrap();
    request.await.unwrap().fails_with("CONFLICT");
    assert_eq!(app.count("mentorship_pairing").await, 18 + 3);
}
