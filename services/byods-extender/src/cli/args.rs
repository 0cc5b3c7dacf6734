//! The command line of `byods` (clap): global flags, subcommands and their options.

use clap::{Args, Parser, Subcommand};

/// Keeps Webex BYODS data sources alive: OAuth set-up, status, listing and manual extension, using the
/// same library (and the same secret) as the hourly Lambda.
///
/// Configuration comes from the flags below or the Lambda's environment variables (BYODS_SECRET_ID,
/// WEBEX_API_BASE_URL, BYODS_DATA_SOURCE_IDS, …). AWS credentials and region come from the usual AWS
/// environment; AWS_ENDPOINT_URL points at a local moto.
///
/// Exit codes: 0 ok · 1 warnings · 2 usage error or ConfigInvalid · 3 re-authorisation required, set-up
/// denied or state mismatch · 4 transient failure · 5 Secrets Manager read/write failure · 6 Webex
/// rejected the request (403 service app, 404 data source, other 4xx) · 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "byods", version, about, long_about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Secret name or ARN holding the credentials.
    #[arg(long, global = true, env = "BYODS_SECRET_ID")]
    pub(crate) secret_id: Option<String>,
    /// AWS region of the secret.
    #[arg(long, global = true)]
    pub(crate) region: Option<String>,
    /// Webex API base URL (default https://webexapis.com/v1).
    #[arg(long, global = true, env = "WEBEX_API_BASE_URL")]
    pub(crate) api_base_url: Option<String>,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More diagnostics on stderr.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// No diagnostics on stderr.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Authorise the token-manager integration in a browser (PKCE, loopback callback) and save its
    /// tokens in the secret. Replaces the sample's setup_oauth.py and the manual copy into Secrets Manager.
    SetupOauth(SetupArgs),
    /// List data sources with their expiry (never shows jwsToken).
    List {
        /// Only these ids (comma-separated).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<String>,
        /// The extension window used for the DUE column.
        #[arg(long)]
        window_minutes: Option<i64>,
        /// Add the decoded token claims.
        #[arg(long)]
        claims: bool,
    },
    /// Extend one data source, or all configured/listed ones, now.
    Extend(ExtendArgs),
    /// Check the secret, the tokens and each data source; exit 0 when healthy, 1 on warnings.
    Status {
        /// Also write the secret back unchanged (adds a version) to prove PutSecretValue works.
        #[arg(long)]
        check_write: bool,
    },
    /// Run the deployment guide's troubleshooting checks, one line each.
    Doctor,
    /// Run the Lambda's sweep locally and print its summary.
    Sweep {
        /// No PUTs.
        #[arg(long)]
        dry_run: bool,
        /// `window` or `always` (wins over BYODS_EXTEND_MODE).
        #[arg(long)]
        mode: Option<String>,
        /// Only these ids (comma-separated).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Integration client id (default: the one in the secret).
    #[arg(long)]
    pub(crate) client_id: Option<String>,
    /// Integration client secret (also env BYODS_INTEGRATION_CLIENT_SECRET; else read from stdin).
    #[arg(long, env = "BYODS_INTEGRATION_CLIENT_SECRET", hide_env_values = true)]
    pub(crate) client_secret: Option<String>,
    /// Must equal the integration's redirect URI exactly.
    #[arg(long, default_value = "http://localhost:3000/callback")]
    pub(crate) redirect_uri: String,
    /// OAuth scope.
    #[arg(long, default_value = "spark:applications_token")]
    pub(crate) scope: String,
    /// Service-app client id (only if the secret lacks it).
    #[arg(long)]
    pub(crate) service_app_client_id: Option<String>,
    /// Service-app client secret (only if the secret lacks it).
    #[arg(long, hide_env_values = true)]
    pub(crate) service_app_client_secret: Option<String>,
    /// Service-app id (only if the secret lacks it; derived otherwise).
    #[arg(long)]
    pub(crate) app_id: Option<String>,
    /// Target organisation id (only if the secret lacks it).
    #[arg(long)]
    pub(crate) target_org_id: Option<String>,
    /// Create the secret when it does not exist.
    #[arg(long)]
    pub(crate) create: bool,
    /// Print the authorisation URL instead of opening a browser.
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Seconds to wait for the browser callback.
    #[arg(long, default_value_t = 300)]
    pub(crate) timeout: u64,
    /// Do not mint a service-app token to verify the result.
    #[arg(long)]
    pub(crate) skip_verify: bool,
    /// Do not write the secret.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// A CLI failure: an exit code and a message for stderr.

#[derive(Debug, Args)]
pub(crate) struct ExtendArgs {
    /// The data source id.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) id: Option<String>,
    /// Every configured or listed data source.
    #[arg(long)]
    pub(crate) all: bool,
    /// Lifetime to request, 1–1440 minutes.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub(crate) lifetime_minutes: Option<u32>,
    /// Only extend sources inside the extension window (whatever BYODS_EXTEND_MODE says).
    #[arg(long)]
    pub(crate) if_due: bool,
    /// Print the PUT body (nonce masked) instead of sending it.
    #[arg(long)]
    pub(crate) dry_run: bool,
}
