//! `partnership-api partnership ...`: the operator creates, lists and changes partnerships.
//! Every change goes through the same service as the GraphQL mutations, acting as the
//! operator, so it is validated the same way and kept in the partnership's audit log.

use chrono::NaiveDate;
use clap::Subcommand;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::service::{self, Editor, Listed, NewPartnership, PartnershipPatch, framework_label, la_codes_of};
use crate::{audit::Who, error::ApiError};

#[derive(Debug, Subcommand)]
pub enum PartnershipCommand {
    /// Create a partnership with its first goal (its deadline, in force from its start).
    Create {
        /// a-z, 0-9 and '-', 3 to 64 characters: tokens name the partnership by it.
        #[arg(long)]
        slug: String,
        /// At most 200 characters.
        #[arg(long)]
        name: String,
        /// When the partnership starts working toward its goal (YYYY-MM-DD).
        #[arg(long)]
        starts_on: NaiveDate,
        /// The goal's deadline (YYYY-MM-DD), on or after the start.
        #[arg(long)]
        deadline: NaiveDate,
        /// The framework's slug, e.g. aied-certified; it must be loaded.
        #[arg(long)]
        framework: String,
        /// The version new journeys start on; the latest loaded when left out.
        #[arg(long)]
        framework_version: Option<i32>,
        /// The lowest level key at which a school counts as certified; the framework's lowest
        /// level when left out.
        #[arg(long)]
        required_level: Option<String>,
        /// The LA codes the partnership covers (one or more; repeatable): what its imports
        /// keep when they name none.
        #[arg(long = "la", num_args = 1..)]
        la_codes: Vec<String>,
        /// How many active mentees one mentor school may have (1 to 20).
        #[arg(long, default_value_t = 3)]
        max_active_mentees: i32,
    },
    /// List every partnership: slug, name, deadline, framework@version, member schools.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change a partnership's settings; what is left out stays as it is. Every change is
    /// kept in the partnership's audit log, by "operator".
    Update {
        /// The partnership's slug.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// A new deadline (YYYY-MM-DD): a new goal in force from today; the old one is kept.
        #[arg(long, requires = "reason")]
        deadline: Option<NaiveDate>,
        /// Why the deadline moves (1 to 500 characters); needed with --deadline.
        #[arg(long, requires = "deadline")]
        reason: Option<String>,
        /// The framework version new journeys start on; journeys already started keep theirs.
        #[arg(long)]
        framework_version: Option<i32>,
        /// A level key of the pinned framework version.
        #[arg(long)]
        required_level: Option<String>,
        /// 1 to 20.
        #[arg(long)]
        max_active_mentees: Option<i32>,
        /// Days in one stage before SUBMITTED after which a school is at risk (1 to 365).
        #[arg(long)]
        stalled_after_days: Option<i32>,
        /// Days RETURNED without resubmitting after which a school is at risk (1 to 365).
        #[arg(long)]
        returned_after_days: Option<i32>,
        /// Replaces the partnership's LA codes (one or more; repeatable).
        #[arg(long = "la", num_args = 1..)]
        la_codes: Option<Vec<String>>,
    },
}

/// Runs one command against a migrated database, printing to stdout what it made or found.
pub async fn run(db: &DatabaseConnection, command: PartnershipCommand) -> anyhow::Result<()> {
    match command {
        PartnershipCommand::Create {
            slug,
            name,
            starts_on,
            deadline,
            framework,
            framework_version,
            required_level,
            la_codes,
            max_active_mentees,
        } => {
            let new = NewPartnership {
                slug,
                name,
                starts_on,
                deadline,
                framework,
                framework_version,
                required_level,
                local_authority_codes: la_codes,
                max_active_mentees: Some(max_active_mentees),
            };
            let p = service::create(db, new, &Who::operator()).await.map_err(cli_error)?;
            eprintln!("created partnership {} ({})", p.slug, framework_label(&p));
            println!("{}", line(&Listed { partnership: p, schools: 0 }));
        }
        PartnershipCommand::List { json } => {
            let rows = service::list(db).await.map_err(cli_error)?;
            if json {
                for row in &rows {
                    println!("{}", line(row));
                }
            } else {
                print!("{}", table(&rows));
            }
        }
        PartnershipCommand::Update {
            slug,
            name,
            deadline,
            reason,
            framework_version,
            required_level,
            max_active_mentees,
            stalled_after_days,
            returned_after_days,
            la_codes,
        } => {
            let p = service::by_slug(db, &slug).await.map_err(cli_error)?;
            let patch = PartnershipPatch {
                name,
                deadline,
                deadline_reason: reason,
                framework_version,
                required_level,
                max_active_mentees,
                stalled_after_days,
                returned_after_days,
                overdue_actions_at_risk: None,
                comparison_min_schools: None,
                local_authority_codes: la_codes,
            };
            let p = service::update(db, Editor::Operator, p.id, patch).await.map_err(cli_error)?;
            eprintln!("updated partnership {}", p.slug);
            let schools = service::list(db)
                .await
                .map_err(cli_error)?
                .into_iter()
                .find(|l| l.partnership.id == p.id)
                .map_or(0, |l| l.schools);
            println!("{}", line(&Listed { partnership: p, schools }));
        }
    }
    Ok(())
}

