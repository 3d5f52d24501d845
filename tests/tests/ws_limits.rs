//! WebSocket limits (issue 10): a socket must send connection_init in time (4408), one
//! connection runs at most WS_MAX_OPERATIONS operations at once (TOO_MANY_OPERATIONS), and the
//! server holds at most MAX_WEBSOCKETS connections (503 with Retry-After before upgrading).

use std::{net::SocketAddr, time::Duration};

use api::{AppState, auth::Role, cli::Command, cost::Limits};
use clap::Parser;
use futures::StreamExt;
use serde_json::{Value, json};
use tests::TestApp;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{self, client::IntoClientRequest, http::HeaderValue, protocol::Message},
};

use crate::subscriptions::{Client, bearer};

/// The longest any step may take; a broken server fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(10);

const EVENTS: &str = "subscription($urn: Int!) { certificationEvents(school: $urn) { to version } }";
const MOVE: &str = "mutation($id: ID!, $stage: CertificationStage!, $v: Int) { moveTo(certification: $id, stage: $stage, expectedVersion: $v) { stage version } }";

/// Serves `app`'s database with these limits on a local port; the state, to watch its event bus
/// and its count of open sockets.
async fn served(app: &TestApp, limits: Limits) -> (SocketAddr, AppState) {
    let state = AppState::new(app.db.clone(), app.jwt.clone()).with_limits(limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    let router = api::router(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("test server stopped: {e}");
        }
    });
    (addr, state)
}

