//! The local stack: moto, devstack with the five demo-seeded fakes, the API Gateway emulator, the CLS FIFO
//! queue and its DLQ, the SQS event-source mapping, and whatever handlers a [`Services`] registers by name
//! (the `demo` crate registers the real ones; devstack itself knows no service).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use axum::http::Method;
use fake_kit::RunningServer;
use github_fake::GithubFake;
use pagerduty_fake::PagerDutyFake;
use serde_json::{Map, Value};
use slack_fake::SlackFake;
use spoke_fake::SpokeFake;
use webex_fake::WebexFake;

use crate::apigw::ApiGateway;
use crate::aws::{
    FifoQueueSpec, FifoQueues, create_bus_to_queue, create_fifo_queue_with_dlq, put_secret,
};
use crate::lambda::{JsonHandler, Registry};
use crate::sqs::{EventSource, EventSourceHandle};
use crate::{Devstack, Moto};

/// The queue the CLS functions share (`cls-events.fifo` and `cls-events-dlq.fifo`, docs/architecture.md).
pub const QUEUE_NAME: &str = "cls-events";
/// The EventBridge bus the handoff events are put on (`oncall-pagerduty` → `oncall-spoke`).
pub const HANDOFF_BUS: &str = "oncall-handoff";
/// The queue a rule on [`HANDOFF_BUS`] delivers the handoff events to: locally, where oncall-spoke's rule target
/// would be; the demo reads it and hands each event to `oncall-spoke`.
pub const HANDOFF_QUEUE: &str = "oncall-handoff-events";
/// The local visibility timeout: shorter than the deployed 360 s so a failed batch comes back quickly.
pub const LOCAL_VISIBILITY_SECS: u32 = 30;

/// The dev-only credentials of one local stack run: seeded into the fakes, written into the secrets in moto
/// and into `endpoints.json`. [`DevSecrets::generate`] makes fresh random values (prefixed `dev-`) so that no
/// fixed value from a fixture is ever accepted by the running stack.
#[derive(Clone, PartialEq, Eq)]
pub struct DevSecrets {
    /// The GitHub App webhook secret github-fake signs deliveries with (`github_webhook_secret`).
    pub github_webhook_secret: String,
    /// The Slack signing secret slack-fake signs interactions with (`slack_signing_secret`).
    pub slack_signing_secret: String,
    /// The only Spoke API key spoke-fake accepts (`spoke_api_key`).
    pub spoke_api_key: String,
    /// The only PagerDuty API key pagerduty-fake accepts (`pagerduty_api_key`).
    pub pagerduty_api_key: String,
}

impl DevSecrets {
    /// Fresh random values, `dev-<purpose>-<uuid v4>`.
    pub fn generate() -> Self {
        let random = |purpose: &str| format!("dev-{purpose}-{}", uuid::Uuid::new_v4().simple());
        Self {
            github_webhook_secret: random("github-webhook"),
            slack_signing_secret: random("slack-signing"),
            spoke_api_key: random("spoke-key"),
            pagerduty_api_key: random("pagerduty-key"),
        }
    }
}

impl std::fmt::Debug for DevSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevSecrets").finish_non_exhaustive()
    }
}

/// Ports of the three servers and, optionally, pinned dev-only credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOptions {
    /// devstack (`DEVSTACK_PORT`, default 8800).
    pub devstack_port: u16,
    /// moto (`DEMO_MOTO_PORT`, default 8810).
    pub moto_port: u16,
    /// The API Gateway emulator (`DEMO_API_PORT`, default 8820).
    pub api_port: u16,
    /// The dev-only credentials; `None` (the default) generates fresh ones per run.
    pub dev_secrets: Option<DevSecrets>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            devstack_port: crate::DEFAULT_PORT,
            moto_port: 8810,
            api_port: 8820,
            dev_secrets: None,
        }
    }
}

impl StackOptions {
    /// Every server on a free port (tests, `--ephemeral`).
    pub fn ephemeral() -> Self {
        Self {
            devstack_port: 0,
            moto_port: 0,
            api_port: 0,
            dev_secrets: None,
        }
    }

    /// Pins the dev-only credentials instead of generating them (tests that need determinism).
    pub fn with_dev_secrets(mut self, secrets: DevSecrets) -> Self {
        self.dev_secrets = Some(secrets);
        self
    }

    /// Reads `DEVSTACK_PORT`, `DEMO_MOTO_PORT` and `DEMO_API_PORT` through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let reader = lambda_kit::config::ConfigReader::new(lookup);
        let defaults = Self::default();
        Ok(Self {
            devstack_port: reader.parse_or("DEVSTACK_PORT", defaults.devstack_port)?,
            moto_port: reader.parse_or("DEMO_MOTO_PORT", defaults.moto_port)?,
            api_port: reader.parse_or("DEMO_API_PORT", defaults.api_port)?,
            dev_secrets: None,
        })
    }
}

