//! Loaders per operation (issue 11): an operation over a WebSocket batches its loads as the same
//! operation over POST does, a subscription's events read fresh rows while their nested fields
//! still batch, and the fields of one mutation see each other's writes.

use std::time::Duration;

use api::{auth::Role, events::StageEvent};
use entity::{cohort, partnership, trust};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use tests::{TestApp, fixtures};
use tokio::time::timeout;
use uuid::Uuid;

use crate::subscriptions::{Client, bearer};

/// The longest any step may take; a broken server fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(10);

/// Lists with relations at every level, as a dashboard would ask. One root field: root fields
/// read without loaders, and two of them would start their waves at times of their own.
const LISTS: &str = "{ schools(first: 100) { totalCount edges { node { urn name trust { name schools(first: 3) { totalCount edges { node { urn } } } } localAuthority { code } partnerships { slug } mentors { mentor { name } } cohort { name progress { totalSchools } schools(first: 100) { totalCount edges { node { urn trust { name } } } } } } } } }";

/// A partnership with one trust, one local authority and one cohort; its schools come later.
struct City {
    partnership: partnership::Model,
    cohort: cohort::Model,
    trust: trust::Model,
    la: Uuid,
    schools: Vec<Uuid>,
}

impl City {
    async fn new(app: &TestApp) -> Self {
        let db = &app.db;
        let partnership = fixtures::partnership(db, "ws-city", "WS City").await;
        let la = fixtures::local_authority(db, "901", "Riverside").await.id;
        let trust = fixtures::trust(db, "4100", "Riverside Learning Trust").await;
        let cohort = fixtures::cohort(db, partnership.id, "Cohort 1", 1, "2025-09-01", "2026-07-31").await;
        Self { partnership, cohort, trust, la, schools: Vec::new() }
    }

    /// `n` more member schools in the cohort, every other one in the trust.
    async fn add_schools(&mut self, app: &TestApp, n: usize) {
        for _ in 0..n {
            let i = self.schools.len() as i32;
            let trust = (i % 2 == 0).then_some(self.trust.id);
            let school =
                fixtures::school(&app.db, 700_000 + i, &format!("School {i:03}"), self.la, trust).await;
            fixtures::member(&app.db, self.partnership.id, school.id).await;
            fixtures::cohort_member(&app.db, &self.cohort, school.id).await;
            self.schools.push(school.id);
        }
    }
}

/// The statements `query` costs over POST, beyond those that work out the caller (which a
/// WebSocket does once, at connection_init); its data.
async fn over_post(app: &TestApp, token: &str, query: &str) -> (usize, Value) {
    // Once unmeasured, so that the caller costs the same in both requests below, whether or not
    // what the token names is kept between requests.
    app.gql(Some(token), "{ __typename }", json!({})).await.ok();
    app.reset_statements();
    app.gql(Some(token), "{ __typename }", json!({})).await.ok();
    let caller = app.statements();
    // What the query itself reads, not the progress facts an earlier query left for it.
    app.facts.clear();
    app.reset_statements();
    let data = app.gql(Some(token), query, json!({})).await.ok();
    (app.statements() - caller, data)
}

/// The statements `query` costs as operation `id` of `ws`; its data.
async fn over_ws(app: &TestApp, ws: &mut Client, id: &str, query: &str) -> (usize, Value) {
    app.facts.clear();
    app.reset_statements();
    ws.subscribe(id, query, json!({})).await;
    let data = ws.data(id).await;
    assert_eq!(ws.next().await, json!({ "type": "complete", "id": id }));
    (app.statements(), data)
}

#[tokio::test]
async fn a_websocket_query_costs_what_the_same_post_costs_whatever_the_number_of_schools() {
    let app = TestApp::spawn().await;
    let mut city = City::new(&app).await;
    let token = app.token(Role::CityAdmin).partnership("ws-city").sign();
    let mut ws = Client::open(app.listen().await, None).await;
    ws.init(bearer(&token)).await;

    let mut costs = Vec::new();
    for (round, schools) in [(1, 3), (2, 40)] {
        city.add_schools(&app, schools).await;
        let (post_cost, post_data) = over_post(&app, &token, LISTS).await;
        let (ws_cost, ws_data) = over_ws(&app, &mut ws, &format!("q{round}"), LISTS).await;
        assert_eq!(ws_data, post_data, "the same answer either way");
        assert_eq!(ws_data["schools"]["totalCount"], json!(city.schools.len()));
        assert_eq!(
            ws_cost,
            post_cost,
            "{} schools: a WebSocket query batches as POST does",
            city.schools.len()
        );
        costs.push(ws_cost);
    }
    eprintln!("statements for the lists over a WebSocket: {costs:?}");
    assert_eq!(costs[0], costs[1], "more schools must not mean more statements");
}

/// The event's school, its trust, and its partnerships' cohorts with their schools; progress
/// twice, a level apart, from one read of the partnership's facts.
const EVENTS: &str = "subscription($urn: Int!) { certificationEvents(school: $urn) { version school { urn trust { name } partnerships { progress { totalSchools } cohorts { progress { totalSchools } schools(first: 100) { totalCount edges { node { urn trust { name } localAuthority { code } cohort { name } } } } } } } } }";

/// The same fields as an event's `school`, asked over POST.
const SCHOOL: &str = "{ school(urn: 700000) { urn trust { name } partnerships { progress { totalSchools } cohorts { progress { totalSchools } schools(first: 100) { totalCount edges { node { urn trust { name } localAuthority { code } cohort { name } } } } } } } }";

