//! `spawn()`: moto queues and secrets with unique names, the three stand-ins, `Deps::new` over the local
//! `Platform` as `main` builds it, the handler behind the event-source emulator.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use cls_core::envelope::{MemberEventMsg, RepositoryRef, SenderRef};
use cls_core::{AccountRef, Envelope, MemberAction, OrgRef};
use cls_queue::{Config, Deps, USER_AGENT, handle};
use cls_testkit::TestAws;
pub(crate) use cls_testkit::{
    ALICE, DEFAULT_OWNER, ORG, SERVICE_USER, SPOKE_KEY, TAG_ATTENTION, TAG_EXPIRED, TAG_GRANTED,
    TAG_INACTIVE, TAG_REMOVED, TEAM, field,
};
use devstack::aws::FifoQueues;
use devstack::lambda::typed_handler;
use devstack::sqs::EventSource;
use fake_kit::RunningServer;
use github_fake::GithubFake;
use lambda_kit::{Invocation, MemorySink, Platform, SystemClock};
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};
use spoke_fake::SpokeFake;

pub(crate) struct Stack {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queues: FifoQueues,
    pub(crate) spoke: SpokeFake,
    pub(crate) github: GithubFake,
    pub(crate) slack: SlackFake,
    pub(crate) slack_server: SpawnedSlackFake,
    pub(crate) metrics: MemorySink,
    pub(crate) deps: Deps,
    /// What `deps` was built from (moto, the system clock, `metrics`).
    pub(crate) platform: Platform,
    /// The configuration variables `deps` was built from.
    pub(crate) vars: HashMap<String, String>,
    pub(crate) source: EventSource,
    pub(crate) secret_values: Vec<String>,
    pub(crate) secrets_sdk: aws_sdk_secretsmanager::Client,
    pub(crate) spoke_secret_id: String,
    pub(crate) spoke_secret: Value,
    pub(crate) github_secret_id: String,
    /// Fails the test when a seeded secret or an `Authorization` header leaked into a log line (cls-testkit).
    _leaks: lambda_kit::LeakGuard,
    _spoke_server: RunningServer,
    _github_server: RunningServer,
}

pub(crate) struct Options {
    pub(crate) visibility_secs: u32,
    pub(crate) max_receive_count: u32,
    /// github-fake's demo seed: `acme` on Enterprise Cloud with an audit log, plus a second org `globex`.
    pub(crate) demo_github: bool,
    /// The Spoke key written into the secret (default: the fake's valid key).
    pub(crate) spoke_key: Option<String>,
    /// Replaces the identity secret (e.g. the `http` source).
    pub(crate) identity: Option<Value>,
    /// `CLS_SECRETS_TTL_SECONDS` (default 300).
    pub(crate) secrets_ttl_secs: u64,
    /// Extra environment (e.g. `CLS_FAKE_TODAY`).
    pub(crate) env: Vec<(&'static str, String)>,
    /// The organisations in the GitHub secret (default `acme` and, with the demo seed, `globex`).
    pub(crate) orgs: &'static [&'static str],
    /// The secret layout before issue 10: webhook secrets in `cls/github`, signing secrets and the alert URL
    /// in `cls/slack`, no `cls/alerts`.
    pub(crate) legacy_layout: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            visibility_secs: 1,
            max_receive_count: 5,
            demo_github: false,
            spoke_key: None,
            identity: None,
            secrets_ttl_secs: 300,
            env: Vec::new(),
            orgs: &["acme", "globex"],
            legacy_layout: false,
        }
    }
}

/// The Slack channel reminders fall back to (slack-fake's `#it-team`).
pub(crate) const FALLBACK_CHANNEL: &str = "C0ITTEAM01";
/// A Slack user listed in `admin_user_ids`.
pub(crate) const SLACK_ADMIN: &str = "U0ADMIN001";

