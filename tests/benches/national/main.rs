//! The national benchmark: every request shape users send, against 22,000 synthetic schools
//! with their journeys, over real HTTP to the real server binary, with concurrent clients.
//!
//!     cargo build --release -p api --bin partnership-api
//!     TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p tests --bench national
//!
//! Without TEST_DATABASE_URL it runs on SQLite files. Settings, from the environment:
//! - `BENCH_SERVERS`: `label=path,...` builds of the server to compare (default: `current=` the
//!   release binary of this tree). Each gets its own database, seeded by its own `seed` command;
//!   rounds run the builds in turn (interleaved), so a slow moment of the machine hits both.
//! - `BENCH_SCHOOLS` (22000), `BENCH_CLIENTS` (8), `BENCH_SECS` per shape and round (3),
//!   `BENCH_ROUNDS` (2), `BENCH_SHAPES` (only shapes whose name contains this).
//!
//! For each build and shape it prints requests/s, p50 and p99 latency, SQL statements per
//! request (PostgreSQL: counted in a separate pass through a relay that reads the wire
//! protocol) and the server's peak resident memory; then the targets, the last build against
//! the first. Exits non-zero when a target is missed.

mod proxy;
mod server;
mod shapes;

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;
use server::{Build, Server};
use shapes::{Kind, Shape};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Timed results of one build and shape, summed over rounds.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    seconds: f64,
    rounds: Vec<f64>,
    peak_rss: u64,
    statements: Option<f64>,
}

impl Tally {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }
    fn percentile(&self, p: usize) -> f64 {
        let mut v = self.latencies.clone();
        v.sort();
        v[(v.len() * p / 100).min(v.len() - 1)].as_secs_f64() * 1e3
    }
}

#[tokio::main]
async fn main() {
    let schools = setting("BENCH_SCHOOLS", 22_000);
    let clients = setting("BENCH_CLIENTS", 8);
    let secs = setting("BENCH_SECS", 3);
    let rounds = setting("BENCH_ROUNDS", 2);
    let only = std::env::var("BENCH_SHAPES").unwrap_or_default();
    let postgres = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let work = tempfile::tempdir().expect("a work folder");

    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let servers = std::env::var("BENCH_SERVERS")
        .unwrap_or_else(|_| format!("current={}", target.join("release/partnership-api").display()));
    let mut builds = Vec::new();
    for entry in servers.split(',').filter(|e| !e.is_empty()) {
        let (label, path) = entry.split_once('=').expect("BENCH_SERVERS holds label=path entries");
        let binary = PathBuf::from(path);
        assert!(binary.exists(), "{} does not exist: build it with cargo build --release", binary.display());
        let database_url = match &postgres {
            Some(url) => fresh_database(url, label).await,
            None => format!("sqlite://{}/{label}.db?mode=rwc", work.path().display()),
        };
        builds.push(Build { label: label.to_owned(), binary, database_url });
    }
    let backend = if postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("{backend}, {schools} schools, {clients} clients, {secs} s a shape, {rounds} rounds");

    let mut all_shapes = Vec::new();
    for build in &builds {
        let took = build.seed(schools, &work.path().join(format!("{}-seed.log", build.label))).await;
        println!("{}: seeded in {:.1} s", build.label, took.as_secs_f64());
        let db = api::db::connect(&build.database_url).await.expect("connect for discovery");
        let shapes: Vec<Shape> =
            shapes::build(&db, clients).await.into_iter().filter(|s| s.name.contains(&only)).collect();
        all_shapes.push(Arc::new(shapes));
    }

    let mut tallies: BTreeMap<(usize, usize), Tally> = BTreeMap::new();
    if let Some(url) = &postgres {
        for (b, build) in builds.iter().enumerate() {
            let upstream = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
            let relay = proxy::start(format!(
                "{}:{}",
                upstream.host_str().unwrap_or("127.0.0.1"),
                upstream.port().unwrap_or(5432)
            ))
            .await;
            let mut through = url::Url::parse(&build.database_url).expect("database URL");
            through.set_host(Some("127.0.0.1")).expect("host");
            through.set_port(Some(relay.port)).expect("port");
            let log = work.path().join(format!("{}-count.log", build.label));
            let server = build.serve(through.as_str(), &log).await;
            for s in 0..all_shapes[b].len() {
                drive(&server, &all_shapes[b], s, 1, Duration::ZERO, 3).await;
                let before = relay.statements();
                let sent = 20;
                drive(&server, &all_shapes[b], s, 1, Duration::ZERO, sent).await;
                let per = (relay.statements() - before) as f64 / sent as f64;
                tallies.entry((s, b)).or_default().statements = Some(per);
            }
            server.stop().await;
        }
    }

    for round in 0..rounds {
        for (b, build) in builds.iter().enumerate() {
            let log = work.path().join(format!("{}-serve-{round}.log", build.label));
            let server = build.serve(&build.database_url, &log).await;
            let idle = server.rss();
            for s in 0..all_shapes[b].len() {
                drive(&server, &all_shapes[b], s, clients, Duration::from_millis(500), 0).await;
                let sampler = Sampler::start(&server);
                let started = Instant::now();
                let latencies =
                    drive(&server, &all_shapes[b], s, clients, Duration::from_secs(secs as u64), 0).await;
                let seconds = started.elapsed().as_secs_f64();
                let tally = tallies.entry((s, b)).or_default();
                tally.rounds.push(latencies.len() as f64 / seconds);
                tally.latencies.extend(latencies);
                tally.seconds += seconds;
                tally.peak_rss = tally.peak_rss.max(sampler.stop().await).max(idle);
            }
            println!("round {}: {} done (idle RSS {:.0} MB)", round + 1, build.label, idle as f64 / 1e6);
            server.stop().await;
        }
    }

    report(&builds, &all_shapes[0], &tallies);
    if !targets(&builds, &all_shapes[0], &tallies) {
        std::process::exit(1);
    }
}

