//! The Lambda handler: event → screening → Spoke steps → alerts → summary line, metrics and the outcome
//! (README, "Behaviour" and "Observability").

use std::sync::Arc;
use std::time::Duration;

use lambda_kit::Invocation;
use lambda_kit::metrics::Emf;
use serde::Serialize;
use serde_json::Value;
use spoke_client::{TeamId, UserId};
use tracing::Instrument;
use tracing::field::Empty;

use crate::alert::{AlertContext, render};
use crate::delivery::Deliverer;
use crate::deps::Deps;
use crate::error::ServiceError;
use crate::event::{EventContext, Handoff, Screening, context, screen};
use crate::handoff::{SpokeOutcome, SpokeRun, SpokeSettings};
use crate::outcome::{Alert, AlertKind, Decision, Facts, HandoffResult};
use crate::secret::{self, OncallSecret, SecretReadError};

/// Time kept free for Slack at the end of the invocation: Spoke calls end this long before the deadline.
pub const SLACK_RESERVE: Duration = Duration::from_secs(3);

/// The CloudWatch metric namespace.
pub const METRIC_NAMESPACE: &str = "OncallSpoke";

/// What the invocation answers (also carried by the error of a failed invocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffResponse {
    /// EventBridge event id.
    pub event_id: String,
    /// `updated`, `noop`, `skipped`, `dry_run`, `permanent_error` or `retryable_error`.
    pub result: &'static str,
    /// The reason code.
    pub reason: &'static str,
    /// The Spoke team named by the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spoke_team: Option<String>,
    /// The resolved Spoke team id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    /// The resolved Spoke user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Slack posts delivered.
    pub alerts_sent: u32,
    /// True in dry-run mode.
    pub dry_run: bool,
}

#[derive(Debug, Default)]
struct Stats {
    spoke_calls: u32,
    spoke_retries: u32,
    alerts_sent: u32,
    alert_failures: u32,
    alert_undelivered: bool,
}

/// Handles one EventBridge event (the whole JSON object). `Ok` acknowledges; `Err` makes the platform retry.
pub async fn handle(
    event: Value,
    invocation: &Invocation,
    deps: &Deps,
) -> Result<HandoffResponse, ServiceError> {
    let ctx = context(&event);
    let span = tracing::info_span!(
        "handoff",
        request_id = %invocation.request_id,
        event_id = %ctx.event_id,
        spoke_team = Empty,
        team_id = Empty,
    );
    run(&event, ctx, invocation, deps).instrument(span).await
}

