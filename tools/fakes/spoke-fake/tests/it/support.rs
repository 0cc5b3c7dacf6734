//! A fake per test, raw HTTP helpers.

use reqwest::{Method, StatusCode};
use serde_json::Value;
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
    pub(crate) http: reqwest::Client,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn spawn() -> Fake {
    let fake = SpokeFake::minimal().expect("minimal seed loads");
    spawn_with(fake).await
}

pub(crate) async fn spawn_with(fake: SpokeFake) -> Fake {
    let server = fake.spawn().await.expect("fake starts");
    Fake {
        fake,
        server,
        http: reqwest::Client::new(),
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
        let resp = req.send().await.expect("request reaches the fake");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(SVC_KEY), None).await
    }

    pub(crate) async fn send(&self, method: Method, path: &str, body: Value) -> Reply {
        self.call(method, path, Some(SVC_KEY), Some(body)).await
    }

    pub(crate) async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}/__fake{path}", self.server.base_url()));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("control call");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// A seed with `n` extra users `user-NNN@example.com`.
pub(crate) fn seed_with_users(n: usize) -> Value {
    let mut seed: Value = serde_json::from_str(spoke_fake::MINIMAL_SEED).unwrap();
    let users = seed["users"].as_array_mut().unwrap();
    for i in 0..n {
        users.push(serde_json::json!({
            "id": format!("70000000000000000000{i:04x}"),
            "email": format!("user-{i:03}@example.com"),
            "displayName": format!("User {i:03}"),
        }));
    }
    seed
}
