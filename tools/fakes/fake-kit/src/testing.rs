//! Helpers for tests that drive a fake over HTTP: one [`Control`] per fake for its control API (state, journal,
//! faults, rate limits, clock, reset and the fake's own control routes), and [`send`] to read any answer whole
//! as a [`Reply`]. Used by every fake's tests and usable by the services' tests.
//!
//! These are test helpers: a call that cannot reach the fake, or a control call the fake refuses, panics with
//! a message naming the call, which fails the test at the line that made it.
#![allow(clippy::expect_used, clippy::panic)]

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// An answer read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as JSON; a body that is not JSON is a JSON string, an empty one `null`.
    pub body: Value,
}

impl Reply {
    /// A header as text (`""` when absent or not text).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as text: the string itself for a non-JSON body, else the JSON.
    pub fn text(&self) -> String {
        match &self.body {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

/// Sends `request` and reads the answer whole; panics when the fake cannot be reached.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let resp = request.send().await.expect("the request reaches the fake");
    read(resp).await
}

/// Reads `resp` whole into a [`Reply`].
pub async fn read(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("the answer has a readable body");
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

/// The control API (`/__fake/…`) of one fake.
#[derive(Debug, Clone)]
pub struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    /// The control API under `root` (the fake's server root or devstack mount, e.g. `http://127.0.0.1:p/slack`).
    pub fn new(root: &str) -> Self {
        Self {
            http: crate::http::default_client(),
            base: format!("{}/__fake", root.trim_end_matches('/')),
        }
    }

    /// `GET /__fake{path}`.
    pub async fn get(&self, path: &str) -> Reply {
        send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// `POST /__fake{path}` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    /// `DELETE /__fake{path}`.
    pub async fn delete(&self, path: &str) -> Reply {
        send(self.http.delete(format!("{}{path}", self.base))).await
    }

    /// `POST /__fake{path}` that must succeed (2xx); its answer.
    pub async fn expect_ok(&self, path: &str, body: Value) -> Value {
        let reply = self.post(path, body).await;
        assert!(
            (200..300).contains(&reply.status),
            "POST /__fake{path} answered {}: {}",
            reply.status,
            reply.text()
        );
        reply.body
    }

    /// The fake's state (`GET /__fake/state`).
    pub async fn state(&self) -> Value {
        self.get("/state").await.body
    }

    /// Every API call journaled so far (`GET /__fake/journal`), oldest first.
    pub async fn journal(&self) -> Vec<Value> {
        match self.get("/journal").await.body {
            Value::Array(entries) => entries,
            other => panic!("the journal is not a list: {other}"),
        }
    }

    /// Forgets the journal.
    pub async fn clear_journal(&self) {
        assert_eq!(self.delete("/journal").await.status, 204);
    }

    /// Adds a fault rule (`{"method", "path", "times" | "rate", "action"}`); its id.
    pub async fn add_fault(&self, rule: Value) -> u64 {
        let reply = self.post("/faults", rule).await;
        assert_eq!(reply.status, 201, "fault rule refused: {}", reply.text());
        reply.body["id"]
            .as_u64()
            .expect("the fake answers the rule's id")
    }

    /// Adds a fault rule for `method` and `path` applied `times` times.
    pub async fn fault(&self, method: &str, path: &str, times: u32, action: Value) -> u64 {
        self.add_fault(json!({"method": method, "path": path, "times": times, "action": action}))
            .await
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) {
        assert_eq!(self.delete("/faults").await.status, 204);
    }

    /// Replaces the rate-limit settings (`{}` restores the default).
    pub async fn rate_limit(&self, config: Value) {
        self.expect_ok("/rate-limit", config).await;
    }

    /// Sets the fake clock (RFC 3339); the time now shown.
    pub async fn set_clock(&self, at: &str) -> String {
        now_of(self.expect_ok("/clock", json!({"set": at})).await)
    }

    /// Moves the fake clock forward; the time now shown.
    pub async fn advance_clock(&self, secs: i64) -> String {
        now_of(self.expect_ok("/clock", json!({"advanceSecs": secs})).await)
    }

    /// Replaces the state with `seed` (the initial seed when `None`) and clears journal, faults, limits, clock.
    pub async fn reset(&self, seed: Option<Value>) -> Reply {
        let req = self.http.post(format!("{}/reset", self.base));
        send(match seed {
            Some(seed) => req.json(&seed),
            None => req,
        })
        .await
    }
}

fn now_of(answer: Value) -> String {
    answer["now"]
        .as_str()
        .expect("the clock answers {\"now\": ...}")
        .to_owned()
}