/// Runs shape `s` with `clients` clients, each sending one request after another, for `time`
/// (or, with `time` zero, `count` requests each); returns every request's latency. Any answer
/// that is not a 200 without GraphQL errors stops the benchmark: a failed request measures
/// nothing.
async fn drive(
    server: &Server,
    shapes: &Arc<Vec<Shape>>,
    s: usize,
    clients: usize,
    time: Duration,
    count: usize,
) -> Vec<Duration> {
    let end = Instant::now() + time;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut conn = server.connect().await.expect("connect to the server");
        let shapes = shapes.clone();
        tasks.push(tokio::spawn(async move {
            let shape = &shapes[s];
            let mut times = Vec::new();
            for k in 0.. {
                if (time.is_zero() && k >= count) || (!time.is_zero() && Instant::now() >= end) {
                    break;
                }
                let req = &shape.requests[(c + k * clients) % shape.requests.len()];
                let started = Instant::now();
                let (status, body) = match &req.body {
                    Some(body) => conn.post(&req.path, Some(&req.token), body.clone()).await,
                    None => conn.get(&req.path, Some(&req.token)).await,
                }
                .unwrap_or_else(|e| panic!("{}: {e}", shape.name));
                times.push(started.elapsed());
                let failed = req.body.is_some() && contains(&body, b"\"errors\"");
                if status != 200 || failed {
                    let text = String::from_utf8_lossy(&body[..body.len().min(600)]).into_owned();
                    panic!("{}: HTTP {status}: {text}", shape.name);
                }
            }
            times
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("a client failed"));
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Samples the server's resident memory every 20 ms until stopped; returns the peak.
struct Sampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<u64>,
}

impl Sampler {
    fn start(server: &Server) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let pid = server.pid();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            loop {
                peak = peak.max(server::rss(pid));
                tokio::select! {
                    _ = &mut stopped => return peak,
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        });
        Self { stop, task }
    }

    async fn stop(self) -> u64 {
        let _ = self.stop.send(());
        self.task.await.unwrap_or(0)
    }
}

/// A new, empty PostgreSQL database named after the build, on the server of `url`.
async fn fresh_database(url: &str, label: &str) -> String {
    let name: String = format!("bench_{label}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let admin = api::db::connect(url).await.expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop the old benchmark database");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create a database");
    let mut url = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.set_query(Some("sslmode=disable"));
    url.to_string()
}

fn report(builds: &[Build], shapes: &[Shape], tallies: &BTreeMap<(usize, usize), Tally>) {
    println!();
    println!("| shape | build | req/s | p50 ms | p99 ms | statements | peak RSS MB | req/s by round |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for (s, shape) in shapes.iter().enumerate() {
        for (b, build) in builds.iter().enumerate() {
            let Some(t) = tallies.get(&(s, b)).filter(|t| !t.latencies.is_empty()) else { continue };
            let rounds: Vec<String> = t.rounds.iter().map(|r| format!("{r:.0}")).collect();
            println!(
                "| {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.0} | {} |",
                shape.name,
                build.label,
                t.rate(),
                t.percentile(50),
                t.percentile(99),
                t.statements.map_or("-".into(), |n| format!("{n:.1}")),
                t.peak_rss as f64 / 1e6,
                rounds.join(" / "),
            );
        }
    }
}

/// The targets for the last build, against the first; true when all are met.
fn targets(builds: &[Build], shapes: &[Shape], tallies: &BTreeMap<(usize, usize), Tally>) -> bool {
    let last = builds.len() - 1;
    let mut met = true;
    let mut check = |what: String, ok: bool| {
        println!("{} {what}", if ok { "met   " } else { "MISSED" });
        met &= ok;
    };
    println!();
    for (s, shape) in shapes.iter().enumerate() {
        let Some(t) = tallies.get(&(s, last)).filter(|t| !t.latencies.is_empty()) else { continue };
        match shape.kind {
            Kind::Registry => {
                if last > 0
                    && let Some(base) = tallies.get(&(s, 0))
                {
                    let ratio = t.rate() / base.rate();
                    check(
                        format!(
                            "{}: {ratio:.2}x the throughput of {} (>= 1.5x)",
                            shape.name, builds[0].label
                        ),
                        ratio >= 1.5,
                    );
                }
                check(
                    format!("{}: p99 {:.1} ms (< 20 ms)", shape.name, t.percentile(99)),
                    t.percentile(99) < 20.0,
                );
            }
            Kind::Dashboard if shape.name.starts_with("partnership") => {
                check(
                    format!("{}: p99 {:.1} ms (< 25 ms)", shape.name, t.percentile(99)),
                    t.percentile(99) < 25.0,
                );
            }
            _ if shape.name == "CSV, one partnership" => {
                check(
                    format!("{}: p50 {:.1} ms a file (< 10 ms)", shape.name, t.percentile(50)),
                    t.percentile(50) < 10.0,
                );
            }
            _ => {}
        }
        check(
            format!("{}: peak RSS {:.0} MB (< 60 MB)", shape.name, t.peak_rss as f64 / 1e6),
            t.peak_rss < 60_000_000,
        );
    }
    met
}
