//! Execution cost no request can escape, and body limits (issue 10): fragment chains, cycles,
//! alias floods and costly lists are refused with QUERY_TOO_COSTLY before anything runs, large
//! bodies with 413, on POST and over WebSockets, and README's queries still answer.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use api::{
    AppState,
    auth::Role,
    cli::Command,
    cost::{Cost, Limits},
};
use axum::{
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use clap::Parser;
use serde_json::{Value, json};
use tests::{Answer, TestApp};

use crate::subscriptions::Client;

const README: &str = include_str!("../../README.md");

/// A guard, not a timing: a request that hangs fails the test instead of the run.
const GUARD: Duration = Duration::from_secs(10);

/// `levels` fragments, each spreading the next twice, then one holding `__typename`: the
/// operation expands to 2^levels fields.
pub(crate) fn chain(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }\n");
    for i in 0..levels {
        query += &format!("fragment F{i} on Query {{ ...F{next} ...F{next} }}\n", next = i + 1);
    }
    query + &format!("fragment F{levels} on Query {{ __typename }}\n")
}

/// `n` aliases of `field`, side by side.
pub(crate) fn aliases(n: usize, field: &str) -> String {
    (0..n).map(|i| format!("a{i}: {field} ")).collect()
}

/// Asserts a refusal before anything ran: HTTP 400, one QUERY_TOO_COSTLY error naming `limit`,
/// no data.
fn refused(answer: &Answer, limit: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
    assert_eq!(answer.codes(), vec!["QUERY_TOO_COSTLY"], "{:#}", answer.body);
    assert!(answer.body["data"].is_null(), "no data: {:#}", answer.body);
    let message = answer.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(limit), "the message names {limit}: {message}");
}

async fn gql(app: &TestApp, token: Option<&str>, query: &str) -> Answer {
    tokio::time::timeout(GUARD, app.gql(token, query, json!({}))).await.expect("answered, not hung")
}

#[tokio::test]
async fn a_fragment_chain_of_two_to_the_thirty_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let query = chain(30);
    assert!(query.len() < 1500, "the issue's 1.2 KB request: {} bytes", query.len());
    let answer = gql(&app, None, &query).await;
    refused(&answer, "MAX_FIELDS");
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("5000"), "{message}");
    assert_eq!(gql(&app, None, "{ __typename }").await.ok()["__typename"], "Query", "and answers after");
}

#[tokio::test]
async fn a_fragment_chain_is_refused_over_a_websocket_too() {
    let app = TestApp::spawn().await;
    let addr = app.listen().await;
    let mut client = Client::open(addr, None).await;
    client.init(json!({})).await;
    client.subscribe("1", &chain(30), json!({})).await;
    assert_eq!(client.error("1").await, vec!["QUERY_TOO_COSTLY"]);
    client.subscribe("2", "{ __typename }", json!({})).await;
    assert_eq!(client.data("2").await["__typename"], "Query");
}

#[tokio::test]
async fn fragment_cycles_are_refused_used_or_not() {
    let app = TestApp::spawn().await;
    let used = "{ ...A } fragment A on Query { ...B } fragment B on Query { partnerships { ...A } }";
    refused(&gql(&app, None, used).await, "spreads itself");
    let unused = "{ __typename } fragment A on Query { __typename ...B } fragment B on Query { ...A }";
    refused(&gql(&app, None, unused).await, "spreads itself");
    gql(&app, None, "{ __typename }").await.ok();
}

