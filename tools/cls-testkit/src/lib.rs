#![doc = include_str!("../README.md")]
// Set-up for tests: a failure here is a broken test environment, reported by the panic's message.
#![allow(clippy::expect_used)]

pub mod hostile;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use devstack::aws::{FifoQueueSpec, FifoQueues, create_fifo_queue_with_dlq, put_secret};
use fake_kit::RunningServer;
use fake_kit::moto::Moto;
use github_fake::GithubFake;
use lambda_kit::metrics::MetricSink;
use lambda_kit::{Clock, LeakCheck, LeakGuard, Platform};
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};
use spoke_fake::SpokeFake;

/// The CLS team in the Spoke seed.
pub const TEAM: &str = "5cb65407f38ee4000743e001";
/// The service user the API key belongs to (requester of every ticket).
pub const SERVICE_USER: &str = "5f0c3a9e2b7d4c0012ab0001";
/// The Spoke user of the default owner `it-admin`.
pub const DEFAULT_OWNER: &str = "5f0c3a9e2b7d4c0012ab0002";
/// Alice's Spoke user (alice@example.com).
pub const ALICE: &str = "5f0c3a9e2b7d4c0012ab0003";
/// The `Collaborator Access` request type.
pub const REQUEST_TYPE: &str = "61b000000000000000000001";
/// Tag `access granted`.
pub const TAG_GRANTED: &str = "63d000000000000000000001";
/// Tag `access removed`.
pub const TAG_REMOVED: &str = "63d000000000000000000002";
/// Tag `cls-expired`.
pub const TAG_EXPIRED: &str = "63d000000000000000000003";
/// Tag `cls-inactive`.
pub const TAG_INACTIVE: &str = "63d000000000000000000004";
/// Tag `needs attention`.
pub const TAG_ATTENTION: &str = "63d000000000000000000005";
/// The seed's valid API key.
pub const SPOKE_KEY: &str = "cls-test-key";
/// The org of most tests.
pub const ORG: &str = "acme";

/// The form field numbered `n` (1..=8 in `cls_core::FieldKey::ALL` order).
pub fn field(n: u8) -> String {
    format!("00000000-0000-4000-8000-00000000000{n}")
}

/// The answer to form field `n` of a request as spoke-fake's state holds it.
pub fn answer(request: &Value, n: u8) -> Option<String> {
    let id = field(n);
    request["requestTypeInfo"]["answeredFields"]
        .as_array()?
        .iter()
        .find(|a| a["field"]["uuid"] == id.as_str() || a["fieldId"] == id.as_str())
        .and_then(|a| a["simpleValue"].as_str().or(a["value"].as_str()))
        .map(str::to_owned)
}

/// spoke-fake's seed: the CLS team, request type, form fields and tags, no requests.
pub fn spoke_seed() -> Value {
    serde_json::from_str(include_str!("../fixtures/spoke-seed.json")).expect("spoke seed")
}

/// `cls/spoke` over the seed, with `api_key`.
pub fn spoke_secret(api_key: &str) -> Value {
    json!({
        "api_key": api_key, "service_user_id": null, "team_id": TEAM, "request_type_id": REQUEST_TYPE,
        "web_base_url": "https://example.askspoke.com", "list_filter": null,
        "fields": {"expires_on": field(1), "github_login": field(2), "github_user_id": field(3), "github_org": field(4),
                   "collaborator_email": field(5), "repositories": field(6), "added_by": field(7), "cls_state": field(8)},
        "tags": {"access_granted": TAG_GRANTED, "access_removed": TAG_REMOVED, "expired": TAG_EXPIRED,
                 "inactive": TAG_INACTIVE, "needs_attention": TAG_ATTENTION}
    })
}

/// `cls/github` with the App entry of each of `orgs` the fake knows (an unknown org is left out), `edit`
/// adding what the test needs (`activity_source`, …) to each; `legacy_org` is [`ORG`].
pub fn github_secret(
    github: &GithubFake,
    orgs: &[&str],
    mut edit: impl FnMut(&str, &mut Value),
) -> Value {
    let orgs: Vec<Value> = orgs
        .iter()
        .filter_map(|org| {
            let mut entry = json!({
                "org": org, "org_id": github.org_id(org)?, "app_id": github.app_id(),
                "installation_id": github.installation_id(org)?,
                "private_key_pem": github_fake::TEST_APP_PRIVATE_KEY_PEM,
                "default_owner": {"github_login": "it-admin", "spoke_user_id": DEFAULT_OWNER, "email": "it-admin@example.com"},
            });
            edit(org, &mut entry);
            Some(entry)
        })
        .collect();
    json!({"orgs": orgs, "legacy_org": ORG})
}

/// spoke-fake with `seed`, serving on an ephemeral port.
pub async fn spawn_spoke(seed: Value) -> (SpokeFake, RunningServer) {
    let spoke = SpokeFake::new(seed).expect("spoke seed");
    let server = spoke.spawn().await.expect("spoke fake");
    (spoke, server)
}

/// `github`, serving on an ephemeral port.
pub async fn spawn_github(github: GithubFake) -> (GithubFake, RunningServer) {
    let server = github.spawn().await.expect("github fake");
    (github, server)
}

