//! `spawn()`: a FIFO queue and secrets with unique names in the shared moto, slack-fake for alerts, a fixed
//! clock, and `Deps::new` over the local `Platform` as `main` builds it.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use cls_core::settings::SecretIds;
use cls_testkit::TestAws;
use cls_webhook::{Config, Deps, USER_AGENT, handle};
use devstack::aws::put_secret;
use lambda_kit::{Clock, FixedClock, Invocation, MemorySink, SystemClock};
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};

/// The webhook secret of the fixtures (github-fake's minimal seed).
pub(crate) const SECRET: &str = "test-only-webhook-secret";
/// GitHub's published test vector secret (a second configured org with its own App).
pub(crate) const VECTOR_SECRET: &str = "It's a Secret to Everybody";
/// The Slack signing secret (slack-fake's minimal seed) and the one being rotated out.
pub(crate) const SLACK_SECRET: &str = "test-only-minimal-signing-secret";
pub(crate) const SLACK_PREVIOUS_SECRET: &str = "test-only-previous-signing-secret";

/// Which secret layout `spawn_with_layout` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `cls/webhook` + `cls/alerts` (issue 10).
    PerFunction,
    /// Only the old `cls/github` + `cls/slack`.
    Legacy,
}

pub(crate) struct Stack {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) secrets_sdk: aws_sdk_secretsmanager::Client,
    pub(crate) ids: SecretIds,
    pub(crate) queue_url: String,
    pub(crate) slack: SlackFake,
    pub(crate) metrics: MemorySink,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) deps: Deps,
    pub(crate) alert_url: String,
    /// Fails the test when a seeded secret or an `Authorization` header leaked (cls-testkit).
    pub(crate) leaks: lambda_kit::LeakGuard,
    slack_server: SpawnedSlackFake,
}

pub(crate) async fn spawn() -> Stack {
    spawn_with(&[]).await
}

/// `overrides` replace configuration variables (e.g. a queue URL that does not exist).
pub(crate) async fn spawn_with(overrides: &[(&str, &str)]) -> Stack {
    spawn_with_layout(Layout::PerFunction, overrides).await
}

/// The two orgs of the fixtures: acme (App 102441, current + previous secret) and vector (App 7).
pub(crate) fn webhook_orgs() -> Value {
    json!([
        {"org": "acme", "org_id": 38302899, "app_id": 102441,
         "webhook_secrets": ["a-new-secret-being-rolled-out", SECRET]},
        {"org": "vector", "org_id": 1, "app_id": 7, "webhook_secrets": [VECTOR_SECRET]}
    ])
}

pub(crate) async fn spawn_with_layout(layout: Layout, overrides: &[(&str, &str)]) -> Stack {
    let aws = TestAws::new("clsw").await;
    let queues = aws.fifo_queues(30, 5).await;
    let (slack, slack_server, alert_url) = cls_testkit::spawn_slack().await;
    match layout {
        Layout::PerFunction => {
            let webhook = json!({"orgs": webhook_orgs(),
                "slack_signing_secrets": [SLACK_SECRET, SLACK_PREVIOUS_SECRET]});
            let alerts = json!({"alert_webhook_url": alert_url});
            aws.put_secrets([("webhook", &webhook), ("alerts", &alerts)])
                .await;
        }
        Layout::Legacy => {
            let owner =
                json!({"github_login": "it-admin", "spoke_user_id": "5f0c3a9e2b7d4c0012ab0002"});
            let mut orgs = webhook_orgs();
            for (i, org) in orgs.as_array_mut().unwrap().iter_mut().enumerate() {
                org["installation_id"] = json!(100 + i);
                org["default_owner"] = owner.clone();
                org["private_key_pem"] = json!("-----BEGIN RSA PRIVATE KEY-----\ntest-only\n");
            }
            let slack_secret = json!({"bot_token": "xoxb-test-only-legacy", "signing_secrets": [SLACK_SECRET],
                        "alert_webhook_url": alert_url});
            aws.put_secrets([("github", &json!({"orgs": orgs})), ("slack", &slack_secret)])
                .await;
        }
    }
    let env = cls_testkit::vars(
        [
            ("CLS_STAGE", "testing".to_owned()),
            ("CLS_QUEUE_URL", queues.url.clone()),
            ("CLS_WEBHOOK_SECRET_ID", aws.secret_id("webhook")),
            ("CLS_ALERTS_SECRET_ID", aws.secret_id("alerts")),
            ("CLS_GITHUB_SECRET_ID", aws.secret_id("github")),
            ("CLS_SLACK_SECRET_ID", aws.secret_id("slack")),
            ("CLS_MAX_BODY_BYTES", "65536".to_owned()),
        ]
        .into_iter()
        .chain(overrides.iter().map(|(k, v)| (*k, (*v).to_owned()))),
    );
    let config = Config::from_lookup(lambda_kit::config::map_lookup(env)).expect("config");
    // Fixed at the real time: slack-fake signs with its own clock, which must fall in the window.
    let fixed = Arc::new(FixedClock::new(SystemClock.now()));
    let metrics = MemorySink::default();
    let platform = aws.platform(USER_AGENT, fixed.clone(), Arc::new(metrics.clone()));
    let queue_url = config.queue_url.clone();
    let ids = config.cls.secrets.clone();
    let Ok(deps) = Deps::new(config, &platform).await;
    Stack {
        sqs: aws.sqs.clone(),
        secrets_sdk: aws.secrets_sdk.clone(),
        ids,
        queue_url,
        slack,
        metrics,
        clock: fixed,
        deps,
        alert_url,
        leaks: aws.leak_guard(),
        slack_server,
    }
}