async fn run(
    event: &Value,
    ctx: EventContext,
    invocation: &Invocation,
    deps: &Deps,
) -> Result<HandoffResponse, ServiceError> {
    let started = tokio::time::Instant::now();
    let config = deps.config.as_ref();
    let mut stats = Stats::default();
    let mut secret: Option<Arc<OncallSecret>> = None;
    let mut decision = match screen(event, config, deps.clock.now()) {
        Screening::Stop(decision) => {
            if decision.reason == "unexpected_event" {
                tracing::warn!("event is not an on-call handoff; ignored");
            }
            decision
        }
        Screening::Proceed(handoff) => {
            tracing::Span::current().record("spoke_team", handoff.spoke_team.as_str());
            match read_secret(deps, false).await {
                Err(e) => secret_unavailable(&e),
                Ok(s) => {
                    let spoke_deadline = invocation.deadline.map(|d| {
                        d.checked_sub(SLACK_RESERVE)
                            .filter(|x| *x > started)
                            .unwrap_or(started)
                    });
                    let (decision, latest) =
                        spoke_steps(&handoff, s, spoke_deadline, deps, &mut stats).await;
                    secret = latest;
                    decision
                }
            }
        }
    };

    if let Some(alert) = decision.alert.clone() {
        let alert_ctx = AlertContext {
            event: &ctx,
            facts: &decision.facts,
            config,
            request_id: &invocation.request_id,
        };
        let messages = render(&alert, &alert_ctx);
        let key = alert_ctx.dedup_key(alert.kind);
        if config.dry_run {
            for message in &messages {
                tracing::info!(dry_run = true, alert = alert.kind.code(), channel = %message.channel, text = %message.text, "dry run: would post Slack alert");
            }
        } else {
            if secret.is_none() {
                match read_secret(deps, false).await {
                    Ok(s) => secret = Some(s),
                    Err(e) => decision = secret_unavailable(&e).with_facts(decision.facts),
                }
            }
            if let Some(secret) = &secret {
                let deliverer = Deliverer {
                    sender: &deps.slack,
                    secret,
                    log: &deps.alerts,
                    now: deps.clock.now(),
                    deadline: invocation.deadline,
                };
                let delivery = deliverer.deliver(&key, alert.kind, &messages).await;
                stats.alerts_sent += delivery.sent;
                stats.alert_failures += delivery.failures;
                stats.alert_undelivered = delivery.transient_failure;
            }
        }
    }

    if decision.result == HandoffResult::Updated {
        send_recovered(
            &ctx,
            &decision.facts,
            invocation,
            deps,
            secret.as_deref(),
            &mut stats,
        )
        .await;
    }

    let result = if stats.alert_undelivered {
        HandoffResult::RetryableError
    } else {
        decision.result
    };
    let response = HandoffResponse {
        event_id: ctx.event_id.clone(),
        result: result.as_str(),
        reason: decision.reason,
        spoke_team: ctx.spoke_team.clone().filter(|s| !s.is_empty()),
        team_id: decision.facts.team_id.clone(),
        user_id: decision.facts.user_id.clone(),
        alerts_sent: stats.alerts_sent,
        dry_run: config.dry_run,
    };
    summarise(&response, &decision.facts, &stats, started, deps);
    if result == HandoffResult::RetryableError {
        Err(ServiceError::Retryable(Box::new(response)))
    } else {
        Ok(response)
    }
}

async fn read_secret(deps: &Deps, fresh: bool) -> Result<Arc<OncallSecret>, SecretReadError> {
    secret::load(
        deps.secrets.as_ref(),
        &deps.config.secret_id,
        &deps.config.it_channel,
        fresh,
    )
    .await
    .map(Arc::new)
}

/// Runs the Spoke steps with the cached key, and once more with a freshly read secret when Spoke refuses the
/// key (`spoke_auth` when it refuses that one too). Returns the decision and the secret last used.
async fn spoke_steps(
    handoff: &Handoff,
    secret: Arc<OncallSecret>,
    deadline: Option<tokio::time::Instant>,
    deps: &Deps,
    stats: &mut Stats,
) -> (Decision, Option<Arc<OncallSecret>>) {
    let mut secret = secret;
    let mut attempt = 1;
    loop {
        let facts = match run_spoke(handoff, &secret, deadline, deps, stats).await {
            SpokeOutcome::Decided(decision) => return (decision, Some(secret)),
            SpokeOutcome::InvalidApiKey { facts } => facts,
        };
        if attempt == 2 {
            return (
                Decision::retryable(
                    AlertKind::SpokeAuth,
                    "Spoke refused the API key again after the secret was re-read",
                )
                .with_facts(facts),
                Some(secret),
            );
        }
        tracing::warn!(
            reason = "invalid_api_key",
            "Spoke refused the API key; re-reading the secret once"
        );
        match read_secret(deps, true).await {
            Ok(fresh) => secret = fresh,
            Err(e) => return (secret_unavailable(&e).with_facts(facts), None),
        }
        attempt += 1;
    }
}

/// One pass of the Spoke steps with the key of `secret`, on a client of its own (its retries are counted).
async fn run_spoke(
    handoff: &Handoff,
    secret: &OncallSecret,
    deadline: Option<tokio::time::Instant>,
    deps: &Deps,
    stats: &mut Stats,
) -> SpokeOutcome {
    let client = match deps.spoke(secret.spoke_api_key.clone()) {
        Ok(client) => client,
        // Only the key can make the build fail once `Deps::new` has checked the settings: a key that cannot
        // be sent as a header is refused like one Spoke refuses.
        Err(e) => {
            tracing::warn!(error = %e, "the Spoke API key cannot be used");
            return SpokeOutcome::InvalidApiKey {
                facts: Facts::default(),
            };
        }
    };
    let client = match deadline {
        Some(d) => client.with_deadline(d),
        None => client,
    };
    let settings = SpokeSettings {
        config: &deps.config,
        cache: &deps.teams,
        now: deps.clock.now(),
        deadline,
    };
    let mut spoke_run = SpokeRun::new(&client, settings);
    let outcome = spoke_run.apply(handoff).await;
    stats.spoke_calls += spoke_run.calls();
    stats.spoke_retries += client.retries();
    outcome
}

