//! A fake per test and a client that sends PagerDuty's headers.

use fake_kit::testing::{Control, Reply, send};
use pagerduty_fake::{PagerDutyFake, RunningServer};
use serde_json::Value;

pub(crate) const KEY: &str = "test-pd-key";

pub(crate) struct Fake {
    pub(crate) fake: PagerDutyFake,
    pub(crate) server: RunningServer,
    pub(crate) control: Control,
    http: reqwest::Client,
}

pub(crate) async fn spawn() -> Fake {
    spawn_with(PagerDutyFake::minimal().unwrap()).await
}

pub(crate) async fn spawn_seeded(seed: Value) -> Fake {
    spawn_with(PagerDutyFake::new(seed).unwrap()).await
}

async fn spawn_with(fake: PagerDutyFake) -> Fake {
    let server = fake.spawn().await.unwrap();
    Fake {
        control: Control::new(&server.base_url()),
        fake,
        server,
        http: fake_kit::default_client(),
    }
}

impl Fake {
    /// `GET <path>` with `key` (none when `None`).
    pub(crate) async fn get_as(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = self
            .http
            .get(format!("{}{path}", self.server.base_url()))
            .header("Accept", "application/vnd.pagerduty+json;version=2");
        if let Some(key) = key {
            req = req.header("Authorization", format!("Token token={key}"));
        }
        send(req).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.get_as(path, Some(KEY)).await
    }

    /// `GET /oncalls?<query>` that must succeed; the page.
    pub(crate) async fn oncalls(&self, query: &str) -> Value {
        let reply = self.get(&format!("/oncalls?{query}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.body
    }
}

/// `(user id, start)` of every entry of a page.
pub(crate) fn who(page: &Value) -> Vec<(String, String)> {
    page["oncalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["user"]["id"].as_str().unwrap().to_owned(),
                e["start"].as_str().unwrap_or("permanent").to_owned(),
            )
        })
        .collect()
}
