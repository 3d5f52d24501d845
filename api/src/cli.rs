//! The `partnership-api` command line: serve the GraphQL API, migrate, seed, import, load
//! frameworks, create partnerships, grant access and mint development tokens. It lives in the
//! library so tests can run README's command lines through the same parser.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;

use crate::{
    AppState,
    auth::{Role, TokenRequest},
    config::{Config, DatabaseConfig, ServeConfig},
    db,
    import::{ImportService, gias},
    partnership::cli::PartnershipCommand,
    seed,
};

#[derive(Parser)]
#[command(
    name = "partnership-api",
    version,
    about = "GraphQL API for a schools partnership's AI-in-education certification"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// GIAS's establishment links CSV: conversions are applied, amalgamations and splits
        /// reported.
        #[arg(long)]
        links: Option<PathBuf>,
        /// The day the extracts describe (YYYY-MM-DD): trust moves take effect on it. Default
        /// today.
        #[arg(long, value_parser = crate::scalars::parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Report what the import would change, school by school, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create, list or change partnerships (as the operator; changes go to their audit log).
    Partnership {
        #[command(subcommand)]
        command: PartnershipCommand,
    },
    /// Give someone a role in a partnership (its first city admin, say): an invitation code to
    /// redeem after signing in, or, with --issuer and --subject, a grant bound at once.
    Grant(crate::grant::cli::GrantArgs),
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

/// Runs one command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve(ServeConfig::default_from_env()));
    match command {
        Command::Token { .. } | Command::Schema => execute(None, &cli.config, command).await,
        command => {
            let serving = matches!(command, Command::Serve(_));
            let db =
                db::connect_and_migrate(&cli.config.database_url, &cli.database.settings(), serving).await?;
            execute(Some(&db), &cli.config, command).await
        }
    }
}

/// Runs one command on `db` (migrated; None only for the commands that need no database).
pub async fn execute(
    db: Option<&DatabaseConnection>,
    config: &Config,
    command: Command,
) -> anyhow::Result<()> {
    let db = || db.context("this command needs a database");
    match command {
        Command::Serve(serve) => {
            let db = db()?;
            let jwt = config.jwt()?;
            if serve.demo {
                seed::demo(db).await.context("loading the demo data")?;
            }
            let credentials = std::sync::Arc::new(config.credentials(&serve)?);
            let oidc = config.oidc()?;
            let sign_in = config.sign_in(&oidc, &credentials.issuer.base_url)?;
            let state = AppState::new(db.clone(), jwt)
                .with_credentials(credentials)
                .with_oidc(oidc)
                .with_sign_in(sign_in)
                .with_limits(serve.limits())
                .with_cors_origins(serve.cors_origins()?)
                .with_rate_limits(serve.rate_limits());
            let listener = tokio::net::TcpListener::bind(serve.bind)
                .await
                .with_context(|| format!("cannot listen on {}", serve.bind))?;
            tracing::info!("serving GraphQL on http://{}/graphql", serve.bind);
            // Awards made before credentials existed, or loaded by `seed`, get theirs.
            let certificates = state.certificates.clone();
            tokio::spawn(async move {
                match certificates.issue_missing().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(issued = n, "issued the credentials of earlier awards"),
                    Err(e) => tracing::warn!(error = %e, "could not issue the credentials of earlier awards"),
                }
            });
            crate::serve::serve_until(listener, state, crate::serve::signal(), serve.serve_options()).await?;
        }
        Command::Migrate => {
            db()?;
            eprintln!("migrations applied");
        }
        Command::Seed { demo, synthetic, rng_seed } => {
            let db = db()?;
            if demo {
                let loaded = seed::demo(db).await?;
                eprintln!(
                    "{}",
                    if loaded { "demo partnership loaded" } else { "demo partnership already present" }
                );
            } else if let Some(n) = synthetic {
                let started = std::time::Instant::now();
                let spec = seed::synthetic(db, n, rng_seed).await?;
                eprintln!(
                    "loaded {} schools, {} trusts, {} partnerships in {:.1}s",
                    spec.schools,
                    spec.trusts,
                    spec.partnerships,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Command::Import { file, partnership, la_codes, links, as_of, dry_run } => {
            let db = db()?;
            let read = |file: &PathBuf| {
                std::fs::read(file)
                    .map(|b| gias::decode(&b))
                    .with_context(|| format!("cannot read {}", file.display()))
            };
            let (schools, links) = (read(&file)?, links.as_ref().map(read).transpose()?);
            let extract =
                crate::import::Extract { schools: &schools, links: links.as_deref(), as_of, dry_run };
            match ImportService::new(db.clone()).import_by_slug(&partnership, extract, &la_codes).await {
                Ok(report) => println!("{}", serde_json::to_string_pretty(&report_json(&report))?),
                Err(crate::error::ApiError::BadRows(rows)) => {
                    for r in &rows {
                        eprintln!("line {}: {}: {}", r.line, r.column.as_deref().unwrap_or("row"), r.message);
                    }
                    anyhow::bail!("{} bad row(s); nothing was imported", rows.len());
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::Partnership { command } => {
            let db = db()?;
            crate::partnership::cli::run(db, command).await?;
        }
        Command::Grant(args) => {
            let db = db()?;
            crate::grant::cli::run(db, args).await?;
        }
        Command::LoadFramework { file } => {
            let db = db()?;
            let source =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let loaded =
                crate::framework::service::load(db, &source).await.map_err(|e| anyhow::anyhow!("{e}"))?;
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
        Command::Schema => print!("{}", crate::sdl()),
    }
    Ok(())
}

/// An enum value as GraphQL names it: `MovedTrust` -> `MOVED_TRUST`.
fn constant(value: &impl std::fmt::Debug) -> String {
    let mut out = String::new();
    for (i, c) in format!("{value:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn report_json(r: &crate::import::ImportReport) -> serde_json::Value {
    serde_json::json!({
        "rows": r.rows, "skipped": r.skipped,
        "schoolsCreated": r.schools_created, "schoolsUpdated": r.schools_updated, "schoolsUnchanged": r.schools_unchanged,
        "trustsCreated": r.trusts_created, "trustsUpdated": r.trusts_updated,
        "localAuthoritiesCreated": r.local_authorities_created, "membersAdded": r.members_added,
        "trustMoves": r.trust_moves, "applied": r.applied,
        "changes": r.changes.iter().map(|c| serde_json::json!({
            "urn": c.urn, "kind": constant(&c.kind), "detail": c.detail,
        })).collect::<Vec<_>>(),
        "links": r.links.iter().map(|l| serde_json::json!({
            "predecessorUrn": l.predecessor_urn, "successorUrn": l.successor_urn,
            "kind": constant(&l.kind), "establishedOn": l.established_on.map(|d| d.0.to_string()),
            "status": constant(&l.status), "changed": l.changed,
        })).collect::<Vec<_>>(),
    })
}
