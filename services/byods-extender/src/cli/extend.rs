//! `byods extend` and `byods sweep`: extend data sources now, or run the Lambda's sweep locally.

use serde_json::{Value, json};

use super::args::ExtendArgs;
use super::{Exit, Report, exit_code, exit_for, fmt_time, open_session, usage};
use crate::Deps;
use crate::session::{DataSourceResult, Outcome, ProcessOptions};
use crate::sweep::{Overrides, run_sweep};

/// Extends one data source, or every configured/listed one. Without `--if-due` every source is extended
/// whatever its expiry; with it only those inside the window, whatever `BYODS_EXTEND_MODE` says.
pub(super) async fn extend(deps: &Deps, args: ExtendArgs) -> Result<Report, Exit> {
    let session = open_session(deps).await?;
    session.keep_integration_alive().await?;
    session.service_token().await?;
    let ids = match args.id {
        Some(id) => vec![id],
        None => session.data_source_ids(None).await?,
    };
    let options = ProcessOptions {
        only_when_due: args.if_due,
        dry_run: args.dry_run,
        lifetime_minutes: args.lifetime_minutes,
    };
    let mut results: Vec<DataSourceResult> = Vec::new();
    for id in &ids {
        results.push(session.process(id, options).await);
    }
    session.flush_pending().await;
    let lines: Vec<String> = results.iter().map(line_for).collect();
    let code = exit_for(&session.failures(), 0);
    let doc = json!({"sweepId": session.ctx().sweep_id(), "dataSources": results});
    Ok((code, doc, lines.join("\n")))
}

/// One line of `byods extend`: what happened, with the Webex tracking id of the PUT or of the failure.
fn line_for(r: &DataSourceResult) -> String {
    let tracking = r.tracking_id.as_deref().unwrap_or("-");
    match r.outcome {
        Outcome::Extended => format!(
            "{}: extended {} -> {} (nonce fp {}, trackingId {tracking})",
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
            "{}: FAILED {} (trackingId {tracking})",
            r.id,
            r.error_class.as_deref().unwrap_or("-"),
        ),
        other => format!(
            "{}: {} (expires {})",
            r.id,
            other.as_str(),
            fmt_time(r.expires_at)
        ),
    }
}

/// Runs the Lambda's sweep with the given overrides and prints its summary. `--mode` wins over
/// `BYODS_EXTEND_MODE`.
pub(super) async fn sweep(
    deps: &Deps,
    dry_run: bool,
    mode: Option<String>,
    ids: Vec<String>,
) -> Result<Report, Exit> {
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
    match run_sweep(deps, &overrides, None).await {
        Ok(summary) => {
            let doc = serde_json::to_value(&summary).unwrap_or(Value::Null);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            Ok((0, doc, text))
        }
        Err(e) => {
            let summary = e.summary.as_ref().map_or(Value::Null, |s| json!(s));
            let doc =
                json!({"errorClass": e.class.as_str(), "error": e.message, "summary": summary});
            let text = format!(
                "{}\nsweep failed: {}\naction: {}",
                serde_json::to_string_pretty(&summary).unwrap_or_default(),
                e.message,
                e.class.action()
            );
            Ok((exit_code(e.class), doc, text))
        }
    }
}