#[tokio::test]
async fn alias_floods_are_refused() {
    let app = TestApp::spawn().await;
    // The issue's 3.9 MB query: within the body limit, over the query's.
    let flood = format!("{{ {} }}", aliases(200_000, "__typename"));
    assert!(flood.len() > 3_000_000);
    refused(&gql(&app, None, &flood).await, "MAX_QUERY_BYTES");
    refused(&gql(&app, None, &format!("{{ {} }}", aliases(101, "__typename"))).await, "MAX_ALIASES");
    let hundred = gql(&app, None, &format!("{{ {} }}", aliases(100, "__typename"))).await.ok();
    assert_eq!(hundred["a99"], "Query");
    // Without aliases, every field counts toward MAX_FIELDS.
    let wide = format!("{{ {} }}", "__typename ".repeat(5_001));
    refused(&gql(&app, None, &wide).await, "MAX_FIELDS");
}

#[tokio::test]
async fn costly_lists_are_refused_for_a_signed_in_partner() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::Partner).sign();
    let partnership = |fields: String| format!("{{ partnershipBySlug(slug: \"demo-city\") {{ {fields} }} }}");
    let point =
        "timeline(interval: WEEK) { date certified byCohort { cohort { name } certified totalSchools } }";
    // The issue's request: 1,000 aliases in 128 KB.
    let issue = partnership(aliases(1_000, point));
    assert!(issue.len() > 100_000);
    refused(&gql(&app, Some(&token), &issue).await, "MAX_QUERY_BYTES");
    // The same aliases written short enough: refused for their number.
    let short = partnership(aliases(1_000, "timeline(interval: WEEK) { date }"));
    assert!(short.len() < 64 * 1024);
    refused(&gql(&app, Some(&token), &short).await, "MAX_ALIASES");
    // Within MAX_ALIASES, but 30 x 520 points of what the dashboard draws once.
    let answer = gql(&app, Some(&token), &partnership(aliases(30, point))).await;
    refused(&answer, "MAX_COST");
    // Pages multiply what they hold, up to 100 items, `first` read from variables too.
    let nested = "query($n: Int) { trusts(first: $n) { nodes { schools(first: $n) { nodes { urn
        trust { schools(first: $n) { nodes { urn name } } } } } } } }";
    let answer =
        tokio::time::timeout(GUARD, app.gql(Some(&token), nested, json!({ "n": 100 }))).await.unwrap();
    refused(&answer, "MAX_COST");
    let answer =
        tokio::time::timeout(GUARD, app.gql(Some(&token), nested, json!({ "n": 10 }))).await.unwrap();
    assert_eq!(answer.ok()["trusts"]["nodes"].as_array().map(Vec::len), Some(10));
    // A timeline, as the dashboard asks for it, answers.
    let one = gql(&app, Some(&token), &partnership(aliases(1, point))).await.ok();
    assert!(!one["partnershipBySlug"]["a0"].as_array().unwrap().is_empty());
}

/// 20 MB of body in 1 MB chunks with no Content-Length (as chunked transfer sends it),
/// counting the chunks the server pulls.
fn chunked_body(pulled: Arc<AtomicUsize>) -> Body {
    let chunks = (0..20).map(move |_| {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 1 << 20]))
    });
    Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn large_bodies_are_refused_with_413_on_every_route() {
    let app = TestApp::spawn().await;
    const TWENTY_MB: usize = 20 * 1024 * 1024;
    let declared = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("content-length", TWENTY_MB)
        .body(Body::from(vec![b' '; TWENTY_MB]))
        .unwrap();
    let answer = tokio::time::timeout(GUARD, app.send(declared)).await.unwrap();
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);

    let pulled = Arc::new(AtomicUsize::new(0));
    let chunked = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(chunked_body(pulled.clone()))
        .unwrap();
    let answer = tokio::time::timeout(GUARD, app.send(chunked)).await.unwrap();
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{:#}", answer.body);
    assert_eq!(answer.codes(), vec!["BAD_REQUEST"]);
    let pulled = pulled.load(Ordering::SeqCst);
    assert!(pulled <= 9, "cut off past 8 MiB, not read whole: {pulled} MB read");

    for uri in ["/health/live", "/reports/schools.csv?partnership=demo-city", "/nowhere"] {
        let req = Request::get(uri).header("content-length", TWENTY_MB).body(Body::empty()).unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
    }
    gql(&app, None, "{ __typename }").await.ok();
}

