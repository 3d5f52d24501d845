//! Rate limits, on a real server (`serve_until` on a local port, so requests carry their peer
//! address): per client address on every route but the probes, per signed-in caller on GraphQL
//! and the reports; past either, 429 with `Retry-After` and RATE_LIMITED, and nothing written.

use std::{net::SocketAddr, time::Duration};

use api::{
    AppState,
    auth::{Role, TokenRequest},
    http::RateLimits,
    seed,
    serve::{Options, serve_until},
};
use serde_json::Value;
use tests::TestApp;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
    time::timeout,
};

const TYPENAME: &str = "/graphql?query=%7B__typename%7D";

/// A server for `app`'s database with these limits, on a free local port; it stops when the
/// returned sender is dropped (with the test).
pub(crate) async fn serve(
    app: &TestApp,
    limits: RateLimits,
    options: Options,
) -> (SocketAddr, oneshot::Sender<()>) {
    let state = AppState::new(app.db.clone(), app.jwt.clone()).with_rate_limits(limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve_until(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        options,
    ));
    (addr, stop)
}

/// An HTTP answer read off the wire.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn codes(&self) -> Vec<&str> {
        let errors = self.body["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
        errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>")).collect()
    }

    /// Asserts a 429 with RATE_LIMITED, and a `Retry-After` of 1 to 60 seconds (a limit is per
    /// minute, so no wait is longer); returns that wait.
    fn throttled(&self) -> u64 {
        assert_eq!(self.status, 429, "{self:?}");
        assert_eq!(self.codes(), ["RATE_LIMITED"], "{self:?}");
        let retry_after: u64 =
            self.header("retry-after").expect("a Retry-After header").parse().expect("seconds");
        assert!((1..=60).contains(&retry_after), "{self:?}");
        retry_after
    }

    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{self:?}");
        assert!(self.body.get("errors").is_none(), "{self:?}");
        &self.body["data"]
    }
}

