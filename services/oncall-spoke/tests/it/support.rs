//! A stack per test: spoke-fake and slack-fake on ephemeral loopback ports, a `MemorySecretStore` (or moto), a
//! fixed clock and a memory metric sink, wired through the production adapters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fake_kit::JournalEntry;
use fake_kit::RunningServer;
use lambda_kit::http::RetryPolicy;
use lambda_kit::{FixedClock, MemorySink};
use oncall_spoke::adapters::{SlackWebhookPoster, SpokeClientConnector, StoreSecretSource};
use oncall_spoke::{Config, Deps, HandoffResponse, Invocation, ServiceError, handle};
use secrets::MemorySecretStore;
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};
use spoke_fake::SpokeFake;

pub(crate) const API_KEY: &str = "test-key-svc";
pub(crate) const ALICE: &str = "5f0c3a9e2b7d4c0012ab3401";
pub(crate) const BOB: &str = "5f0c3a9e2b7d4c0012ab3402";
pub(crate) const ANN: &str = "5f0c3a9e2b7d4c0012ab3404";
pub(crate) const IT: &str = "5cb65407f38ee4000743e945";
pub(crate) const SECURITY: &str = "5cb65407f38ee4000743e946";
pub(crate) const DESIGN: &str = "5cb65407f38ee4000743e947";
pub(crate) const HELPDESK: &str = "5cb65407f38ee4000743e948";
/// The secret part of every webhook URL in the slack seed (for "never logged" checks).
pub(crate) const WEBHOOK_SECRETS: [&str; 3] = [
    "testonlyAlertsItHook000001",
    "testonlyItTeamHook00000001",
    "testonlyDefaultHook0000001",
];

pub(crate) fn spoke_seed() -> Value {
    serde_json::from_str(include_str!("../fixtures/spoke-seed.json")).unwrap()
}

pub(crate) fn baseline() -> Value {
    serde_json::from_str(include_str!("../fixtures/baseline.json")).unwrap()
}

/// The baseline event with a fresh event id (so that log lines of concurrent tests can be told apart).
pub(crate) fn event() -> Value {
    static N: AtomicU64 = AtomicU64::new(1);
    let mut e = baseline();
    e["id"] = json!(format!(
        "00000000-0000-4000-8000-{:012}",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    e
}

/// [`event`] for another on-call person / Spoke team.
pub(crate) fn event_for(email: &str, spoke_team: &str) -> Value {
    let mut e = event();
    e["detail"]["OnCallEmail"] = json!(email);
    e["detail"]["Team"]["spoke"] = json!(spoke_team);
    e
}

pub(crate) struct Stack {
    pub(crate) spoke: SpokeFake,
    _spoke_server: RunningServer,
    pub(crate) slack: SpawnedSlackFake,
    pub(crate) store: MemorySecretStore,
    pub(crate) secret_id: String,
    pub(crate) metrics: MemorySink,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) deps: Deps,
}

pub(crate) struct Options {
    pub(crate) env: Vec<(String, String)>,
    pub(crate) spoke_seed: Value,
    pub(crate) secret: Option<Value>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            spoke_seed: spoke_seed(),
            secret: None,
        }
    }
}

impl Options {
    pub(crate) fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }
}

pub(crate) async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

