//! `spawn()`: a unique FIFO queue and secrets in moto, the three stand-ins, `Deps::build` as production
//! builds it (real clients over HTTP), a recording continuation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use cls_core::Envelope;
use cls_core::envelope::ReviewMsg;
use cls_sweep::{Config, Continuation, Deps, StartupError, SweepError, SweepEvent, SweepReport};
use devstack::aws::{
    FifoQueueSpec, FifoQueues, create_fifo_queue_with_dlq, put_secret, sqs_client,
};
use fake_kit::RunningServer;
use fake_kit::moto::Moto;
use futures::future::BoxFuture;
use github_fake::GithubFake;
use lambda_kit::{Clock, MemorySink, SystemClock};
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};
use spoke_fake::SpokeFake;

pub(crate) const ORG: &str = "acme";
pub(crate) const SPOKE_KEY: &str = "cls-test-key";
pub(crate) const TEAM: &str = "5cb65407f38ee4000743e001";
pub(crate) const REQUESTER: &str = "5f0c3a9e2b7d4c0012ab0001";

pub(crate) fn field(n: u8) -> String {
    format!("00000000-0000-4000-8000-00000000000{n}")
}

pub(crate) fn d(s: &str) -> NaiveDate {
    cls_core::dates::parse_date(s).unwrap()
}

/// Continuation events the sweep asked for (the test runs them, as Lambda would).
#[derive(Default, Clone)]
pub(crate) struct RecordedContinuations(pub(crate) Arc<Mutex<Vec<SweepEvent>>>);

impl RecordedContinuations {
    pub(crate) fn events(&self) -> Vec<SweepEvent> {
        self.0.lock().unwrap().clone()
    }
}

impl Continuation for RecordedContinuations {
    fn start<'a>(&'a self, event: &'a SweepEvent) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().push(event.clone());
        Box::pin(async { Ok(()) })
    }
}

pub(crate) struct Options {
    /// Extra environment (limits, stage, …).
    pub(crate) env: Vec<(&'static str, String)>,
    /// Replaces the Spoke secret.
    pub(crate) spoke_secret: Option<Value>,
    /// `activity_source` of `acme`.
    pub(crate) activity_source: &'static str,
    /// The orgs in `cls/github` (github-fake demo orgs).
    pub(crate) orgs: Vec<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            spoke_secret: None,
            activity_source: "off",
            orgs: vec![ORG, "globex"],
        }
    }
}

pub(crate) fn spoke_secret() -> Value {
    // The eight form fields are numbered 1..=8 in `cls_core::FieldKey::ALL` order (see the seed).
    let fields: serde_json::Map<String, Value> = cls_core::FieldKey::ALL
        .iter()
        .zip(1u8..)
        .map(|(key, n)| (key.as_str().to_owned(), Value::String(field(n))))
        .collect();
    let tags: serde_json::Map<String, Value> = [
        "access_granted",
        "access_removed",
        "expired",
        "inactive",
        "needs_attention",
    ]
    .iter()
    .zip(1u8..)
    .map(|(key, n)| {
        (
            (*key).to_owned(),
            Value::String(format!("63d0000000000000000000{n:02}")),
        )
    })
    .collect();
    json!({
        "api_key": SPOKE_KEY, "service_user_id": REQUESTER, "team_id": TEAM,
        "request_type_id": "61b000000000000000000001", "list_filter": null,
        "fields": fields, "tags": tags,
    })
}

/// The `cls/github` secret for `orgs` (`acme` with `acme_source`, the others `off`).
pub(crate) fn github_secret(github: &GithubFake, orgs: &[&str], acme_source: &str) -> Value {
    let orgs: Vec<Value> = orgs
        .iter()
        .map(|org| {
            json!({
                "org": org, "org_id": github.org_id(org).unwrap(), "app_id": github.app_id(),
                "installation_id": github.installation_id(org).unwrap(),
                "private_key_pem": github_fake::TEST_APP_PRIVATE_KEY_PEM,
                "default_owner": {"github_login": "it-admin", "spoke_user_id": "5f0c3a9e2b7d4c0012ab0002"},
                "activity_source": if *org == ORG { acme_source } else { "off" }
            })
        })
        .collect();
    json!({"orgs": orgs, "legacy_org": ORG})
}

/// The stand-ins, the queue and the secrets of one test, before `Deps::build`.
pub(crate) struct Env {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queues: FifoQueues,
    pub(crate) spoke: SpokeFake,
    pub(crate) github: GithubFake,
    pub(crate) slack: SlackFake,
    pub(crate) metrics: MemorySink,
    pub(crate) continuations: RecordedContinuations,
    pub(crate) spoke_control: String,
    config: Config,
    moto_endpoint: String,
    pub(crate) secrets_sdk: aws_sdk_secretsmanager::Client,
    pub(crate) github_secret_id: String,
    _slack_server: SpawnedSlackFake,
    _spoke_server: RunningServer,
    _github_server: RunningServer,
}

