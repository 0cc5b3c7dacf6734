#![doc = include_str!("../README.md")]

pub mod backfill;
pub mod cli;
pub mod config;
pub mod deps;
pub mod doctor;
pub mod error;
pub mod expiring;
pub mod extend;
pub mod output;
pub mod queue;
pub mod reconcile;
pub mod redeliver;
pub mod report;
pub mod sweep;
pub mod tickets;

pub use cli::{Cli, Command};
pub use config::Config;
pub use deps::{Deps, Env, Settings, StartupError};
pub use error::{AdminError, exit};
pub use output::{Outcome, Progress};
pub use queue::QueueError;

fn read_file(path: &std::path::Path) -> Result<String, AdminError> {
    std::fs::read_to_string(path)
        .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// Runs one parsed command against `env`. `main`, the tests and `cargo xtask cls-admin` all come here.
pub async fn run(cli: &Cli, env: &Env, progress: &Progress) -> Result<Outcome, AdminError> {
    match &cli.command {
        Command::Doctor => return doctor::run(env, progress).await,
        Command::Sweep {
            dry_run,
            allow_removals,
        } => return sweep::run(env, *dry_run, *allow_removals).await,
        _ => {}
    }
    let deps = env.deps().await?;
    match &cli.command {
        Command::Doctor => doctor::run(env, progress).await,
        Command::Sweep {
            dry_run,
            allow_removals,
        } => sweep::run(env, *dry_run, *allow_removals).await,
        Command::Backfill(args) => {
            let source = match (&args.csv, &args.audit_csv) {
                (Some(path), _) => backfill::Source::Csv(read_file(path)?),
                (None, Some(path)) => backfill::Source::AuditCsv(read_file(path)?),
                (None, None) => backfill::Source::FromGithub,
            };
            backfill::run(&deps, args.org.as_deref(), &source, args.dry_run, progress).await
        }
        Command::Expiring { within, org } => {
            expiring::run(&deps, *within, org.as_deref(), progress).await
        }
        Command::Extend {
            target,
            until,
            days,
            reason,
            operator,
            dry_run,
        } => {
            let until = match (until, days) {
                (Some(date), _) => extend::Until::Date(*date),
                (None, Some(n)) => extend::Until::Days(*n),
                (None, None) => {
                    return Err(AdminError::Usage(
                        "give --until DATE or --days N".to_owned(),
                    ));
                }
            };
            let operator = operator
                .clone()
                .or_else(|| env.config.operator.clone())
                .ok_or_else(|| {
                    AdminError::Usage(
                        "name the operator with --operator or CLS_OPERATOR".to_owned(),
                    )
                })?;
            let request = extend::ExtendRequest {
                target: target.clone(),
                until,
                reason: reason.clone(),
                operator,
                dry_run: *dry_run,
            };
            extend::run(&deps, &request).await
        }
        Command::Reconcile { org } => reconcile::run(&deps, org, progress).await,
        Command::Redeliver { since, dry_run } => {
            redeliver::run(&deps, *since, *dry_run, progress).await
        }
        Command::Report { format, org } => {
            let format = if cli.global.json {
                report::Format::Json
            } else {
                *format
            };
            report::run(&deps, org.as_deref(), format, progress).await
        }
    }
}