/// Waits (up to WAIT) until `what` of `state` reads `n`.
async fn until(state: &AppState, what: fn(&AppState) -> usize, n: usize) {
    timeout(WAIT, async {
        while what(state) != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("still {} after {WAIT:?}, not {n}", what(state)));
}

fn subscribers(state: &AppState) -> usize {
    state.events.subscribers()
}

fn open_sockets(state: &AppState) -> usize {
    state.sockets.count()
}

#[tokio::test]
async fn a_socket_without_connection_init_is_closed_with_4408_and_one_with_it_stays() {
    let app = TestApp::spawn().await;
    let init = Duration::from_millis(250);
    let (addr, state) = served(&app, Limits { ws_init_timeout: init, ..Limits::default() }).await;

    let opened = Instant::now();
    let mut silent = Client::open(addr, None).await;
    let mut legacy_silent = legacy(addr).await;
    let mut prompt = Client::open(addr, None).await;
    prompt.init(json!({})).await;

    let frame = silent.closed().await;
    assert_eq!(u16::from(frame.code), 4408, "{frame:?}");
    assert_eq!(frame.reason.as_str(), "Connection initialisation timeout");
    assert!(opened.elapsed() >= init, "not closed before the timeout");
    // The older graphql-ws protocol is closed the same way.
    let frame = timeout(WAIT, async {
        loop {
            match legacy_silent.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return frame,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(u16::from(frame.code), 4408, "{frame:?}");
    // Closed sockets give their places back; the prompt one keeps its own.
    until(&state, open_sockets, 1).await;

    // Well past the timeout, the connection that sent connection_init still works.
    tokio::time::sleep(init * 2).await;
    prompt.subscribe("1", "{ __typename }", json!({})).await;
    assert_eq!(prompt.data("1").await, json!({ "__typename": "Query" }));
    assert_eq!(prompt.next().await, json!({ "type": "complete", "id": "1" }));
    prompt.nothing_pending().await;
}

#[tokio::test]
async fn operations_past_the_limit_are_refused_while_the_others_keep_running() {
    let app = TestApp::with_demo().await;
    let (addr, state) = served(&app, Limits { ws_max_operations: 2, ..Limits::default() }).await;
    let (id, urn, v) = self_assessing(&app).await;
    let lead = app.token(Role::SchoolLead).school(urn).sign();
    let mut ws = Client::open(addr, None).await;
    ws.init(bearer(&lead)).await;
    ws.subscribe("1", EVENTS, json!({ "urn": urn })).await;
    ws.subscribe("2", EVENTS, json!({ "urn": urn })).await;
    until(&state, subscribers, 2).await;

    // The third operation, a subscription or a query alike, is refused with its own `error`
    // message; the connection stays open.
    ws.subscribe("3", EVENTS, json!({ "urn": urn })).await;
    assert_eq!(ws.error("3").await, ["TOO_MANY_OPERATIONS"]);
    ws.subscribe("4", "{ __typename }", json!({})).await;
    assert_eq!(ws.error("4").await, ["TOO_MANY_OPERATIONS"]);
    ws.nothing_pending().await;
    assert_eq!(subscribers(&state), 2, "refused operations hold nothing");

    // The first two still hear each change.
    move_to(&state, &lead, &id, "GATHERING_EVIDENCE", v).await;
    assert_eq!(events(&mut ws).await, [("1".to_owned(), v + 1), ("2".to_owned(), v + 1)]);

    // Completing one frees its place: a new subscription runs and hears the next change.
    ws.send(json!({ "type": "complete", "id": "1" })).await;
    assert_eq!(ws.next().await, json!({ "type": "complete", "id": "1" }));
    ws.subscribe("5", EVENTS, json!({ "urn": urn })).await;
    until(&state, subscribers, 2).await;
    move_to(&state, &lead, &id, "SELF_ASSESSING", v + 1).await;
    assert_eq!(events(&mut ws).await, [("2".to_owned(), v + 2), ("5".to_owned(), v + 2)]);
    ws.nothing_pending().await;
}

#[tokio::test]
async fn upgrades_past_max_websockets_get_503_with_retry_after_and_http_still_answers() {
    let app = TestApp::spawn().await;
    let (addr, state) = served(&app, Limits { max_websockets: 2, ..Limits::default() }).await;
    let first = Client::open(addr, None).await;
    let mut second = Client::open(addr, None).await;
    second.init(json!({})).await;

    let refused = match connect_async(request(addr, "graphql-transport-ws")).await {
        Err(tungstenite::Error::Http(res)) => res,
        other => panic!("expected an HTTP refusal, got {other:?}"),
    };
    assert_eq!(refused.status(), 503);
    let retry = refused.headers().get("retry-after").expect("a Retry-After header");
    assert!(retry.to_str().unwrap().parse::<u32>().is_ok_and(|s| s > 0), "{retry:?}");
    assert_eq!(open_sockets(&state), 2, "a refused upgrade holds no place");

    // Plain HTTP on the same server is not affected.
    let answer = raw_post(addr, r#"{"query":"{ __typename }"}"#).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"data":{"__typename":"Query"}}"#), "{answer}");
    second.nothing_pending().await;

    // Once one closes, a new connection is accepted.
    drop(first);
    until(&state, open_sockets, 1).await;
    let mut third = Client::open(addr, None).await;
    third.init(json!({})).await;
}

#[test]
fn the_websocket_limits_are_settings() {
    let limits = |args: &[&str]| {
        let all = [&["partnership-api", "serve"][..], args].concat();
        match api::cli::Cli::try_parse_from(all).map(|cli| cli.command) {
            Ok(Some(Command::Serve(serve))) => Ok(serve.limits()),
            Ok(_) => panic!("not serve: {args:?}"),
            Err(e) => Err(e),
        }
    };
    let set = limits(&["--ws-init-timeout-secs", "2", "--ws-max-operations", "7", "--max-websockets", "9"])
        .expect("parses");
    assert_eq!(set.ws_init_timeout, Duration::from_secs(2));
    assert_eq!((set.ws_max_operations, set.max_websockets), (7, 9));
    let default = limits(&[]).expect("parses");
    assert_eq!(default.ws_init_timeout, Duration::from_secs(5));
    assert_eq!((default.ws_max_operations, default.max_websockets), (50, 1_000));
    for zero in ["--ws-init-timeout-secs", "--ws-max-operations", "--max-websockets"] {
        assert!(limits(&[zero, "0"]).is_err(), "{zero} 0 is refused");
    }
}

/// An upgrade request for `GET /graphql` asking for `protocol`.
fn request(addr: SocketAddr, protocol: &'static str) -> tungstenite::handshake::client::Request {
    let mut req = format!("ws://{addr}/graphql").into_client_request().expect("a request");
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    req
}

/// A connection speaking the older graphql-ws protocol (subscriptions-transport-ws).
async fn legacy(
    addr: SocketAddr,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (ws, res) = timeout(WAIT, connect_async(request(addr, "graphql-ws")))
        .await
        .expect("upgraded in time")
        .expect("upgraded");
    assert_eq!(res.headers()["sec-websocket-protocol"], "graphql-ws");
    ws
}

/// A demo journey in SELF_ASSESSING: its id, its school's URN and its version.
async fn self_assessing(app: &TestApp) -> (Value, i32, i64) {
    let admin = app.token(Role::CityAdmin).sign();
    let q = "{ schools(first: 100) { edges { node { urn certifications { id stage version } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let schools = data["schools"]["edges"].as_array().expect("schools");
    schools
        .iter()
        .flat_map(|edge| {
            let urn = edge["node"]["urn"].as_i64().expect("urn") as i32;
            let journeys = edge["node"]["certifications"].as_array().expect("certifications").clone();
            journeys.into_iter().map(move |j| (j, urn))
        })
        .find(|(j, _)| j["stage"] == "SELF_ASSESSING")
        .map(|(j, urn)| (j["id"].clone(), urn, j["version"].as_i64().expect("version")))
        .expect("a demo journey in SELF_ASSESSING")
}

/// Moves journey `id` to `stage` from version `v` through `state`'s own router, whose event bus
/// its sockets hear.
async fn move_to(state: &AppState, token: &str, id: &Value, stage: &str, v: i64) {
    let router = api::router(state.clone());
    let vars = json!({ "id": id, "stage": stage, "v": v });
    let data = tests::post(router, Some(token), MOVE, vars).await.ok();
    assert_eq!(data["moveTo"], json!({ "stage": stage, "version": v + 1 }));
}

/// The next two messages, which must be events: each one's operation id and version, by id.
async fn events(ws: &mut Client) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for _ in 0..2 {
        let message = ws.next().await;
        assert_eq!(message["type"], "next", "{message:#}");
        let event = &message["payload"]["data"]["certificationEvents"];
        let id = message["id"].as_str().expect("an id").to_owned();
        out.push((id, event["version"].as_i64().expect("a version")));
    }
    out.sort();
    out
}

/// A bare HTTP/1.1 POST of `body` to /graphql over TCP: the status line and the rest, as text.
async fn raw_post(addr: SocketAddr, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(format!("{head}{body}").as_bytes()).await.expect("send");
    let mut out = String::new();
    timeout(WAIT, tcp.read_to_string(&mut out)).await.expect("answered in time").expect("read");
    out
}
