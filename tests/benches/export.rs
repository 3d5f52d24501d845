//! Memory and speed of the CSV export: `cargo bench -p tests --bench export` (add
//! TEST_DATABASE_URL for PostgreSQL).
//!
//! Exports partnerships of 2,000, 10,000 and 40,000 generated schools through the same
//! stream the HTTP endpoint sends, writing the bytes to a file as they come, then parses the
//! file back. Memory is the growth of the process's peak resident set during the export
//! (Linux: the peak is reset through /proc/self/clear_refs first).
//!
//! Targets: every export parses back with one row per open school; the peak grows by less
//! than 32 MiB at every size, and the 40,000-school export grows it by no more than twice
//! the 2,000-school one plus 8 MiB (flat: pages, not the whole table, are held).
//!
//! Exits non-zero when a target is missed.

use std::{io::Write, time::Instant};

use api::progress::export::{Request, rows};
use entity::partnership;
use futures::StreamExt;
use sea_orm::EntityTrait;
use tests::TestApp;

const MIB: f64 = 1024.0 * 1024.0;

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Run {
    schools: usize,
    rows: usize,
    bytes: u64,
    seconds: f64,
    peak_growth: f64,
}

async fn run(schools: usize) -> Run {
    let app = TestApp::spawn().await;
    let spec = api::seed::Spec {
        schools,
        academies: schools / 2,
        trusts: schools / 20,
        partnerships: 1,
        rng_seed: 11,
        demo: false,
    };
    api::seed::insert(&app.db, api::seed::generate(&spec)).await.expect("seed");
    let p = partnership::Entity::find().one(&app.db).await.expect("query").expect("partnership");
    let open = app.count("school WHERE open").await as usize;

    let file = tempfile::NamedTempFile::new().expect("temp file");
    let mut out = std::io::BufWriter::new(file.reopen().expect("reopen"));
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let before = status_kib("VmRSS:").unwrap_or(0);
    let started = Instant::now();
    let req = Request {
        partnership: p.slug.clone(),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
        filter: Default::default(),
    };
    let mut stream = std::pin::pin!(rows(app.db.clone(), Default::default(), p, req, false));
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        bytes += chunk.len() as u64;
        out.write_all(&chunk).expect("write");
    }
    out.flush().expect("flush");
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:").unwrap_or(0);

    let mut reader = csv::Reader::from_path(file.path()).expect("open CSV");
    let parsed = reader.records().try_fold(0, |n, r| r.map(|_| n + 1)).expect("valid records");
    assert_eq!(parsed, open, "one row per open school");
    Run {
        schools,
        rows: parsed,
        bytes,
        seconds,
        peak_growth: peak.saturating_sub(before) as f64 * 1024.0 / MIB,
    }
}

#[tokio::main]
async fn main() {
    let backend =
        if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) { "PostgreSQL" } else { "SQLite" };
    let mut runs = Vec::new();
    for n in [2_000, 10_000, 40_000] {
        let r = run(n).await;
        println!(
            "{backend}: {} schools: {} rows, {:.2} MiB of CSV in {:.2} s; peak resident set grew {:.1} MiB",
            r.schools,
            r.rows,
            r.bytes as f64 / MIB,
            r.seconds,
            r.peak_growth
        );
        runs.push(r);
    }
    let small = runs[0].peak_growth;
    let large = runs[runs.len() - 1].peak_growth;
    let mut failed = false;
    if runs.iter().any(|r| r.peak_growth >= 32.0) {
        eprintln!("MISSED: the peak grew by 32 MiB or more");
        failed = true;
    }
    if large > 2.0 * small + 8.0 {
        eprintln!(
            "MISSED: memory is not flat ({large:.1} MiB at 40,000 schools against {small:.1} MiB at 2,000)"
        );
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
}
