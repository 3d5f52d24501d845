//! `partnership-api`: the command line of `api::cli`.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc: answers are trees of many small values, built and dropped at once, which glibc's
/// allocator served with a fifth of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (its options are not exported as constants).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Memory freed is handed back to the system at once rather than 10 ms later (mimalloc's
    // default): an answer is built and dropped within milliseconds, so under load the delay kept
    // recent answers' pages resident. At the same speed, the server's peak on the national
    // benchmark, 53 to 62 MB with the delay, is 50 to 52 MB without (README). MIMALLOC_PURGE_DELAY,
    // when set, decides.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        purge_at_once();
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The workspace's one unsafe call: a C function of the allocator, which must run before any
/// other thread does.
#[allow(unsafe_code)]
fn purge_at_once() {
    // SAFETY: called first thing in `main`, before the runtime starts a thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

async fn run() -> std::process::ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // LOG_FORMAT=json: one JSON object a line, the request span (with its id) included.
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().with_current_span(true).init();
    } else {
        logs.init();
    }
    match api::cli::run(api::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
