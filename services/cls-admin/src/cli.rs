//! The command line (clap derive). Parsing only; `crate::run` does the work.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::report::Format;

const AFTER_HELP: &str = "\
Configuration comes from the same environment variables as the CLS Lambdas: CLS_STAGE, CLS_QUEUE_URL,
CLS_GITHUB_SECRET_ID, CLS_SLACK_SECRET_ID, CLS_ALERTS_SECRET_ID, CLS_SPOKE_SECRET_ID, CLS_IDENTITY_SECRET_ID,
SPOKE_BASE_URL, GITHUB_API_BASE_URL, AWS_ENDPOINT_URL (moto locally) and the usual AWS credentials. Secret
values are never printed.

Every command that changes a ticket only enqueues messages on the FIFO queue (cls-queue applies them, one
writer per collaborator) and accepts --dry-run (print the plan, send nothing).

Exit codes: 0 ok · 1 the command ran but something failed (a doctor check, a bad input row, a message not
sent) · 2 usage or input error · 3 configuration or secret error · 4 Spoke, GitHub or SQS failed.";

/// Operations CLI of CLS (Collaborator Lifecycle Security): adopt existing collaborators, list and extend
/// expiring access, compare GitHub with the tickets, recover failed webhooks, check the installation, and
/// produce the access-review report.
#[derive(Debug, Parser)]
#[command(name = "cls-admin", version, about, long_about, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Args)]
pub struct Global {
    /// Print exactly one JSON document on stdout (for scripts); no tables, no progress bars.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Adopt collaborators without a ticket: one `import` message per collaborator.
    ///
    /// --from-github lists every outside collaborator of the org (or of every configured org) and their
    /// repositories and permissions. --csv reads `login,name,repositories[,added_by,added_at,expires_on]`
    /// (repositories separated by spaces or `;`, each `repo`, `org/repo` or either with `:permission`).
    /// --audit-csv replays an audit-log export (`action`, `actor`, `user`, `repo`, `created_at` or
    /// `@timestamp`, optional `permission`; actions repo.add_member / update_member / remove_member) in time
    /// order and imports what is still granted at its end. Bad rows are reported with their line number.
    /// cls-queue creates a ticket only where none exists; a re-run creates nothing new.
    #[command(
        after_help = "Examples:\n  cls-admin backfill --from-github --dry-run\n  cls-admin backfill --org acme --csv collaborators.csv\n  cls-admin backfill --org acme --audit-csv export.csv --json"
    )]
    Backfill(BackfillArgs),
    /// List open tickets whose access ends within the window (overdue ones included). Read-only.
    #[command(after_help = "Example:\n  cls-admin expiring --within 14d --org acme")]
    Expiring {
        /// The window: a number of days, `30d` or `30`.
        #[arg(long, default_value = "30d", value_parser = parse_window)]
        within: u32,
        /// Only this org.
        #[arg(long)]
        org: Option<String>,
    },
    /// Extend one collaborator's access: enqueues `admin_extend`; the ticket message names the operator.
    ///
    /// --days N extends to max(current expiry, today) + N days.
    #[command(
        after_help = "Examples:\n  cls-admin extend acme/octocat --until 2027-09-01 --reason \"contract renewed\"\n  cls-admin extend acme/octocat --days 90 --dry-run"
    )]
    Extend {
        /// `ORG/LOGIN`.
        target: String,
        /// The new expiry (YYYY-MM-DD).
        #[arg(long, conflicts_with = "days", required_unless_present = "days", value_parser = parse_date)]
        until: Option<NaiveDate>,
        /// Days to add to max(current expiry, today).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: Option<u32>,
        /// Why (shown in the ticket message).
        #[arg(long)]
        reason: Option<String>,
        /// Who runs the command (default: CLS_OPERATOR, else USER).
        #[arg(long)]
        operator: Option<String>,
        /// Print the plan, send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare GitHub with the tickets: outside collaborators without an open ticket, and open tickets whose
    /// user is no longer an outside collaborator. Read-only.
    #[command(after_help = "Example:\n  cls-admin reconcile --org acme")]
    Reconcile {
        /// The org.
        #[arg(long)]
        org: String,
    },
    /// Ask GitHub to re-send the App's webhook deliveries that failed (e.g. while the queue was down).
    #[command(after_help = "Example:\n  cls-admin redeliver --since 24 --dry-run")]
    Redeliver {
        /// Look back this many hours (1–72; GitHub keeps deliveries for 3 days).
        #[arg(long)]
        since: u32,
        /// List what would be redelivered, request nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the daily sweep now, in this process (the cls-sweep library): reads every open ticket, decides
    /// what is due (expiry, reminders, inactivity) and enqueues one `review` per due ticket for cls-queue.
    ///
    /// --allow-removals N confirms up to N removals after the safety brake held them (more removals due than
    /// CLS_SWEEP_MAX_REMOVALS). Continuations run inline.
    #[command(
        after_help = "Examples:\n  cls-admin sweep --dry-run\n  cls-admin sweep --allow-removals 30"
    )]
    Sweep {
        /// Plan only: nothing is sent; the plan is printed and posted to the alert channel.
        #[arg(long)]
        dry_run: bool,
        /// Raise the removal brake to N for this run.
        #[arg(long)]
        allow_removals: Option<usize>,
    },
    /// Check the installation: secrets, queue, Spoke request type/fields/tags, GitHub App permissions per
    /// org. One line per check; exits 1 on any FAIL.
    #[command(after_help = "Example:\n  cls-admin doctor")]
    Doctor,
    /// The access-review report: every tracked collaborator (all ticket statuses) with org, repositories
    /// and permissions, who added them and when, expiry, reminders sent, extensions with who approved them
    /// and when, and status. Read-only.
    #[command(
        after_help = "Examples:\n  cls-admin report --format csv > access-review.csv\n  cls-admin report --org acme --format json"
    )]
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Only this org.
        #[arg(long)]
        org: Option<String>,
    },
}

/// `backfill`'s arguments.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
pub struct BackfillArgs {
    /// Only this org (required with --csv and --audit-csv); default every configured org.
    #[arg(long)]
    pub org: Option<String>,
    /// Read the collaborators from the GitHub API.
    #[arg(long, group = "source")]
    pub from_github: bool,
    /// Read them from a CSV file.
    #[arg(long, value_name = "FILE", requires = "org", group = "source")]
    pub csv: Option<PathBuf>,
    /// Replay an audit-log CSV export.
    #[arg(long, value_name = "FILE", requires = "org", group = "source")]
    pub audit_csv: Option<PathBuf>,
    /// Print the plan, send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_window(raw: &str) -> Result<u32, String> {
    crate::expiring::parse_window(raw)
}

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    cls_core::dates::parse_date(raw).ok_or_else(|| format!("`{raw}` is not a YYYY-MM-DD date"))
}
