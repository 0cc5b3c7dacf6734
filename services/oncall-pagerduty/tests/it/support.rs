//! A stack per test: pagerduty-fake and slack-fake on ephemeral loopback ports; in the shared moto server a
//! unique secret, bus and queue (a rule on the bus delivers the handoff events to the queue); a fixed clock
//! and a memory metric sink. `Deps` is built through `Deps::new` with `Platform::local`, as in the demo and
//! the binary.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_kit::RunningServer;
use fake_kit::moto::Moto;
use fake_kit::testing::Control;
use lambda_kit::{FixedClock, Invocation, MemorySink, Platform};
use oncall_pagerduty::{Config, Deps, RunSummary, ServiceError, USER_AGENT, handle};
use pagerduty_fake::PagerDutyFake;
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};

pub(crate) const KEY: &str = "test-pd-key";
pub(crate) const ALICE: &str = "PU00001";
pub(crate) const BOB: &str = "PU00002";
pub(crate) const DAVE: &str = "PU00004";
pub(crate) const ERIN: &str = "PU00005";
pub(crate) const PAT: &str = "PU00007";

/// The IT team (escalation policy, 8-hour turns alice → bob → carol from 2026-03-02T09:00Z) and the
/// Facilities team (schedule, weekly turns dave → erin) of pagerduty-fake's minimal seed.
pub(crate) fn teams() -> Value {
    json!([
        {"escalation_policy_id": "PEPIT01", "team": "it", "spoke_team": "IT", "slack_channel": "#it-team"},
        {"schedule_id": "PSFAC01", "team": "facilities", "spoke_team": "Facilities"}
    ])
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub(crate) fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

pub(crate) struct Stack {
    _pagerduty: PagerDutyFake,
    _pagerduty_server: RunningServer,
    pub(crate) control: Control,
    pub(crate) slack: SpawnedSlackFake,
    moto: String,
    secrets: aws_sdk_secretsmanager::Client,
    pub(crate) secret_id: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    env: Vec<(String, String)>,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) metrics: MemorySink,
}

/// A stack over pagerduty-fake's minimal seed, configured with [`teams`], the clock at `now`.
pub(crate) async fn spawn(now: &str) -> Stack {
    spawn_with(PagerDutyFake::minimal().unwrap(), teams(), now).await
}

pub(crate) async fn spawn_with(pagerduty: PagerDutyFake, teams: Value, now: &str) -> Stack {
    let server = pagerduty.spawn().await.unwrap();
    let slack = SlackFake::minimal().spawn().await.unwrap();
    let moto = Moto::shared()
        .await
        .expect("moto (install it with `cargo xtask setup`)")
        .endpoint();
    let secrets = secrets::local_sdk_client(&moto);
    let secret_id = unique("oncall-pagerduty");
    let sqs = devstack::aws::sqs_client(&moto);
    let bus = unique("oncall-handoff");
    let queue_url = devstack::aws::create_bus_to_queue(
        &devstack::aws::events_client(&moto),
        &sqs,
        &bus,
        "oncall-spoke",
        &unique("handoffs"),
        &json!({"source": ["on-call/handoff"], "detail-type": ["On-call Handoff Event"]}),
    )
    .await
    .unwrap();
    let stack = Stack {
        control: Control::new(&server.base_url()),
        env: vec![
            ("ONCALL_PD_SECRET_ID".into(), secret_id.clone()),
            ("ONCALL_PD_TEAMS".into(), teams.to_string()),
            ("ONCALL_EVENT_BUS_NAME".into(), bus),
            ("PAGERDUTY_API_URL".into(), server.base_url()),
        ],
        _pagerduty: pagerduty,
        _pagerduty_server: server,
        slack,
        moto,
        secrets,
        secret_id,
        sqs,
        queue_url,
        clock: Arc::new(FixedClock::at(now).unwrap()),
        metrics: MemorySink::default(),
    };
    stack.put_secret(KEY).await;
    stack
}

impl Stack {
    /// Writes the secret with `key` and the `#alerts_it` webhook.
    pub(crate) async fn put_secret(&self, key: &str) {
        let value =
            json!({"api_key": key, "webhookUrl": self.slack.webhook_url("#alerts_it").unwrap()});
        devstack::aws::put_secret(&self.secrets, &self.secret_id, &value)
            .await
            .unwrap();
    }

    /// A fresh execution environment (a cold start): `Deps::new` over the local platform.
    pub(crate) async fn deps(&self) -> Deps {
        let pairs: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let config = Config::from_pairs(&pairs).unwrap();
        let platform = Platform::local(
            &self.moto,
            USER_AGENT,
            self.clock.clone(),
            Arc::new(self.metrics.clone()),
        )
        .unwrap();
        Deps::new(config, &platform).await.unwrap()
    }

    /// Moves the service's clock (PagerDuty is asked about that instant).
    pub(crate) fn set_clock(&self, now: &str) {
        self.clock.set(at(now));
    }

    /// One scheduled run with 30 s left before the Lambda deadline.
    pub(crate) async fn run(&self, deps: &Deps) -> Result<RunSummary, ServiceError> {
        self.run_within(deps, Duration::from_secs(30), json!({}))
            .await
    }

    /// One run of `event` with `remaining` time before the deadline.
    pub(crate) async fn run_within(
        &self,
        deps: &Deps,
        remaining: Duration,
        event: Value,
    ) -> Result<RunSummary, ServiceError> {
        let invocation = Invocation::with_remaining(unique("req"), remaining);
        let mut event = event;
        if event.get("time").is_none() {
            event["time"] = json!(lambda_kit::Clock::now(self.clock.as_ref()).to_rfc3339());
        }
        handle(event, &invocation, deps).await
    }

    /// Every handoff event delivered to the queue since the last call, as EventBridge delivered it.
    pub(crate) async fn events(&self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = received.messages();
            if messages.is_empty() {
                return events;
            }
            for m in messages {
                events.push(serde_json::from_str(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// The handoff events of team `team` delivered since the last call to [`Self::events`].
    pub(crate) async fn events_of(&self, team: &str) -> Vec<Value> {
        self.events()
            .await
            .into_iter()
            .filter(|e| e["detail"]["Team"]["name"] == team)
            .collect()
    }

    /// The PagerDuty calls journaled so far.
    pub(crate) async fn oncall_calls(&self) -> Vec<Value> {
        self.control
            .journal()
            .await
            .into_iter()
            .filter(|e| e["path"] == "/oncalls")
            .collect()
    }
}