/// A fixture event from `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> ApiGatewayV2httpRequest {
    let text = match name {
        "member-added" => include_str!("../fixtures/apigw-member-added.json"),
        "member-added-base64" => include_str!("../fixtures/apigw-member-added-base64.json"),
        "ping" => include_str!("../fixtures/apigw-ping.json"),
        "slack-interaction" => include_str!("../fixtures/apigw-slack-interaction.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The member fixture with `body` signed by `secret` (headers otherwise as GitHub sends them).
pub(crate) fn signed(
    body: &[u8],
    secret: &str,
    event: &str,
    delivery: &str,
) -> ApiGatewayV2httpRequest {
    let mut e = fixture("member-added");
    e.body = Some(String::from_utf8(body.to_vec()).unwrap());
    let signature =
        github_app::sign_webhook_body(&secrecy::SecretString::from(secret.to_owned()), body);
    e.headers
        .insert("x-hub-signature-256", signature.parse().unwrap());
    e.headers.insert("x-github-event", event.parse().unwrap());
    e.headers
        .insert("x-github-delivery", delivery.parse().unwrap());
    e.headers.remove("x-github-hook-installation-target-id");
    e
}

/// The fixture's member payload, as JSON to modify.
pub(crate) fn member_payload() -> Value {
    serde_json::from_str(fixture("member-added").body.as_deref().unwrap()).unwrap()
}

pub(crate) fn status(r: &ApiGatewayV2httpResponse) -> i64 {
    r.status_code
}

/// The Slack fixture's interaction payload, as JSON to modify.
pub(crate) fn slack_payload() -> Value {
    let body = fixture("slack-interaction").body.unwrap();
    let (_, payload) = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "payload")
        .unwrap();
    serde_json::from_str(&payload).unwrap()
}

/// The form body Slack sends for `payload`.
pub(crate) fn slack_form(payload: &Value) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// The Slack fixture event carrying `body`, signed with `secret` at Unix time `timestamp`.
pub(crate) fn slack_signed(body: &str, secret: &str, timestamp: i64) -> ApiGatewayV2httpRequest {
    let mut e = fixture("slack-interaction");
    let ts = timestamp.to_string();
    let signature = slack_notify::sign(
        &secrecy::SecretString::from(secret.to_owned()),
        &ts,
        body.as_bytes(),
    );
    e.body = Some(body.to_owned());
    e.headers
        .insert("x-slack-request-timestamp", ts.parse().unwrap());
    e.headers
        .insert("x-slack-signature", signature.parse().unwrap());
    e
}

pub(crate) fn body_json(r: &ApiGatewayV2httpResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

impl Stack {
    /// The running slack-fake.
    pub(crate) fn slack_server(&self) -> &SpawnedSlackFake {
        &self.slack_server
    }

    /// The fixed clock's Unix time (what a fresh Slack request carries).
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Replaces the content of one of this stack's secrets in moto.
    pub(crate) async fn put_secret(&self, id: &str, value: &Value) {
        put_secret(&self.secrets_sdk, id, value).await.unwrap();
    }

    /// The sum of metric `name` over EMF lines whose dimensions include every `(key, value)` of `dims`.
    pub(crate) fn metric_with(&self, name: &str, dims: &[(&str, &str)]) -> f64 {
        self.metrics
            .lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| dims.iter().all(|(k, want)| v[*k] == *want))
            .filter_map(|v| v[name].as_f64())
            .sum()
    }

    /// One invocation of the handler; the response (its body is what the sender sees) is scanned for leaks.
    pub(crate) async fn call(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let Ok(response) = handle(event, &Invocation::new("test"), &self.deps).await;
        self.leaks.scan("response", &format!("{response:?}"));
        response
    }

    /// The handler behind the devstack API Gateway emulator at `POST route`; returns the route's URL and
    /// the running server (stops when dropped).
    pub(crate) async fn behind_api_gateway(
        &self,
        route: &str,
    ) -> (String, fake_kit::RunningServer) {
        let deps = self.deps.clone();
        let handler =
            devstack::lambda::typed_handler(move |event: ApiGatewayV2httpRequest, ctx| {
                let deps = deps.clone();
                async move { handle(event, &Invocation::new(ctx.request_id), &deps).await }
            });
        let api = devstack::apigw::ApiGateway::new()
            .route(axum::http::Method::POST, route, "cls-webhook", handler)
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        (format!("{}{route}", api.base_url()), api)
    }

    /// A GitHub delivery of `body` signed with `secret`, through the handler.
    pub(crate) async fn deliver(
        &self,
        body: &[u8],
        secret: &str,
        event: &str,
        delivery: &str,
    ) -> ApiGatewayV2httpResponse {
        self.call(signed(body, secret, event, delivery)).await
    }

    /// A Slack interaction carrying `payload`, signed now with the current signing secret, through the
    /// handler.
    pub(crate) async fn click(&self, payload: &Value) -> ApiGatewayV2httpResponse {
        self.call(slack_signed(&slack_form(payload), SLACK_SECRET, self.now()))
            .await
    }

    pub(crate) async fn depth(&self) -> u64 {
        devstack::aws::queue_depth(&self.sqs, &self.queue_url)
            .await
            .unwrap()
    }

    /// Receives every visible message: (group id, dedup id, body).
    pub(crate) async fn receive_all(&self) -> Vec<(String, String, Value)> {
        cls_testkit::receive_all(&self.sqs, &self.queue_url, None, false)
            .await
            .into_iter()
            .map(|m| (m.group, m.dedup, serde_json::from_str(&m.body).unwrap()))
            .collect()
    }

    pub(crate) fn alerts(&self) -> Vec<String> {
        cls_testkit::slack_texts(&self.slack, "alerts_it")
    }
}
