//! `partnership-api`: serve the GraphQL API, migrate, seed, import and mint development tokens.

use std::path::PathBuf;

use anyhow::Context as _;
use api::{
    AppState,
    auth::{Role, TokenRequest},
    config::{Config, ServeConfig},
    db,
    import::{ImportService, gias},
    partnership::cli::PartnershipCommand,
    seed,
};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "partnership-api",
    version,
    about = "GraphQL API for a schools partnership's AI-in-education certification"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default). Applies pending migrations first.
    Serve(ServeConfig),
    /// Apply pending migrations and exit.
    Migrate,
    /// Load generated data.
    Seed {
        /// The synthetic demo city (61 schools); does nothing if it is loaded already.
        #[arg(long, conflicts_with = "synthetic", required_unless_present = "synthetic")]
        demo: bool,
        /// A national-scale synthetic set of N schools, for benchmarks.
        #[arg(long, value_name = "N")]
        synthetic: Option<usize>,
        /// Seed of the generator: the same N and seed give the same data.
        #[arg(long, default_value_t = 1)]
        rng_seed: u64,
    },
    /// Import schools and trusts from a GIAS CSV (cp1252 or UTF-8) into a partnership.
    Import {
        file: PathBuf,
        /// The partnership's slug.
        #[arg(long, default_value = seed::DEMO_SLUG)]
        partnership: String,
        /// Keep only rows of this LA code (repeatable); when left out, the partnership's own
        /// LA codes (`partnership update --la`), or all LAs when it names none.
        #[arg(long = "la")]
        la_codes: Vec<String>,
    },
    /// Create, list or change partnerships (as the operator; changes go to their audit log).
    Partnership {
        #[command(subcommand)]
        command: PartnershipCommand,
    },
    /// Give someone a role in a partnership (its first city admin, say): an invitation code to
    /// redeem after signing in, or, with --issuer and --subject, a grant bound at once.
    Grant(api::grant::cli::GrantArgs),
    /// Load a framework file (TOML or JSON; format in README). Loading the same version with
    /// the same content again changes nothing.
    LoadFramework { file: PathBuf },
    /// Mint a token for local use, signed with the configured secret or private key.
    Token {
        /// city-admin, trust-lead, school-lead, assessor or partner.
        #[arg(long)]
        role: Role,
        /// Partnership slug (city-admin, partner, assessor).
        #[arg(long)]
        partnership: Option<String>,
        /// Trust GIAS group UID (trust-lead).
        #[arg(long)]
        trust: Option<String>,
        /// School URN (school-lead).
        #[arg(long)]
        school: Option<i32>,
        /// Subject claim; defaults to a development id for the role.
        #[arg(long)]
        sub: Option<String>,
        /// Display name claim.
        #[arg(long)]
        name: Option<String>,
        /// Hours until it expires.
        #[arg(long, default_value_t = 12)]
        hours: i64,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve(ServeConfig::default_from_env())) {
        Command::Serve(serve) => {
            let jwt = config.jwt()?;
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            if serve.demo {
                seed::demo(&db).await.context("loading the demo data")?;
            }
            let app = api::router(AppState::new(db, jwt).with_oidc(config.oidc()?));
            let listener = tokio::net::TcpListener::bind(serve.bind)
                .await
                .with_context(|| format!("cannot listen on {}", serve.bind))?;
            tracing::info!("serving GraphQL on http://{}/graphql", serve.bind);
            axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
        }
        Command::Migrate => {
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            eprintln!("migrations applied");
        }
        Command::Seed { demo, synthetic, rng_seed } => {
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            if demo {
                let loaded = seed::demo(&db).await?;
                eprintln!(
                    "{}",
                    if loaded { "demo partnership loaded" } else { "demo partnership already present" }
                );
            } else if let Some(n) = synthetic {
                let started = std::time::Instant::now();
                let spec = seed::synthetic(&db, n, rng_seed).await?;
                eprintln!(
                    "loaded {} schools, {} trusts, {} partnerships in {:.1}s",
                    spec.schools,
                    spec.trusts,
                    spec.partnerships,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Command::Import { file, partnership, la_codes } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            match ImportService::new(db).import_by_slug(&partnership, &gias::decode(&bytes), &la_codes).await
            {
                Ok(report) => println!("{}", serde_json::to_string_pretty(&report_json(&report))?),
                Err(api::error::ApiError::BadRows(rows)) => {
                    for r in &rows {
                        eprintln!("line {}: {}: {}", r.line, r.column.as_deref().unwrap_or("row"), r.message);
                    }
                    anyhow::bail!("{} bad row(s); nothing was imported", rows.len());
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::Partnership { command } => {
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            api::partnership::cli::run(&db, command).await?;
        }
        Command::Grant(args) => {
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            api::grant::cli::run(&db, args).await?;
        }
        Command::LoadFramework { file } => {
            let source =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let db = db::connect(&config.database_url).await?;
            db::migrate(&db).await?;
            let loaded =
                api::framework::service::load(&db, &source).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let f = &loaded.framework;
            eprintln!(
                "{} {} version {} ({})",
                if loaded.created { "loaded" } else { "already loaded:" },
                f.name,
                f.version,
                f.slug
            );
        }
        Command::Token { role, partnership, trust, school, sub, name, hours } => {
            let jwt = config.jwt()?;
            let mut who = TokenRequest::new(role);
            who.partnership = partnership;
            who.trust = trust;
            who.school = school;
            who.name = name;
            if let Some(sub) = sub {
                who.sub = sub;
            }
            println!("{}", jwt.sign(who, chrono::Duration::hours(hours))?);
        }
        Command::Schema => print!("{}", api::sdl()),
    }
    Ok(())
}

fn report_json(r: &api::import::ImportReport) -> serde_json::Value {
    serde_json::json!({
        "rows": r.rows, "skipped": r.skipped,
        "schoolsCreated": r.schools_created, "schoolsUpdated": r.schools_updated, "schoolsUnchanged": r.schools_unchanged,
        "trustsCreated": r.trusts_created, "trustsUpdated": r.trusts_updated,
        "localAuthoritiesCreated": r.local_authorities_created, "membersAdded": r.members_added,
    })
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
