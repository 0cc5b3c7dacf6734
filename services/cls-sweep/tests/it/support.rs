//! `spawn()`: a unique FIFO queue and secrets in moto, the three stand-ins (`cls-testkit`), `Deps::new` over
//! the local `Platform` as `main` builds it, with a continuation that records the events (Lambda's
//! self-invocation cannot run outside AWS; the tests run the recorded events themselves).

use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use cls_core::Envelope;
use cls_core::envelope::ReviewMsg;
use cls_sweep::{
    Config, Continuation, Deps, StartupError, SweepError, SweepEvent, SweepReport, USER_AGENT,
};
use cls_testkit::TestAws;
pub(crate) use cls_testkit::{
    ORG, REQUEST_TYPE, SERVICE_USER, SPOKE_KEY, TAG_GRANTED, TEAM, field,
};
use devstack::aws::{FifoQueues, put_secret};
use fake_kit::JournalEntry;
use fake_kit::RunningServer;
use futures::future::BoxFuture;
use github_fake::GithubFake;
use lambda_kit::{Invocation, MemorySink, Platform, SystemClock};
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};
use spoke_fake::SpokeFake;

/// A request type of the CLS team that is not CLS's (a laptop request).
pub(crate) const OTHER_REQUEST_TYPE: &str = "61b000000000000000000002";

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

impl Options {
    /// Sets the configuration variable `name`.
    pub(crate) fn var(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_owned()));
        self
    }

    /// `acme`'s activity source.
    pub(crate) fn activity_source(mut self, source: &'static str) -> Self {
        self.activity_source = source;
        self
    }
}

/// `cls/spoke` over the seed.
pub(crate) fn spoke_secret() -> Value {
    cls_testkit::spoke_secret(SPOKE_KEY)
}

/// The `cls/github` secret for `orgs` (`acme` with `acme_source`, the others `off`).
pub(crate) fn github_secret(github: &GithubFake, orgs: &[&str], acme_source: &str) -> Value {
    cls_testkit::github_secret(github, orgs, |org, entry| {
        entry["activity_source"] = json!(if org == ORG { acme_source } else { "off" });
    })
}

/// The CLS seed with a second request type in the team, and `requests`.
fn spoke_seed(requests: Vec<Value>) -> Value {
    let mut seed = cls_testkit::spoke_seed();
    seed["requestTypes"].as_array_mut().unwrap().push(json!({
        "id": OTHER_REQUEST_TYPE, "title": "Laptop request", "team": TEAM,
        "form": {"fields": [{"uuid": "00000000-0000-4000-8000-000000000101", "type": "TEXT", "label": "Laptop model"}]}
    }));
    seed["requests"] = Value::Array(requests);
    seed
}

/// The stand-ins, the queue and the secrets of one test, before `Deps::new`.
pub(crate) struct Env {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queues: FifoQueues,
    pub(crate) spoke: SpokeFake,
    pub(crate) github: GithubFake,
    pub(crate) slack: SlackFake,
    pub(crate) metrics: MemorySink,
    pub(crate) continuations: RecordedContinuations,
    config: Config,
    platform: Platform,
    pub(crate) secrets_sdk: aws_sdk_secretsmanager::Client,
    pub(crate) github_secret_id: String,
    /// Fails the test when a seeded secret or an `Authorization` header leaked (cls-testkit).
    pub(crate) leaks: lambda_kit::LeakGuard,
    _slack_server: SpawnedSlackFake,
    _spoke_server: RunningServer,
    _github_server: RunningServer,
}

