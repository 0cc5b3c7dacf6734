//! The Lambda handler: event → screening → Spoke steps → alerts → summary line, metrics and the outcome
//! (spec §4, §5, §7).

use std::sync::Arc;
use std::time::Duration;

use lambda_kit::metrics::{Emf, MetricSink};
use lambda_kit::{Clock, invocation_span};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;

use crate::alert::{AlertContext, AlertLog, Deliverer, render};
use crate::config::Config;
use crate::error::ServiceError;
use crate::event::{EventContext, Screening, context, screen};
use crate::handoff::{SpokeOutcome, SpokeRun, SpokeSettings, TeamCache};
use crate::outcome::{Alert, AlertKind, Decision, Facts, HandoffResult};
use crate::ports::{SecretReadError, SecretSource, SpokeConnector, WebhookPoster};
use crate::secret::{OncallSecret, SecretCache};

/// Time kept free for Slack at the end of the invocation: Spoke calls end this long before the deadline.
pub const SLACK_RESERVE: Duration = Duration::from_secs(3);

/// The CloudWatch metric namespace.
pub const METRIC_NAMESPACE: &str = "OncallSpoke";

/// Everything the handler uses, built once per execution environment. Holds the only cross-invocation state
/// the spec allows: the secret, team-id and alert de-dup caches.
pub struct Deps {
    config: Arc<Config>,
    spoke: Arc<dyn SpokeConnector>,
    slack: Arc<dyn WebhookPoster>,
    secret: SecretCache,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn MetricSink>,
    teams: TeamCache,
    alerts: AlertLog,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deps {
    /// Wires the ports. `secrets` is read through a cache of `config.secret_ttl`.
    pub fn new(
        config: Config,
        spoke: Arc<dyn SpokeConnector>,
        slack: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Self {
        Self {
            secret: SecretCache::new(secrets, config.secret_ttl, &config.it_channel),
            teams: TeamCache::new(config.team_cache_ttl),
            alerts: AlertLog::new(config.alert_dedup_ttl),
            config: Arc::new(config),
            spoke,
            slack,
            clock,
            metrics,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// The Lambda-side facts of one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id.
    pub request_id: String,
    /// When the Lambda times out; `None` = no deadline (tests, local runs).
    pub deadline: Option<tokio::time::Instant>,
}

impl Invocation {
    /// An invocation without deadline.
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline: None,
        }
    }

    /// An invocation that must end within `remaining`.
    pub fn with_remaining(request_id: impl Into<String>, remaining: Duration) -> Self {
        Self {
            request_id: request_id.into(),
            deadline: Some(tokio::time::Instant::now() + remaining),
        }
    }

    /// From the Lambda context: its deadline (epoch milliseconds) measured against `clock`.
    pub fn from_context(ctx: &lambda_runtime::Context, clock: &dyn Clock) -> Self {
        let now_ms = clock.now().timestamp_millis();
        let deadline_ms = i64::try_from(ctx.deadline).unwrap_or(i64::MAX);
        if ctx.deadline == 0 {
            return Self::new(ctx.request_id.clone());
        }
        let remaining = u64::try_from(deadline_ms.saturating_sub(now_ms)).unwrap_or(0);
        Self::with_remaining(ctx.request_id.clone(), Duration::from_millis(remaining))
    }
}

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
    pub team_id: Option<String>,
    /// The resolved Spoke user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
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
    let outer = invocation_span(&invocation.request_id);
    let span = tracing::info_span!(
        parent: &outer,
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
    let screening = screen(event, config, deps.clock.now());
    let mut decision = match screening {
        Screening::Stop(decision) => {
            if decision.reason == "unexpected_event" {
                tracing::warn!("event is not an on-call handoff; ignored");
            }
            decision
        }
        Screening::Proceed(handoff) => {
            tracing::Span::current().record("spoke_team", handoff.spoke_team.as_str());
            match deps.secret.get(deps.clock.now()).await {
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
                match deps.secret.get(deps.clock.now()).await {
                    Ok(s) => secret = Some(s),
                    Err(e) => decision = secret_unavailable(&e).with_facts(decision.facts),
                }
            }
            if let Some(secret) = &secret {
                let deliverer = Deliverer {
                    poster: deps.slack.as_ref(),
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

/// Runs the Spoke steps with the cached key, and once more with a freshly read secret when Spoke refuses the
/// key (rows 10–21). Returns the decision and the secret last used.
async fn spoke_steps(
    handoff: &crate::event::Handoff,
    secret: Arc<OncallSecret>,
    deadline: Option<tokio::time::Instant>,
    deps: &Deps,
    stats: &mut Stats,
) -> (Decision, Option<Arc<OncallSecret>>) {
    let mut secret = secret;
    for attempt in 1..=2 {
        let settings = SpokeSettings {
            config: &deps.config,
            cache: &deps.teams,
            now: deps.clock.now(),
            deadline,
        };
        let directory = deps.spoke.connect(secret.spoke_api_key.clone(), deadline);
        let mut spoke_run = SpokeRun::new(directory.as_ref(), settings);
        let outcome = spoke_run.apply(handoff).await;
        stats.spoke_calls += spoke_run.calls();
        stats.spoke_retries += directory.retries();
        match outcome {
            SpokeOutcome::Decided(decision) => return (decision, Some(secret)),
            SpokeOutcome::InvalidApiKey { facts } if attempt == 2 => {
                return (
                    Decision::retryable(
                        AlertKind::SpokeAuth,
                        "Spoke refused the API key again after the secret was re-read",
                    )
                    .with_facts(facts),
                    Some(secret),
                );
            }
            SpokeOutcome::InvalidApiKey { facts } => {
                tracing::warn!(
                    reason = "invalid_api_key",
                    "Spoke refused the API key; re-reading the secret once"
                );
                match deps.secret.refresh(deps.clock.now()).await {
                    Ok(fresh) => secret = fresh,
                    Err(e) => return (secret_unavailable(&e).with_facts(facts), None),
                }
            }
        }
    }
    // The loop always returns; this keeps the types honest without a panic.
    (
        Decision::retryable(AlertKind::SpokeAuth, "Spoke refused the API key"),
        Some(secret),
    )
}

fn secret_unavailable(e: &SecretReadError) -> Decision {
    tracing::error!(reason = "secret_unavailable", error = %e, "the service secret could not be read");
    Decision::new(HandoffResult::RetryableError, "secret_unavailable")
}

/// Row 16: after a success, one IT `recovered` note when an earlier retryable alert for this handoff is
/// remembered. A failed note is logged and counted; it does not fail the invocation.
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
        poster: deps.slack.as_ref(),
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
                user_id = facts.user_id.as_deref().unwrap_or_default(),
                previous_strategy = facts.previous_strategy.as_deref().unwrap_or_default(),
                previous_user_id = facts.previous_user_id.as_deref().unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_kit::{FixedClock, MemorySink};
    use serde_json::json;

    use super::*;
    use crate::ports::{PostFailure, SpokeFailure};
    use crate::testing::{MemorySecret, MemorySlack, MemorySpoke, PatchMode};

    const IT_HOOK: &str = "https://hooks.slack.com/services/T0/B1/it";
    const TEAM_HOOK: &str = "https://hooks.slack.com/services/T0/B2/team";
    const DEFAULT_HOOK: &str = "https://hooks.slack.com/services/T0/B0/default";

    fn secret_json(key: &str) -> Value {
        json!({
            "spokeApiKey": key,
            "slack": {
                "defaultWebhookUrl": DEFAULT_HOOK,
                "channelWebhooks": {"#alerts_it": IT_HOOK, "#it-team": TEAM_HOOK}
            }
        })
    }

    struct World {
        spoke: MemorySpoke,
        slack: MemorySlack,
        secret: MemorySecret,
        metrics: MemorySink,
        clock: Arc<FixedClock>,
        deps: Deps,
    }

    fn world(extra: &[(&str, &str)]) -> World {
        let map: HashMap<String, String> = [
            ("ONCALL_SECRET_ID", "oncall-spoke"),
            ("ONCALL_SPOKE_ORG", "example"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let config = Config::from_lookup(move |k| map.get(k).cloned()).unwrap();
        let spoke = MemorySpoke::baseline();
        let slack = MemorySlack::default();
        let secret = MemorySecret::new(secret_json("key-1"));
        let metrics = MemorySink::default();
        let clock = Arc::new(FixedClock::at("2025-08-04T20:40:00Z").unwrap());
        let deps = Deps::new(
            config,
            Arc::new(spoke.clone()),
            Arc::new(slack.clone()),
            Arc::new(secret.clone()),
            clock.clone(),
            Arc::new(metrics.clone()),
        );
        World {
            spoke,
            slack,
            secret,
            metrics,
            clock,
            deps,
        }
    }

    fn baseline() -> Value {
        serde_json::from_str(include_str!("../tests/fixtures/baseline.json")).unwrap()
    }

    fn event_for(email: &str) -> Value {
        let mut e = baseline();
        e["detail"]["OnCallEmail"] = json!(email);
        e
    }

    async fn invoke(w: &World, event: Value) -> Result<HandoffResponse, ServiceError> {
        handle(event, &Invocation::new("req-1"), &w.deps).await
    }

    fn posts_to(w: &World, url: &str) -> Vec<Value> {
        w.slack
            .posts()
            .into_iter()
            .filter(|(u, _)| u == url)
            .map(|(_, p)| p)
            .collect()
    }

    #[tokio::test]
    async fn the_baseline_event_updates_the_team_without_any_alert() {
        let w = world(&[]);
        let response = invoke(&w, baseline()).await.unwrap();
        assert_eq!((response.result, response.reason), ("updated", "updated"));
        assert_eq!(w.spoke.patches().len(), 1);
        assert!(w.slack.posts().is_empty());
        assert!(
            w.spoke
                .delegation_of("team-it")
                .unwrap()
                .is_specific_user("user-alice")
        );
        let again = invoke(&w, baseline()).await.unwrap();
        assert_eq!((again.result, again.reason), ("noop", "already_assigned"));
        assert_eq!(w.spoke.patches().len(), 1);
    }

    #[tokio::test]
    async fn a_permanent_error_is_alerted_once_per_channel_and_acknowledged() {
        let w = world(&[]);
        let response = invoke(&w, event_for("carol@example.com")).await.unwrap();
        assert_eq!(
            (response.result, response.reason),
            ("permanent_error", "not_team_member")
        );
        let team = posts_to(&w, TEAM_HOOK);
        let it = posts_to(&w, IT_HOOK);
        assert_eq!((team.len(), it.len()), (1, 1));
        assert!(team[0].get("channel").is_none());
        assert!(
            it[0]["text"]
                .as_str()
                .unwrap()
                .contains("`not_team_member`")
        );
        assert!(
            it[0]["text"]
                .as_str()
                .unwrap()
                .contains("6f1c2b0e-3a7d-4c55-9e2f-0b8d1a7c4e21")
        );
        let again = invoke(&w, event_for("carol@example.com")).await.unwrap();
        assert_eq!(again.alerts_sent, 0);
        assert_eq!(w.slack.posts().len(), 2);
    }

    #[tokio::test]
    async fn a_channel_without_its_own_webhook_is_reached_through_the_default_one_with_a_channel_field()
     {
        let w = world(&[]);
        let mut event = event_for("carol@example.com");
        event["detail"]["Team"]["slack"] = json!("#other-team");
        invoke(&w, event).await.unwrap();
        let default = posts_to(&w, DEFAULT_HOOK);
        assert_eq!(default.len(), 1);
        assert_eq!(default[0]["channel"], "#other-team");
        assert_eq!(default[0]["username"], "oncall-spoke alerts");
        assert_eq!(default[0]["icon_emoji"], ":atspoke:");
    }

    #[tokio::test]
    async fn spoke_down_fails_the_invocation_alerts_once_and_recovers_with_one_note() {
        let w = world(&[]);
        w.spoke.fail_everything(Some(SpokeFailure::Unavailable {
            kind: "HTTP 503".into(),
            attempts: 4,
        }));
        let err = invoke(&w, baseline()).await.unwrap_err();
        assert_eq!(err.response().reason, "spoke_unavailable");
        assert_eq!(
            lambda_runtime::Diagnostic::from(err).error_type,
            "Retryable"
        );
        assert_eq!(
            (posts_to(&w, TEAM_HOOK).len(), posts_to(&w, IT_HOOK).len()),
            (1, 1)
        );
        invoke(&w, baseline()).await.unwrap_err();
        assert_eq!(
            w.slack.posts().len(),
            2,
            "a retry must not repeat the alert"
        );
        w.spoke.fail_everything(None);
        let ok = invoke(&w, baseline()).await.unwrap();
        assert_eq!(ok.result, "updated");
        let it = posts_to(&w, IT_HOOK);
        assert_eq!(it.len(), 2);
        assert!(it[1]["text"].as_str().unwrap().contains("`recovered`"));
        assert_eq!(posts_to(&w, TEAM_HOOK).len(), 1);
    }

    #[tokio::test]
    async fn an_invalid_key_rereads_the_secret_once_and_a_rotated_key_succeeds() {
        let w = world(&[]);
        w.spoke.require_key("key-2");
        let err = invoke(&w, baseline()).await.unwrap_err();
        assert_eq!(err.response().reason, "spoke_auth");
        assert_eq!(w.secret.reads(), vec![false, true]);
        assert_eq!(posts_to(&w, IT_HOOK).len(), 1);
        w.secret.rotate(secret_json("key-2"));
        let ok = invoke(&w, baseline()).await.unwrap();
        assert_eq!(ok.result, "updated");
        assert_eq!(
            w.spoke.keys_seen(),
            vec!["key-1", "key-1", "key-1", "key-2"]
        );
    }

    #[tokio::test]
    async fn the_secret_is_read_once_within_its_ttl() {
        let w = world(&[]);
        for _ in 0..10 {
            invoke(&w, baseline()).await.unwrap();
        }
        assert_eq!(w.secret.reads().len(), 1);
        w.clock.advance(chrono::Duration::seconds(901));
        invoke(&w, baseline()).await.unwrap();
        assert_eq!(w.secret.reads().len(), 2);
    }

    #[tokio::test]
    async fn an_unreadable_secret_fails_the_invocation_without_alerts() {
        let w = world(&[]);
        w.secret.rotate(json!({"slack": {}}));
        let err = invoke(&w, baseline()).await.unwrap_err();
        assert_eq!(err.response().reason, "secret_unavailable");
        assert!(w.slack.posts().is_empty());
        assert!(w.spoke.calls().is_empty());
    }

    #[tokio::test]
    async fn slack_failing_transiently_fails_even_a_permanent_outcome_and_the_retry_delivers_once()
    {
        let w = world(&[]);
        let unavailable = PostFailure {
            transient: true,
            reason: "server".into(),
        };
        w.slack.fail(IT_HOOK, Some(unavailable));
        let err = invoke(&w, event_for("carol@example.com"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.response().result, err.response().reason),
            ("retryable_error", "not_team_member")
        );
        assert_eq!(posts_to(&w, TEAM_HOOK).len(), 1);
        w.slack.fail(IT_HOOK, None);
        invoke(&w, event_for("carol@example.com")).await.unwrap();
        assert_eq!(
            (posts_to(&w, TEAM_HOOK).len(), posts_to(&w, IT_HOOK).len()),
            (1, 1)
        );
    }

    #[tokio::test]
    async fn slack_refusing_a_webhook_leaves_the_outcome_and_counts_a_failure() {
        let w = world(&[]);
        let gone = PostFailure {
            transient: false,
            reason: "no_service".into(),
        };
        w.slack.fail(TEAM_HOOK, Some(gone));
        let ok = invoke(&w, event_for("carol@example.com")).await.unwrap();
        assert_eq!(ok.result, "permanent_error");
        assert!((w.metrics.total("AlertFailures") - 1.0).abs() < f64::EPSILON);
    }

    #[tokio::test]
    async fn a_dry_run_neither_patches_nor_posts() {
        let w = world(&[("ONCALL_DRY_RUN", "true")]);
        let ok = invoke(&w, baseline()).await.unwrap();
        assert_eq!(
            (ok.result, ok.reason, ok.dry_run),
            ("dry_run", "would_update", true)
        );
        let ok = invoke(&w, event_for("carol@example.com")).await.unwrap();
        assert_eq!(ok.result, "permanent_error");
        assert!(w.spoke.patches().is_empty());
        assert!(w.slack.posts().is_empty());
    }

    #[tokio::test]
    async fn every_invocation_writes_one_handoffs_metric_with_its_result() {
        let w = world(&[]);
        invoke(&w, baseline()).await.unwrap();
        let mut skipped = baseline();
        skipped["detail"]["Team"]["spoke"] = Value::Null;
        invoke(&w, skipped).await.unwrap();
        let lines: Vec<Value> = w
            .metrics
            .lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|v: &Value| v.get("Handoffs").is_some())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["Result"], "updated");
        assert_eq!(lines[1]["Result"], "skipped");
        assert_eq!(lines[0]["SpokeTeam"], "IT");
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "OncallSpoke"
        );
    }

    #[tokio::test]
    async fn an_unapplied_change_is_retryable() {
        let w = world(&[]);
        w.spoke.set_patch_mode(PatchMode::Ignore);
        let err = invoke(&w, baseline()).await.unwrap_err();
        assert_eq!(err.response().reason, "update_not_applied");
        assert_eq!(w.slack.posts().len(), 2);
    }

    #[tokio::test]
    async fn the_handler_runs_on_a_spawned_task_with_shared_deps() {
        let w = world(&[]);
        let deps = Arc::new(w.deps);
        let shared = Arc::clone(&deps);
        let task =
            tokio::spawn(
                async move { handle(baseline(), &Invocation::new("req-task"), &shared).await },
            );
        assert_eq!(task.await.unwrap().unwrap().result, "updated");
    }

    #[tokio::test]
    async fn the_invocation_deadline_comes_from_the_lambda_context_and_the_clock() {
        let clock = FixedClock::at("2026-01-01T00:00:00Z").unwrap();
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = "req-ctx".into();
        ctx.deadline = u64::try_from(clock.now().timestamp_millis()).unwrap() + 10_000;
        let invocation = Invocation::from_context(&ctx, &clock);
        let remaining = invocation.deadline.unwrap() - tokio::time::Instant::now();
        assert!(
            remaining > Duration::from_secs(9) && remaining <= Duration::from_secs(10),
            "{remaining:?}"
        );
        ctx.deadline = 0;
        assert!(Invocation::from_context(&ctx, &clock).deadline.is_none());
    }

    #[tokio::test]
    async fn a_spoke_that_hangs_past_the_deadline_still_leaves_time_to_alert() {
        let w = world(&[]);
        w.spoke.hang(true);
        let invocation = Invocation::with_remaining("req-2", Duration::from_millis(3300));
        let started = tokio::time::Instant::now();
        let err = handle(baseline(), &invocation, &w.deps).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(3300));
        assert_eq!(err.response().reason, "spoke_unavailable");
        assert_eq!(w.slack.posts().len(), 2);
    }
}
