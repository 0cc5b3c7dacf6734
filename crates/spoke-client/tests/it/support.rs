//! One fake (or mock server) per test and a client pointed at it.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use spoke_client::{RetryPolicy, SpokeClient};
use spoke_fake::{RunningServer, SpokeFake, api_base_url};

pub(crate) const SVC_KEY: &str = "test-key-svc";
pub(crate) const SVC: &str = "5f0c3a9e2b7d4c0012ab34cd";
pub(crate) const ALICE: &str = "5f0c3a9e2b7d4c0012ab3401";
pub(crate) const BOB: &str = "5f0c3a9e2b7d4c0012ab3402";
pub(crate) const PLUS_USER: &str = "5f0c3a9e2b7d4c0012ab3403";
pub(crate) const IT: &str = "5cb65407f38ee4000743e945";
pub(crate) const SEEDED_REQUEST: &str = "62c000000000000000000042";
pub(crate) const TAG_ACTIVE: &str = "63d000000000000000000001";
pub(crate) const TAG_REMOVED: &str = "63d000000000000000000002";
pub(crate) const FIELD_HANDLE: &str = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
pub(crate) const REQUEST_TYPE: &str = "61b000000000000000000007";
pub(crate) const USER_AGENT: &str = "spoke-client-tests/1.0";

/// Short backoff so retry tests stay fast.
pub(crate) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
        max_rate_limit_wait: Duration::from_secs(15),
    }
}

pub(crate) fn client_for(base: &str, key: &str) -> SpokeClient {
    SpokeClient::builder(
        lambda_kit::http::default_client(),
        SecretString::from(key.to_owned()),
    )
    .base_url(base)
    .user_agent(USER_AGENT)
    .retry_policy(fast_policy())
    .build()
    .expect("client builds")
}

pub(crate) struct Fake {
    pub(crate) fake: SpokeFake,
    pub(crate) server: RunningServer,
    pub(crate) client: SpokeClient,
}

pub(crate) async fn spawn() -> Fake {
    spawn_with(SpokeFake::minimal().expect("seed")).await
}

pub(crate) async fn spawn_with(fake: SpokeFake) -> Fake {
    let server = fake.spawn().await.expect("fake starts");
    let client = client_for(&api_base_url(&server), SVC_KEY);
    Fake {
        fake,
        server,
        client,
    }
}

impl Fake {
    pub(crate) fn api(&self) -> String {
        api_base_url(&self.server)
    }

    /// Calls the fake's control API.
    pub(crate) async fn control(&self, path: &str, body: Value) {
        let status = lambda_kit::http::default_client()
            .post(format!("{}/__fake{path}", self.server.base_url()))
            .json(&body)
            .send()
            .await
            .expect("control call")
            .status();
        assert!(status.is_success(), "control {path}: {status}");
    }

    /// Journaled calls with `method` whose path matches `pattern`.
    pub(crate) fn calls(&self, method: &str, pattern: &str) -> usize {
        self.fake.kit().calls(method, pattern).len()
    }
}

/// Decoded query pairs of a raw query string.
pub(crate) fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                urlencoding::decode(&s.replace('+', " "))
                    .unwrap()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}