fn secret_unavailable(e: &SecretReadError) -> Decision {
    tracing::error!(reason = "secret_unavailable", error = %e, "the service secret could not be read");
    Decision::new(HandoffResult::RetryableError, "secret_unavailable")
}

/// After `updated`: one IT `recovered` note when an earlier retryable alert for this handoff is remembered.
/// A failed note is logged and counted; it does not fail the invocation.
async fn send_recovered(
    ctx: &EventContext,
    facts: &Facts,
    invocation: &Invocation,
    deps: &Deps,
    secret: Option<&OncallSecret>,
    stats: &mut Stats,
) {
    let alert_ctx = AlertContext {
        event: ctx,
        facts,
        config: &deps.config,
        request_id: &invocation.request_id,
    };
    let key = alert_ctx.dedup_key(AlertKind::Recovered);
    let prefix = key.trim_end_matches(AlertKind::Recovered.code());
    let now = deps.clock.now();
    if !deps.alerts.take_retryable(prefix, now) {
        return;
    }
    let Some(secret) = secret else { return };
    let alert = Alert::new(AlertKind::Recovered, "");
    let messages = render(&alert, &alert_ctx);
    let deliverer = Deliverer {
        sender: &deps.slack,
        secret,
        log: &deps.alerts,
        now,
        deadline: invocation.deadline,
    };
    let delivery = deliverer
        .deliver(&format!("{key}|{}", ctx.event_id), alert.kind, &messages)
        .await;
    stats.alerts_sent += delivery.sent;
    stats.alert_failures += delivery.failures;
}

fn summarise(
    response: &HandoffResponse,
    facts: &Facts,
    stats: &Stats,
    started: tokio::time::Instant,
    deps: &Deps,
) {
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let spoke_team = response.spoke_team.as_deref().unwrap_or_default();
    macro_rules! summary {
        ($level:ident) => {
            tracing::$level!(
                event_id = %response.event_id,
                spoke_team,
                result = response.result,
                reason = response.reason,
                user_id = facts.user_id.as_ref().map_or("", UserId::as_str),
                previous_strategy = facts.previous_strategy.as_deref().unwrap_or_default(),
                previous_user_id = facts.previous_user_id.as_ref().map_or("", UserId::as_str),
                dry_run = response.dry_run,
                spoke_calls = stats.spoke_calls,
                spoke_retries = stats.spoke_retries,
                alerts_sent = stats.alerts_sent,
                alert_failures = stats.alert_failures,
                alert_undelivered = stats.alert_undelivered,
                duration_ms,
                "handoff processed"
            )
        };
    }
    if response.result == HandoffResult::RetryableError.as_str() {
        summary!(error);
    } else {
        summary!(info);
    }
    let now = deps.clock.now();
    let with_properties = |emf: Emf| -> String {
        let line = emf.to_line(now);
        match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(mut map)) => {
                map.insert("SpokeTeam".to_owned(), Value::String(spoke_team.to_owned()));
                map.insert(
                    "EventId".to_owned(),
                    Value::String(response.event_id.clone()),
                );
                Value::Object(map).to_string()
            }
            _ => line,
        }
    };
    deps.metrics.write_line(&with_properties(
        Emf::new(METRIC_NAMESPACE)
            .dimension("Result", response.result)
            .count("Handoffs", 1),
    ));
    deps.metrics.write_line(&with_properties(
        Emf::new(METRIC_NAMESPACE)
            .count("AlertsSent", u64::from(stats.alerts_sent))
            .count("AlertFailures", u64::from(stats.alert_failures))
            .count("SpokeRetries", u64::from(stats.spoke_retries)),
    ));
}