/// One HTTP/1.1 request on a connection of its own; a JSON `body` is POSTed.
pub(crate) async fn call(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let method = if body.is_some() { "POST" } else { "GET" };
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    if method == "POST" {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    tcp.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    timeout(Duration::from_secs(30), tcp.read_to_end(&mut raw))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked =
        headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let rest = if chunked { dechunk(rest) } else { rest.to_owned() };
    let body = serde_json::from_str(&rest).unwrap_or(Value::String(rest));
    Reply { status, headers, body }
}

/// A chunked body, put back together.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

fn token(app: &TestApp, subject: &str) -> String {
    let mut req = TokenRequest::new(Role::CityAdmin);
    req.sub = subject.to_owned();
    req.partnership = Some(seed::DEMO_SLUG.to_owned());
    app.jwt.sign(req, chrono::Duration::hours(1)).expect("sign")
}

fn gql(query: &str) -> Value {
    serde_json::json!({ "query": query })
}

#[tokio::test]
async fn past_the_address_limit_requests_get_429_with_retry_after_but_probes_still_answer() {
    let app = TestApp::spawn().await;
    let (addr, _stop) = serve(&app, RateLimits::new(3, 0, false), Options::default()).await;

    for _ in 0..3 {
        assert_eq!(call(addr, TYPENAME, &[], None).await.ok()["__typename"], "Query");
    }
    let refused = call(addr, TYPENAME, &[], None).await;
    refused.throttled();
    // The request id and a JSON media type come with the refusal too.
    assert!(refused.header("x-request-id").is_some(), "{refused:?}");
    assert!(refused.header("content-type").is_some_and(|t| t.contains("json")), "{refused:?}");
    // Every route is counted, not only /graphql: unknown paths too.
    call(addr, "/reports/schools.csv", &[], None).await.throttled();
    call(addr, "/no-such-page", &[], None).await.throttled();

    // Probes and scrapes are never throttled, however many come.
    for path in ["/health/ready", "/health/live", "/health", "/health/ready", "/health/ready"] {
        let probe = call(addr, path, &[], None).await;
        assert_eq!((probe.status, probe.body.as_str()), (200, Some("ok")), "{path}: {probe:?}");
    }
    let metrics = call(addr, "/metrics", &[], None).await;
    assert_eq!(metrics.status, 200);
    let text = metrics.body.as_str().expect("text");
    assert!(text.contains("http_rate_limited_total{limit=\"address\"}"), "{text}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_forwarded_address_is_counted() {
    let app = TestApp::spawn().await;
    let (addr, _stop) = serve(&app, RateLimits::new(2, 0, true), Options::default()).await;
    let from = |xff: &'static str| [("X-Forwarded-For", xff)];

    for _ in 0..2 {
        call(addr, TYPENAME, &from("203.0.113.5, 198.51.100.1"), None).await.ok();
    }
    // A client cannot escape by writing its own entries: only the proxy's (right-most) counts.
    call(addr, TYPENAME, &from("10.0.0.99, 198.51.100.1"), None).await.throttled();
    call(addr, TYPENAME, &from("198.51.100.1"), None).await.throttled();
    // Another client behind the same proxy has its own allowance.
    call(addr, TYPENAME, &from("203.0.113.5, 198.51.100.2"), None).await.ok();
}

#[tokio::test]
async fn without_trust_the_forwarded_header_is_ignored() {
    let app = TestApp::spawn().await;
    let (addr, _stop) = serve(&app, RateLimits::new(2, 0, false), Options::default()).await;
    call(addr, TYPENAME, &[("X-Forwarded-For", "198.51.100.1")], None).await.ok();
    call(addr, TYPENAME, &[("X-Forwarded-For", "198.51.100.2")], None).await.ok();
    // Still the same TCP peer, whatever the header claims.
    call(addr, TYPENAME, &[("X-Forwarded-For", "198.51.100.3")], None).await.throttled();
}

#[tokio::test]
async fn one_callers_spent_allowance_does_not_throttle_another_caller() {
    let app = TestApp::with_demo().await;
    let (addr, _stop) = serve(&app, RateLimits::new(1_000, 2, false), Options::default()).await;
    let (alice, bob) = (token(&app, "alice"), token(&app, "bob"));
    let as_alice = format!("Bearer {alice}");
    let as_bob = format!("Bearer {bob}");
    let me = gql("{ me { subject } }");

    for _ in 0..2 {
        call(addr, "/graphql", &[("Authorization", &as_alice)], Some(&me)).await.ok();
    }
    let refused = call(addr, "/graphql", &[("Authorization", &as_alice)], Some(&me)).await;
    refused.throttled();
    // The same caller is refused on the reports too (a 429 before any CSV byte).
    let path = format!("/reports/schools.csv?partnership={}", seed::DEMO_SLUG);
    call(addr, &path, &[("Authorization", &as_alice)], None).await.throttled();

    // Same address, own allowance: Bob and anonymous callers are served.
    assert_eq!(
        call(addr, "/graphql", &[("Authorization", &as_bob)], Some(&me)).await.ok()["me"]["subject"],
        "bob"
    );
    let csv = call(addr, &path, &[("Authorization", &as_bob)], None).await;
    assert_eq!(csv.status, 200, "{csv:?}");
    assert!(csv.header("content-type").is_some_and(|t| t.starts_with("text/csv")), "{csv:?}");
    for _ in 0..3 {
        call(addr, "/graphql", &[], Some(&gql("{ __typename }"))).await.ok();
    }
    // A token that does not verify spends nobody's allowance: it is refused as such.
    let forged = call(addr, "/graphql", &[("Authorization", "Bearer not-a-token")], Some(&me)).await;
    assert_eq!(forged.codes(), ["UNAUTHENTICATED"], "{forged:?}");
}

#[tokio::test]
async fn a_throttled_mutation_writes_nothing() {
    let app = TestApp::with_demo().await;
    let (addr, _stop) = serve(&app, RateLimits::new(1_000, 1, false), Options::default()).await;
    let create = gql(
        "mutation { createCohort(input: { name: \"Cohort Throttled\", ordinal: 9, startsOn: \"2026-09-01\", targetOn: \"2027-07-15\" }) { id } }",
    );
    let as_carol = format!("Bearer {}", token(&app, "carol"));
    call(addr, "/graphql", &[("Authorization", &as_carol)], Some(&gql("{ __typename }"))).await.ok();
    let before = app.count("cohort").await;

    call(addr, "/graphql", &[("Authorization", &as_carol)], Some(&create)).await.throttled();
    assert_eq!(app.count("cohort").await, before, "a throttled mutation wrote a cohort");

    // The very same mutation from a caller with allowance left does write: the refusal above
    // was the limit, not a mutation that could not have worked.
    let as_dave = format!("Bearer {}", token(&app, "dave"));
    call(addr, "/graphql", &[("Authorization", &as_dave)], Some(&create)).await.ok();
    assert_eq!(app.count("cohort").await, before + 1);
}

#[tokio::test]
async fn operations_over_a_websocket_spend_the_callers_allowance() {
    let app = TestApp::with_demo().await;
    let (addr, _stop) = serve(&app, RateLimits::new(1_000, 2, false), Options::default()).await;
    let alice = format!("Bearer {}", token(&app, "alice"));
    let me = "{ me { subject } }";
    let mut ws = crate::subscriptions::Client::open(addr, None).await;
    ws.init(serde_json::json!({ "Authorization": alice })).await;
    for id in ["1", "2"] {
        ws.subscribe(id, me, serde_json::json!({})).await;
        assert_eq!(ws.data(id).await["me"]["subject"], "alice");
        assert_eq!(ws.next().await, serde_json::json!({ "type": "complete", "id": id }));
    }
    ws.subscribe("3", me, serde_json::json!({})).await;
    let refused = ws.next().await;
    assert_eq!((refused["type"].as_str(), refused["id"].as_str()), (Some("error"), Some("3")), "{refused}");
    let extensions = &refused["payload"][0]["extensions"];
    assert_eq!(extensions["code"], "RATE_LIMITED", "{refused}");
    assert!(extensions["retryAfter"].as_u64().is_some_and(|s| (1..=60).contains(&s)), "{refused}");
    // One allowance, whichever way the caller comes: POST is refused too.
    call(addr, "/graphql", &[("Authorization", &alice)], Some(&gql(me))).await.throttled();
}
