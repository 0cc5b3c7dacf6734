//! The sweep (README, "Lambda `byods-extender`"): one per invocation. Each data source is handled independently; the sweep
//! returns `Err` when anything failed, after doing all the work it can.

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use lambda_kit::metrics::{Emf, Unit};
use serde::{Deserialize, Serialize};
use tracing::{Instrument as _, error, info, warn};

use crate::alert::{Alert, AlertKind};
use crate::config::ExtendMode;
use crate::deps::Deps;
use crate::error::{Failure, FailureClass, SweepError};
use crate::session::{DataSourceResult, Outcome, ProcessOptions, Session};
use crate::webex::CallCtx;

/// Manual overrides carried by the event: `{"byods":{"dryRun":true,"force":true,"dataSourceIds":["…"]}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    /// Force a dry run.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Extend even when not due.
    #[serde(default)]
    pub force: Option<bool>,
    /// Handle only these ids.
    #[serde(default)]
    pub data_source_ids: Option<Vec<String>>,
    /// `window` or `always` (CLI `sweep --mode`).
    #[serde(default)]
    pub mode: Option<String>,
}

impl Overrides {
    /// Reads the overrides from an event: top-level `byods`, or `detail.byods`. Anything else is ignored.
    pub fn from_event(event: &serde_json::Value) -> Self {
        event
            .get("byods")
            .or_else(|| event.get("detail").and_then(|d| d.get("byods")))
            .and_then(|o| serde_json::from_value(o.clone()).ok())
            .unwrap_or_default()
    }
}

/// Counts of the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Extended.
    pub extended: u64,
    /// Skipped as not due.
    pub skipped_not_due: u64,
    /// Skipped as disabled.
    pub skipped_disabled: u64,
    /// Would be extended (dry run).
    pub would_extend: u64,
    /// Failed.
    pub failed: u64,
}

/// The sweep summary. Contains no secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepSummary {
    /// Sweep id (also in every `TrackingID`).
    pub sweep_id: String,
    /// Whether PUTs were suppressed.
    pub dry_run: bool,
    /// `window` or `always`.
    pub mode: String,
    /// Where the service-app token came from, when one was obtained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_app_token_source: Option<String>,
    /// Outcome counts.
    pub counts: Counts,
    /// Per data source.
    pub data_sources: Vec<DataSourceResult>,
}

struct Telemetry {
    /// Whether the sweep got as far as the data sources.
    reached_sources: bool,
    oauth_failures: u64,
    write_failures: u64,
    rate_limited: u64,
    retries: u64,
    integration_refresh_left: Option<i64>,
    service_app_refresh_left: Option<i64>,
}

/// Runs one sweep with the given overrides and deadline (no new data source starts after it).
pub async fn run_sweep(
    deps: &Deps,
    overrides: &Overrides,
    deadline: Option<tokio::time::Instant>,
) -> Result<SweepSummary, SweepError> {
    let sweep_id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!("sweep", sweep_id = %sweep_id);
    run(deps, overrides, deadline, sweep_id)
        .instrument(span)
        .await
}

