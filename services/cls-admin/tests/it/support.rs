//! `spawn()`: a moto FIFO queue and secrets with unique names, spoke-fake and github-fake on ephemeral ports,
//! and the CLI's real `Env` over them. Commands run through `cls_admin::run` (or the real binary).

use std::collections::HashMap;
use std::sync::Arc;

use clap::Parser as _;
use cls_admin::deps::Lookup;
use cls_admin::{AdminError, Cli, Env, Outcome, Progress};
use cls_core::Envelope;
use cls_testkit::TestAws;
pub(crate) use cls_testkit::{
    ALICE, REQUEST_TYPE, SERVICE_USER, SPOKE_KEY, TAG_GRANTED, TAG_REMOVED, TEAM, field,
};
use devstack::aws::FifoQueues;
use fake_kit::RunningServer;
use github_fake::GithubFake;
use lambda_kit::{MemorySink, SystemClock};
use serde_json::{Value, json};
use spoke_fake::SpokeFake;

/// The date the commands treat as today (`CLS_FAKE_TODAY`).
pub(crate) const TODAY: &str = "2026-06-01";

/// github-fake seed: org `acme` with `octocat` (maintain on widgets), `hubot` (write on widgets, read on
/// gadgets) as outside collaborators and `alice` as a member; org `globex` with `wombat`.
pub(crate) fn github_seed() -> Value {
    json!({
        "app": {"id": 102441, "slug": "cls-test", "webhook_secret": "test-only-webhook-secret"},
        "users": [
            {"login": "alice", "id": 1001}, {"login": "octocat", "id": 39652351},
            {"login": "hubot", "id": 2002}, {"login": "wombat", "id": 3003}, {"login": "bob", "id": 1002}
        ],
        "orgs": [
            {"login": "acme", "id": 38302899, "installation_id": 14988838, "members": ["alice", "bob"],
             "repos": [
                {"name": "widgets", "id": 186853002, "private": true,
                 "collaborators": [{"login": "octocat", "role_name": "maintain"}, {"login": "hubot", "role_name": "write"}]},
                {"name": "gadgets", "id": 186853003, "private": true,
                 "collaborators": [{"login": "hubot", "role_name": "read"}]}
             ]},
            {"login": "globex", "id": 48302899, "installation_id": 24988838, "members": [],
             "repos": [{"name": "tunnels", "id": 286853002, "private": true,
                        "collaborators": [{"login": "wombat", "role_name": "triage"}]}]}
        ]
    })
}

/// A ticket in spoke-fake's seed shape.
pub(crate) struct Ticket {
    pub(crate) id: String,
    pub(crate) org: String,
    pub(crate) login: String,
    pub(crate) uid: u64,
    pub(crate) expires_on: String,
    pub(crate) status: String,
    pub(crate) repositories: String,
    pub(crate) added_by: String,
    pub(crate) state: Value,
    pub(crate) created_at: String,
}

impl Ticket {
    pub(crate) fn open(n: u32, login: &str, uid: u64, expires_on: &str) -> Self {
        Self {
            id: format!("62c0000000000000000{n:05}"),
            org: "acme".into(),
            login: login.into(),
            uid,
            expires_on: expires_on.into(),
            status: "OPEN".into(),
            repositories: "acme/widgets: write (added by alice 2025-06-01)".into(),
            added_by: "alice".into(),
            state: json!({"v": 1, "uid": uid, "access": "granted", "reason": null, "granted_on": "2025-06-01",
                          "expires_on": expires_on, "deliveries": ["d-1"]}),
            created_at: format!("2025-06-01T00:00:{:02}Z", n % 60),
        }
    }

    pub(crate) fn seed(&self) -> Value {
        let answers = [
            (1, self.expires_on.clone()),
            (2, self.login.clone()),
            (3, self.uid.to_string()),
            (4, self.org.clone()),
            (5, format!("{}@example.org", self.login)),
            (6, self.repositories.clone()),
            (7, self.added_by.clone()),
            (8, self.state.to_string()),
        ];
        json!({
            "id": self.id, "subject": format!("{} Collaborator Access ({})", self.login, self.org),
            "requester": SERVICE_USER, "owner": ALICE, "team": TEAM, "requestType": REQUEST_TYPE,
            "status": self.status,
            "tags": [if self.status == "OPEN" { TAG_GRANTED } else { TAG_REMOVED }],
            "createdAt": self.created_at,
            "answers": answers.iter().map(|(n, v)| json!({"fieldId": field(*n), "value": v})).collect::<Vec<_>>(),
        })
    }
}

pub(crate) struct Options {
    pub(crate) github: Value,
    pub(crate) tickets: Vec<Ticket>,
    /// Extra environment variables.
    pub(crate) vars: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            github: github_seed(),
            tickets: Vec::new(),
            vars: Vec::new(),
        }
    }
}

pub(crate) struct Stack {
    pub(crate) env: Env,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queues: FifoQueues,
    pub(crate) spoke: SpokeFake,
    pub(crate) github: GithubFake,
    /// The environment variables of this stack (for the real binary).
    pub(crate) vars: HashMap<String, String>,
    pub(crate) secrets_sdk: aws_sdk_secretsmanager::Client,
    pub(crate) moto_endpoint: String,
    /// Fails the test when a seeded secret or an `Authorization` header leaked (cls-testkit).
    pub(crate) leaks: lambda_kit::LeakGuard,
    _spoke_server: RunningServer,
    _github_server: RunningServer,
}