pub(crate) async fn prepare(options: Options) -> Env {
    let aws = TestAws::new("cls-sweep").await;
    let queues = aws.fifo_queues(30, 5).await;
    let (spoke, spoke_server) = cls_testkit::spawn_spoke(spoke_seed(Vec::new())).await;
    let (github, github_server) =
        cls_testkit::spawn_github(GithubFake::demo().expect("github seed")).await;
    let (slack, slack_server, alert_url) = cls_testkit::spawn_slack().await;

    let github_secret = github_secret(&github, &options.orgs, options.activity_source);
    let spoke_secret = options.spoke_secret.clone().unwrap_or_else(spoke_secret);
    aws.put_secrets([
        ("github", &github_secret),
        ("spoke", &spoke_secret),
        ("alerts", &json!({"alert_webhook_url": alert_url})),
    ])
    .await;
    let env = cls_testkit::vars(
        [
            ("CLS_STAGE", "testing".to_owned()),
            ("CLS_QUEUE_URL", queues.url.clone()),
            ("CLS_GITHUB_SECRET_ID", aws.secret_id("github")),
            ("CLS_SPOKE_SECRET_ID", aws.secret_id("spoke")),
            ("CLS_ALERTS_SECRET_ID", aws.secret_id("alerts")),
            ("CLS_SLACK_SECRET_ID", aws.secret_id("slack")),
            ("SPOKE_BASE_URL", spoke_fake::api_base_url(&spoke_server)),
            ("GITHUB_API_BASE_URL", github_server.base_url()),
        ]
        .into_iter()
        .chain(options.env),
    );
    let config = Config::from_lookup(lambda_kit::config::map_lookup(env)).expect("config");
    let metrics = MemorySink::default();
    let platform = aws.platform(USER_AGENT, Arc::new(SystemClock), Arc::new(metrics.clone()));
    Env {
        sqs: aws.sqs.clone(),
        queues,
        spoke,
        github,
        slack,
        metrics,
        continuations: RecordedContinuations::default(),
        config,
        platform,
        secrets_sdk: aws.secrets_sdk.clone(),
        github_secret_id: aws.secret_id("github"),
        leaks: aws.leak_guard(),
        _slack_server: slack_server,
        _spoke_server: spoke_server,
        _github_server: github_server,
    }
}

impl Env {
    /// `Deps::new` as `main` calls it (a fresh instance: nothing remembered), with the recording
    /// continuation.
    pub(crate) async fn build(&self) -> Result<Deps, StartupError> {
        let deps = Deps::new(self.config.clone(), &self.platform).await?;
        Ok(deps.with_continuation(Arc::new(self.continuations.clone())))
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
            "id": self.id(), "subject": format!("GitHub access: {}", self.login), "requester": SERVICE_USER,
            "team": TEAM, "requestType": REQUEST_TYPE, "status": "OPEN",
            "tags": [TAG_GRANTED], "answers": answers,
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

    /// Replaces spoke-fake's tickets.
    pub(crate) fn seed_tickets(&self, tickets: &[Ticket]) {
        self.seed_requests(tickets.iter().map(Ticket::seed).collect());
    }

    /// Replaces spoke-fake's tickets with `requests` in its seed shape.
    pub(crate) fn seed_requests(&self, requests: Vec<Value>) {
        self.env
            .spoke
            .reset(Some(spoke_seed(requests)))
            .expect("seed");
    }

    /// Runs one invocation with `event` through the Lambda handler; an error is scanned for leaks.
    pub(crate) async fn invoke(&self, event: Value) -> Result<SweepReport, SweepError> {
        let result = cls_sweep::handle(event, &Invocation::new("test"), &self.deps).await;
        if let Err(error) = &result {
            self.env
                .leaks
                .scan("error", &format!("{} {error:?}", error.chain()));
        }
        result
    }

    /// The scheduled run as of `today`, which must succeed.
    pub(crate) async fn sweep(&self, today: &str) -> SweepReport {
        self.invoke(json!({"today": today})).await.unwrap()
    }

    /// Runs the `n`th recorded continuation on a fresh instance (nothing remembered in memory), as Lambda
    /// may.
    pub(crate) async fn continue_on_another_instance(&self, n: usize) -> SweepReport {
        let other_instance = self.env.build().await.unwrap();
        let event = serde_json::to_value(&self.env.continuations.events()[n]).unwrap();
        cls_sweep::handle(
            event,
            &Invocation::new("test-continuation"),
            &other_instance,
        )
        .await
        .unwrap()
    }

    /// The ticket ids of every review on the queue, sorted, a repeat kept (received once, as
    /// [`Stack::reviews`]).
    pub(crate) async fn reviewed_tickets(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .reviews()
            .await
            .into_iter()
            .map(|(_, _, r)| r.ticket_id)
            .collect();
        ids.sort();
        ids
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

    /// The query of every page of open tickets the sweep asked spoke-fake for, in order.
    pub(crate) fn listing_queries(&self) -> Vec<String> {
        self.env
            .spoke
            .kit()
            .journal()
            .iter()
            .filter(|e| e.method == "GET" && e.path.ends_with("/requests"))
            .map(|e| e.query.clone().unwrap_or_default())
            .collect()
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

/// The journal entries of a fake whose method is not `GET`, as `METHOD path` (what a read-only run must not
/// send), leaving out `except` paths.
pub(crate) fn writes(journal: &[JournalEntry], except: &str) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e.method != "GET" && (except.is_empty() || !e.path.ends_with(except)))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}
