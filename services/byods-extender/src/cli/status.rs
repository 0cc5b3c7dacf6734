//! `byods status` and `byods doctor`: health of the secret, the tokens and the data sources.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::list::{cell, expires_in, row_for};
use super::{Exit, Report, exit_code, fmt_time, open_session};
use crate::Deps;
use crate::error::{Failure, FailureClass};
use crate::session::{Session, data_source_expiry};

/// Checks the secret, the tokens and each data source: 0 healthy, 1 warnings, else the class's code.
pub(super) async fn status(deps: &Deps, check_write: bool) -> Result<Report, Exit> {
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
        Some(f) => (exit_code(f.class), f.class.as_str().to_owned()),
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

/// The more severe of two failures.
fn worse(current: Option<Failure>, new: Failure) -> Option<Failure> {
    match current {
        Some(prev) if prev.class <= new.class => Some(prev),
        _ => Some(new),
    }
}

/// The deployment guide's troubleshooting checks, one line each.
pub(super) async fn doctor(deps: &Deps) -> Result<Report, Exit> {
    let mut checks: Vec<(String, Result<String, Failure>)> = Vec::new();
    let session = match Session::open(deps, super::ctx()).await {
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
    let code = worst.map_or(0, exit_code);
    Ok((code, doc, text))
}
