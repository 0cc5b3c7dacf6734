//! `spawn()`: a FIFO queue and secrets with unique names in the shared moto, slack-fake for alerts, `Deps`.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use cls_webhook::{Config, Deps, QueueSender, SlackAlerter, SqsQueueSender, handle};
use devstack::aws::{FifoQueueSpec, create_fifo_queue_with_dlq, put_secret, sqs_client};
use fake_kit::moto::Moto;
use lambda_kit::{Clock, MemorySink, SystemClock};
use serde_json::{Value, json};
use slack_fake::{SlackFake, SpawnedSlackFake};

/// The webhook secret of the fixtures (github-fake's minimal seed).
pub(crate) const SECRET: &str = "test-only-webhook-secret";
/// GitHub's published test vector secret (a second configured org).
pub(crate) const VECTOR_SECRET: &str = "It's a Secret to Everybody";

pub(crate) struct Stack {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queue_url: String,
    pub(crate) slack: SlackFake,
    pub(crate) metrics: MemorySink,
    pub(crate) deps: Deps,
    pub(crate) alert_url: String,
    _slack_server: SpawnedSlackFake,
}

pub(crate) async fn spawn() -> Stack {
    spawn_with(&[]).await
}

/// `overrides` replace configuration variables (e.g. a queue URL that does not exist).
pub(crate) async fn spawn_with(overrides: &[(&str, &str)]) -> Stack {
    let moto = Moto::shared()
        .await
        .expect("moto is missing: run `cargo xtask setup`");
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let sqs = sqs_client(&moto.endpoint());
    let mut spec = FifoQueueSpec::new(&format!("clsw-{}", &unique[..12]));
    spec.visibility_timeout_secs = 30;
    let queues = create_fifo_queue_with_dlq(&sqs, &spec)
        .await
        .expect("queues");
    let slack = SlackFake::minimal();
    let slack_server = slack.spawn().await.expect("slack fake");
    let alert_url = slack_server
        .webhook_url("alerts_it")
        .expect("alerts webhook");
    let secrets_sdk = devstack::aws::secrets_client(&moto.endpoint());
    let github_id = format!("clsw-test/{unique}/github");
    let slack_id = format!("clsw-test/{unique}/slack");
    let owner = json!({"github_login": "it-admin", "spoke_user_id": "5f0c3a9e2b7d4c0012ab0002"});
    put_secret(
        &secrets_sdk,
        &github_id,
        &json!({"orgs": [
            {"org": "acme", "org_id": 38302899, "app_id": 102441, "installation_id": 14988838,
             "webhook_secrets": ["a-new-secret-being-rolled-out", SECRET], "default_owner": owner},
            {"org": "vector", "org_id": 1, "app_id": 7, "installation_id": 8,
             "webhook_secrets": [VECTOR_SECRET], "default_owner": owner}
        ]}),
    )
    .await
    .expect("github secret");
    put_secret(
        &secrets_sdk,
        &slack_id,
        &json!({"alert_webhook_url": alert_url}),
    )
    .await
    .expect("slack secret");
    let mut env: HashMap<String, String> = [
        ("CLS_STAGE", "testing".to_owned()),
        ("CLS_QUEUE_URL", queues.url.clone()),
        ("CLS_GITHUB_SECRET_ID", github_id),
        ("CLS_SLACK_SECRET_ID", slack_id),
        ("CLS_MAX_BODY_BYTES", "65536".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in overrides {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_lookup(lambda_kit::config::map_lookup(env)).expect("config");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn secrets::SecretStore> = Arc::new(secrets::SecretsClient::new(
        secrets::local_sdk_client(&moto.endpoint()),
        Arc::clone(&clock),
    ));
    let queue: Arc<dyn QueueSender> = Arc::new(SqsQueueSender::new(sqs.clone(), &config.queue_url));
    let http = lambda_kit::http::http_client("cls-webhook-tests/0").unwrap();
    let poster: Arc<dyn slack_notify::WebhookPoster> =
        Arc::new(slack_notify::WebhookClient::new(http));
    let alerts = Arc::new(SlackAlerter::new(
        poster,
        Arc::clone(&store),
        &config.slack_secret_id,
        Arc::clone(&clock),
    ));
    let metrics = MemorySink::default();
    let queue_url = config.queue_url.clone();
    let deps = Deps::new(
        config,
        store,
        queue,
        alerts,
        clock,
        Arc::new(metrics.clone()),
    );
    Stack {
        sqs,
        queue_url,
        slack,
        metrics,
        deps,
        alert_url,
        _slack_server: slack_server,
    }
}

/// A fixture event from `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> ApiGatewayV2httpRequest {
    let text = match name {
        "member-added" => include_str!("../fixtures/apigw-member-added.json"),
        "member-added-base64" => include_str!("../fixtures/apigw-member-added-base64.json"),
        "ping" => include_str!("../fixtures/apigw-ping.json"),
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

pub(crate) fn body_json(r: &ApiGatewayV2httpResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

impl Stack {
    pub(crate) async fn call(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        handle(event, &self.deps).await
    }

    pub(crate) async fn depth(&self) -> u64 {
        devstack::aws::queue_depth(&self.sqs, &self.queue_url)
            .await
            .unwrap()
    }

    /// Receives every visible message: (group id, dedup id, body).
    pub(crate) async fn receive_all(&self) -> Vec<(String, String, Value)> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .map(|m| {
                let attrs = m.attributes().cloned().unwrap_or_default();
                let get =
                    |k: MessageSystemAttributeName| attrs.get(&k).cloned().unwrap_or_default();
                (
                    get(MessageSystemAttributeName::MessageGroupId),
                    get(MessageSystemAttributeName::MessageDeduplicationId),
                    serde_json::from_str(m.body().unwrap()).unwrap(),
                )
            })
            .collect()
    }

    pub(crate) fn alerts(&self) -> Vec<String> {
        self.slack
            .messages("alerts_it")
            .into_iter()
            .map(|m| m.text)
            .collect()
    }
}
