//! A stack per test: spoke-fake and slack-fake on ephemeral loopback ports, the secret in moto (one shared
//! server, a unique secret per test), a fixed clock and a memory metric sink. `Deps` is built through
//! `Deps::new` with `Platform::local`, as in the demo and the binary; only config and the fakes differ.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fake_kit::moto::Moto;
use fake_kit::{FaultRule, JournalEntry, RunningServer};
use lambda_kit::config::pairs_lookup;
use lambda_kit::{FixedClock, Invocation, MemorySink, Platform};
use oncall_spoke::{Config, Deps, HandoffResponse, ServiceError, USER_AGENT, handle};
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

/// The event's id.
pub(crate) fn id_of(event: &Value) -> String {
    event["id"].as_str().unwrap().to_owned()
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// What a test changes in the default stack.
pub(crate) struct Options {
    env: Vec<(String, String)>,
    spoke: SpokeFake,
    slack: SlackFake,
    api_key: &'static str,
    now: &'static str,
    request_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        let slack_seed =
            slack_fake::Seed::from_json(include_str!("../fixtures/slack-seed.json")).unwrap();
        Self {
            env: Vec::new(),
            spoke: SpokeFake::new(spoke_seed()).unwrap(),
            slack: SlackFake::new(slack_seed),
            api_key: API_KEY,
            // One minute after the baseline event was put: fresh.
            now: "2025-08-04T20:40:11Z",
            request_timeout: None,
        }
    }
}

impl Options {
    /// The fakes' demo seeds and key, as `cargo xtask up` serves them; the sample events of `events/` are
    /// older than the staleness guard allows, so it is off.
    pub(crate) fn demo() -> Self {
        Self {
            spoke: SpokeFake::demo().unwrap(),
            slack: SlackFake::demo(),
            api_key: "demo-spoke-key",
            now: "2026-11-28T09:00:00Z",
            ..Self::default()
        }
        .env("ONCALL_MAX_EVENT_AGE_SECS", "0")
    }

    /// One more configuration variable.
    pub(crate) fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// Another spoke-fake seed.
    pub(crate) fn seed(mut self, seed: Value) -> Self {
        self.spoke = SpokeFake::new(seed).unwrap();
        self
    }

    /// A shorter whole-request timeout of the shared HTTP client (the platform's is 10 s).
    pub(crate) fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
}

pub(crate) struct Stack {
    pub(crate) spoke: SpokeFake,
    _spoke_server: RunningServer,
    pub(crate) slack: SpawnedSlackFake,
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    pub(crate) metrics: MemorySink,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) deps: Deps,
}

pub(crate) async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub(crate) async fn moto_endpoint() -> String {
    Moto::shared()
        .await
        .expect("moto (install it with `cargo xtask setup`)")
        .endpoint()
}

pub(crate) async fn spawn_with(options: Options) -> Stack {
    let spoke = options.spoke;
    let spoke_server = spoke.spawn().await.unwrap();
    let slack = options.slack.spawn().await.unwrap();
    let moto = moto_endpoint().await;
    let secrets = secrets::local_sdk_client(&moto);
    let secret_id = unique("oncall-spoke");
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(secret_for(&slack, options.api_key).to_string())
        .send()
        .await
        .unwrap();
    let spoke_base = spoke_fake::api_base_url(&spoke_server);
    let mut pairs = vec![
        ("ONCALL_SECRET_ID", secret_id.as_str()),
        ("ONCALL_SPOKE_ORG", "example"),
        ("SPOKE_BASE_URL", spoke_base.as_str()),
    ];
    pairs.extend(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let config = Config::from_lookup(pairs_lookup(&pairs)).unwrap();
    let metrics = MemorySink::default();
    let clock = Arc::new(FixedClock::at(options.now).unwrap());
    let mut platform =
        Platform::local(&moto, USER_AGENT, clock.clone(), Arc::new(metrics.clone())).unwrap();
    if let Some(timeout) = options.request_timeout {
        platform.http =
            lambda_kit::http::http_client_with(USER_AGENT, Duration::from_secs(2), timeout)
                .unwrap();
    }
    let deps = Deps::new(config, &platform).await.unwrap();
    Stack {
        spoke,
        _spoke_server: spoke_server,
        slack,
        secrets,
        secret_id,
        metrics,
        clock,
        deps,
    }
}

/// The secret JSON routing `#alerts_it` and `#it-team` to their own webhooks, everything else to the legacy
/// default webhook.
pub(crate) fn secret_for(slack: &SpawnedSlackFake, key: &str) -> Value {
    json!({
        "spokeApiKey": key,
        "slack": {
            "defaultWebhookUrl": format!("{}{}", slack.base_url(), slack.fake.default_webhook_path().unwrap()),
            "channelWebhooks": {
                "#alerts_it": slack.webhook_url("#alerts_it").unwrap(),
                "#it-team": slack.webhook_url("#it-team").unwrap()
            }
        }
    })
}

impl Stack {
    pub(crate) async fn invoke(&self, event: Value) -> Result<HandoffResponse, ServiceError> {
        self.invoke_within(event, None).await
    }

    /// Invokes with `remaining` time before the Lambda deadline.
    pub(crate) async fn invoke_within(
        &self,
        event: Value,
        remaining: Option<Duration>,
    ) -> Result<HandoffResponse, ServiceError> {
        let request_id = unique("req");
        let invocation = match remaining {
            Some(remaining) => Invocation::with_remaining(request_id, remaining),
            None => Invocation::new(request_id),
        };
        handle(event, &invocation, &self.deps).await
    }

    /// Writes a new current version of the service's secret to Secrets Manager.
    pub(crate) async fn put_secret(&self, value: Value) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }

    /// The default secret with another Spoke key.
    pub(crate) async fn put_key(&self, key: &str) {
        self.put_secret(secret_for(&self.slack, key)).await;
    }

    /// Spoke answers `method` calls on `path` with `action` (`times` times, or always).
    pub(crate) fn spoke_fault(&self, method: &str, path: &str, times: Option<u32>, action: Value) {
        self.spoke.add_fault(Some(method), path, times, action);
    }

    /// Every webhook post answers `action` (`times` times, or always).
    pub(crate) fn slack_fault(&self, times: Option<u32>, action: Value) {
        self.slack.fake.kit().add_fault(FaultRule::new(
            Some("POST"),
            "/services/**",
            times,
            action,
        ));
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

    fn delivered_to(&self, path: &str) -> Vec<Value> {
        self.slack_posts()
            .into_iter()
            .filter(|e| e.path.ends_with(path))
            .filter_map(|e| e.json_body())
            .collect()
    }

    /// Delivered posts to the webhook of `channel` (its own webhook).
    pub(crate) fn posts_to(&self, channel: &str) -> Vec<Value> {
        self.delivered_to(&self.slack.fake.webhook_path(channel).unwrap())
    }

    /// Delivered posts to the legacy default webhook.
    pub(crate) fn default_posts(&self) -> Vec<Value> {
        self.delivered_to(&self.slack.fake.default_webhook_path().unwrap())
    }

    /// (posts to `#it-team`, posts to `#alerts_it`).
    pub(crate) fn post_counts(&self) -> (usize, usize) {
        (
            self.posts_to("#it-team").len(),
            self.posts_to("#alerts_it").len(),
        )
    }

    /// The text of the `n`-th post to `#alerts_it`.
    pub(crate) fn it_text(&self, n: usize) -> String {
        text(&self.posts_to("#alerts_it")[n]).to_owned()
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
