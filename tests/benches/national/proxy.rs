//! Counts the SQL statements a server sends: a TCP relay between it and PostgreSQL that reads
//! the frontend protocol and counts each Execute (extended protocol) and Query (simple
//! protocol) message. Used only in the counting pass, so it costs the timed runs nothing.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The relay's address and its running count.
pub struct Counter {
    pub port: u16,
    count: Arc<AtomicU64>,
}

impl Counter {
    pub fn statements(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

/// Relays 127.0.0.1:<port> to `upstream` (host:port) until the process ends.
pub async fn start(upstream: String) -> Counter {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
    let port = listener.local_addr().expect("relay address").port();
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let count = counted.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    relay(client, server, count).await;
                }
            });
        }
    });
    Counter { port, count }
}

async fn relay(client: TcpStream, server: TcpStream, count: Arc<AtomicU64>) {
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = server.into_split();
    let back = tokio::spawn(async move { tokio::io::copy(&mut server_in, &mut client_out).await });
    let mut parser = Frontend::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client_in.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        count.fetch_add(parser.feed(&buf[..n]), Ordering::SeqCst);
        if server_out.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    back.abort();
}

/// The frontend's message stream: untyped startup packets (SSL request, startup message),
/// then messages of one type byte and a length.
#[derive(Default)]
struct Frontend {
    started: bool,
    pending: Vec<u8>,
}

/// The protocol version 3.0 code that a startup message (not an SSL request) carries.
const PROTOCOL_3: u32 = 196_608;

impl Frontend {
    /// Takes more bytes; returns how many statements they completed.
    fn feed(&mut self, bytes: &[u8]) -> u64 {
        self.pending.extend_from_slice(bytes);
        let mut statements = 0;
        loop {
            let header = if self.started { 5 } else { 8 };
            if self.pending.len() < header {
                break;
            }
            let at = usize::from(self.started);
            let len = u32::from_be_bytes(self.pending[at..at + 4].try_into().expect("four bytes")) as usize;
            let whole = at + len;
            if self.pending.len() < whole {
                break;
            }
            if self.started {
                statements += u64::from(matches!(self.pending[0], b'E' | b'Q'));
            } else {
                let code = u32::from_be_bytes(self.pending[4..8].try_into().expect("four bytes"));
                self.started = code == PROTOCOL_3;
            }
            self.pending.drain(..whole);
        }
        statements
    }
}