async fn run(
    deps: &Deps,
    overrides: &Overrides,
    deadline: Option<tokio::time::Instant>,
    sweep_id: String,
) -> Result<SweepSummary, SweepError> {
    let started = deps.clock.now();
    let config = &deps.config;
    let dry_run = overrides.dry_run.unwrap_or(config.dry_run);
    let mode = match overrides.mode.as_deref() {
        Some("always") => ExtendMode::Always,
        Some("window") => ExtendMode::Window,
        _ => config.extend_mode,
    };
    let only_when_due = !overrides.force.unwrap_or(false) && mode == ExtendMode::Window;
    info!(event = "sweep_started", sweep_id = %sweep_id, dry_run, mode = mode.as_str(), "sweep started");
    let mut summary = SweepSummary {
        sweep_id: sweep_id.clone(),
        dry_run,
        mode: mode.as_str().to_owned(),
        service_app_token_source: None,
        counts: Counts::default(),
        data_sources: Vec::new(),
    };
    let ctx = CallCtx::new(&sweep_id, deadline);
    let session = match Session::open(deps, ctx).await {
        Ok(s) => s,
        Err(failure) => {
            let telemetry = Telemetry {
                reached_sources: false,
                oauth_failures: 0,
                write_failures: 0,
                rate_limited: 0,
                retries: 0,
                integration_refresh_left: None,
                service_app_refresh_left: None,
            };
            return finish(deps, summary, vec![failure], &telemetry, started).await;
        }
    };

    let prepared = async {
        session.keep_integration_alive().await?;
        session.service_token().await?;
        session
            .data_source_ids(overrides.data_source_ids.as_deref())
            .await
    }
    .await;
    let reached_sources = prepared.is_ok();
    if let Ok(ids) = prepared {
        let options = ProcessOptions {
            only_when_due,
            dry_run,
            lifetime_minutes: None,
        };
        let session_ref = &session;
        let results: Vec<DataSourceResult> = futures::stream::iter(ids)
            .map(|id| async move {
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    let failure = Failure::new(
                        FailureClass::DeadlineExceeded,
                        "not started before the invocation deadline",
                    )
                    .for_data_source(&id);
                    error!(event = "data_source_failed", data_source_id = %id, error_class = "DeadlineExceeded", "data source not started before the deadline");
                    session_ref.record_failure(failure);
                    let mut r = DataSourceResult::failed(&id);
                    r.error_class = Some("DeadlineExceeded".to_owned());
                    return r;
                }
                session_ref.process(&id, options).await
            })
            .buffered(config.concurrency)
            .collect()
            .await;
        summary.data_sources = results;
    } else if let Err(failure) = prepared {
        if failure.class != FailureClass::ReauthRequired {
            error!(event = "sweep_step_failed", error_class = failure.class.as_str(), http_status = failure.http_status.unwrap_or(0), webex_tracking_id = failure.tracking_id.as_deref().unwrap_or(""), error = %failure.message, "sweep stopped before the data sources");
        }
        session.record_failure(failure);
    }
    summary.service_app_token_source = session.service_app_source().await.map(str::to_owned);
    session.flush_pending().await;

    let creds = session.credentials().await;
    let now = deps.clock.now();
    let integration_refresh_left = creds
        .token_manager
        .tokens
        .refresh_token_expires_at
        .map(|e| (e - now).num_seconds());
    if let Some(left) = integration_refresh_left
        && left < deps.config.refresh_token_warn.num_seconds()
    {
        let days = left / 86_400;
        warn!(
            event = "refresh_token_expiring",
            seconds_left = left,
            "the integration refresh token expires in {days} days; run `byods setup-oauth` before then"
        );
        deps.alerter
            .send(&Alert {
                kind: AlertKind::RefreshTokenExpiring,
                text: format!(
                    ":warning: byods-extender: the Webex integration refresh token expires in {days} days. Run `byods setup-oauth` before then."
                ),
            })
            .await;
    }
    let telemetry = Telemetry {
        reached_sources,
        oauth_failures: session.oauth_failures(),
        write_failures: session.write_failures(),
        rate_limited: session.ctx().rate_limited_responses(),
        retries: session.ctx().http_retries(),
        integration_refresh_left,
        service_app_refresh_left: creds
            .service_app
            .tokens
            .refresh_token_expires_at
            .map(|e| (e - now).num_seconds()),
    };
    let failures = session.failures();
    finish(deps, summary, failures, &telemetry, started).await
}

async fn finish(
    deps: &Deps,
    mut summary: SweepSummary,
    failures: Vec<Failure>,
    telemetry: &Telemetry,
    started: DateTime<Utc>,
) -> Result<SweepSummary, SweepError> {
    let mut counts = Counts::default();
    for r in &summary.data_sources {
        match r.outcome {
            Outcome::Extended => counts.extended += 1,
            Outcome::SkippedNotDue => counts.skipped_not_due += 1,
            Outcome::SkippedDisabled => counts.skipped_disabled += 1,
            Outcome::WouldExtend => counts.would_extend += 1,
            Outcome::Failed => counts.failed += 1,
        }
    }
    summary.counts = counts;
    let now = deps.clock.now();
    let duration_ms = (now - started).num_milliseconds().max(0);
    emit_metrics(
        deps,
        &summary,
        telemetry,
        failures.is_empty(),
        duration_ms,
        now,
    );
    if failures.is_empty() {
        info!(
            event = "sweep_finished",
            outcome = "ok",
            extended = summary.counts.extended,
            skipped = summary.counts.skipped_not_due + summary.counts.skipped_disabled,
            duration_ms,
            "sweep finished"
        );
        return Ok(summary);
    }
    let error = SweepError::from_failures(failures, Some(summary));
    error!(event = "sweep_finished", outcome = "failed", error_class = error.class.as_str(), error = %error.message, duration_ms, "sweep failed");
    let tracking: Vec<&str> = error
        .failures
        .iter()
        .filter_map(|f| f.tracking_id.as_deref())
        .collect();
    let text = if error.class == FailureClass::ReauthRequired {
        format!(
            ":rotating_light: byods-extender: {} (ReauthRequired). Data sources were not extended.{}",
            crate::session::REAUTH_LOG_TEXT,
            if tracking.is_empty() {
                String::new()
            } else {
                format!(" Tracking ids: {}.", tracking.join(", "))
            }
        )
    } else {
        let ids: Vec<&str> = error
            .failures
            .iter()
            .filter_map(|f| f.data_source_id.as_deref())
            .collect();
        format!(
            ":x: byods-extender sweep failed: {}. Data sources: {}. Tracking ids: {}. Action: {}.",
            error.class,
            if ids.is_empty() {
                "-".to_owned()
            } else {
                ids.join(", ")
            },
            if tracking.is_empty() {
                "-".to_owned()
            } else {
                tracking.join(", ")
            },
            error.class.action()
        )
    };
    deps.alerter
        .send(&Alert {
            kind: AlertKind::SweepFailed(error.class),
            text,
        })
        .await;
    Err(error)
}