/// The first ```graphql block after `marker` in README.
fn readme_query(marker: &str) -> &'static str {
    let after = &README[README.find(marker).unwrap_or_else(|| panic!("README has {marker:?}"))..];
    let start = after.find("```graphql\n").expect("a graphql block") + "```graphql\n".len();
    &after[start..start + after[start..].find("```").expect("the block ends")]
}

fn measured(query: &str, variables: &Value) -> Cost {
    let doc = async_graphql::parser::parse_query(query).expect("parses");
    Cost::measure(&doc, None, &async_graphql::Variables::from_json(variables.clone())).expect("measures")
}

#[tokio::test]
async fn readme_queries_stay_within_the_limits() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::Partner).sign();
    let id = gql(&app, Some(&token), "{ partnershipBySlug(slug: \"demo-city\") { id } }").await.ok()
        ["partnershipBySlug"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dashboard = readme_query("One query draws a partner's dashboard").replace("<partnership id>", &id);
    let frontend = readme_query("A partner frontend");
    let reporting = readme_query("The local authority's reporting tool");
    let limits = Limits::default();
    for (what, query) in
        [("dashboard", dashboard.as_str()), ("partner frontend", frontend), ("reporting tool", reporting)]
    {
        let cost = measured(query, &json!({}));
        eprintln!("README {what}: {cost:?}");
        assert!(limits.allow(&cost).is_ok(), "{what}: {cost:?}");
        let answer = tokio::time::timeout(GUARD, app.gql(Some(&token), query, json!({}))).await.unwrap();
        assert!(answer.body.get("errors").is_none(), "{what}: {:#}", answer.body);
        assert_eq!(answer.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_limits_are_settings() {
    let serve = |args: &[&str]| match api::cli::Cli::try_parse_from(args).map(|cli| cli.command) {
        Ok(Some(Command::Serve(serve))) => Ok(serve),
        Ok(_) => panic!("not serve: {args:?}"),
        Err(e) => Err(e),
    };
    let set = serve(&[
        "partnership-api",
        "serve",
        "--max-query-bytes",
        "1000",
        "--max-fields",
        "10",
        "--max-aliases",
        "2",
        "--max-cost",
        "50",
        "--max-body-bytes",
        "2000",
    ])
    .expect("parses")
    .limits();
    assert_eq!(
        set,
        Limits {
            max_query_bytes: 1000,
            max_fields: 10,
            max_aliases: 2,
            max_cost: 50,
            max_body_bytes: 2000,
            request_timeout_secs: 30,
            ..Limits::default()
        }
    );
    assert_eq!(serve(&["partnership-api", "serve"]).expect("parses").limits(), Limits::default());
    assert!(serve(&["partnership-api", "serve", "--max-cost", "0"]).is_err(), "a limit of 0 is refused");

    let app = TestApp::spawn().await;
    let router = api::router(AppState::new(app.db.clone(), app.jwt.clone()).with_limits(set));
    let post = |query: String| {
        let router = router.clone();
        async move { tests::post(router, None, &query, json!({})).await }
    };
    refused(&post(format!("{{ {} }}", "__typename ".repeat(11))).await, "MAX_FIELDS");
    refused(&post(format!("{{ {} }}", aliases(3, "__typename"))).await, "MAX_ALIASES");
    refused(&post("{ schools(first: 100) { totalCount } }".into()).await, "MAX_COST");
    refused(&post(format!("{{ __typename }} # {}", "x".repeat(1000))).await, "MAX_QUERY_BYTES");
    let padded = json!({ "pad": "x".repeat(2000) });
    let answer = tests::post(router.clone(), None, "{ __typename }", padded).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "the body limit is the setting's");
    assert_eq!(post("{ partnerships { name } }".into()).await.ok()["partnerships"], json!([]));
}