/// The five fakes, each shared between its mounted router and the in-process handle.
pub struct Fakes {
    /// Spoke.
    pub spoke: SpokeFake,
    /// Slack.
    pub slack: SlackFake,
    /// GitHub.
    pub github: GithubFake,
    /// Webex.
    pub webex: WebexFake,
    /// PagerDuty.
    pub pagerduty: PagerDutyFake,
}

impl std::fmt::Debug for Fakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fakes").finish_non_exhaustive()
    }
}

impl Fakes {
    /// The fakes seeded with their `fixtures/demo.json` (Spoke plus the CLS request type and tags), with the
    /// fixtures' fixed credentials replaced by `secrets`: Spoke's and PagerDuty's API keys, GitHub's webhook
    /// secret and Slack's signing secret.
    pub fn demo(secrets: &DevSecrets) -> Result<Self> {
        let mut slack = slack_fake::Seed::demo();
        slack.signing_secret = secrets.slack_signing_secret.clone();
        Ok(Self {
            spoke: SpokeFake::new(crate::seed::spoke_seed(&secrets.spoke_api_key)?)
                .map_err(|e| anyhow!("spoke-fake seed: {e}"))?,
            slack: SlackFake::new(slack),
            github: GithubFake::new(crate::seed::github_seed(&secrets.github_webhook_secret)?)
                .map_err(|e| anyhow!("github-fake seed: {e}"))?,
            webex: WebexFake::demo().map_err(|e| anyhow!("webex-fake seed: {e}"))?,
            pagerduty: PagerDutyFake::new(crate::seed::pagerduty_seed(&secrets.pagerduty_api_key)?)
                .map_err(|e| anyhow!("pagerduty-fake seed: {e}"))?,
        })
    }
}

/// What registers handlers in the stack. devstack depends on no service; the `demo` crate implements this
/// with the real handlers. `()` registers none.
pub trait Services {
    /// Creates the services' secrets through `wiring`, registers their handlers in `registry` under their
    /// function names and returns extra `endpoints.json` entries.
    fn register(
        &self,
        wiring: &Wiring<'_>,
        registry: &Registry,
    ) -> impl Future<Output = Result<BTreeMap<String, String>>> + Send;
}

impl Services for () {
    async fn register(&self, _: &Wiring<'_>, _: &Registry) -> Result<BTreeMap<String, String>> {
        Ok(BTreeMap::new())
    }
}

