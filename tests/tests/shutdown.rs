//! Stopping: on the shutdown signal the server stops accepting, closes open WebSockets with
//! "going away" (1001) and returns once in-flight work is done; and the health endpoints.

use std::time::Duration;

use api::{AppState, serve::serve_until};
use axum::{body::Body, http::Request};
use serde_json::json;
use tests::TestApp;
use tokio::time::timeout;

use crate::subscriptions::Client;

#[tokio::test]
async fn the_shutdown_signal_closes_websockets_as_going_away_and_the_server_returns() {
    let app = TestApp::spawn().await;
    let state = AppState::new(app.db.clone(), app.jwt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_until(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));

    let mut client = Client::open(addr, None).await;
    client.init(json!({})).await;
    // A request over plain HTTP is answered while the server runs.
    let health = raw_get(addr, "/health/ready").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    stop.send(()).unwrap();
    let frame = client.closed().await;
    assert_eq!(u16::from(frame.code), 1001, "{frame:?}");
    let served = timeout(Duration::from_secs(10), server).await.expect("the server returned in time");
    served.expect("no panic").expect("served without error");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn liveness_and_readiness_answer() {
    let app = TestApp::spawn().await;
    for path in ["/health/live", "/health/ready", "/health"] {
        let res = app.send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(res.status, 200, "{path}: {:?}", res.body);
        assert_eq!(res.body, "ok");
    }
}

/// A bare HTTP/1.1 GET over TCP: the status line and the rest, as text.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    timeout(Duration::from_secs(10), tcp.read_to_string(&mut out)).await.unwrap().unwrap();
    out
}
