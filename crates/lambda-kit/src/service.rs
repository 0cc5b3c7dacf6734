//! The one shape every Lambda of the suite has (`docs/architecture.md`, "One service shape"):
//!
//! ```text
//! Config::from_env()                      read and validated once, before the first event
//! Platform::from_env(USER_AGENT)          AWS SDK config, HTTP client, clock, metric sink
//! Deps::new(config, &platform).await      the service's clients, built from the platform
//! serve(|event, invocation| handle(event, &invocation, deps))
//! ```
//!
//! The demo, the benchmark and the integration tests build a [`Platform`] for the local stack with
//! [`Platform::local`] and then go through the same `Deps::new` as the binary.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::clock::{Clock, SystemClock};
use crate::metrics::{MetricSink, StdoutSink};

/// What one invocation knows about itself: the Lambda request id and when the function times out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The Lambda request id (`local-…` outside Lambda).
    pub request_id: String,
    /// When the function is stopped; `None` means no deadline (tests, local runs). Monotonic, so a fake
    /// wall clock in tests does not move it.
    pub deadline: Option<tokio::time::Instant>,
}

impl Invocation {
    /// An invocation without a deadline.
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline: None,
        }
    }

    /// An invocation that must end within `remaining` from now.
    pub fn with_remaining(request_id: impl Into<String>, remaining: Duration) -> Self {
        Self {
            request_id: request_id.into(),
            deadline: Some(tokio::time::Instant::now() + remaining),
        }
    }

    /// From the Lambda context. Its deadline is wall-clock epoch milliseconds, so it is measured against
    /// the [`SystemClock`] (never an injected one); `0` (no deadline given) means none.
    pub fn from_context(context: &lambda_runtime::Context) -> Self {
        if context.deadline == 0 {
            return Self::new(context.request_id.clone());
        }
        let now_ms = u64::try_from(SystemClock.now().timestamp_millis()).unwrap_or_default();
        let remaining = Duration::from_millis(context.deadline.saturating_sub(now_ms));
        Self::with_remaining(context.request_id.clone(), remaining)
    }

    /// The time left before the deadline (`None` without one; zero once it has passed).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|at| at.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// The span the invocation runs in (see [`crate::invocation_span`]).
    pub fn span(&self) -> tracing::Span {
        crate::invocation_span(&self.request_id)
    }
}

/// What every service's `Deps::new` is built from besides its own `Config`.
#[derive(Clone)]
pub struct Platform {
    /// The AWS SDK configuration (region, credentials chain, endpoint).
    pub sdk: aws_config::SdkConfig,
    /// The shared HTTP client ([`crate::http::http_client`]: timeouts and user agent).
    pub http: reqwest::Client,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// Where EMF metric lines go.
    pub metrics: Arc<dyn MetricSink>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("region", &self.sdk.region())
            .finish_non_exhaustive()
    }
}

impl Platform {
    /// The platform of a deployed function: the AWS SDK's default chain, the system clock, metrics on stdout.
    pub async fn from_env(user_agent: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            sdk: aws_sdk_config(None).await,
            http: crate::http::http_client(user_agent)?,
            clock: Arc::new(SystemClock),
            metrics: Arc::new(StdoutSink),
        })
    }

    /// The platform of the local stack and the tests: AWS calls go to `aws_endpoint` (moto) with
    /// throw-away static credentials in `us-east-1`; clock and metric sink are the caller's.
    pub fn local(
        aws_endpoint: &str,
        user_agent: &str,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            sdk: local_sdk_config(aws_endpoint),
            http: crate::http::http_client(user_agent)?,
            clock,
            metrics,
        })
    }
}