/// The secret JSON routing `#alerts_it` and `#it-team` to their own webhooks, everything else to the legacy
/// default webhook.
pub(crate) fn secret_for(slack: &SpawnedSlackFake, key: &str) -> Value {
    json!({
        "spokeApiKey": key,
        "slack": {
            "defaultWebhookUrl": format!("{}/services/T0TEST0001/B0DEFAULT1/testonlyDefaultHook0000001", slack.base_url()),
            "channelWebhooks": {
                "#alerts_it": slack.webhook_url("#alerts_it").unwrap(),
                "#it-team": slack.webhook_url("#it-team").unwrap()
            }
        }
    })
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

pub(crate) fn config_map(
    spoke_base: &str,
    secret_id: &str,
    extra: &[(String, String)],
) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = [
        ("ONCALL_SECRET_ID", secret_id),
        ("ONCALL_SPOKE_ORG", "example"),
        ("SPOKE_BASE_URL", spoke_base),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    map.extend(extra.iter().cloned());
    map
}

/// Fast backoff so that exhausted retries take milliseconds; the 15 s rate-limit ceiling is kept.
pub(crate) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

pub(crate) async fn spawn_with(options: Options) -> Stack {
    let spoke = SpokeFake::new(options.spoke_seed).unwrap();
    let spoke_server = spoke.spawn().await.unwrap();
    let slack_seed =
        slack_fake::Seed::from_json(include_str!("../fixtures/slack-seed.json")).unwrap();
    let slack = SlackFake::new(slack_seed).spawn().await.unwrap();
    let secret_id = unique("oncall-spoke");
    let store = MemorySecretStore::with(
        &secret_id,
        options
            .secret
            .unwrap_or_else(|| secret_for(&slack, API_KEY)),
    );
    let map = config_map(
        &spoke_fake::api_base_url(&spoke_server),
        &secret_id,
        &options.env,
    );
    let config = Config::from_lookup(move |k| map.get(k).cloned()).unwrap();
    let metrics = MemorySink::default();
    // One minute after the baseline event was put: fresh.
    let clock = Arc::new(FixedClock::at("2025-08-04T20:40:11Z").unwrap());
    let http = lambda_kit::http::http_client("oncall-spoke-test/0.0.0").unwrap();
    let deps = Deps::new(
        config.clone(),
        Arc::new(
            SpokeClientConnector::new(http.clone(), config.spoke_base_url.as_str(), clock.clone())
                .with_retry_policy(fast_policy()),
        ),
        Arc::new(SlackWebhookPoster::new(http, clock.clone())),
        Arc::new(StoreSecretSource::new(Arc::new(store.clone()), &secret_id)),
        clock.clone(),
        Arc::new(metrics.clone()),
    );
    Stack {
        spoke,
        _spoke_server: spoke_server,
        slack,
        store,
        secret_id,
        metrics,
        clock,
        deps,
    }
}

impl Stack {
    pub(crate) async fn invoke(&self, event: Value) -> Result<HandoffResponse, ServiceError> {
        handle(event, &Invocation::new(unique("req")), &self.deps).await
    }

    /// Spoke calls received with `method` on paths matching `pattern` (fault-rule syntax).
    pub(crate) fn spoke_calls(&self, method: &str, pattern: &str) -> Vec<JournalEntry> {
        self.spoke.kit().calls(method, pattern)
    }

    pub(crate) fn patches(&self) -> Vec<JournalEntry> {
        self.spoke_calls("PATCH", "/teams/*")
    }

    pub(crate) fn spoke_call_count(&self) -> usize {
        self.spoke.kit().journal().len()
    }

    /// Webhook posts received by the Slack fake (any webhook), as journal entries.
    pub(crate) fn slack_posts(&self) -> Vec<JournalEntry> {
        self.slack
            .fake
            .kit()
            .calls("POST", "/services/**")
            .into_iter()
            .filter(|e| e.status == 200)
            .collect()
    }

    /// Delivered posts to the webhook of `channel` (its own webhook).
    pub(crate) fn posts_to(&self, channel: &str) -> Vec<Value> {
        let path = self.slack.fake.webhook_path(channel).unwrap();
        self.slack_posts()
            .into_iter()
            .filter(|e| e.path.ends_with(&path))
            .filter_map(|e| e.json_body())
            .collect()
    }

    /// Delivered posts to the legacy default webhook.
    pub(crate) fn default_posts(&self) -> Vec<Value> {
        self.slack_posts()
            .into_iter()
            .filter(|e| e.path.ends_with("/B0DEFAULT1/testonlyDefaultHook0000001"))
            .filter_map(|e| e.json_body())
            .collect()
    }

    pub(crate) fn team_delegation(&self, team_id: &str) -> Value {
        self.spoke.team(team_id).unwrap()["settings"]["delegation"].clone()
    }

    /// The `Handoffs` metric lines.
    pub(crate) fn handoff_metrics(&self) -> Vec<Value> {
        self.metrics
            .lines()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("Handoffs").is_some())
            .collect()
    }
}

/// Text of a Slack payload.
pub(crate) fn text(post: &Value) -> &str {
    post["text"].as_str().unwrap()
}

/// The summary lines logged for `event_id`.
pub(crate) fn summary_lines(logs: &str, event_id: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "handoff processed" && v["event_id"] == event_id)
        .collect()
}
