//! Answers as the GraphQL spec words them, on POST, GET and WebSocket: a failed non-null field
//! makes its nearest nullable parent null, keys come in selection order, and variables are
//! coerced before anything runs.

use api::auth::Role;
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tests::TestApp;
use tower::ServiceExt;

use crate::subscriptions::{Client, bearer};

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A POST of `query` and `variables`, accepting `accept`.
fn post(token: Option<&str>, query: &str, variables: Value, accept: &str) -> Request<Body> {
    let mut req = Request::post("/graphql").header("content-type", JSON).header("accept", accept);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::from(json!({ "query": query, "variables": variables }).to_string())).unwrap()
}

/// The same request as a GET with the document and variables in the URL.
fn get(token: Option<&str>, query: &str, variables: Value, accept: &str) -> Request<Body> {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let uri = format!("/graphql?query={}&variables={}", encode(query), encode(&variables.to_string()));
    let mut req = Request::get(uri).header("accept", accept);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

/// Sends a request; the answer's status and body, its objects' keys in the order sent.
async fn send(app: &TestApp, req: Request<Body>) -> (StatusCode, async_graphql::Value) {
    let res = app.router().oneshot(req).await.expect("an answer");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("a body").to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

/// The same answer as plain JSON, to index into.
fn plain(body: &async_graphql::Value) -> Value {
    body.clone().into_json().expect("JSON")
}

fn codes(body: &Value) -> Vec<&str> {
    let errors = body["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
    errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>")).collect()
}

/// The keys of every object in an answer, nested, in their order: `{a b[{c}]}`.
fn shape(value: &async_graphql::Value) -> String {
    match value {
        async_graphql::Value::Object(map) => {
            let keys: Vec<String> = map.iter().map(|(k, v)| format!("{k}{}", shape(v))).collect();
            format!("{{{}}}", keys.join(" "))
        }
        async_graphql::Value::List(items) => {
            let mut shapes: Vec<String> = items.iter().map(shape).collect();
            shapes.dedup();
            format!("[{}]", shapes.join("|"))
        }
        _ => String::new(),
    }
}

const ANONYMOUS_SCHOOLS: &str = "{ partnerships { name slug schools { totalCount } } }";

#[tokio::test]
async fn a_refused_non_null_field_nulls_its_parents_up_to_data() {
    let app = TestApp::with_demo().await;
    let partnerships = app.gql(None, "{ partnerships { slug } }", json!({})).await.ok();
    let count = partnerships["partnerships"].as_array().unwrap().len();
    assert!(count > 0);
    for req in [
        post(None, ANONYMOUS_SCHOOLS, json!({}), JSON),
        get(None, ANONYMOUS_SCHOOLS, json!({}), JSON),
        post(None, ANONYMOUS_SCHOOLS, json!({}), GRAPHQL_RESPONSE),
    ] {
        let (status, body) = send(&app, req).await;
        let body = plain(&body);
        assert_eq!(status, StatusCode::OK, "{body:#}");
        // schools: SchoolConnection! in Partnership! in [Partnership!]!: nothing nullable on the
        // way up but `data`, which is there, and null.
        assert_eq!(body.get("data"), Some(&Value::Null), "{body:#}");
        assert_eq!(codes(&body), vec!["UNAUTHENTICATED"; count], "one error per failed field: {body:#}");
        for (i, error) in body["errors"].as_array().unwrap().iter().enumerate() {
            assert_eq!(error["path"], json!(["partnerships", i, "schools"]));
        }
    }
}

const STOPS_AT_NULLABLE: &str = "{ me { role partnership { name schools(first: 1000) { totalCount } } } }";

#[tokio::test]
async fn the_null_stops_at_the_nearest_nullable_parent_on_every_transport() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    // `first` over 100 is refused; Partnership.schools is non-null, Me.partnership is not.
    let expected = json!({ "me": { "role": "PARTNER", "partnership": null } });
    for req in [
        post(Some(&partner), STOPS_AT_NULLABLE, json!({}), JSON),
        get(Some(&partner), STOPS_AT_NULLABLE, json!({}), GRAPHQL_RESPONSE),
    ] {
        let (status, body) = send(&app, req).await;
        let body = plain(&body);
        assert_eq!((status, &body["data"]), (StatusCode::OK, &expected), "{body:#}");
        assert_eq!(codes(&body), vec!["BAD_USER_INPUT"]);
        assert_eq!(body["errors"][0]["path"], json!(["me", "partnership", "schools"]));
    }

    let mut ws = Client::open(app.listen().await, None).await;
    ws.init(bearer(&partner)).await;
    ws.subscribe("1", STOPS_AT_NULLABLE, json!({})).await;
    let message = ws.next().await;
    assert_eq!(message["type"], "next", "{message:#}");
    assert_eq!(message["payload"]["data"], expected, "{message:#}");
    assert_eq!(message["payload"]["errors"][0]["path"], json!(["me", "partnership", "schools"]));
    assert_eq!(ws.next().await, json!({ "type": "complete", "id": "1" }));
}

/// Fields that wait on the database (`cohorts`, `schools`, `node`) before ones that do not,
/// through aliases, named and inline fragments, and an interface.
const ORDER: &str = "query Order($p: ID!) {
  list: partnerships {
    cohorts { name id }
    ...Head
    n: name
    ... on Partnership { schools(first: 2) { edges { node { name urn } } totalCount } slug }
    id
  }
  __typename
  me { ...Me role }
  node(id: $p) { ... on Partnership { cohorts { id } name } __typename ...Id }
}
fragment Head on Partnership { deadline start: startsOn }
fragment Me on Me { partnership { cohorts { name } name } subject }
fragment Id on Node { id }";

const ORDER_SHAPE: &str = "{list[{cohorts[{name id}] deadline start n schools{edges[{node{name urn}}] totalCount} \
    slug id}] __typename me{partnership{cohorts[{name}] name} subject role} \
    node{cohorts[{id}] name __typename id}}";

#[tokio::test]
async fn keys_come_in_selection_order_every_time() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    let id =
        app.gql(Some(&partner), "{ partnerships { id } }", json!({})).await.ok()["partnerships"][0]["id"]
            .clone();
    for _ in 0..5 {
        let (status, body) = send(&app, post(Some(&partner), ORDER, json!({ "p": id }), JSON)).await;
        assert_eq!(status, StatusCode::OK);
        let async_graphql::Value::Object(body) = body else { panic!("an object") };
        assert!(body.get("errors").is_none(), "{body:#?}");
        assert_eq!(shape(&body["data"]), ORDER_SHAPE.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    // No field of the selection applies to a partnership: an empty object, not a null.
    let none = "query($p: ID!) { node(id: $p) { ... on School { urn } } }";
    assert_eq!(app.gql(Some(&partner), none, json!({ "p": id })).await.ok(), json!({ "node": {} }));
}

#[tokio::test]
async fn a_missing_variable_is_refused_before_anything_runs() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    let q = "query($p: ID!) { partnership(id: $p) { name } }";
    for (req, status, code) in [
        (post(Some(&partner), q, json!({}), JSON), StatusCode::OK, "BAD_USER_INPUT"),
        (post(Some(&partner), q, json!({}), GRAPHQL_RESPONSE), StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        (get(Some(&partner), q, json!({}), GRAPHQL_RESPONSE), StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        // async-graphql's validation reads this one too (null for ID!): the same answer.
        (get(Some(&partner), q, json!({ "p": null }), JSON), StatusCode::OK, "BAD_USER_INPUT"),
    ] {
        let (actual, body) = send(&app, req).await;
        let body = plain(&body);
        assert_eq!((actual, codes(&body)), (status, vec![code]), "{body:#}");
        assert!(body.get("data").is_none(), "a request error has no data: {body:#}");
        assert!(body["errors"][0].get("path").is_none());
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("p"), "{body:#}");
    }
    // A variable that coerces runs as before.
    let id =
        app.gql(Some(&partner), "{ partnerships { id } }", json!({})).await.ok()["partnerships"][0]["id"]
            .clone();
    app.gql(Some(&partner), q, json!({ "p": id })).await.ok();
}

#[tokio::test]
async fn a_mutation_with_a_bad_variable_writes_nothing() {
    let app = TestApp::with_demo().await;
    let admin = app.token(Role::CityAdmin).sign();
    let q = "{ schools(first: 100) { edges { node { urn certifications { id } } } } }";
    let schools = app.gql(Some(&admin), q, json!({})).await.ok()["schools"]["edges"].clone();
    let urn = schools
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["certifications"].as_array().unwrap().is_empty())
        .map(|e| e["node"]["urn"].as_i64().unwrap())
        .expect("a school not yet enrolled");
    let lead = app.token(Role::SchoolLead).school(urn as i32).sign();
    // The first field alone would run: the second's variable is missing or ill-typed.
    let two = "mutation($u: Int!, $i: EnrolInput!) {
      a: enrol(input: { urn: $u, framework: \"aied-certified\", targetLevel: \"EXPLORER\" }) { id }
      b: enrol(input: $i) { id }
    }";
    let before = app.count("certification").await;
    let good = json!({ "urn": urn, "framework": "aied-certified", "targetLevel": "EXPLORER" });
    let mut unknown_field = good.clone();
    unknown_field["note"] = json!("hi");
    let mut missing_field = good.clone();
    missing_field.as_object_mut().unwrap().remove("targetLevel");
    let mut wrong_type = good.clone();
    wrong_type["urn"] = json!("851001");
    for (variables, says) in [
        (json!({ "u": urn }), "`$i` (EnrolInput!) is required"),
        (json!({ "u": 99_999_999_999_i64, "i": good }), "`$u` (Int!): Failed to parse \"Int\""),
        (json!({ "i": good }), "`$u` (Int!) is required"),
        // These async-graphql's validation notices as well: the same answer.
        (json!({ "u": urn, "i": unknown_field }), "`$i` has `note`, which is not a field of EnrolInput"),
        (json!({ "u": urn, "i": missing_field }), "`$i.targetLevel` (String!) is required"),
        (json!({ "u": urn, "i": wrong_type }), "`$i.urn` (Int!): Expected input type \"Int\""),
    ] {
        let (status, body) = send(&app, post(Some(&lead), two, variables, JSON)).await;
        let body = plain(&body);
        assert_eq!((status, codes(&body)), (StatusCode::OK, vec!["BAD_USER_INPUT"]), "{body:#}");
        assert!(body.get("data").is_none(), "{body:#}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    assert_eq!(app.count("certification").await, before, "nothing enrolled");
}

#[tokio::test]
async fn scalars_and_defaults_coerce_before_running() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    // Date's own parser, before anything runs rather than as a failed field.
    let progress = "query($d: Date) { partnerships { name progress(asOf: $d) { __typename } } }";
    let (status, body) = send(&app, post(Some(&partner), progress, json!({ "d": "2026-02-30" }), JSON)).await;
    let body = plain(&body);
    assert_eq!((status, codes(&body)), (StatusCode::OK, vec!["BAD_USER_INPUT"]), "{body:#}");
    assert!(body.get("data").is_none() && body["errors"][0].get("path").is_none(), "{body:#}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("`$d`"), "{body:#}");
    app.gql(Some(&partner), progress, json!({ "d": "2026-02-28" })).await.ok();
    app.gql(Some(&partner), progress, json!({})).await.ok();
    // A default fills in a variable not given, for `@skip` too (async-graphql alone reads it as
    // false and keeps the field).
    let skip = "query($s: Boolean = true) { partnerships { name @skip(if: $s) slug } }";
    let data = app.gql(Some(&partner), skip, json!({})).await.ok();
    assert!(data["partnerships"][0].get("name").is_none(), "{data:#}");
    assert!(data["partnerships"][0]["slug"].is_string());
    let data = app.gql(Some(&partner), skip, json!({ "s": false })).await.ok();
    assert!(data["partnerships"][0]["name"].is_string(), "{data:#}");
}

#[tokio::test]
async fn an_argument_that_fails_to_parse_while_running_is_bad_user_input() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    // Passes validation (a whole number) but not Int's 32 bits.
    let answer = app.gql(Some(&partner), "{ school(urn: 99999999999) { name } }", json!({})).await;
    assert_eq!(answer.codes(), vec!["BAD_USER_INPUT"], "{:#}", answer.body);
    assert_eq!(answer.body["errors"][0]["path"], json!(["school"]));
    assert_eq!(answer.body.get("data"), Some(&Value::Null));
}

#[tokio::test]
async fn over_websocket_bad_variables_end_the_operation_with_an_error() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    let mut ws = Client::open(app.listen().await, None).await;
    ws.init(bearer(&partner)).await;
    ws.subscribe("1", "query($u: Int!) { school(urn: $u) { name } }", json!({ "u": 99_999_999_999_i64 }))
        .await;
    assert_eq!(ws.error("1").await, vec!["BAD_USER_INPUT"]);
    let events = "subscription($urn: Int!) { certificationEvents(school: $urn) { to } }";
    ws.subscribe("2", events, json!({})).await;
    assert_eq!(ws.error("2").await, vec!["BAD_USER_INPUT"]);
    ws.nothing_pending().await;
}

/// A variable the request leaves out is as if its argument or input field were not written
/// (the spec's input coercion), not null: an update's optional field then stays as it is.
#[tokio::test]
async fn a_variable_left_out_leaves_its_input_field_out() {
    let app = TestApp::spawn().await;
    let p = tests::fixtures::partnership(&app.db, "quay", "Quay Partnership").await;
    let la = tests::fixtures::local_authority(&app.db, "941", "Quay Council").await;
    let trust = tests::fixtures::trust(&app.db, "7400001", "Quay Learning Trust").await;
    let school = tests::fixtures::school(&app.db, 940001, "Quay Primary", la.id, Some(trust.id)).await;
    tests::fixtures::member(&app.db, p.id, school.id).await;
    let admin = app.token(Role::CityAdmin).partnership("quay").sign();
    let update = "mutation($n: String, $t: ID, $pc: String) { updateSchool(urn: 940001, input: { name: $n, trust: $t, postcode: $pc }) { name postcode trust { groupUid } } }";

    let renamed = app.gql(Some(&admin), update, json!({ "n": "Quay Primary School" })).await.ok();
    assert_eq!(
        renamed["updateSchool"],
        json!({ "name": "Quay Primary School", "postcode": null, "trust": { "groupUid": "7400001" } }),
        "the trust, left out, stays"
    );
    let moved = app.gql(Some(&admin), update, json!({ "pc": "zz9 9zz" })).await.ok();
    assert_eq!(moved["updateSchool"]["postcode"], "ZZ9 9ZZ");
    assert_eq!(moved["updateSchool"]["name"], "Quay Primary School", "the name, left out, stays");
    let cleared = app.gql(Some(&admin), update, json!({ "t": null })).await.ok();
    assert_eq!(
        cleared["updateSchool"],
        json!({ "name": "Quay Primary School", "postcode": "ZZ9 9ZZ", "trust": null }),
        "an explicit null clears"
    );
}