pub(crate) async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub(crate) async fn spawn_with(options: Options) -> Stack {
    let aws = TestAws::new("cls").await;
    let queues = aws
        .fifo_queues(options.visibility_secs, options.max_receive_count)
        .await;
    let (spoke, spoke_server) = cls_testkit::spawn_spoke(cls_testkit::spoke_seed()).await;
    let github = if options.demo_github {
        GithubFake::demo()
    } else {
        GithubFake::minimal()
    }
    .expect("github seed");
    let (github, github_server) = cls_testkit::spawn_github(github).await;
    let (slack, slack_server, alert_url) = cls_testkit::spawn_slack().await;

    let github_secret = github_secret(&github, options.orgs, options.legacy_layout);
    let spoke_secret = cls_testkit::spoke_secret(options.spoke_key.as_deref().unwrap_or(SPOKE_KEY));
    // cls-queue reads cls/github, cls/spoke, cls/identity, cls/slack (bot) and cls/alerts; no signing secret.
    let (slack_secret, alerts_secret) = if options.legacy_layout {
        (
            json!({"bot_token": slack.bot_token(), "signing_secrets": [slack.signing_secret()], "alert_webhook_url": alert_url,
                "fallback_channel_id": FALLBACK_CHANNEL, "admin_user_ids": [SLACK_ADMIN]}),
            None,
        )
    } else {
        (
            json!({"bot_token": slack.bot_token(), "fallback_channel_id": FALLBACK_CHANNEL, "admin_user_ids": [SLACK_ADMIN]}),
            Some(json!({"alert_webhook_url": alert_url})),
        )
    };
    let identity_secret = options.identity.clone().unwrap_or_else(|| {
        json!({"source": "static", "users": {
            "alice": {"email": "alice@example.com", "employee": true},
            "octocat": {"email": "octocat@example.org", "employee": false},
            "staffer": {"email": "staffer@example.com", "employee": true}
        }})
    });
    aws.put_secrets([
        ("github", &github_secret),
        ("spoke", &spoke_secret),
        ("slack", &slack_secret),
        ("identity", &identity_secret),
    ])
    .await;
    if let Some(value) = &alerts_secret {
        aws.put_secrets([("alerts", value)]).await;
    }
    let env = cls_testkit::vars(
        [
            ("CLS_STAGE", "testing".to_owned()),
            ("CLS_GITHUB_SECRET_ID", aws.secret_id("github")),
            ("CLS_SPOKE_SECRET_ID", aws.secret_id("spoke")),
            ("CLS_SLACK_SECRET_ID", aws.secret_id("slack")),
            ("CLS_IDENTITY_SECRET_ID", aws.secret_id("identity")),
            ("CLS_ALERTS_SECRET_ID", aws.secret_id("alerts")),
            ("SPOKE_BASE_URL", spoke_fake::api_base_url(&spoke_server)),
            ("GITHUB_API_BASE_URL", github_server.base_url()),
            (
                "CLS_SECRETS_TTL_SECONDS",
                options.secrets_ttl_secs.to_string(),
            ),
            (
                "CLS_QUEUE_MAX_RECEIVES",
                options.max_receive_count.to_string(),
            ),
            ("SLACK_API_BASE_URL", slack_server.api_base_url()),
            (
                "SLACK_RESPONSE_URL_PREFIX",
                slack_server.response_url_prefix(),
            ),
        ]
        .into_iter()
        .chain(options.env.iter().cloned()),
    );
    let config = Config::from_lookup(lambda_kit::config::map_lookup(env.clone())).expect("config");
    let metrics = MemorySink::default();
    let platform = aws.platform(USER_AGENT, Arc::new(SystemClock), Arc::new(metrics.clone()));
    let deps = Deps::new(config, &platform).await.expect("deps");

    let handler_deps = deps.clone();
    let handler = typed_handler(move |event: SqsEvent, ctx| {
        let deps = handler_deps.clone();
        async move { handle(event, &Invocation::new(ctx.request_id), &deps).await }
    });
    let source = EventSource::new(aws.sqs.clone(), &queues.url, "cls-queue", handler);
    let secret_values = vec![
        SPOKE_KEY.to_owned(),
        github.webhook_secret(),
        alert_url_secret_part(&alert_url),
    ];
    Stack {
        sqs: aws.sqs.clone(),
        queues,
        spoke,
        github,
        slack,
        slack_server,
        metrics,
        deps,
        platform,
        vars: env,
        source,
        secret_values,
        secrets_sdk: aws.secrets_sdk.clone(),
        spoke_secret_id: aws.secret_id("spoke"),
        spoke_secret,
        github_secret_id: aws.secret_id("github"),
        _leaks: aws.leak_guard(),
        _spoke_server: spoke_server,
        _github_server: github_server,
    }
}

