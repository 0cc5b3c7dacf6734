//! `byods`: the operator CLI of byods-extender (`byods.md` §6). Tables and JSON go to stdout, diagnostics
//! to stderr. Exit codes: 0 ok, 1 warnings, 2 usage/ConfigInvalid, 3 re-auth/denied/state mismatch,
//! 4 transient, 5 Secrets Manager, 6 Webex rejected.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::io::BufRead as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use byods_extender::config::Config;
use byods_extender::credentials::Credentials;
use byods_extender::oauth::{CallbackListener, OAuthError, authorize_url, new_pkce, new_state};
use byods_extender::redact::fingerprint;
use byods_extender::session::{
    DataSourceResult, Outcome, ProcessOptions, Session, data_source_expiry,
};
use byods_extender::webex::{CallCtx, ClientCredentials, JwsClaims, MintRequest};
use byods_extender::{Deps, Failure, FailureClass, Overrides};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use lambda_kit::MemorySink;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

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
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Secret name or ARN holding the credentials.
    #[arg(long, global = true, env = "BYODS_SECRET_ID")]
    secret_id: Option<String>,
    /// AWS region of the secret.
    #[arg(long, global = true)]
    region: Option<String>,
    /// Webex API base URL (default https://webexapis.com/v1).
    #[arg(long, global = true, env = "WEBEX_API_BASE_URL")]
    api_base_url: Option<String>,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// More diagnostics on stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// No diagnostics on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    Extend {
        /// The data source id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every configured or listed data source.
        #[arg(long)]
        all: bool,
        /// Lifetime to request, 1–1440 minutes.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1440))]
        lifetime_minutes: Option<u32>,
        /// Only extend sources inside the extension window.
        #[arg(long)]
        if_due: bool,
        /// Print the PUT body (nonce masked) instead of sending it.
        #[arg(long)]
        dry_run: bool,
    },
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
        /// `window` or `always`.
        #[arg(long)]
        mode: Option<String>,
        /// Only these ids (comma-separated).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<String>,
    },
}

#[derive(Debug, Args)]
struct SetupArgs {
    /// Integration client id (default: the one in the secret).
    #[arg(long)]
    client_id: Option<String>,
    /// Integration client secret (also env BYODS_INTEGRATION_CLIENT_SECRET; else read from stdin).
    #[arg(long, env = "BYODS_INTEGRATION_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Must equal the integration's redirect URI exactly.
    #[arg(long, default_value = "http://localhost:3000/callback")]
    redirect_uri: String,
    /// OAuth scope.
    #[arg(long, default_value = "spark:applications_token")]
    scope: String,
    /// Service-app client id (only if the secret lacks it).
    #[arg(long)]
    service_app_client_id: Option<String>,
    /// Service-app client secret (only if the secret lacks it).
    #[arg(long, hide_env_values = true)]
    service_app_client_secret: Option<String>,
    /// Service-app id (only if the secret lacks it; derived otherwise).
    #[arg(long)]
    app_id: Option<String>,
    /// Target organisation id (only if the secret lacks it).
    #[arg(long)]
    target_org_id: Option<String>,
    /// Create the secret when it does not exist.
    #[arg(long)]
    create: bool,
    /// Print the authorisation URL instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// Seconds to wait for the browser callback.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Do not mint a service-app token to verify the result.
    #[arg(long)]
    skip_verify: bool,
    /// Do not write the secret.
    #[arg(long)]
    dry_run: bool,
}

/// A CLI failure: an exit code and a message for stderr.
struct Exit {
    code: u8,
    message: String,
}

impl From<Failure> for Exit {
    fn from(f: Failure) -> Self {
        Self {
            code: u8::try_from(f.class.exit_code()).unwrap_or(1),
            message: format!("{f}\naction: {}", f.class.action()),
        }
    }
}

