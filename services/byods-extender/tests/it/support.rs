//! Per-test environment: a fake Webex on an ephemeral port, the shared moto, a unique secret, and `Deps`
//! built by `Deps::new` over `Platform::local` with a fixed clock and in-memory metrics, waiting through a
//! recording sleeper.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use byods_extender::{
    Config, Deps, RecordingSleeper, SweepError, SweepSummary, USER_AGENT, handle,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use fake_kit::moto::Moto;
use fake_kit::{FaultRule, JournalEntry, RunningServer};
use lambda_kit::tracing_init::{LogCapture, capture_logs};
use lambda_kit::{FixedClock, Invocation, LeakCheck, LeakGuard, MemorySink, Platform};
use secrets::{BoxFuture, SecretStore, SecretsClient, SecretsError, VersionedValue};
use serde_json::{Value, json};
use webex_fake::WebexFake;

pub(crate) static SECRET_COUNTER: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn unique(prefix: &str) -> String {
    let n = SECRET_COUNTER.fetch_add(1, Ordering::SeqCst);
    format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

pub(crate) fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The sample EventBridge event.
pub(crate) fn scheduled_event() -> Value {
    serde_json::from_str(include_str!("../../events/scheduled.json")).unwrap()
}

/// The outcome for data source `id`.
pub(crate) fn outcome_of(summary: &SweepSummary, id: &str) -> byods_extender::session::Outcome {
    summary
        .data_sources
        .iter()
        .find(|r| r.id == id)
        .unwrap()
        .outcome
}

/// An RFC 3339 JSON string as a time.
pub(crate) fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// A seed with one extra token or data source.
pub(crate) fn seed_with(key: &str, item: Value) -> Value {
    let mut s = seed();
    s[key].as_array_mut().unwrap().push(item);
    s
}

/// The canonical secret with cached service-app tokens whose access token expires in `access_expires`.
pub(crate) fn with_service_app_tokens(
    access_expires: Duration,
) -> impl FnOnce(DateTime<Utc>) -> Value {
    move |now| {
        let mut s = canonical_secret(now);
        s["serviceApp"]["accessToken"] = json!("sa-access-1");
        s["serviceApp"]["accessTokenExpiresAt"] = json!(rfc(now + access_expires));
        s["serviceApp"]["refreshToken"] = json!("sa-refresh-1");
        s["serviceApp"]["refreshTokenExpiresAt"] = json!(rfc(now + Duration::days(60)));
        s["serviceApp"]["obtainedAt"] = json!(rfc(now - Duration::hours(1)));
        s
    }
}

/// The seed knowing the service-app tokens of [`with_service_app_tokens`].
pub(crate) fn seed_with_service_app_tokens(access_secs: i64) -> Value {
    let mut s = seed();
    let tokens = s["tokens"].as_array_mut().unwrap();
    tokens.push(json!({"token": "sa-access-1", "kind": "access", "clientId": "C-service-app", "expiresInSecs": access_secs, "orgId": "org-1"}));
    tokens.push(json!({"token": "sa-refresh-1", "kind": "refresh", "clientId": "C-service-app", "expiresInSecs": 5_000_000, "orgId": "org-1"}));
    s
}

/// The minimal seed as JSON, for tests to adjust.
pub(crate) fn seed() -> Value {
    serde_json::from_str(webex_fake::MINIMAL_SEED).unwrap()
}

/// A canonical secret matching the minimal seed, with a valid integration access token.
pub(crate) fn canonical_secret(now: DateTime<Utc>) -> Value {
    json!({
        "schemaVersion": 2,
        "serviceApp": {"clientId": "C-service-app", "clientSecret": "service-app-secret", "targetOrgId": "org-1"},
        "tokenManager": {
            "clientId": "C-integration", "clientSecret": "integration-secret",
            "accessToken": "int-access-1", "accessTokenExpiresAt": rfc(now + Duration::days(11)),
            "refreshToken": "int-refresh-1", "refreshTokenExpiresAt": rfc(now + Duration::days(80)),
            "refreshedAt": rfc(now - Duration::days(1))
        }
    })
}

/// The secret exactly as the original sample's deployment guide shows it (aliases, no expiries).
pub(crate) fn legacy_secret() -> Value {
    json!({
        "serviceApp": {"appId": webex_fake::derive_app_id("C-service-app"), "clientId": "C-service-app",
                       "clientSecret": "service-app-secret", "targetOrgId": "org-1"},
        "tokenManager": {"personalAccessToken": "int-access-1", "oauthClientId": "C-integration",
                         "oauthClientSecret": "integration-secret", "oauthRefreshToken": "int-refresh-1"},
        "deployedBy": "ops-team"
    })
}

/// Seed values that must never appear in output.
pub(crate) const SEED_SECRETS: &[&str] = &[
    "integration-secret",
    "service-app-secret",
    "int-refresh-1",
    "int-access-1",
    "sa-access-1",
    "sa-refresh-1",
    "nonce-ds-due-0",
    "nonce-ds-later-0",
];

/// The invocation of a test: no deadline.
pub(crate) fn invocation() -> Invocation {
    Invocation::new("test-request")
}

pub(crate) struct Env {
    pub(crate) fake: WebexFake,
    pub(crate) server: RunningServer,
    pub(crate) moto: String,
    pub(crate) sm: aws_sdk_secretsmanager::Client,
    pub(crate) secret_id: String,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) sleeper: RecordingSleeper,
    pub(crate) metrics: MemorySink,
    pub(crate) logs: LogCapture,
    /// Fails the test when a seed secret, a credential of the secret it started with or an
    /// `Authorization` header appeared in a log line, an error or the CLI's output (BYO-20).
    pub(crate) leaks: LeakGuard,
}