pub(crate) async fn spawn() -> Stack {
    spawn_with(Options::default()).await
}

pub(crate) async fn spawn_with(options: Options) -> Stack {
    let aws = TestAws::new("cls-admin").await;
    let queues = aws.fifo_queues(1, 5).await;

    let mut seed = cls_testkit::spoke_seed();
    seed["requests"] = options.tickets.iter().map(Ticket::seed).collect();
    let (spoke, spoke_server) = cls_testkit::spawn_spoke(seed).await;
    let (github, github_server) =
        cls_testkit::spawn_github(GithubFake::new(options.github).expect("github seed")).await;

    let github_secret = cls_testkit::github_secret(&github, &["acme", "globex"], |org, entry| {
        entry["activity_source"] = json!(if org == "acme" { "audit_log" } else { "off" });
    });
    aws.put_secrets([
        ("github", &github_secret),
        ("spoke", &cls_testkit::spoke_secret(SPOKE_KEY)),
        (
            "slack",
            &json!({"bot_token": "xoxb-test-only", "fallback_channel_id": "C0FALLBACK", "admin_user_ids": []}),
        ),
        (
            "alerts",
            &json!({"alert_webhook_url": "http://127.0.0.1:9/services/T/B/test-only"}),
        ),
        (
            "identity",
            &json!({"source": "static", "users": {"alice": {"email": "alice@example.com", "employee": true}}}),
        ),
    ])
    .await;
    let vars = cls_testkit::vars(
        [
            ("CLS_STAGE", "testing".to_owned()),
            ("CLS_QUEUE_URL", queues.url.clone()),
            ("CLS_GITHUB_SECRET_ID", aws.secret_id("github")),
            ("CLS_SPOKE_SECRET_ID", aws.secret_id("spoke")),
            ("CLS_SLACK_SECRET_ID", aws.secret_id("slack")),
            ("CLS_ALERTS_SECRET_ID", aws.secret_id("alerts")),
            ("CLS_IDENTITY_SECRET_ID", aws.secret_id("identity")),
            ("SPOKE_BASE_URL", spoke_fake::api_base_url(&spoke_server)),
            ("GITHUB_API_BASE_URL", github_server.base_url()),
            ("CLS_FAKE_TODAY", TODAY.to_owned()),
            ("CLS_OPERATOR", "jane.operator".to_owned()),
        ]
        .into_iter()
        .chain(options.vars.iter().cloned()),
    );
    let platform = aws.platform(
        cls_admin::deps::USER_AGENT,
        Arc::new(SystemClock),
        Arc::new(MemorySink::default()),
    );
    let lookup: Lookup = Arc::new(lambda_kit::config::map_lookup(vars.clone()));
    let env = Env::new(lookup, platform).expect("config");
    Stack {
        env,
        sqs: aws.sqs.clone(),
        queues,
        spoke,
        github,
        vars,
        secrets_sdk: aws.secrets_sdk.clone(),
        moto_endpoint: aws.endpoint.clone(),
        leaks: aws.leak_guard(),
        _spoke_server: spoke_server,
        _github_server: github_server,
    }
}

/// One message read back from the queue.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) group: String,
    pub(crate) dedup: String,
    pub(crate) envelope: Envelope,
}

impl Stack {
    /// Runs `cls-admin <args>` through the library entry point; its output (text and JSON) or its error is
    /// scanned by the leak check.
    pub(crate) async fn run(&self, args: &[&str]) -> Result<Outcome, AdminError> {
        let cli = Cli::try_parse_from(std::iter::once("cls-admin").chain(args.iter().copied()))
            .expect("arguments parse");
        let result = cls_admin::run(&cli, &self.env, &Progress::hidden()).await;
        match &result {
            Ok(outcome) => {
                self.leaks.scan("cli", &outcome.text);
                self.leaks.scan("cli", &outcome.document.to_string());
            }
            Err(error) => self.leaks.scan("error", &format!("{error} {error:?}")),
        }
        result
    }

    /// Reads (and deletes) every message on the queue.
    pub(crate) async fn received(&self) -> Vec<Received> {
        cls_testkit::receive_all(&self.sqs, &self.queues.url, Some(30), true)
            .await
            .into_iter()
            .map(|m| Received {
                group: m.group,
                dedup: m.dedup,
                envelope: Envelope::parse(&m.body).expect("an envelope"),
            })
            .collect()
    }

    /// The ticket link Spoke reports for request `id`.
    pub(crate) fn permalink(&self, id: &str) -> String {
        let request = self.spoke.request(id).expect("seeded request");
        let link = request["permalink"]
            .as_str()
            .expect("a permalink")
            .to_owned();
        assert!(link.starts_with("https://"), "{link}");
        link
    }

    /// Messages visible or in flight.
    pub(crate) async fn depth(&self) -> u64 {
        devstack::aws::queue_depth(&self.sqs, &self.queues.url)
            .await
            .expect("depth")
    }

    /// Writes a file into a fresh temporary directory and returns its path.
    pub(crate) fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cls-admin-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }
}