/// Publishes a stage change of `city`'s first school (no journey needed: events only name it)
/// and returns the event the subscription sends, with the statements it cost.
async fn event(app: &TestApp, ws: &mut Client, city: &City, version: i32) -> (usize, Value) {
    let change = StageEvent {
        certification_id: Uuid::new_v4(),
        school_id: city.schools[0],
        partnership_ids: vec![city.partnership.id],
        from: Some("ENROLLED".into()),
        to: "SELF_ASSESSING".into(),
        at: chrono::Utc::now().fixed_offset(),
        version,
    };
    app.reset_statements();
    app.events.publish(change).await.expect("published");
    let event = ws.event("1").await;
    assert_eq!(event["version"], version);
    (app.statements(), event)
}

#[tokio::test]
async fn each_subscription_event_reads_fresh_rows_and_its_nested_fields_batch() {
    let app = TestApp::spawn().await;
    let mut city = City::new(&app).await;
    city.add_schools(&app, 3).await;
    let token = app.token(Role::CityAdmin).partnership("ws-city").sign();
    let mut ws = Client::open(app.listen().await, None).await;
    ws.init(bearer(&token)).await;
    ws.subscribe("1", EVENTS, json!({ "urn": 700_000 })).await;
    timeout(WAIT, async {
        while app.events.subscribers() != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("subscribed in time");
    app.events.ready().await;
    // The server looks the school up after it starts listening: once an event has come, that
    // lookup is over and counts no more.
    event(&app, &mut ws, &city, 0).await;

    let (first_cost, first) = event(&app, &mut ws, &city, 1).await;
    let schools = &first["school"]["partnerships"][0]["cohorts"][0]["schools"];
    assert_eq!(schools["totalCount"], 3);
    assert_eq!(first["school"]["partnerships"][0]["progress"]["totalSchools"], 3);
    assert_eq!(first["school"]["trust"]["name"], "Riverside Learning Trust");
    // What the event shows costs what the same fields cost over POST, beyond publishing it
    // (PostgreSQL's NOTIFY is a statement) and finding the school (a query by URN over POST).
    let (post_cost, post) = over_post(&app, &token, SCHOOL).await;
    assert_eq!(first["school"], post["school"]);
    let published = usize::from(app.is_postgres());
    assert_eq!(first_cost - published, post_cost, "an event's nested fields batch as POST's do");
    // The cohort's progress costs nothing more: the facts read for the partnership's are kept.
    let without = SCHOOL.replace("cohorts { progress { totalSchools } ", "cohorts { ");
    assert_eq!(over_post(&app, &token, &without).await.0, post_cost);

    // Rows change between events: the next event shows them, read afresh, at the same cost.
    let renamed =
        trust::ActiveModel { name: Set("Riverside Schools Trust".into()), ..city.trust.clone().into() };
    renamed.update(&app.db).await.expect("rename the trust");
    city.add_schools(&app, 30).await;
    let (second_cost, second) = event(&app, &mut ws, &city, 2).await;
    let schools = &second["school"]["partnerships"][0]["cohorts"][0]["schools"];
    assert_eq!(schools["totalCount"], 33);
    assert_eq!(schools["edges"].as_array().map(Vec::len), Some(33));
    // Progress too: the facts the last event kept were forgotten once it was sent.
    assert_eq!(second["school"]["partnerships"][0]["progress"]["totalSchools"], 33);
    assert_eq!(second["school"]["partnerships"][0]["cohorts"][0]["progress"]["totalSchools"], 33);
    assert_eq!(second["school"]["trust"]["name"], "Riverside Schools Trust");
    assert_eq!(second_cost, first_cost, "more schools must not mean more statements");

    // Twice in a row, nothing changed in between: the same rows, read again.
    let (third_cost, third) = event(&app, &mut ws, &city, 3).await;
    assert_eq!(third["school"], second["school"]);
    assert_eq!(third_cost, first_cost);
}

#[tokio::test]
async fn each_field_of_a_mutation_sees_the_writes_of_those_before_it() {
    let app = TestApp::spawn().await;
    let city = City::new(&app).await;
    // Members in no cohort yet (a school is in one cohort per partnership).
    for urn in [710_000, 710_001] {
        let school = fixtures::school(&app.db, urn, &format!("School {urn}"), city.la, None).await;
        fixtures::member(&app.db, city.partnership.id, school.id).await;
    }
    let other =
        fixtures::cohort(&app.db, city.partnership.id, "Cohort 2", 2, "2025-09-01", "2026-07-31").await;
    let token = app.token(Role::CityAdmin).partnership("ws-city").sign();
    let cohort = api::ids::global_id("Cohort", other.id).to_string();
    let add = "mutation($c: ID!) {
        a: addSchoolToCohort(cohort: $c, urn: 710000) { cohort { progress { totalSchools } schools(first: 100) { edges { node { urn } } } } }
        b: addSchoolToCohort(cohort: $c, urn: 710001) { cohort { progress { totalSchools } schools(first: 100) { edges { node { urn } } } } } }";
    let data = app.gql(Some(&token), add, json!({ "c": cohort })).await.ok();
    let urns = |field: &str| -> Vec<Value> {
        let edges = data[field]["cohort"]["schools"]["edges"].as_array().expect("edges");
        edges.iter().map(|e| e["node"]["urn"].clone()).collect()
    };
    assert_eq!(urns("a"), vec![json!(710_000)]);
    // Read after the second write, not answered from what the first field read.
    assert_eq!(urns("b"), vec![json!(710_000), json!(710_001)]);
    // Progress, whose facts a query reads once, is read again for the second field.
    assert_eq!(data["a"]["cohort"]["progress"]["totalSchools"], 1);
    assert_eq!(data["b"]["cohort"]["progress"]["totalSchools"], 2);
}