impl Env {
    /// Starts a fake seeded with `seed` and creates the secret `secret(now)` in moto.
    pub(crate) async fn start(seed: Value, secret: impl FnOnce(DateTime<Utc>) -> Value) -> Self {
        let logs = capture_logs();
        let moto = Moto::shared()
            .await
            .expect("moto_server is needed: run `cargo xtask setup`");
        let fake = WebexFake::new(seed).unwrap();
        let server = fake.spawn().await.unwrap();
        let now = DateTime::from_timestamp(fake.kit().now().timestamp(), 0).unwrap();
        let clock = Arc::new(FixedClock::new(now));
        let sm = secrets::local_sdk_client(&moto.endpoint());
        let secret_id = unique("byods-test");
        let secret = secret(now);
        let leaks = LeakCheck::global();
        for value in SEED_SECRETS {
            leaks.seed("byods seed secret", value);
        }
        leaks.seed_json("byods secret", &secret);
        sm.create_secret()
            .name(&secret_id)
            .secret_string(secret.to_string())
            .send()
            .await
            .unwrap();
        Self {
            fake,
            server,
            moto: moto.endpoint(),
            sm,
            sleeper: RecordingSleeper::advancing(clock.clone()),
            clock,
            secret_id,
            metrics: MemorySink::default(),
            logs,
            leaks: leaks.guard(),
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        use lambda_kit::Clock as _;
        self.clock.now()
    }

    pub(crate) fn api_base(&self) -> String {
        format!("{}/v1", self.server.base_url())
    }

    pub(crate) fn env_map(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            ("BYODS_SECRET_ID", self.secret_id.clone()),
            ("WEBEX_API_BASE_URL", self.api_base()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (k, v) in extra {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        map
    }

    pub(crate) fn config(&self, extra: &[(&str, &str)]) -> Config {
        let map = self.env_map(extra);
        Config::from_lookup(move |k| map.get(k).cloned()).unwrap()
    }

    /// The real Secrets Manager client against moto.
    pub(crate) fn store(&self) -> Arc<dyn SecretStore> {
        Arc::new(SecretsClient::new(self.sm.clone(), self.clock.clone()))
    }

    /// `Deps` exactly as the Lambda builds them, over moto, this test's clock and metrics, with `extra`
    /// configuration.
    pub(crate) async fn deps(&self, extra: &[(&str, &str)]) -> Deps {
        self.deps_for(self.config(extra)).await
    }

    /// `Deps::new` with `config`, waiting through the recording sleeper.
    pub(crate) async fn deps_for(&self, config: Config) -> Deps {
        let platform = Platform::local(
            &self.moto,
            USER_AGENT,
            self.clock.clone(),
            Arc::new(self.metrics.clone()),
        )
        .unwrap();
        Deps::new(config, &platform)
            .await
            .unwrap()
            .with_sleeper(Arc::new(self.sleeper.clone()))
    }

    /// [`Env::deps`] with a fault-injecting secret store (moto enforces no IAM and never races).
    pub(crate) async fn deps_with_store(
        &self,
        store: Arc<dyn SecretStore>,
        extra: &[(&str, &str)],
    ) -> Deps {
        self.deps(extra).await.with_secrets(store)
    }

    /// One invocation with freshly built `Deps`.
    pub(crate) async fn run(
        &self,
        event: Value,
        extra: &[(&str, &str)],
    ) -> Result<SweepSummary, SweepError> {
        let result = handle(event, &invocation(), &self.deps(extra).await).await;
        if let Err(error) = &result {
            self.leaks.scan("error", &format!("{error} {error:?}"));
        }
        result
    }

    /// One invocation with Slack alerts on (`BYODS_SLACK_SECRET_ID` naming a secret whose webhook is a
    /// wiremock answering 200): the result and the texts posted. The webhook path ends in `secret-part`,
    /// which must never be logged.
    pub(crate) async fn run_with_slack(
        &self,
        event: Value,
    ) -> (Result<SweepSummary, SweepError>, Vec<String>) {
        let slack = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/services/T0/B0/secret-part"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&slack)
            .await;
        let slack_secret = unique("byods-slack");
        let webhook = format!("{}/services/T0/B0/secret-part", slack.uri());
        self.sm
            .create_secret()
            .name(&slack_secret)
            .secret_string(json!({"webhookUrl": webhook}).to_string())
            .send()
            .await
            .unwrap();
        let result = self
            .run(event, &[("BYODS_SLACK_SECRET_ID", slack_secret.as_str())])
            .await;
        let texts = slack
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        (result, texts)
    }

    /// The secret's current value in moto and its version id.
    async fn read_secret(&self) -> (Value, String) {
        let out = self
            .sm
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .unwrap();
        let value = serde_json::from_str(out.secret_string().unwrap()).unwrap();
        (value, out.version_id().unwrap().to_owned())
    }

    /// The secret's current value in moto.
    pub(crate) async fn secret(&self) -> Value {
        self.read_secret().await.0
    }

    /// The version id of the secret's current value.
    pub(crate) async fn secret_version(&self) -> String {
        self.read_secret().await.1
    }

    pub(crate) fn calls(&self, method: &str, pattern: &str) -> Vec<JournalEntry> {
        self.fake.kit().calls(method, pattern)
    }

    pub(crate) fn puts(&self) -> Vec<JournalEntry> {
        self.calls("PUT", "/dataSources/*")
    }

    pub(crate) fn fault(&self, method: &str, path: &str, times: Option<u32>, action: Value) {
        self.fake
            .kit()
            .add_fault(FaultRule::new(Some(method), path, times, action));
    }

    /// Moves both clocks (service and fake) forward.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.fake.kit().advance(by);
    }

    /// Asserts that no seed secret and no token now in the secret appears in any captured log line (BYO-20).
    pub(crate) async fn assert_no_leaks(&self) {
        let secret = self.secret().await;
        let mut needles: Vec<String> = SEED_SECRETS.iter().map(|s| (*s).to_owned()).collect();
        for group in ["serviceApp", "tokenManager"] {
            for key in ["clientSecret", "accessToken", "refreshToken"] {
                if let Some(v) = secret[group][key].as_str() {
                    needles.push(v.to_owned());
                }
            }
        }
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        self.logs.assert_absent(&needles).unwrap();
    }
}

/// The real store with interference moto cannot produce: writes that fail while `fail_writes` is set
/// (moto enforces no IAM), and "someone else" changing the secret right before our first write.
pub(crate) struct InterferingStore {
    pub(crate) inner: Arc<dyn SecretStore>,
    pub(crate) sm: aws_sdk_secretsmanager::Client,
    pub(crate) fail_writes: AtomicBool,
    pub(crate) edit_before_first_write: std::sync::Mutex<Option<Value>>,
    reads: AtomicUsize,
}

impl InterferingStore {
    /// A store over `env`'s secret that interferes with nothing until told.
    pub(crate) fn new(env: &Env) -> Arc<Self> {
        Arc::new(Self {
            inner: env.store(),
            sm: env.sm.clone(),
            fail_writes: AtomicBool::new(false),
            edit_before_first_write: std::sync::Mutex::new(None),
            reads: AtomicUsize::new(0),
        })
    }
}

impl SecretStore for InterferingStore {
    fn get_value<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Arc<Value>, SecretsError>> {
        self.inner.get_value(id)
    }

    fn get_fresh<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<VersionedValue, SecretsError>> {
        Box::pin(async move {
            // Read 0 is the sweep's own read; read 1 is the re-read before its first write, so the
            // external edit lands between the two.
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            let edit = if n == 1 {
                self.edit_before_first_write.lock().unwrap().take()
            } else {
                None
            };
            if let Some(edit) = edit {
                self.sm
                    .put_secret_value()
                    .secret_id(id)
                    .secret_string(edit.to_string())
                    .send()
                    .await
                    .unwrap();
            }
            self.inner.get_fresh(id).await
        })
    }

    fn put_value<'a>(
        &'a self,
        id: &'a str,
        value: &'a Value,
        client_request_token: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretsError>> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Box::pin(async move { Err(SecretsError::AccessDenied { id: id.to_owned() }) });
        }
        self.inner.put_value(id, value, client_request_token)
    }

    fn invalidate(&self, id: &str) {
        self.inner.invalidate(id);
    }
}