/// A running local stack. Dropping it stops every server and moto.
pub struct Stack {
    /// moto (SQS, Secrets Manager).
    pub moto: Moto,
    /// The fakes behind devstack.
    pub fakes: Fakes,
    /// devstack.
    pub devstack: Devstack,
    /// The API Gateway emulator.
    pub api: RunningServer,
    /// Every handler by function name.
    pub registry: Registry,
    /// SQS client for moto.
    pub sqs: aws_sdk_sqs::Client,
    /// Secrets Manager client for moto.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// `cls-events.fifo` and its DLQ.
    pub queues: FifoQueues,
    /// The `cls-queue` event-source mapping, when that function exists.
    pub event_source: Option<EventSourceHandle>,
    /// Flat `endpoints.json` content.
    pub endpoints: BTreeMap<String, String>,
    /// The dev-only credentials of this run (also in `endpoints`).
    pub dev_secrets: DevSecrets,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("devstack", &self.devstack.base_url())
            .field("moto", &self.moto.endpoint())
            .field("api", &self.api.base_url())
            .field("functions", &self.registry.names())
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// Starts moto, devstack with the demo-seeded fakes and the API emulator; creates the queue; lets
    /// `services` create their secrets and register their handlers; routes `POST /github/webhook` and
    /// `POST /slack/interactions` to `cls-webhook` and starts the queue's mapping to `cls-queue` when those
    /// are registered. `&()` starts the stack with no handler.
    pub async fn start(options: StackOptions, services: &impl Services) -> Result<Self> {
        let moto = Moto::start_on(options.moto_port)
            .await
            .context("starting moto")?;
        let dev_secrets = options.dev_secrets.unwrap_or_else(DevSecrets::generate);
        let fakes = Fakes::demo(&dev_secrets)?;
        let registry = Registry::new();
        let devstack = Devstack::builder()
            .mount("spoke", fakes.spoke.router())
            .mount("slack", fakes.slack.router())
            .mount("github", fakes.github.router())
            .mount("webex", fakes.webex.router())
            .mount("pagerduty", fakes.pagerduty.router())
            .registry(registry.clone())
            .serve_on_port(options.devstack_port)
            .await
            .context("starting devstack")?;
        let sqs = crate::aws::sqs_client(&moto.endpoint());
        let secrets = crate::aws::secrets_client(&moto.endpoint());
        let queues = create_fifo_queue_with_dlq(
            &sqs,
            &FifoQueueSpec::new(QUEUE_NAME).visibility_timeout_secs(LOCAL_VISIBILITY_SECS),
        )
        .await
        .context("creating the FIFO queue and its DLQ")?;
        let handoff_queue_url = create_bus_to_queue(
            &crate::aws::events_client(&moto.endpoint()),
            &sqs,
            HANDOFF_BUS,
            "oncall-spoke",
            HANDOFF_QUEUE,
            &serde_json::json!({"source": ["on-call/handoff"], "detail-type": ["On-call Handoff Event"]}),
        )
        .await
        .context("creating the handoff bus and its queue")?;

        let mut endpoints = BTreeMap::new();
        let base = devstack.base_url();
        let mut put = |key: &str, value: String| {
            endpoints.insert(key.to_owned(), value);
        };
        put("devstack", base.clone());
        put("admin", devstack.admin_url());
        put("invoke", format!("{}/invoke", devstack.admin_url()));
        put("moto", moto.endpoint());
        put("spoke", format!("{base}/spoke/api/v1"));
        put("spoke_control", devstack.control_url("spoke"));
        put("slack", format!("{base}/slack/api"));
        put("slack_control", devstack.control_url("slack"));
        put("github", format!("{base}/github"));
        put("github_control", devstack.control_url("github"));
        put("webex", format!("{base}/webex/v1"));
        put("webex_control", devstack.control_url("webex"));
        put("pagerduty", format!("{base}/pagerduty"));
        put("pagerduty_control", devstack.control_url("pagerduty"));
        put("queue_url", queues.url.clone());
        put("dlq_url", queues.dlq_url.clone());
        put("handoff_bus", HANDOFF_BUS.to_owned());
        put("handoff_queue_url", handoff_queue_url);
        put("spoke_api_key", dev_secrets.spoke_api_key.clone());
        put("pagerduty_api_key", dev_secrets.pagerduty_api_key.clone());
        put(
            "github_webhook_secret",
            dev_secrets.github_webhook_secret.clone(),
        );
        put(
            "slack_signing_secret",
            dev_secrets.slack_signing_secret.clone(),
        );

        let wiring = Wiring {
            moto_endpoint: moto.endpoint(),
            devstack_url: base.clone(),
            queue_url: queues.url.clone(),
            secrets: secrets.clone(),
            fakes: &fakes,
            dev_secrets: &dev_secrets,
        };
        endpoints.extend(services.register(&wiring, &registry).await?);

        let mut api = ApiGateway::new();
        if let Some(webhook) = registry.get("cls-webhook") {
            api = api
                .route(
                    Method::POST,
                    "/github/webhook",
                    "cls-webhook",
                    Arc::clone(&webhook),
                )
                .route(Method::POST, "/slack/interactions", "cls-webhook", webhook);
        }
        let api = api
            .serve(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                options.api_port,
            ))
            .await
            .context("starting the API Gateway emulator")?;
        endpoints.insert("api".to_owned(), api.base_url());
        if registry.get("cls-webhook").is_some() {
            endpoints.insert(
                "cls_webhook".to_owned(),
                format!("{}/github/webhook", api.base_url()),
            );
            endpoints.insert(
                "slack_interactions".to_owned(),
                format!("{}/slack/interactions", api.base_url()),
            );
        }

        let event_source = registry.get("cls-queue").map(|handler: JsonHandler| {
            EventSource::new(sqs.clone(), &queues.url, "cls-queue", handler)
                .wait_time_secs(1)
                .spawn()
        });

        Ok(Self {
            moto,
            fakes,
            devstack,
            api,
            registry,
            sqs,
            secrets,
            queues,
            event_source,
            endpoints,
            dev_secrets,
        })
    }

    /// What the service wiring uses, for building a service's dependencies against this stack again (the
    /// bench builds them many times).
    pub fn wiring(&self) -> Wiring<'_> {
        Wiring {
            moto_endpoint: self.moto.endpoint(),
            devstack_url: self.devstack.base_url(),
            queue_url: self.queues.url.clone(),
            secrets: self.secrets.clone(),
            fakes: &self.fakes,
            dev_secrets: &self.dev_secrets,
        }
    }

    /// Writes `endpoints.json` (a flat JSON object) to `path`, creating its directory.
    pub fn write_endpoints(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let object: Map<String, Value> = self
            .endpoints
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let text = serde_json::to_string_pretty(&Value::Object(object))?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// Stops the event source and every server; moto stops when the value is dropped.
    pub async fn shutdown(mut self) {
        if let Some(source) = self.event_source.take() {
            source.stop().await;
        }
        self.api.stop().await;
        self.devstack.stop().await;
        drop(self.moto);
    }
}

