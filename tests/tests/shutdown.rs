//! Serving and stopping: a connection whose headers do not arrive in time is closed; on the
//! shutdown signal the server stops accepting, closes open WebSockets with "going away" (1001)
//! and returns once in-flight work is done; and the health endpoints.

use std::time::Duration;

use api::{
    AppState,
    serve::{Options, serve_until},
};
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
        Options { grace: Duration::from_secs(5), ..Options::default() },
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

#[tokio::test]
async fn a_connection_whose_headers_do_not_arrive_in_time_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let options = Options { header_read_timeout: Duration::from_millis(300), ..Options::default() };
    let (addr, _stop) = crate::rate_limits::serve(&app, api::http::RateLimits::default(), options).await;

    // Slowloris: a request line and one header, then nothing more. And a client that connects
    // and sends nothing at all.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(format!("GET /health/ready HTTP/1.1\r\nHost: {addr}\r\n").as_bytes()).await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();

    // Meanwhile a prompt client is served.
    let health = raw_get(addr, "/health/ready").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    for (name, tcp) in [("slow", &mut slow), ("silent", &mut silent)] {
        let mut rest = Vec::new();
        // Closed by the server (end of stream, or a reset): read_to_end returns either way, and
        // never with a response to the unfinished request.
        let read = timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the {name} connection is still open");
        let text = String::from_utf8_lossy(&rest);
        assert!(!text.contains(" 200 "), "the {name} connection was answered: {text}");
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
