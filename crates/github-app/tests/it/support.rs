use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use github_app::{AppCredentials, GithubClient};
use github_fake::GithubFake;
use lambda_kit::FixedClock;
use lambda_kit::http::RetryPolicy;
use secrecy::SecretString;

pub const T0: &str = "2026-05-12T12:00:00Z";

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(T0)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        max_rate_limit_wait: Duration::from_secs(5),
    }
}

pub fn test_creds(app_id: u64) -> AppCredentials {
    AppCredentials {
        app_id,
        private_key_pem: SecretString::from(github_fake::TEST_APP_PRIVATE_KEY_PEM),
        webhook_secrets: vec![SecretString::from("test-only-webhook-secret")],
    }
}

/// A fake on an ephemeral port with its clock at `T0`, and a client (clock at `T0`) for every org.
pub struct Setup {
    pub fake: GithubFake,
    pub server: fake_kit::RunningServer,
    pub clock: Arc<FixedClock>,
    pub client: GithubClient,
}

impl Setup {
    pub async fn new(fake: GithubFake) -> Self {
        Self::with_http(fake, None).await
    }

    pub async fn with_http(fake: GithubFake, http: Option<reqwest::Client>) -> Self {
        fake.kit().set_time(t0());
        let server = fake.spawn().await.unwrap();
        let clock = Arc::new(FixedClock::new(t0()));
        let mut builder =
            GithubClient::builder(server.base_url(), clock.clone()).retry_policy(fast_retry());
        if let Some(http) = http {
            builder = builder.http_client(http);
        }
        for org in ["acme", "globex"] {
            if let Some(id) = fake.installation_id(org) {
                builder = builder.installation(org, id, test_creds(fake.app_id()));
            }
        }
        let client = builder.build().unwrap();
        Self {
            fake,
            server,
            clock,
            client,
        }
    }

    pub async fn minimal() -> Self {
        Self::new(GithubFake::minimal().unwrap()).await
    }

    pub async fn demo() -> Self {
        Self::new(GithubFake::demo().unwrap()).await
    }

    /// Advances both the fake's clock and the client's.
    pub fn advance(&self, by: chrono::Duration) {
        self.fake.kit().advance(by);
        self.clock.advance(by);
    }

    pub fn token_calls(&self) -> usize {
        self.fake
            .kit()
            .calls("POST", "/app/installations/*/access_tokens")
            .len()
    }

    pub fn calls(&self, method: &str, pattern: &str) -> usize {
        self.fake.kit().calls(method, pattern).len()
    }

    pub fn fault(&self, method: &str, path: &str, times: Option<u32>, action: serde_json::Value) {
        self.fake
            .kit()
            .add_fault(fake_kit::FaultRule::new(Some(method), path, times, action));
    }
}