/// The `cls/github` secret for `orgs` of the fake (App material only, unless `legacy` adds the webhook
/// secrets the old layout kept there).
pub(crate) fn github_secret(github: &GithubFake, orgs: &[&str], legacy: bool) -> Value {
    cls_testkit::github_secret(github, orgs, |_, entry| {
        entry["activity_source"] = json!("audit_log");
        entry["skip_employees"] = json!(true);
        if legacy {
            entry["webhook_secrets"] = json!([github.webhook_secret()]);
        }
    })
}

fn alert_url_secret_part(url: &str) -> String {
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

/// A member event for `login` in `acme` on `repo`.
pub(crate) struct Event {
    pub(crate) org: String,
    pub(crate) action: MemberAction,
    pub(crate) login: String,
    pub(crate) repo: String,
    pub(crate) delivery: String,
    pub(crate) permission: String,
    pub(crate) previous: Option<String>,
    pub(crate) sender: Option<String>,
    pub(crate) at: DateTime<Utc>,
}

impl Event {
    pub(crate) fn new(action: MemberAction, login: &str, repo: &str) -> Self {
        Self {
            org: ORG.to_owned(),
            action,
            login: login.to_owned(),
            repo: repo.to_owned(),
            delivery: uuid::Uuid::new_v4().to_string(),
            permission: "write".to_owned(),
            previous: None,
            sender: None,
            at: DateTime::parse_from_rfc3339("2026-05-12T14:03:11Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    pub(crate) fn added(login: &str, repo: &str) -> Self {
        Self::new(MemberAction::Added, login, repo)
    }

    /// octocat added to `repo` by alice.
    pub(crate) fn octocat_by_alice(repo: &str) -> Self {
        Self::added("octocat", repo).sender("alice")
    }

    pub(crate) fn org(mut self, org: &str) -> Self {
        self.org = org.to_owned();
        self
    }

    pub(crate) fn sender(mut self, login: &str) -> Self {
        self.sender = Some(login.to_owned());
        self
    }

    pub(crate) fn permission(mut self, p: &str) -> Self {
        self.permission = p.to_owned();
        self
    }

    pub(crate) fn previous(mut self, p: &str) -> Self {
        self.previous = Some(p.to_owned());
        self
    }

    pub(crate) fn at(mut self, rfc3339: &str) -> Self {
        self.at = DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc);
        self
    }
}

impl Stack {
    /// One batch straight into the handler (no event source).
    pub(crate) async fn handle(&self, event: SqsEvent) -> aws_lambda_events::sqs::SqsBatchResponse {
        let Ok(response) = handle(event, &Invocation::new("test"), &self.deps).await;
        response
    }

    pub(crate) fn user_id(&self, login: &str) -> u64 {
        if let Some(id) = self.github.user_id(login) {
            return id;
        }
        // Unknown logins get a stable id derived from the name.
        40_000_000 + login.bytes().map(u64::from).sum::<u64>() * 131
    }

    pub(crate) fn envelope(&self, e: &Event) -> Envelope {
        let sender = e.sender.clone().unwrap_or_else(|| e.login.clone());
        Envelope::member_event(
            e.at,
            OrgRef {
                id: self.github.org_id(&e.org).unwrap(),
                login: e.org.clone(),
            },
            AccountRef {
                id: self.user_id(&e.login),
                login: e.login.clone(),
            },
            MemberEventMsg {
                delivery_id: e.delivery.clone(),
                event: "member".into(),
                action: e.action,
                installation_id: self.github.installation_id(&e.org),
                repository: RepositoryRef {
                    id: 1,
                    full_name: format!("{}/{}", e.org, e.repo),
                    private: Some(true),
                },
                sender: Some(SenderRef {
                    id: self.user_id(&sender),
                    login: sender,
                    kind: Some("User".into()),
                }),
                permission: Some(e.permission.clone()),
                role_name: None,
                previous_permission: e.previous.clone(),
                member_email: None,
            },
        )
    }

    /// Sends the event's envelope with dedup id = `dedup` (default: the delivery id).
    pub(crate) async fn send(&self, e: &Event) {
        self.send_with_dedup(e, &e.delivery).await;
    }

    pub(crate) async fn send_with_dedup(&self, e: &Event, dedup: &str) {
        let env = self.envelope(e);
        self.send_raw(&env.group_id(), dedup, &env.to_json()).await;
    }

    pub(crate) async fn send_raw(&self, group: &str, dedup: &str, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.queues.url)
            .message_group_id(group)
            .message_deduplication_id(dedup)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }

    /// Sends the event's envelope and drains the queue (30 s at most).
    pub(crate) async fn process(&self, e: &Event) {
        self.send(e).await;
        self.drain(Duration::from_secs(30)).await;
    }

    /// Polls until the queue is drained (nothing visible nor in flight) or the deadline passes.
    pub(crate) async fn drain(&self, deadline: Duration) {
        cls_testkit::drain(&self.source, &self.sqs, &self.queues.url, deadline).await;
    }

    /// Moves every message of the DLQ back onto the queue (what an operator's redrive does).
    pub(crate) async fn redrive(&self) -> usize {
        let mut moved = 0;
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queues.dlq_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
                )
                .send()
                .await
                .expect("receive from the DLQ");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return moved;
            }
            for m in messages {
                let group = m
                    .attributes
                    .as_ref()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                    })
                    .cloned()
                    .expect("group id");
                let id = m.message_id.clone().unwrap_or_default();
                self.send_raw(&group, &format!("redrive-{id}"), m.body().unwrap_or(""))
                    .await;
                self.sqs
                    .delete_message()
                    .queue_url(&self.queues.dlq_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete from the DLQ");
                moved += 1;
            }
        }
    }

    /// The receive count of every record the event source handed to the handler, in order.
    pub(crate) fn receive_counts(&self) -> Vec<u32> {
        self.source
            .outcomes()
            .iter()
            .flat_map(|o| o.receive_counts.clone())
            .collect()
    }

    /// The DLQ's depth.
    pub(crate) async fn dlq_depth(&self) -> u64 {
        devstack::aws::queue_depth(&self.sqs, &self.queues.dlq_url)
            .await
            .unwrap()
    }

    /// The DLQ depth once it reaches `expected`, or after 5 s whatever it is then: moto moves a message to the
    /// DLQ during a later receive, which a loaded machine may finish a moment after the source queue reads
    /// empty.
    pub(crate) async fn dlq_depth_reaching(&self, expected: u64) -> u64 {
        let end = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let depth = self.dlq_depth().await;
            if depth == expected || std::time::Instant::now() >= end {
                return depth;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every request in the fake's state.
    pub(crate) fn requests(&self) -> Vec<Value> {
        self.spoke.state_json()["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn answer(request: &Value, n: u8) -> Option<String> {
        cls_testkit::answer(request, n)
    }

    pub(crate) fn messages(&self, request_id: &str) -> Vec<String> {
        self.spoke
            .messages(request_id)
            .iter()
            .filter_map(|m| m["content"]["message"]["text"].as_str().map(str::to_owned))
            .collect()
    }

    pub(crate) fn alerts(&self) -> Vec<String> {
        cls_testkit::slack_texts(&self.slack, "alerts_it")
    }

    /// Journal entries of the Spoke fake for `method` + path suffix.
    pub(crate) fn spoke_calls(&self, method: &str, path_contains: &str) -> usize {
        self.spoke
            .kit()
            .journal()
            .iter()
            .filter(|e| e.method == method && e.path.contains(path_contains))
            .count()
    }
}
