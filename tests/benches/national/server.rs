//! A server under test: the real `partnership-api` binary, seeded and served on a free port,
//! and the HTTP/1.1 keep-alive connections the clients send their requests on.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{Request, body::Bytes, client::conn::http1};
use hyper_util::rt::TokioIo;

/// The bench's signing secret, given to every server it starts.
pub const SECRET: &str = "national-benchmark-secret-of-at-least-32-bytes";

/// One build of the server, with its own database.
pub struct Build {
    pub label: String,
    pub binary: PathBuf,
    pub database_url: String,
}

impl Build {
    fn command(&self, database_url: &str, log: &Path) -> Command {
        let mut cmd = Command::new(&self.binary);
        let log = std::fs::File::create(log).expect("server log");
        cmd.env("DATABASE_URL", database_url)
            .env("JWT_SECRET", SECRET)
            .env("RATE_LIMIT_PER_ADDRESS", "0")
            .env("RATE_LIMIT_PER_SUBJECT", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("server log"))
            .stderr(log);
        cmd
    }

    /// `seed --synthetic n`, timed.
    pub async fn seed(&self, schools: usize, log: &Path) -> Duration {
        let started = Instant::now();
        let status = self
            .command(&self.database_url, log)
            .args(["seed", "--synthetic", &schools.to_string(), "--rng-seed", "1"])
            .status()
            .expect("run the seed command");
        assert!(status.success(), "{}: seeding failed, see {}", self.label, log.display());
        started.elapsed()
    }

    /// Serves on a free port, through `database_url` (the database's, or the counting relay's).
    pub async fn serve(&self, database_url: &str, log: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = self
            .command(database_url, log)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("start the server");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut conn) = server.connect().await
                && conn.get("/health/ready", None).await.is_ok_and(|(status, _)| status == 200)
            {
                self.credentials_issued().await;
                return server;
            }
            assert!(Instant::now() < deadline, "{}: not ready in 60 s, see {}", self.label, log.display());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Build {
    /// Waits until `serve` has issued the credentials of the seeded awards (it signs them in the
    /// background when it starts), so that neither the statement counts nor the timed rounds
    /// include that work. A build without credentials has nothing to wait for.
    async fn credentials_issued(&self) {
        use sea_orm::{ConnectionTrait, Statement};
        let Ok(db) = sea_orm::Database::connect(&self.database_url).await else { return };
        let sql = "SELECT COUNT(*) AS n FROM certification c WHERE c.stage = 'CERTIFIED' \
                   AND c.certificate_number IS NOT NULL \
                   AND NOT EXISTS (SELECT 1 FROM credential x WHERE x.certification_id = c.id)";
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let missing = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .ok()
                .flatten()
                .and_then(|row| row.try_get::<i64>("", "n").ok());
            match missing {
                Some(n) if n > 0 && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => return,
            }
        }
    }
}

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Connection { sender })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set now, in bytes.
    pub fn rss(&self) -> u64 {
        rss(self.pid())
    }

    /// SIGTERM, then waits for the exit.
    pub async fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A server left behind by a failed run is killed, not left serving.
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One keep-alive connection: a client sends its requests one after another on it.
pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn get(&mut self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Bytes)> {
        self.send("GET", path, token, Bytes::new()).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        token: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        self.send("POST", path, token, body).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut req = Request::builder().method(method).uri(path).header("host", "127.0.0.1");
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if method == "POST" {
            req = req.header("content-type", "application/json");
        }
        self.sender.ready().await?;
        let res = self.sender.send_request(req.body(Full::new(body))?).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// The resident set of process `pid`, in bytes; 0 once it has gone.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
