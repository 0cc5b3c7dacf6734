//! `byods setup-oauth`: authorise the token-manager integration in a browser (PKCE, loopback callback)
//! and save its client and tokens in the secret.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

use super::args::SetupArgs;
use super::{Exit, Report, ctx, fmt_time, usage};
use crate::Deps;
use crate::credentials::{Credentials, is_placeholder};
use crate::error::{Failure, FailureClass};
use crate::oauth::{CallbackListener, OAuthError, authorize_url, new_pkce, new_state};
use crate::webex::{ClientCredentials, CodeGrant};

/// Reads a secret from the terminal without echoing it (or one line from a pipe).
fn read_hidden(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let line = rpassword::read_password().ok()?;
    let line = line.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// `set (fp 1a2b3c4d)` or `not set`: the only form in which a secret is printed.
fn set_fp(s: Option<&SecretString>) -> String {
    s.map_or_else(
        || "not set".to_owned(),
        |s| format!("set (fp {})", secrets::fingerprint(s.expose_secret())),
    )
}

fn usable(value: Option<&str>) -> Option<String> {
    value.filter(|v| !is_placeholder(v)).map(str::to_owned)
}

/// Authorises the integration and writes its client id, client secret and new tokens to the secret,
/// replacing the stored ones; service-app values are filled in only where the secret lacks them.
pub(super) async fn setup_oauth(
    deps: &Deps,
    sdk: &aws_config::SdkConfig,
    args: SetupArgs,
) -> Result<Report, Exit> {
    let secret_id = deps.config.secret_id.clone();
    // `None`: the secret does not exist yet; else the version read (the base of the merge).
    let (mut creds, read_version) = match deps.secrets.get_fresh(&secret_id).await {
        Ok(v) => (
            Credentials::from_value(&v.value)
                .map_err(|e| usage(format!("secret {secret_id}: {e}")))?,
            Some(v.version_id),
        ),
        Err(secrets::SecretsError::NotFound { .. }) if args.create => {
            (Credentials::default(), None)
        }
        Err(e @ secrets::SecretsError::NotFound { .. }) => {
            return Err(Exit::new(5, format!("{e}; pass --create to create it")));
        }
        Err(e) => return Err(Exit::new(5, e.to_string())),
    };
    let stored_id = usable(creds.token_manager.client_id.as_deref());
    let client_id = args
        .client_id
        .clone()
        .or_else(|| stored_id.clone())
        .ok_or_else(|| {
            usage("--client-id is required (the secret has no usable tokenManager.clientId)")
        })?;
    let stored_secret = usable(
        creds
            .token_manager
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret()),
    )
    // The stored secret belongs to the stored client only.
    .filter(|_| stored_id.as_deref() == Some(client_id.as_str()));
    let client_secret = args
        .client_secret
        .clone()
        .or(stored_secret)
        .or_else(|| read_hidden("Integration client secret: "))
        .map(SecretString::from)
        .ok_or_else(|| usage("the integration client secret is required"))?;
    let sa = &mut creds.service_app;
    let missing = |v: Option<&str>| v.is_none_or(is_placeholder);
    if missing(sa.client_id.as_deref()) {
        sa.client_id.clone_from(&args.service_app_client_id);
    }
    if missing(sa.client_secret.as_ref().map(|s| s.expose_secret())) {
        sa.client_secret = args
            .service_app_client_secret
            .clone()
            .map(SecretString::from);
    }
    if missing(sa.app_id.as_deref()) {
        sa.app_id.clone_from(&args.app_id);
    }
    if missing(sa.target_org_id.as_deref()) {
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
        .map_err(|e| {
            let code = match e {
                OAuthError::Denied(_) | OAuthError::StateMismatch | OAuthError::MissingCode => 3,
                OAuthError::Timeout(_) => 4,
                _ => 2,
            };
            Exit::new(code, format!("{e}; nothing was written"))
        })?;
    let client = ClientCredentials {
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
    };
    let grant = CodeGrant {
        code,
        redirect_uri: args.redirect_uri.clone(),
        code_verifier: pkce.verifier,
    };
    let ctx = ctx();
    let tokens = deps
        .webex
        .exchange_code(&ctx, &client, &grant)
        .await
        .map_err(|e| {
            let code = if e.is_transient() { 4 } else { 6 };
            Exit::new(
                code,
                format!("exchanging the authorization code failed: {e}; nothing was written"),
            )
        })?;
    if tokens.refresh_token.is_none() {
        return Err(Exit::new(
            6,
            "the token response has no refresh_token; nothing was written",
        ));
    }
    let now = deps.clock.now();
    creds.token_manager.client_id = Some(client_id);
    creds.token_manager.client_secret = Some(client_secret);
    creds.token_manager.tokens = Default::default();
    creds.token_manager.tokens.apply(&tokens, now);

    let mut verify_failure: Option<Failure> = None;
    if !args.skip_verify {
        let request = creds.service_app.mint_request();
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

    let written = if args.dry_run {
        "not written (--dry-run)".to_owned()
    } else {
        match read_version {
            Some(base) => {
                let version = crate::deps::save_credentials(deps, &creds, base.as_deref())
                    .await
                    .map_err(|e| {
                        Exit::new(5, format!("PutSecretValue on {secret_id} failed: {e}"))
                    })?;
                format!("written, version {version}")
            }
            None => {
                create_secret(sdk, &secret_id, &creds).await?;
                "created".to_owned()
            }
        }
    };
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

/// Opens `url` in the desktop browser; false when that is not possible.
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

/// `CreateSecret` with the canonical form of `creds` (`--create`).
async fn create_secret(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
    creds: &Credentials,
) -> Result<(), Exit> {
    let value = creds.write_into(&json!({}));
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(secret_id)
        .secret_string(value.to_string())
        .client_request_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .map_err(|e| {
            let e = aws_sdk_secretsmanager::error::DisplayErrorContext(&e);
            Exit::new(5, format!("CreateSecret {secret_id} failed: {e}"))
        })?;
    Ok(())
}