pub(crate) async fn prepare(options: Options) -> Env {
    let moto = Moto::shared()
        .await
        .expect("moto is missing: run `cargo xtask setup`");
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let sqs = sqs_client(&moto.endpoint());
    let queues = create_fifo_queue_with_dlq(
        &sqs,
        &FifoQueueSpec::new(&format!("sweep-{}", &unique[..12])).visibility_timeout_secs(30),
    )
    .await
    .expect("queues");
    let spoke =
        SpokeFake::from_json(include_str!("../fixtures/spoke-seed.json")).expect("spoke seed");
    let spoke_server = spoke.spawn().await.expect("spoke fake");
    let github = GithubFake::demo().expect("github seed");
    let github_server = github.spawn().await.expect("github fake");
    let slack = SlackFake::minimal();
    let slack_server = slack.spawn().await.expect("slack fake");
    let alert_url = slack_server
        .webhook_url("alerts_it")
        .expect("alerts webhook");

    let secrets_sdk = devstack::aws::secrets_client(&moto.endpoint());
    let ids = |name: &str| format!("cls-sweep-test/{unique}/{name}");
    let github_secret = github_secret(&github, &options.orgs, options.activity_source);
    for (name, value) in [
        ("github", github_secret),
        (
            "spoke",
            options.spoke_secret.clone().unwrap_or_else(spoke_secret),
        ),
        ("alerts", json!({"alert_webhook_url": alert_url})),
    ] {
        put_secret(&secrets_sdk, &ids(name), &value)
            .await
            .expect("secret");
    }
    let mut env: HashMap<String, String> = [
        ("CLS_STAGE", "testing".to_owned()),
        ("CLS_QUEUE_URL", queues.url.clone()),
        ("CLS_GITHUB_SECRET_ID", ids("github")),
        ("CLS_SPOKE_SECRET_ID", ids("spoke")),
        ("CLS_ALERTS_SECRET_ID", ids("alerts")),
        ("CLS_SLACK_SECRET_ID", ids("slack")),
        ("SPOKE_BASE_URL", spoke_fake::api_base_url(&spoke_server)),
        ("GITHUB_API_BASE_URL", github_server.base_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in options.env {
        env.insert(k.to_owned(), v);
    }
    let config = Config::from_lookup(lambda_kit::config::map_lookup(env)).expect("config");
    Env {
        sqs,
        queues,
        spoke,
        github,
        slack,
        metrics: MemorySink::default(),
        continuations: RecordedContinuations::default(),
        spoke_control: format!("{}/__fake", spoke_server.base_url()),
        config,
        moto_endpoint: moto.endpoint(),
        secrets_sdk: secrets_sdk.clone(),
        github_secret_id: ids("github"),
        _slack_server: slack_server,
        _spoke_server: spoke_server,
        _github_server: github_server,
    }
}

impl Env {
    /// `Deps::build` as `from_aws` calls it, over moto and the stand-ins.
    pub(crate) async fn build(&self) -> Result<Deps, StartupError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store: Arc<dyn secrets::SecretStore> = Arc::new(
            secrets::SecretsClient::new(
                secrets::local_sdk_client(&self.moto_endpoint),
                Arc::clone(&clock),
            )
            .with_ttl(self.config.cls.secrets_ttl),
        );
        let http = lambda_kit::http::http_client("cls-sweep-tests/0").unwrap();
        let queue = Arc::new(cls_wiring::SqsQueueSender::new(
            self.sqs.clone(),
            &self.queues.url,
        ));
        Deps::build(
            self.config.clone(),
            store,
            queue,
            Arc::new(self.continuations.clone()),
            http,
            clock,
            Arc::new(self.metrics.clone()),
        )
        .await
    }
}

pub(crate) struct Stack {
    pub(crate) env: Env,
    pub(crate) deps: Deps,
}

pub(crate) async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub(crate) async fn spawn_with(options: Options) -> Stack {
    let env = prepare(options).await;
    let deps = env.build().await.expect("deps");
    Stack { env, deps }
}

/// One ticket to seed.
#[derive(Clone)]
pub(crate) struct Ticket {
    pub(crate) n: u32,
    pub(crate) org: String,
    pub(crate) login: String,
    pub(crate) user_id: Option<u64>,
    pub(crate) expires_on: String,
    pub(crate) state: Value,
}

impl Ticket {
    /// Ticket `n` of `acme`, granted on 2026-01-01, expiring `expires_on`.
    pub(crate) fn new(n: u32, expires_on: &str) -> Self {
        Self {
            n,
            org: ORG.to_owned(),
            login: format!("collab{n}"),
            user_id: Some(5_000_000 + u64::from(n)),
            expires_on: expires_on.to_owned(),
            state: json!({"v": 1, "uid": 5_000_000 + n, "access": "granted", "granted_on": "2026-01-01",
                          "expires_on": expires_on}),
        }
    }

    pub(crate) fn id(&self) -> String {
        format!("62c0000000000000000{:05}", self.n)
    }

    pub(crate) fn login(mut self, login: &str, user_id: u64) -> Self {
        self.login = login.to_owned();
        self.user_id = Some(user_id);
        self.state["uid"] = json!(user_id);
        self
    }

    pub(crate) fn state(mut self, key: &str, value: Value) -> Self {
        self.state[key] = value;
        self
    }

    pub(crate) fn raw_state(mut self, text: &str) -> Self {
        self.state = Value::String(text.to_owned());
        self
    }

    pub(crate) fn seed(&self) -> Value {
        let created = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + Duration::seconds(i64::from(self.n));
        let state = match &self.state {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let mut answers = vec![
            json!({"fieldId": field(1), "value": self.expires_on}),
            json!({"fieldId": field(2), "value": self.login}),
            json!({"fieldId": field(4), "value": self.org}),
            json!({"fieldId": field(5), "value": "n/a"}),
            json!({"fieldId": field(6), "value": format!("{}/widgets: write (added by alice 2026-01-01)", self.org)}),
            json!({"fieldId": field(7), "value": "alice"}),
            json!({"fieldId": field(8), "value": state}),
        ];
        if let Some(id) = self.user_id {
            answers.push(json!({"fieldId": field(3), "value": id.to_string()}));
        }
        json!({
            "id": self.id(), "subject": format!("GitHub access: {}", self.login), "requester": REQUESTER,
            "team": TEAM, "requestType": "61b000000000000000000001", "status": "OPEN",
            "tags": ["63d000000000000000000001"], "answers": answers,
            "createdAt": cls_core::dates::format_instant(created),
        })
    }
}

impl Stack {
    /// Writes a new version of `cls/github`.
    pub(crate) async fn put_github_secret(&self, value: &Value) {
        put_secret(&self.env.secrets_sdk, &self.env.github_secret_id, value)
            .await
            .expect("secret");
    }

    /// Replaces spoke-fake's tickets through its control API (`POST /__fake/reset` with the seed).
    pub(crate) async fn seed_tickets(&self, tickets: &[Ticket]) {
        self.seed_requests(tickets.iter().map(Ticket::seed).collect())
            .await;
    }

    /// Replaces spoke-fake's tickets with `requests` in its seed shape.
    pub(crate) async fn seed_requests(&self, requests: Vec<Value>) {
        let mut seed: Value =
            serde_json::from_str(include_str!("../fixtures/spoke-seed.json")).unwrap();
        seed["requests"] = Value::Array(requests);
        let resp = reqwest::Client::new()
            .post(format!("{}/reset", self.env.spoke_control))
            .json(&seed)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "reset: {}", resp.status());
    }

    /// Runs one invocation with `event` through the Lambda handler.
    pub(crate) async fn invoke(&self, event: Value) -> Result<SweepReport, SweepError> {
        cls_sweep::handle(event, &self.deps).await
    }

    /// Every review message on the queue as (group, dedup id, review); each is received once (long
    /// visibility), so call this once per test phase.
    pub(crate) async fn reviews(&self) -> Vec<(String, String, ReviewMsg)> {
        use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
        let mut out = Vec::new();
        loop {
            let resp = self
                .env
                .sqs
                .receive_message()
                .queue_url(&self.env.queues.url)
                .max_number_of_messages(10)
                .visibility_timeout(600)
                .message_system_attribute_names(Attr::All)
                .send()
                .await
                .unwrap();
            let messages = resp.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let attrs = m.attributes.clone().unwrap_or_default();
                let group = attrs
                    .get(&Attr::MessageGroupId)
                    .cloned()
                    .unwrap_or_default();
                let dedup = attrs
                    .get(&Attr::MessageDeduplicationId)
                    .cloned()
                    .unwrap_or_default();
                let env = Envelope::parse(m.body.as_deref().unwrap_or("")).unwrap();
                let cls_core::Payload::Review(review) = env.payload else {
                    panic!("not a review: {:?}", m.body)
                };
                out.push((group, dedup, review));
            }
        }
    }

    /// Messages on the queue (visible and in flight).
    pub(crate) async fn depth(&self) -> u64 {
        devstack::aws::queue_depth(&self.env.sqs, &self.env.queues.url)
            .await
            .unwrap()
    }

    /// Texts posted to the alert channel (alerts, summaries and plans).
    pub(crate) fn alert_channel(&self) -> Vec<String> {
        self.env
            .slack
            .messages("alerts_it")
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    /// Alerts of `kind` (the `*CLS {kind}*` heading).
    pub(crate) fn alerts_of(&self, kind: &str) -> Vec<String> {
        let heading = format!("*CLS {kind}*");
        self.alert_channel()
            .into_iter()
            .filter(|t| t.contains(&heading))
            .collect()
    }

    /// Summary lines posted.
    pub(crate) fn summaries(&self) -> Vec<String> {
        self.alert_channel()
            .into_iter()
            .filter(|t| t.starts_with("CLS sweep ["))
            .collect()
    }
}
