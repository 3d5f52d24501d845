//! Live updates: graphql-ws over a real socket, authorization at subscribe time, and events
//! that cross instances through PostgreSQL.

use std::{net::SocketAddr, time::Duration};

use api::{auth::Role, events::EventBus};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::TestApp;
use tokio::{net::TcpStream, time::timeout};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{
        client::IntoClientRequest,
        http::HeaderValue,
        protocol::{CloseFrame, Message},
    },
};

/// The longest any step may take; a broken server fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(10);

const EVENTS: &str = "subscription($urn: Int!) { certificationEvents(school: $urn) { from to version at certification { id stage version selfAssessment { total } } school { urn name } } }";
const MOVE: &str = "mutation($id: ID!, $stage: CertificationStage!, $v: Int) { moveTo(certification: $id, stage: $stage, expectedVersion: $v) { stage version } }";

/// A graphql-transport-ws client.
pub(crate) struct Client(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Client {
    /// Upgrades `GET /graphql` on `addr`, with `authorization` as the request's header if given.
    pub(crate) async fn open(addr: SocketAddr, authorization: Option<&str>) -> Self {
        let mut req = format!("ws://{addr}/graphql").into_client_request().expect("a request");
        let headers = req.headers_mut();
        headers.insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        if let Some(value) = authorization {
            headers.insert("authorization", HeaderValue::from_str(value).expect("a header value"));
        }
        let (ws, res) = timeout(WAIT, connect_async(req)).await.expect("upgraded in time").expect("upgraded");
        assert_eq!(res.headers()["sec-websocket-protocol"], "graphql-transport-ws");
        Self(ws)
    }

    /// Sends connection_init with `payload` and expects connection_ack.
    pub(crate) async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload })).await;
        assert_eq!(self.next().await, json!({ "type": "connection_ack" }));
    }

    pub(crate) async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({ "query": query, "variables": variables });
        self.send(json!({ "type": "subscribe", "id": id, "payload": payload })).await;
    }

    pub(crate) async fn send(&mut self, message: Value) {
        timeout(WAIT, self.0.send(Message::Text(message.to_string().into())))
            .await
            .expect("sent in time")
            .expect("sent");
    }

    /// The next protocol message.
    pub(crate) async fn next(&mut self) -> Value {
        loop {
            let frame = timeout(WAIT, self.0.next())
                .await
                .expect("a message in time")
                .expect("the connection is open")
                .expect("a frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON"),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The next message, which must be a `next` of operation `id` without errors: its
    /// certification event.
    pub(crate) async fn event(&mut self, id: &str) -> Value {
        self.data(id).await["certificationEvents"].clone()
    }

    /// The next message, which must be a `next` of operation `id` without errors: its data.
    pub(crate) async fn data(&mut self, id: &str) -> Value {
        let message = self.next().await;
        assert_eq!(
            (message["type"].as_str(), message["id"].as_str()),
            (Some("next"), Some(id)),
            "{message:#}"
        );
        assert!(message["payload"].get("errors").is_none(), "{message:#}");
        message["payload"]["data"].clone()
    }

    /// The next message, which must be an `error` of operation `id`: its codes.
    pub(crate) async fn error(&mut self, id: &str) -> Vec<String> {
        let message = self.next().await;
        assert_eq!(
            (message["type"].as_str(), message["id"].as_str()),
            (Some("error"), Some(id)),
            "{message:#}"
        );
        let errors = message["payload"].as_array().expect("a list of errors");
        errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned()).collect()
    }

    /// Pings and expects the pong as the very next message: nothing else was sent before it.
    pub(crate) async fn nothing_pending(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        assert_eq!(self.next().await, json!({ "type": "pong" }));
    }

    /// The close frame the server ends the connection with.
    pub(crate) async fn closed(&mut self) -> CloseFrame {
        loop {
            let frame = timeout(WAIT, self.0.next()).await.expect("closed in time");
            match frame {
                Some(Ok(Message::Close(Some(close)))) => return close,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

/// Waits until the server holds `n` subscriptions. The server takes its receiver when it starts
/// a subscription, before it checks anything, but the client is not told when that is: this
/// waits for the receiver itself, so a change made afterwards cannot be missed.
async fn subscribed(events: &EventBus, n: usize) {
    timeout(WAIT, async {
        while events.subscribers() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the server holds {} subscriptions, not {n}", events.subscribers()));
}

struct Journey {
    id: Value,
    version: i64,
    urn: i32,
    school: String,
}

/// Demo journeys in `stage`, in URN order.
async fn journeys_in(app: &TestApp, stage: &str) -> Vec<Journey> {
    let admin = app.token(Role::CityAdmin).sign();
    let q = "{ schools(first: 100) { edges { node { urn name certifications { id stage version } } } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let mut out = Vec::new();
    for edge in data["schools"]["edges"].as_array().expect("schools") {
        let school = &edge["node"];
        for j in school["certifications"].as_array().expect("certifications") {
            if j["stage"] == stage {
                out.push(Journey {
                    id: j["id"].clone(),
                    version: j["version"].as_i64().expect("version"),
                    urn: school["urn"].as_i64().expect("urn") as i32,
                    school: school["name"].as_str().expect("name").to_owned(),
                });
            }
        }
    }
    out.sort_by_key(|j| j.urn);
    out
}

/// Moves journey `j` to `stage` (expecting version `v`) through the HTTP endpoint of `app`.
async fn move_to(app: &TestApp, token: &str, j: &Journey, stage: &str, v: i64) {
    let data = app.gql(Some(token), MOVE, json!({ "id": j.id, "stage": stage, "v": v })).await.ok();
    assert_eq!(data["moveTo"], json!({ "stage": stage, "version": v + 1 }));
}

pub(crate) fn bearer(token: &str) -> Value {
    json!({ "Authorization": format!("Bearer {token}") })
}

/// What an event of journey `j` should say, leaving out the time.
fn expected(j: &Journey, from: &str, to: &str, version: i64) -> Value {
    json!({
        "from": from,
        "to": to,
        "version": version,
        "certification": { "id": j.id, "stage": to, "version": version, "selfAssessment": { "total": 15 } },
        "school": { "urn": j.urn, "name": j.school },
    })
}

fn without_time(mut event: Value) -> Value {
    let at = event.as_object_mut().and_then(|e| e.remove("at")).expect("an `at`");
    assert!(chrono::DateTime::parse_from_rfc3339(at.as_str().expect("a string")).is_ok(), "{at}");
    event
}

#[tokio::test]
async fn a_subscriber_hears_each_committed_stage_change_of_its_school() {
    let app = TestApp::with_demo().await;
    let journeys = journeys_in(&app, "SELF_ASSESSING").await;
    let (mine, other) = (&journeys[0], &journeys[1]);
    let lead = app.token(Role::SchoolLead).school(mine.urn).sign();
    let other_lead = app.token(Role::SchoolLead).school(other.urn).sign();
    let mut ws = Client::open(app.listen().await, None).await;
    ws.init(bearer(&lead)).await;
    ws.subscribe("1", EVENTS, json!({ "urn": mine.urn })).await;
    subscribed(&app.events, 1).await;

    // Another school's change is filtered out, and a refused change commits and says nothing:
    // the first message is this school's change.
    move_to(&app, &other_lead, other, "GATHERING_EVIDENCE", other.version).await;
    let stale = json!({ "id": mine.id, "stage": "GATHERING_EVIDENCE", "v": mine.version - 1 });
    app.gql(Some(&lead), MOVE, stale).await.fails_with("CONFLICT");
    let v = mine.version;
    move_to(&app, &lead, mine, "GATHERING_EVIDENCE", v).await;
    // Nested fields resolve through the connection's loaders, with the lead's rights.
    let first = without_time(ws.event("1").await);
    assert_eq!(first, expected(mine, "SELF_ASSESSING", "GATHERING_EVIDENCE", v + 1));
    // Each change once: the next message is the next change, not the first one again.
    move_to(&app, &lead, mine, "SELF_ASSESSING", v + 1).await;
    let second = without_time(ws.event("1").await);
    assert_eq!(second, expected(mine, "GATHERING_EVIDENCE", "SELF_ASSESSING", v + 2));

    // `complete` ends the subscription: the server lets go of it, and later changes reach nobody.
    ws.send(json!({ "type": "complete", "id": "1" })).await;
    assert_eq!(ws.next().await, json!({ "type": "complete", "id": "1" }));
    subscribed(&app.events, 0).await;
    move_to(&app, &lead, mine, "GATHERING_EVIDENCE", v + 2).await;
    ws.nothing_pending().await;
}

#[tokio::test]
async fn subscribing_needs_a_sign_in_and_a_school_the_caller_sees() {
    let app = TestApp::with_demo().await;
    let urn = journeys_in(&app, "SELF_ASSESSING").await[0].urn;
    let addr = app.listen().await;

    // Anonymous connections are allowed; subscriptions that need a sign-in are refused, with an
    // `error` message that ends the operation (no `complete` after it).
    let mut anonymous = Client::open(addr, None).await;
    anonymous.init(json!({})).await;
    anonymous.subscribe("a", EVENTS, json!({ "urn": urn })).await;
    assert_eq!(anonymous.error("a").await, ["UNAUTHENTICATED"]);
    anonymous.nothing_pending().await;

    // A school lead (token in the upgrade request's header this time) asking for a URN it does
    // not see: NOT_FOUND, as a query would answer.
    let lead = app.token(Role::SchoolLead).school(urn).sign();
    let mut ws = Client::open(addr, Some(&format!("Bearer {lead}"))).await;
    ws.init(json!({})).await;
    ws.subscribe("b", EVENTS, json!({ "urn": 123_456 })).await;
    assert_eq!(ws.error("b").await, ["NOT_FOUND"]);
    // A document that does not validate gets the code the HTTP endpoint gives it.
    ws.subscribe("c", "subscription { certificationEvents(school: 1) { salary } }", json!({})).await;
    assert_eq!(ws.error("c").await, ["GRAPHQL_VALIDATION_FAILED"]);
    ws.nothing_pending().await;
    // Refused subscriptions hold nothing on the server.
    assert_eq!(app.events.subscribers(), 0);
}

#[tokio::test]
async fn a_token_that_does_not_verify_refuses_the_connection() {
    let app = TestApp::with_demo().await;
    let addr = app.listen().await;

    let mut ws = Client::open(addr, None).await;
    ws.send(json!({ "type": "connection_init", "payload": bearer("not-a-token") })).await;
    let close = ws.closed().await;
    assert_eq!(u16::from(close.code), 1002);
    assert!(close.reason.as_str().contains("token is not valid"), "{close:?}");

    // The same token in the upgrade request's header, with nothing in the payload.
    let mut ws = Client::open(addr, Some("Bearer not-a-token")).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(u16::from(ws.closed().await.code), 1002);

    // A payload token wins over the header's.
    let admin = app.token(Role::CityAdmin).sign();
    let mut ws = Client::open(addr, Some("Bearer not-a-token")).await;
    ws.init(json!({ "authorization": format!("Bearer {admin}") })).await;

    // A browser's GET still gets the query editor, which subscribes on the same path.
    let get = Request::get("/graphql").header("accept", "text/html").body(Body::empty());
    let page = app.send(get.expect("a request")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.as_str().unwrap_or_default().contains(r#"<script src="/ide.js" defer></script>"#));
}

#[tokio::test]
#[cfg_attr(not(postgres), ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
async fn a_change_on_one_instance_reaches_the_subscribers_of_every_instance() {
    let a = TestApp::with_demo().await;
    assert!(a.is_postgres(), "built for PostgreSQL but running on SQLite");
    let b = a.second_instance().await;
    for app in [&a, &b] {
        timeout(WAIT, app.events.ready()).await.expect("LISTENing in time");
    }
    let j = &journeys_in(&a, "SELF_ASSESSING").await[0];
    let lead = a.token(Role::SchoolLead).school(j.urn).sign();
    let mut on_a = Client::open(a.listen().await, None).await;
    let mut on_b = Client::open(b.listen().await, None).await;
    for (ws, app) in [(&mut on_a, &a), (&mut on_b, &b)] {
        ws.init(bearer(&lead)).await;
        ws.subscribe("1", EVENTS, json!({ "urn": j.urn })).await;
        subscribed(&app.events, 1).await;
    }

    // Two changes on instance A: each subscriber hears each once (the publisher's own too,
    // through PostgreSQL): the second message is the second change, not the first again.
    let v = j.version;
    move_to(&a, &lead, j, "GATHERING_EVIDENCE", v).await;
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(
            without_time(ws.event("1").await),
            expected(j, "SELF_ASSESSING", "GATHERING_EVIDENCE", v + 1)
        );
    }
    move_to(&a, &lead, j, "SELF_ASSESSING", v + 1).await;
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(
            without_time(ws.event("1").await),
            expected(j, "GATHERING_EVIDENCE", "SELF_ASSESSING", v + 2)
        );
        ws.nothing_pending().await;
    }
}

const PROGRESS: &str = "subscription($p: ID!) { progressChanged(partnership: $p) { totalSchools certified byStage { stage count } } }";

fn count(progress: &Value, stage: &str) -> i64 {
    let stages = progress["byStage"].as_array().expect("byStage");
    stages.iter().find(|s| s["stage"] == stage).and_then(|s| s["count"].as_i64()).expect("a count")
}

#[tokio::test]
async fn a_dashboard_hears_the_partnerships_progress_after_each_change() {
    let app = TestApp::with_demo().await;
    let j = &journeys_in(&app, "SELF_ASSESSING").await[0];
    let lead = app.token(Role::SchoolLead).school(j.urn).sign();
    let partner = app.token(Role::Partner).sign();
    let q = "{ partnershipBySlug(slug: \"demo-city\") { id progress { totalSchools certified byStage { stage count } } } }";
    let now = app.gql(Some(&partner), q, json!({})).await.ok()["partnershipBySlug"].clone();

    let mut ws = Client::open(app.listen().await, None).await;
    ws.init(bearer(&partner)).await;
    ws.subscribe("p", PROGRESS, json!({ "p": now["id"] })).await;
    subscribed(&app.events, 1).await;
    move_to(&app, &lead, j, "GATHERING_EVIDENCE", j.version).await;
    let after = ws.data("p").await["progressChanged"].clone();
    let before = &now["progress"];
    assert_eq!(after["totalSchools"], 61);
    assert_eq!(after["certified"], before["certified"]);
    assert_eq!(count(&after, "SELF_ASSESSING"), count(before, "SELF_ASSESSING") - 1);
    assert_eq!(count(&after, "GATHERING_EVIDENCE"), count(before, "GATHERING_EVIDENCE") + 1);
    ws.nothing_pending().await;

    // Authorization at subscribe time: a partnership the caller does not see, and no sign-in.
    let unknown = api::ids::global_id("Partnership", uuid::Uuid::new_v4());
    ws.subscribe("q", PROGRESS, json!({ "p": unknown })).await;
    assert_eq!(ws.error("q").await, ["NOT_FOUND"]);
    let mut anonymous = Client::open(app.listen().await, None).await;
    anonymous.init(json!({})).await;
    anonymous.subscribe("p", PROGRESS, json!({ "p": now["id"] })).await;
    assert_eq!(anonymous.error("p").await, ["UNAUTHENTICATED"]);
}