/// The service's message for the operator; an internal error with its cause.
fn cli_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Internal(cause) => anyhow::anyhow!("{cause:#}"),
        e => anyhow::anyhow!("{e}"),
    }
}

fn line(l: &Listed) -> serde_json::Value {
    let p = &l.partnership;
    json!({
        "slug": p.slug,
        "name": p.name,
        "startsOn": p.starts_on.to_string(),
        "deadline": p.deadline.to_string(),
        "framework": framework_label(p),
        "requiredLevel": p.required_level,
        "localAuthorityCodes": la_codes_of(p),
        "schools": l.schools,
    })
}

fn table(rows: &[Listed]) -> String {
    let mut cells = vec![["SLUG", "NAME", "DEADLINE", "FRAMEWORK", "SCHOOLS"].map(str::to_owned)];
    for l in rows {
        let p = &l.partnership;
        cells.push([
            p.slug.clone(),
            p.name.clone(),
            p.deadline.to_string(),
            framework_label(p),
            l.schools.to_string(),
        ]);
    }
    let widths: Vec<usize> =
        (0..5).map(|i| cells.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// The subcommand as `partnership-api partnership ...` parses it.
    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: PartnershipCommand,
    }

    fn parse(args: &str) -> Result<PartnershipCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("partnership").chain(args.split_whitespace())).map(|c| c.command)
    }

    #[test]
    fn the_command_line_parses_as_documented() {
        Cli::command().debug_assert();
        let create = parse(
            "create --slug solent --name Solent --starts-on 2025-09-01 --deadline 2027-07-31 \
             --framework aied-certified --la 851 852 --la 853",
        )
        .expect("create");
        let PartnershipCommand::Create { la_codes, max_active_mentees, deadline, framework_version, .. } =
            create
        else {
            panic!("{create:?}")
        };
        assert_eq!(
            (la_codes, max_active_mentees, framework_version),
            (vec!["851", "852", "853"].into_iter().map(String::from).collect(), 3, None)
        );
        assert_eq!(deadline.to_string(), "2027-07-31");
        assert!(
            parse("create --slug s --name n --starts-on 2025-13-01 --deadline 2026-01-01 --framework f")
                .is_err()
        );

        let update = parse("update --slug solent --deadline 2028-07-31 --reason late --max-active-mentees 4")
            .expect("update");
        let PartnershipCommand::Update { deadline, reason, la_codes, max_active_mentees, .. } = update else {
            panic!("{update:?}")
        };
        assert_eq!(
            (deadline.map(|d| d.to_string()), reason, la_codes, max_active_mentees),
            (Some("2028-07-31".into()), Some("late".into()), None, Some(4))
        );
        assert!(parse("update --slug solent --deadline 2028-07-31").is_err(), "a move needs --reason");
        assert!(parse("update --slug solent --reason why").is_err(), "a reason needs --deadline");
        assert!(matches!(parse("list --json"), Ok(PartnershipCommand::List { json: true })));
    }

    #[test]
    fn the_list_is_a_table() {
        let p = entity::partnership::Model {
            id: uuid::Uuid::nil(),
            slug: "demo-city".into(),
            name: "The Digital City".into(),
            starts_on: "2024-09-01".parse().expect("date"),
            deadline: "2026-08-31".parse().expect("date"),
            default_framework: Some("aied-certified".into()),
            max_active_mentees: 3,
            synthetic: true,
            required_level: None,
            stalled_after_days: 60,
            returned_after_days: 30,
            overdue_actions_at_risk: false,
            comparison_min_schools: 5,
            framework_version: Some(1),
            local_authority_codes: "851".into(),
        };
        assert_eq!(
            table(&[Listed { partnership: p.clone(), schools: 61 }]),
            "SLUG       NAME              DEADLINE    FRAMEWORK         SCHOOLS\n\
             demo-city  The Digital City  2026-08-31  aied-certified@1  61\n"
        );
        assert_eq!(line(&Listed { partnership: p, schools: 61 })["framework"], "aied-certified@1");
    }
}