/// The AWS SDK configuration from the default chain (environment, then the Lambda role), with an optional
/// endpoint override for every service client built from it. Its HTTPS client trusts the Amazon Trust
/// Services roots ([`crate::tls`]) and does not read the machine's certificate store.
pub async fn aws_sdk_config(endpoint_override: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = sdk_loader(crate::config::env_lookup());
    if let Some(endpoint) = endpoint_override {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

fn sdk_loader(lookup: impl Fn(&str) -> Option<String>) -> aws_config::ConfigLoader {
    let loader = crate::aws_http::with_aws_http_client(aws_config::defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    if !has_static_credentials(&lookup) {
        return loader;
    }
    // Lambda hands the function's role credentials over in the environment (and the local stack its dev keys).
    // The rest of the default chain would only be built, never asked: web identity with its own STS client, ECS
    // and instance metadata — a third of a function's start-up instructions (docs/performance.md).
    loader.credentials_provider(
        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
    )
}

/// Whether the environment holds an access key pair, as the default chain's first link reads it.
fn has_static_credentials(lookup: &impl Fn(&str) -> Option<String>) -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|name| lookup(name).is_some_and(|value| !value.trim().is_empty()))
}

/// An AWS SDK configuration for a local endpoint (moto): `us-east-1`, static throw-away credentials, no
/// look-up of the environment or instance metadata.
pub fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let credentials = aws_credential_types::Credentials::from_keys("testing", "testing", None);
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(crate::aws_http::aws_http_client())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .build()
}

/// Runs the Lambda event loop: every event is handed to `handler` with its [`Invocation`], inside the
/// invocation's span. `main.rs` of every service ends with this call.
pub async fn serve<E, O, Err, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Into<Diagnostic> + std::fmt::Debug + Send + 'static,
    F: Fn(E, Invocation) -> Fut,
    Fut: Future<Output = Result<O, Err>> + Send,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let invocation = Invocation::from_context(&event.context);
        let span = invocation.span();
        handler(event.payload, invocation).instrument(span)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    async fn credentials_provider(pairs: &'static [(&'static str, &'static str)]) -> String {
        // With the region given, loading reads nothing beyond the process (no instance metadata).
        let sdk = sdk_loader(lookup(pairs))
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        format!("{:?}", sdk.credentials_provider().unwrap())
    }

    #[tokio::test]
    async fn an_access_key_in_the_environment_skips_building_the_rest_of_the_chain() {
        let provider = credentials_provider(&[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ])
        .await;
        assert!(
            provider.contains("EnvironmentVariableCredentialsProvider")
                && !provider.contains("DefaultCredentialsChain"),
            "{provider}"
        );
    }

    #[tokio::test]
    async fn without_an_access_key_pair_the_default_chain_is_kept() {
        for pairs in [
            &[][..],
            &[("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")][..],
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", " "),
            ][..],
        ] {
            let provider = credentials_provider(pairs).await;
            assert!(provider.contains("DefaultCredentialsChain"), "{provider}");
        }
    }

    #[tokio::test]
    async fn a_context_without_deadline_gives_an_invocation_without_one() {
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-1".to_owned();
        let invocation = Invocation::from_context(&context);
        assert_eq!(invocation, Invocation::new("req-1"));
        assert_eq!(invocation.remaining(), None);
    }

    #[tokio::test]
    async fn the_context_deadline_becomes_the_time_left() {
        let mut context = lambda_runtime::Context::default();
        let now_ms = u64::try_from(SystemClock.now().timestamp_millis()).unwrap();
        context.deadline = now_ms + 30_000;
        let left = Invocation::from_context(&context).remaining().unwrap();
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
    }

    #[tokio::test]
    async fn a_passed_deadline_leaves_no_time() {
        let mut context = lambda_runtime::Context::default();
        context.deadline = 1;
        let left = Invocation::from_context(&context).remaining().unwrap();
        assert_eq!(left, Duration::ZERO);
    }

    async fn handle(
        event: serde_json::Value,
        invocation: &Invocation,
        deps: &str,
    ) -> Result<String, String> {
        Ok(format!("{deps} {} {event}", invocation.request_id))
    }

    #[test]
    fn a_handler_borrowing_its_deps_can_be_served() {
        let deps = String::from("deps");
        let deps = deps.as_str();
        // Building the future proves the `main.rs` shape type-checks; it is not run (no Runtime API here).
        let serving =
            serve(move |event, invocation| async move { handle(event, &invocation, deps).await });
        drop(serving);
    }

    #[test]
    fn the_local_platform_talks_to_the_given_endpoint_in_us_east_1() {
        let sdk = local_sdk_config("http://127.0.0.1:5000");
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert!(sdk.credentials_provider().is_some());
    }
}