/// What service wiring needs from the stack.
pub struct Wiring<'a> {
    /// moto's endpoint (`AWS_ENDPOINT_URL`).
    pub moto_endpoint: String,
    /// devstack's base URL.
    pub devstack_url: String,
    /// `cls-events.fifo`.
    pub queue_url: String,
    /// Secrets Manager client for creating the secrets.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The fakes (for their test-only credentials).
    pub fakes: &'a Fakes,
    /// The dev-only credentials of this run.
    pub dev_secrets: &'a DevSecrets,
}

impl Wiring<'_> {
    /// Creates (or updates) the secret `name` in moto.
    pub async fn secret(&self, name: &str, value: &Value) -> Result<String> {
        put_secret(&self.secrets, name, value)
            .await
            .with_context(|| format!("creating the secret {name}"))
    }

    /// The environment a service's configuration sees locally (moto as `AWS_ENDPOINT_URL`, dev AWS keys, the
    /// fakes as the vendors' base URLs, text logs), plus `extra`.
    pub fn env(&self, extra: &[(&str, String)]) -> BTreeMap<String, String> {
        let base = &self.devstack_url;
        let mut env: BTreeMap<String, String> = [
            ("AWS_ENDPOINT_URL", self.moto_endpoint.clone()),
            ("AWS_REGION", crate::aws::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("SPOKE_BASE_URL", format!("{base}/spoke/api/v1")),
            ("SLACK_API_BASE_URL", format!("{base}/slack/api")),
            ("SLACK_RESPONSE_URL_PREFIX", format!("{base}/slack/")),
            ("GITHUB_API_BASE_URL", format!("{base}/github")),
            ("WEBEX_API_BASE_URL", format!("{base}/webex/v1")),
            ("PAGERDUTY_API_URL", format!("{base}/pagerduty")),
            ("LOG_FORMAT", "text".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in extra {
            env.insert((*key).to_owned(), value.clone());
        }
        env
    }
}

/// `target/devstack/endpoints.json` under the workspace root.
pub fn endpoints_path() -> PathBuf {
    workspace_root().join("target/devstack/endpoints.json")
}

/// The workspace root: the nearest directory at or above the current one that holds `Cargo.lock` and
/// `tools/devstack` (xtask runs the stack from the root), else the one two levels above this crate.
pub fn workspace_root() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .find(|dir| dir.join("Cargo.lock").is_file() && dir.join("tools/devstack").is_dir())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_dev_secrets_are_prefixed_distinct_and_fresh_per_run() {
        let first = DevSecrets::generate();
        let second = DevSecrets::generate();
        let values = [
            &first.github_webhook_secret,
            &first.slack_signing_secret,
            &first.spoke_api_key,
            &first.pagerduty_api_key,
        ];
        assert!(values.iter().all(|v| v.starts_with("dev-")), "{values:?}");
        assert_ne!(first.github_webhook_secret, first.slack_signing_secret);
        assert_ne!(first.github_webhook_secret, second.github_webhook_secret);
        assert_ne!(first.slack_signing_secret, second.slack_signing_secret);
        assert_ne!(first.spoke_api_key, second.spoke_api_key);
        assert_ne!(first.pagerduty_api_key, second.pagerduty_api_key);
    }

    #[test]
    fn debug_output_never_shows_a_dev_secret() {
        let secrets = DevSecrets::generate();
        let shown = format!(
            "{secrets:?} {:?}",
            StackOptions::ephemeral().with_dev_secrets(secrets.clone())
        );
        for value in [
            &secrets.github_webhook_secret,
            &secrets.slack_signing_secret,
            &secrets.spoke_api_key,
            &secrets.pagerduty_api_key,
        ] {
            assert!(!shown.contains(value.as_str()), "{shown}");
        }
    }

    #[test]
    fn the_fakes_accept_only_the_injected_credentials() {
        let secrets = DevSecrets::generate();
        let fakes = Fakes::demo(&secrets).unwrap();
        assert_eq!(fakes.github.webhook_secret(), secrets.github_webhook_secret);
        assert_eq!(fakes.slack.signing_secret(), secrets.slack_signing_secret);
    }
}