/// Each data source's token expiry for the metrics: what this run read, else the last expiry an earlier
/// run of this process read (a source that failed now, or every source when the run stopped before
/// reaching them). Remembers what this run read.
fn token_expiries(
    deps: &Deps,
    summary: &SweepSummary,
    reached_sources: bool,
) -> Vec<(String, Option<DateTime<Utc>>)> {
    let known = deps.last_expiries();
    if !reached_sources {
        if !known.is_empty() {
            warn!(
                event = "metrics_from_last_known",
                data_sources = known.len(),
                "the run stopped before the data sources; their expiry metrics use the last known expiries"
            );
        }
        return known.into_iter().map(|(id, e)| (id, Some(e))).collect();
    }
    let expiries: Vec<(String, Option<DateTime<Utc>>)> = summary
        .data_sources
        .iter()
        .map(|r| {
            let e = r.current_expiry().or_else(|| known.get(&r.id).copied());
            (r.id.clone(), e)
        })
        .collect();
    deps.remember_expiries(
        expiries
            .iter()
            .filter_map(|(id, e)| e.map(|e| (id.clone(), e))),
    );
    expiries
}

#[allow(clippy::cast_precision_loss)]
fn emit_metrics(
    deps: &Deps,
    summary: &SweepSummary,
    t: &Telemetry,
    success: bool,
    duration_ms: i64,
    now: DateTime<Utc>,
) {
    let ns = deps.config.metrics_namespace.as_str();
    let c = &summary.counts;
    let mut emf = Emf::new(ns)
        .dimension("Service", "byods-extender")
        .count("DataSourcesExtended", c.extended)
        .count("DataSourcesSkipped", c.skipped_not_due + c.skipped_disabled)
        .count("DataSourcesFailed", c.failed)
        .count("DataSourcesWouldExtend", c.would_extend)
        .count("OAuthRefreshFailures", t.oauth_failures)
        .count("SecretWriteFailures", t.write_failures)
        .count("RateLimitedResponses", t.rate_limited)
        .count("HttpRetries", t.retries)
        .count("SweepSuccess", u64::from(success))
        .metric("SweepDurationMs", Unit::Milliseconds, duration_ms as f64);
    let expiries = token_expiries(deps, summary, t.reached_sources);
    let min_left = expiries
        .iter()
        .filter_map(|(_, e)| *e)
        .map(|e| (e - now).num_minutes())
        .min();
    // Unknown is alarming: a run that could not read any data source and knows no earlier expiry emits 0,
    // which is below the alarm's threshold (README, "Failure classes and alarms").
    let min_left = if t.reached_sources {
        min_left
    } else {
        Some(min_left.unwrap_or(0))
    };
    if let Some(min) = min_left {
        emf = emf.metric("MinDataSourceTokenMinutesLeft", Unit::None, min as f64);
    }
    if let Some(s) = t.integration_refresh_left {
        emf = emf.metric(
            "IntegrationRefreshTokenSecondsLeft",
            Unit::Seconds,
            s as f64,
        );
    }
    if let Some(s) = t.service_app_refresh_left {
        emf = emf.metric("ServiceAppRefreshTokenSecondsLeft", Unit::Seconds, s as f64);
    }
    emf.emit(deps.metrics.as_ref(), now);
    for (id, expiry) in &expiries {
        if let Some(e) = expiry {
            Emf::new(ns)
                .dimension("Service", "byods-extender")
                .dimension("DataSourceId", id)
                .metric(
                    "DataSourceTokenMinutesLeft",
                    Unit::None,
                    (*e - now).num_minutes() as f64,
                )
                .emit(deps.metrics.as_ref(), now);
        }
    }
}