fn usage(message: impl Into<String>) -> Exit {
    Exit {
        code: 2,
        message: message.into(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.global.quiet {
        lambda_kit::init_tracing();
    }
    let json = cli.global.json;
    let outcome = tokio::select! {
        outcome = run(cli) => outcome,
        _ = tokio::signal::ctrl_c() => Err(Exit { code: 130, message: "interrupted".to_owned() }),
    };
    match outcome {
        Ok((code, doc, text)) => {
            if json {
                println!("{doc}");
            } else if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::from(code)
        }
        Err(exit) => {
            if json {
                println!("{}", json!({"error": exit.message, "exitCode": exit.code}));
            }
            eprintln!("byods: {}", exit.message);
            ExitCode::from(exit.code)
        }
    }
}

fn config(global: &Global) -> Result<Config, Exit> {
    let env = lambda_kit::env_lookup();
    let mut flags: HashMap<&str, String> = HashMap::new();
    if let Some(s) = &global.secret_id {
        flags.insert("BYODS_SECRET_ID", s.clone());
    }
    if let Some(u) = &global.api_base_url {
        flags.insert("WEBEX_API_BASE_URL", u.clone());
    }
    Config::from_lookup(|k| flags.get(k).cloned().or_else(|| env(k)))
        .map_err(|e| usage(format!("{e}")))
}

async fn sdk_config(global: &Global) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &global.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    loader.load().await
}

fn deps(sdk: &aws_config::SdkConfig, config: Config) -> Result<Deps, Exit> {
    byods_extender::build_deps_from_sdk(config, sdk, Arc::new(MemorySink::default())).map_err(|e| {
        Exit {
            code: 4,
            message: e.to_string(),
        }
    })
}

type Report = (u8, Value, String);

async fn run(cli: Cli) -> Result<Report, Exit> {
    let config = config(&cli.global)?;
    let sdk = sdk_config(&cli.global).await;
    let deps = deps(&sdk, config)?;
    match cli.command {
        Command::SetupOauth(args) => setup_oauth(&deps, &sdk, args).await,
        Command::List {
            ids,
            window_minutes,
            claims,
        } => list(&deps, &ids, window_minutes, claims).await,
        Command::Extend {
            id,
            all,
            lifetime_minutes,
            if_due,
            dry_run,
        } => extend(&deps, id, all, lifetime_minutes, if_due, dry_run).await,
        Command::Status { check_write } => status(&deps, check_write).await,
        Command::Doctor => doctor(&deps).await,
        Command::Sweep { dry_run, mode, ids } => {
            if mode
                .as_deref()
                .is_some_and(|m| m != "window" && m != "always")
            {
                return Err(usage("--mode must be window or always"));
            }
            let overrides = Overrides {
                dry_run: dry_run.then_some(true),
                force: None,
                data_source_ids: (!ids.is_empty()).then_some(ids),
                mode,
            };
            match byods_extender::run_sweep(&deps, &overrides, None).await {
                Ok(summary) => {
                    let doc = serde_json::to_value(&summary).unwrap_or(Value::Null);
                    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                    Ok((0, doc, text))
                }
                Err(e) => {
                    let code = u8::try_from(e.class.exit_code()).unwrap_or(1);
                    let summary = e.summary.as_ref().map_or(Value::Null, |s| json!(s));
                    let doc = json!({"errorClass": e.class.as_str(), "error": e.message, "summary": summary});
                    let text = format!(
                        "{}\nsweep failed: {}\naction: {}",
                        serde_json::to_string_pretty(&summary).unwrap_or_default(),
                        e.message,
                        e.class.action()
                    );
                    Ok((code, doc, text))
                }
            }
        }
    }
}

fn ctx() -> CallCtx {
    CallCtx::new(
        &format!("cli{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        None,
    )
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn set_fp(s: Option<&SecretString>) -> String {
    s.map_or_else(
        || "not set".to_owned(),
        |s| format!("set (fp {})", fingerprint(s.expose_secret())),
    )
}

fn read_secret_line(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    let line = line.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

async fn setup_oauth(
    deps: &Deps,
    sdk: &aws_config::SdkConfig,
    args: SetupArgs,
) -> Result<Report, Exit> {
    let secret_id = deps.config.secret_id.clone();
    let (mut creds, exists) = match deps.secrets.get_fresh(&secret_id).await {
        Ok(v) => (
            Credentials::from_value(&v.value)
                .map_err(|e| usage(format!("secret {secret_id}: {e}")))?,
            true,
        ),
        Err(secrets::SecretsError::NotFound { .. }) if args.create => {
            (Credentials::default(), false)
        }
        Err(e @ secrets::SecretsError::NotFound { .. }) => {
            return Err(Exit {
                code: 5,
                message: format!("{e}; pass --create to create it"),
            });
        }
        Err(e) => {
            return Err(Exit {
                code: 5,
                message: e.to_string(),
            });
        }
    };
    let client_id = args
        .client_id
        .clone()
        .or_else(|| creds.token_manager.client_id.clone())
        .ok_or_else(|| {
            usage("--client-id is required (the secret has no tokenManager.clientId)")
        })?;
    let client_secret = match args.client_secret.clone() {
        Some(s) => SecretString::from(s),
        None => match creds.token_manager.client_secret.clone() {
            Some(s) if args.client_id.is_none() => s,
            _ => read_secret_line("Integration client secret: ")
                .map(SecretString::from)
                .ok_or_else(|| usage("the integration client secret is required"))?,
        },
    };
    let sa = &mut creds.service_app;
    if sa.client_id.is_none() {
        sa.client_id.clone_from(&args.service_app_client_id);
    }
    if sa.client_secret.is_none() {
        sa.client_secret = args
            .service_app_client_secret
            .clone()
            .map(SecretString::from);
    }
    if sa.app_id.is_none() {
        sa.app_id.clone_from(&args.app_id);
    }
    if sa.target_org_id.is_none() {
        sa.target_org_id.clone_from(&args.target_org_id);
    }

    let state = new_state();
    let pkce = new_pkce();
    let listener = CallbackListener::bind(&args.redirect_uri)
        .await
        .map_err(|e| usage(e.to_string()))?;
    let url = authorize_url(
        deps.webex.base_url(),
        &client_id,
        &args.redirect_uri,
        &args.scope,
        &state,
        &pkce.challenge,
    );
    let opened = !args.no_browser && open_browser(url.as_str());
    if !opened {
        eprintln!("Open this URL in a browser and approve the integration:\n{url}");
    }
    let code = listener
        .wait(&state, Duration::from_secs(args.timeout))
        .await
        .map_err(|e| Exit {
            code: match e {
                OAuthError::Denied(_) | OAuthError::StateMismatch | OAuthError::MissingCode => 3,
                OAuthError::Timeout(_) => 4,
                _ => 2,
            },
            message: format!("{e}; nothing was written"),
        })?;
    let client = ClientCredentials {
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
    };
    let ctx = ctx();
    let tokens = deps
        .webex
        .exchange_code(&ctx, &client, &code, &args.redirect_uri, &pkce.verifier)
        .await
        .map_err(|e| Exit {
            code: if e.is_transient() { 4 } else { 6 },
            message: format!("exchanging the authorization code failed: {e}; nothing was written"),
        })?;
    if tokens.refresh_token.is_none() {
        return Err(Exit {
            code: 6,
            message: "the token response has no refresh_token; nothing was written".to_owned(),
        });
    }
    let now = deps.clock.now();
    creds.token_manager.client_id = Some(client_id);
    creds.token_manager.client_secret = Some(client_secret);
    creds.token_manager.tokens = Default::default();
    creds.token_manager.tokens.apply(&tokens, now);

    let mut verify_failure: Option<Failure> = None;
    if !args.skip_verify {
        let request = MintRequest {
            client_id: creds.service_app.client_id.clone().unwrap_or_default(),
            client_secret: creds.service_app.client_secret.clone().unwrap_or_default(),
            target_org_id: creds.service_app.target_org_id.clone().unwrap_or_default(),
        };
        let app_id = creds.service_app.effective_app_id().unwrap_or_default();
        match deps
            .webex
            .mint_service_app_token(&ctx, &app_id, &tokens.access_token, &request)
            .await
        {
            Ok(sa_tokens) => creds.service_app.tokens.apply(&sa_tokens, now),
            Err(e) => {
                let class = match e.status() {
                    Some(401) => FailureClass::IntegrationScopeMissing,
                    Some(403) => FailureClass::ServiceAppNotAuthorized,
                    Some(400 | 404) => FailureClass::ConfigInvalid,
                    _ if e.is_transient() => FailureClass::Upstream,
                    _ => FailureClass::WebexRejected,
                };
                verify_failure = Some(Failure::new(
                    class,
                    format!("verifying with a service-app mint failed: {e}"),
                ));
            }
        }
    }

    let mut written = "not written (--dry-run)".to_owned();
    if !args.dry_run {
        if exists {
            let version = write(deps, &creds).await?;
            written = format!("written, version {version}");
        } else {
            let value = creds.write_into(&json!({}));
            let sm = aws_sdk_secretsmanager::Client::new(sdk);
            sm.create_secret()
                .name(&secret_id)
                .secret_string(value.to_string())
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await
                .map_err(|e| Exit {
                    code: 5,
                    message: format!(
                        "CreateSecret {secret_id} failed: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    ),
                })?;
            written = "created".to_owned();
        }
    }
    let tm = &creds.token_manager;
    let doc = json!({
        "secretId": secret_id,
        "secret": written,
        "tokenManager": {
            "clientId": tm.client_id,
            "clientSecret": set_fp(tm.client_secret.as_ref()),
            "accessToken": set_fp(tm.tokens.access_token.as_ref()),
            "accessTokenExpiresAt": fmt_time(tm.tokens.access_token_expires_at),
            "refreshToken": set_fp(tm.tokens.refresh_token.as_ref()),
            "refreshTokenExpiresAt": fmt_time(tm.tokens.refresh_token_expires_at),
        },
        "serviceApp": {
            "clientId": creds.service_app.client_id,
            "accessToken": set_fp(creds.service_app.tokens.access_token.as_ref()),
            "accessTokenExpiresAt": fmt_time(creds.service_app.tokens.access_token_expires_at),
            "verified": if args.skip_verify { "skipped".to_owned() } else if verify_failure.is_none() { "ok".to_owned() } else { "failed".to_owned() },
        },
    });
    let text = format!(
        "secret {secret_id}: {written}\n\
         tokenManager.clientSecret  {}\n\
         tokenManager.accessToken   {}  expires {}\n\
         tokenManager.refreshToken  {}  expires {}\n\
         serviceApp.accessToken     {}  expires {}",
        set_fp(tm.client_secret.as_ref()),
        set_fp(tm.tokens.access_token.as_ref()),
        fmt_time(tm.tokens.access_token_expires_at),
        set_fp(tm.tokens.refresh_token.as_ref()),
        fmt_time(tm.tokens.refresh_token_expires_at),
        set_fp(creds.service_app.tokens.access_token.as_ref()),
        fmt_time(creds.service_app.tokens.access_token_expires_at),
    );
    if let Some(f) = verify_failure {
        eprintln!("{text}");
        return Err(f.into());
    }
    Ok((0, doc, text))
}

fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn write(deps: &Deps, creds: &Credentials) -> Result<String, Exit> {
    // The library's write path: fresh read, merge, PutSecretValue with a client request token.
    let session_creds = creds.clone();
    byods_extender::deps::save_credentials(deps, &session_creds)
        .await
        .map_err(|e| Exit {
            code: 5,
            message: format!("PutSecretValue on {} failed: {e}", deps.config.secret_id),
        })
}

async fn open_session(deps: &Deps) -> Result<Session<'_>, Exit> {
    Session::open(deps, ctx()).await.map_err(Exit::from)
}

fn row_for(
    ds: &byods_extender::webex::DataSource,
    now: DateTime<Utc>,
    window: chrono::Duration,
    claims: bool,
) -> Value {
    let expires = data_source_expiry(ds);
    let minutes_left = expires.map(|e| (e - now).num_minutes());
    let mut row = json!({
        "id": ds.id,
        "status": ds.status,
        "audience": ds.audience,
        "subject": ds.subject,
        "url": ds.url,
        "tokenLifetimeMinutes": ds.token_lifetime_minutes.map(|m| m.round() as i64),
        "expiresAt": expires.map(|e| fmt_time(Some(e))),
        "minutesLeft": minutes_left,
        "due": minutes_left.is_none_or(|m| m <= window.num_minutes()),
    });
    if claims {
        let c = ds
            .jws_token
            .as_ref()
            .and_then(|t| JwsClaims::decode(t.expose_secret()));
        row["claims"] = c.map_or(Value::Null, |c| {
            json!({"aud": c.aud, "sub": c.sub, "iss": c.iss, "iat": c.iat, "exp": c.exp,
                   "com.cisco.datasource.url": c.url, "com.cisco.datasource.schema.uuid": c.schema_uuid,
                   "com.cisco.org.uuid": c.org_uuid})
        });
    }
    row
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(headers.iter().map(|h| (*h).to_owned()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn expires_in(minutes: &Value) -> String {
    minutes.as_i64().map_or_else(
        || "-".to_owned(),
        |m| format!("{}h{:02}m", m / 60, m.rem_euclid(60)),
    )
}

async fn list(
    deps: &Deps,
    ids: &[String],
    window: Option<i64>,
    claims: bool,
) -> Result<Report, Exit> {
    let session = open_session(deps).await?;
    session.keep_integration_alive().await?;
    let sources = if ids.is_empty() && deps.config.data_source_ids.is_empty() {
        session.list_data_sources().await?
    } else {
        let wanted = if ids.is_empty() {
            deps.config.data_source_ids.clone()
        } else {
            ids.to_vec()
        };
        let mut out = Vec::new();
        for id in wanted {
            out.push(session.get_data_source(&id).await?);
        }
        out
    };
    session.flush_pending().await;
    let now = deps.clock.now();
    let window = window.map_or(deps.config.extend_window, chrono::Duration::minutes);
    let rows: Vec<Value> = sources
        .iter()
        .map(|d| row_for(d, now, window, claims))
        .collect();
    let text = table(
        &[
            "ID",
            "STATUS",
            "AUDIENCE",
            "SUBJECT",
            "URL",
            "EXPIRES_AT",
            "EXPIRES_IN",
            "DUE",
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    cell(&r["id"]),
                    cell(&r["status"]),
                    cell(&r["audience"]),
                    cell(&r["subject"]),
                    cell(&r["url"]),
                    cell(&r["expiresAt"]),
                    expires_in(&r["minutesLeft"]),
                    if r["due"] == json!(true) {
                        "yes".to_owned()
                    } else {
                        "no".to_owned()
                    },
                ]
            })
            .collect::<Vec<_>>(),
    );
    let text = if claims {
        let extra: Vec<String> = rows
            .iter()
            .map(|r| format!("{}: {}", cell(&r["id"]), r["claims"]))
            .collect();
        format!("{text}\n\n{}", extra.join("\n"))
    } else {
        text
    };
    let code = exit_for(&session.failures(), 0);
    Ok((code, json!({"dataSources": rows}), text))
}

fn exit_for(failures: &[Failure], otherwise: u8) -> u8 {
    failures
        .iter()
        .map(|f| f.class)
        .min()
        .map_or(otherwise, |c| u8::try_from(c.exit_code()).unwrap_or(1))
}

async fn extend(
    deps: &Deps,
    id: Option<String>,
    all: bool,
    lifetime: Option<u32>,
    if_due: bool,
    dry_run: bool,
) -> Result<Report, Exit> {
    let session = open_session(deps).await?;
    session.keep_integration_alive().await?;
    session.service_token().await?;
    let ids = match (id, all) {
        (Some(id), _) => vec![id],
        (None, _) => session.data_source_ids(None).await?,
    };
    let options = ProcessOptions {
        force: !if_due,
        dry_run,
        lifetime_minutes: lifetime,
    };
    let mut results: Vec<DataSourceResult> = Vec::new();
    for id in &ids {
        results.push(session.process(id, options).await);
    }
    session.flush_pending().await;
    let lines: Vec<String> = results
        .iter()
        .map(|r| match r.outcome {
            Outcome::Extended => format!(
                "{}: extended {} -> {} (nonce fp {})",
                r.id,
                fmt_time(r.expires_at),
                fmt_time(r.new_expires_at),
                r.nonce_fp.as_deref().unwrap_or("-")
            ),
            Outcome::WouldExtend => format!(
                "{}: would extend (expires {}); PUT body {}",
                r.id,
                fmt_time(r.expires_at),
                r.planned_body.clone().unwrap_or(Value::Null)
            ),
            Outcome::Failed => format!(
                "{}: FAILED {} (trackingId {})",
                r.id,
                r.error_class.as_deref().unwrap_or("-"),
                r.tracking_id.as_deref().unwrap_or("-")
            ),
            other => format!(
                "{}: {} (expires {})",
                r.id,
                other.as_str(),
                fmt_time(r.expires_at)
            ),
        })
        .collect();
    let code = exit_for(&session.failures(), 0);
    let doc = json!({"sweepId": session.ctx().sweep_id(), "dataSources": results});
    Ok((code, doc, lines.join("\n")))
}

async fn status(deps: &Deps, check_write: bool) -> Result<Report, Exit> {
    let session = open_session(deps).await?;
    let creds = session.credentials().await;
    let now = deps.clock.now();
    let mut warnings: Vec<String> = Vec::new();
    let mut lines = vec![format!(
        "secret {}: readable, required keys present",
        deps.config.secret_id
    )];
    if !creds.aliases_used.is_empty() {
        lines.push(format!(
            "legacy key names in use (migrated on the next write): {}",
            creds.aliases_used.join(", ")
        ));
    }
    let days = |t: Option<DateTime<Utc>>| t.map(|t| (t - now).num_seconds() as f64 / 86_400.0);
    let rt_days = days(creds.token_manager.tokens.refresh_token_expires_at);
    lines.push(format!(
        "integration access token: {}; refresh token: {}",
        days(creds.token_manager.tokens.access_token_expires_at)
            .map_or("expiry unknown".to_owned(), |d| format!("{d:.1} days left")),
        rt_days.map_or("expiry unknown".to_owned(), |d| format!("{d:.1} days left"))
    ));
    if rt_days.is_some_and(|d| d < deps.config.refresh_token_warn.num_days() as f64) {
        warnings.push("the integration refresh token expires within the warning days: run `byods setup-oauth` soon".to_owned());
    }
    let mut fail: Option<Failure> = None;
    let mut sources: Vec<Value> = Vec::new();
    let prepared = async {
        session.keep_integration_alive().await?;
        session.service_token().await?;
        session.data_source_ids(None).await
    }
    .await;
    match prepared {
        Ok(ids) => {
            lines.push(format!(
                "service-app token: ok ({})",
                session.service_app_source().await.unwrap_or("-")
            ));
            for id in ids {
                match session.get_data_source(&id).await {
                    Ok(ds) => {
                        let row = row_for(&ds, now, deps.config.extend_window, false);
                        if row["due"] == json!(true) {
                            warnings
                                .push(format!("data source {id} is inside the extension window"));
                        }
                        if !ds.is_active() {
                            warnings.push(format!("data source {id} is not active"));
                        }
                        lines.push(format!(
                            "data source {id}: {} expires {} ({})",
                            cell(&row["status"]),
                            cell(&row["expiresAt"]),
                            expires_in(&row["minutesLeft"])
                        ));
                        sources.push(row);
                    }
                    Err(f) => {
                        lines.push(format!("data source {id}: {f}"));
                        fail = worse(fail, f);
                    }
                }
            }
        }
        Err(f) => {
            lines.push(format!("{f}"));
            fail = Some(f);
        }
    }
    let mut written = None;
    if check_write {
        match session.write_back().await {
            Ok(v) => {
                lines.push(format!("secret write: ok (version {v})"));
                written = Some(v);
            }
            Err(f) => {
                lines.push(format!("secret write: {f}"));
                fail = worse(fail, f);
            }
        }
    }
    session.flush_pending().await;
    if let Some(pending_failure) = session
        .failures()
        .into_iter()
        .find(|f| f.class == FailureClass::SecretWriteFailed)
    {
        fail = worse(fail, pending_failure);
    }
    for w in &warnings {
        lines.push(format!("warning: {w}"));
    }
    let (code, health) = match &fail {
        Some(f) => (
            u8::try_from(f.class.exit_code()).unwrap_or(1),
            f.class.as_str().to_owned(),
        ),
        None if !warnings.is_empty() => (1, "warning".to_owned()),
        None => (0, "healthy".to_owned()),
    };
    if let Some(f) = &fail {
        lines.push(format!("action: {}", f.class.action()));
    }
    let doc = json!({
        "health": health,
        "secretId": deps.config.secret_id,
        "aliasesUsed": creds.aliases_used,
        "integrationRefreshTokenDaysLeft": rt_days,
        "dataSources": sources,
        "warnings": warnings,
        "errorClass": fail.as_ref().map(|f| f.class.as_str()),
        "secretWriteVersion": written,
    });
    Ok((code, doc, lines.join("\n")))
}

fn worse(current: Option<Failure>, new: Failure) -> Option<Failure> {
    match current {
        Some(prev) if prev.class <= new.class => Some(prev),
        _ => Some(new),
    }
}

async fn doctor(deps: &Deps) -> Result<Report, Exit> {
    let mut checks: Vec<(String, Result<String, Failure>)> = Vec::new();
    let session = match Session::open(deps, ctx()).await {
        Ok(s) => {
            checks.push((
                "secret present and readable".into(),
                Ok(deps.config.secret_id.clone()),
            ));
            checks.push(("keys valid (no placeholders)".into(), Ok("ok".into())));
            Some(s)
        }
        Err(f) => {
            let name = if f.class == FailureClass::ConfigInvalid {
                "keys valid (no placeholders)"
            } else {
                "secret present and readable"
            };
            checks.push((name.into(), Err(f)));
            None
        }
    };
    if let Some(session) = &session {
        checks.push((
            "secret writable".into(),
            session.write_back().await.map(|v| format!("version {v}")),
        ));
        checks.push((
            "integration refresh works".into(),
            session
                .force_integration_refresh()
                .await
                .map(|()| "ok".into()),
        ));
        checks.push((
            "service app authorised (mint succeeds)".into(),
            session.mint_service_token().await.map(|()| "ok".into()),
        ));
        match session.data_source_ids(None).await {
            Ok(ids) => {
                for id in ids {
                    let result = session.get_data_source(&id).await.and_then(|ds| {
                        if ds.is_active() {
                            Ok(format!(
                                "active, expires {}",
                                fmt_time(data_source_expiry(&ds))
                            ))
                        } else {
                            Err(Failure::new(
                                FailureClass::WebexRejected,
                                format!("status is {}", ds.status.as_deref().unwrap_or("-")),
                            )
                            .for_data_source(&id))
                        }
                    });
                    checks.push((format!("data source {id} active"), result));
                }
            }
            Err(f) => checks.push(("data sources listed".into(), Err(f))),
        }
        session.flush_pending().await;
    }
    let worst = checks
        .iter()
        .filter_map(|(_, r)| r.as_ref().err().map(|f| f.class))
        .min();
    let text = checks
        .iter()
        .map(|(name, r)| match r {
            Ok(detail) => format!("[ok]   {name}: {detail}"),
            Err(f) => format!("[FAIL] {name}: {f}\n       action: {}", f.class.action()),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let doc = json!({
        "checks": checks.iter().map(|(name, r)| match r {
            Ok(detail) => json!({"check": name, "ok": true, "detail": detail}),
            Err(f) => json!({"check": name, "ok": false, "errorClass": f.class.as_str(), "detail": f.to_string()}),
        }).collect::<Vec<_>>(),
    });
    let code = worst.map_or(0, |c| u8::try_from(c.exit_code()).unwrap_or(1));
    Ok((code, doc, text))
}
