//! A fake per test, raw HTTP helpers.

use fake_kit::testing::{Control, Reply, send};
use reqwest::Method;
use serde_json::{Value, json};
use spoke_fake::{RunningServer, SpokeFake, api_base_url};

pub(crate) const SVC_KEY: &str = "test-key-svc";
pub(crate) const OUTSIDER_KEY: &str = "test-key-outsider";
pub(crate) const ADMIN_KEY: &str = "test-key-admin";
pub(crate) const SVC: &str = "5f0c3a9e2b7d4c0012ab34cd";
pub(crate) const ALICE: &str = "5f0c3a9e2b7d4c0012ab3401";
pub(crate) const BOB: &str = "5f0c3a9e2b7d4c0012ab3402";
pub(crate) const IT: &str = "5cb65407f38ee4000743e945";
pub(crate) const FACILITIES: &str = "5cb65407f38ee4000743e946";
pub(crate) const REQUEST_TYPE: &str = "61b000000000000000000007";
pub(crate) const FIELD_EXPIRY: &str = "0b6f4a4e-0d0a-4a8e-9f39-1c2d3e4f5a6b";
pub(crate) const FIELD_HANDLE: &str = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
pub(crate) const TAG_ACTIVE: &str = "63d000000000000000000001";
pub(crate) const TAG_REMOVED: &str = "63d000000000000000000002";
pub(crate) const SEEDED_REQUEST: &str = "62c000000000000000000042";

pub(crate) struct Fake {
    pub(crate) fake: SpokeFake,
    pub(crate) server: RunningServer,
    pub(crate) control: Control,
    pub(crate) http: reqwest::Client,
}

pub(crate) async fn spawn() -> Fake {
    let fake = SpokeFake::minimal().expect("minimal seed loads");
    spawn_with(fake).await
}

pub(crate) async fn spawn_with(fake: SpokeFake) -> Fake {
    let server = fake.spawn().await.expect("fake starts");
    Fake {
        fake,
        control: Control::new(&server.base_url()),
        server,
        http: fake_kit::default_client(),
    }
}

impl Fake {
    pub(crate) fn api(&self) -> String {
        api_base_url(&self.server)
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.api()));
        if let Some(key) = key {
            req = req.header("Api-Key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        send(req).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(SVC_KEY), None).await
    }

    pub(crate) async fn send(&self, method: Method, path: &str, body: Value) -> Reply {
        self.call(method, path, Some(SVC_KEY), Some(body)).await
    }

    /// Hands the IT team to bob (`SPECIFIC_USER`) through the API.
    pub(crate) async fn hand_it_to_bob(&self) -> Reply {
        self.send(
            Method::PATCH,
            &format!("/teams/{IT}"),
            json!({"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": BOB}}}),
        )
        .await
    }
}