/// slack-fake's minimal seed on an ephemeral port, and the webhook URL of its `#alerts_it` channel.
pub async fn spawn_slack() -> (SlackFake, SpawnedSlackFake, String) {
    let slack = SlackFake::minimal();
    let server = slack.spawn().await.expect("slack fake");
    let alert_url = server.webhook_url("alerts_it").expect("alerts webhook");
    (slack, server, alert_url)
}

/// The texts slack-fake holds for `channel`.
pub fn slack_texts(slack: &SlackFake, channel: &str) -> Vec<String> {
    slack
        .messages(channel)
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// `(name, value)` pairs as a configuration map; later pairs replace earlier ones.
pub fn vars<K: Into<String>>(
    pairs: impl IntoIterator<Item = (K, String)>,
) -> HashMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

/// One message read from a queue.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MessageGroupId`.
    pub group: String,
    /// `MessageDeduplicationId`.
    pub dedup: String,
    /// The body.
    pub body: String,
}

/// One test's view of the shared moto server: a unique suffix for its queue and secret names.
pub struct TestAws {
    /// moto's endpoint URL.
    pub endpoint: String,
    /// An SQS client for moto.
    pub sqs: aws_sdk_sqs::Client,
    /// A Secrets Manager client for moto.
    pub secrets_sdk: aws_sdk_secretsmanager::Client,
    prefix: String,
    unique: String,
}

impl TestAws {
    /// The shared moto (started on first use); queues are named `<prefix>-<unique>`, secrets
    /// `<prefix>-test/<unique>/<name>`. Installs the test binary's log subscriber, whose every line the leak
    /// check scans ([`TestAws::leak_guard`]).
    pub async fn new(prefix: &str) -> Self {
        lambda_kit::tracing_init::capture_logs();
        let moto = Moto::shared()
            .await
            .expect("moto did not start (run `cargo xtask setup` when it is missing)");
        let endpoint = moto.endpoint();
        Self {
            sqs: devstack::aws::sqs_client(&endpoint),
            secrets_sdk: devstack::aws::secrets_client(&endpoint),
            endpoint,
            prefix: prefix.to_owned(),
            unique: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// The id of this test's secret `name`.
    pub fn secret_id(&self, name: &str) -> String {
        format!("{}-test/{}/{name}", self.prefix, self.unique)
    }

    /// This test's FIFO queue and DLQ.
    pub async fn fifo_queues(&self, visibility_secs: u32, max_receive_count: u32) -> FifoQueues {
        let spec = FifoQueueSpec::new(&format!("{}-{}", self.prefix, &self.unique[..12]))
            .visibility_timeout_secs(visibility_secs)
            .max_receive_count(max_receive_count);
        create_fifo_queue_with_dlq(&self.sqs, &spec)
            .await
            .expect("queues")
    }

    /// Writes each `(name, value)` as this test's secret `name`, and seeds the leak check with its
    /// credentials (`LeakCheck::seed_json`: keys, secrets, tokens, webhook URLs).
    pub async fn put_secrets<'a>(&self, secrets: impl IntoIterator<Item = (&'a str, &'a Value)>) {
        for (name, value) in secrets {
            LeakCheck::global().seed_json(&format!("cls/{name}"), value);
            put_secret(&self.secrets_sdk, &self.secret_id(name), value)
                .await
                .expect("secret");
        }
    }

    /// The leak check of this test: kept in the test's stack, it fails the test when a seeded secret (every
    /// credential written by [`TestAws::put_secrets`]) or an `Authorization` header with a value appeared in
    /// any log line of the test binary, or in an error or CLI output handed to [`LeakGuard::scan`].
    pub fn leak_guard(&self) -> LeakGuard {
        LeakCheck::global().guard()
    }

    /// The platform a service's `Deps::new` is built from in tests: AWS calls go to this moto, HTTP with
    /// `user_agent`, the given clock and metric sink.
    pub fn platform(
        &self,
        user_agent: &str,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Platform {
        Platform::local(&self.endpoint, user_agent, clock, metrics).expect("platform")
    }
}

/// Runs `source` until `queue_url` holds nothing (visible or in flight); panics after `deadline`.
pub async fn drain(
    source: &devstack::sqs::EventSource,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    deadline: Duration,
) {
    let end = std::time::Instant::now() + deadline;
    loop {
        source
            .run_until_idle_within(1000)
            .await
            .expect("event source");
        if devstack::aws::queue_depth(sqs, queue_url)
            .await
            .expect("queue depth")
            == 0
        {
            return;
        }
        assert!(
            std::time::Instant::now() < end,
            "queue not drained within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Receives every message of `queue_url` until none is visible, hiding each for `visibility_secs` (the
/// queue's own timeout when `None`) and deleting it when `delete`.
pub async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility_secs: Option<i32>,
    delete: bool,
) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .set_visibility_timeout(visibility_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = page.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            let attrs = m.attributes.clone().unwrap_or_default();
            let attr =
                |name: MessageSystemAttributeName| attrs.get(&name).cloned().unwrap_or_default();
            out.push(Received {
                group: attr(MessageSystemAttributeName::MessageGroupId),
                dedup: attr(MessageSystemAttributeName::MessageDeduplicationId),
                body: m.body().unwrap_or_default().to_owned(),
            });
            if delete {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
}
