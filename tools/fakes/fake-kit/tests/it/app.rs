use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, State};
use axum::routing::{get, post};
use fake_kit::testing::{Control, Reply, send};
use fake_kit::{
    ActiveFault, FakeKit, FakeState, RunningServer, ServeError, fake_app, serve, serve_ephemeral,
};
use serde_json::{Value, json};

/// A tiny stateful API: `POST /api/items` counts creations, `GET /api/items` reads the count and echoes
/// a `capLimit` fault to prove fake-specific actions reach the handler.
#[derive(Default)]
struct Items {
    created: AtomicUsize,
    resets: Mutex<Vec<Option<Value>>>,
}

impl FakeState for Items {
    fn state_json(&self) -> Value {
        json!({"created": self.created.load(Ordering::SeqCst), "apiKey": "[REDACTED]"})
    }

    fn reset(&self, seed: Option<Value>) -> Result<(), String> {
        if seed.as_ref().is_some_and(|s| s.get("bad").is_some()) {
            return Err("bad seed".to_owned());
        }
        self.created.store(0, Ordering::SeqCst);
        self.resets.lock().unwrap().push(seed);
        Ok(())
    }
}

async fn create(State(items): State<Arc<Items>>) -> axum::Json<Value> {
    let n = items.created.fetch_add(1, Ordering::SeqCst) + 1;
    axum::Json(json!({"created": n}))
}

async fn list(
    State(items): State<Arc<Items>>,
    fault: Option<Extension<ActiveFault>>,
) -> axum::Json<Value> {
    let cap = fault.and_then(|Extension(f)| f.number("capLimit"));
    axum::Json(json!({"created": items.created.load(Ordering::SeqCst), "cap": cap}))
}

struct Harness {
    server: RunningServer,
    control: Control,
    kit: FakeKit,
    items: Arc<Items>,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        Self::with_kit(FakeKit::with_rate_limit(
            "items",
            true,
            json!({"code": 99429, "message": "Too many requests"}),
        ))
        .await
    }

    async fn with_kit(kit: FakeKit) -> Self {
        let items = Arc::new(Items::default());
        let api = Router::new()
            .route("/api/items", post(create).get(list))
            .with_state(Arc::clone(&items));
        let extra = Router::new().route("/hello", get(|| async { "extra control route" }));
        let app = fake_app(kit.clone(), api, items.clone(), extra);
        let server = serve_ephemeral(app).await.unwrap();
        let http = fake_kit::client_builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Self {
            control: Control::new(&server.base_url()),
            server,
            kit,
            items,
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    async fn get(&self, path: &str) -> Reply {
        send(self.http.get(self.url(path))).await
    }

    async fn get_as(&self, path: &str, key: &str) -> Reply {
        send(self.http.get(self.url(path)).header("Api-Key", key)).await
    }

    async fn post(&self, path: &str) -> Reply {
        send(self.http.post(self.url(path))).await
    }
}

#[tokio::test]
async fn refuses_to_bind_anything_but_loopback() {
    let addr: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let err = serve(Router::new(), addr).await.unwrap_err();
    assert!(matches!(err, ServeError::NotLoopback(_)), "{err}");
}

#[tokio::test]
async fn the_journal_records_calls_with_credentials_redacted() {
    let h = Harness::start().await;
    let resp = h
        .http
        .post(h.url("/api/items?x=1"))
        .header("Api-Key", "s3cret-key")
        .header("Authorization", "Bearer s3cret-token")
        .body(r#"{"name":"a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let journal: Value = h.get("/__fake/journal").await.body;
    let entry = &journal[0];
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["path"], "/api/items");
    assert_eq!(entry["query"], "x=1");
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["body"], r#"{"name":"a"}"#);
    assert_eq!(entry["headers"]["api-key"], "[REDACTED]");
    assert!(!journal.to_string().contains("s3cret"));
    assert_eq!(
        journal.as_array().map(Vec::len).unwrap_or_default(),
        1,
        "control calls are not journaled"
    );

    let cleared = h.control.delete("/journal").await;
    assert_eq!(cleared.status, 204);
    assert!(h.kit.journal().is_empty());
}

#[tokio::test]
async fn a_status_fault_applies_the_given_number_of_times() {
    let h = Harness::start().await;
    let added = h.control.post("/faults",
            json!({"method": "POST", "path": "/items", "times": 2, "action": {"status": 503, "retryAfter": 2}}),
        )
        .await;
    assert_eq!(added.status, 201);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = h.post("/api/items").await;
        if r.status == 503 {
            assert_eq!(r.header("retry-after"), "2");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![503, 503, 200]);
    h.control.post("/faults",
        json!({"path": "/items", "times": 1, "action": {"status": 403, "headers": {"x-ratelimit-remaining": "0"}}}),
    )
    .await;
    let limited = h.post("/api/items").await;
    assert_eq!(
        limited.header("x-ratelimit-remaining"),
        "0",
        "fault headers win over the kit's"
    );
    assert_eq!(
        h.items.created.load(Ordering::SeqCst),
        1,
        "faulted calls never reach the handler"
    );
}

#[tokio::test]
async fn a_rate_fault_affects_about_that_fraction_of_calls() {
    let h = Harness::start().await;
    h.control
        .post(
            "/faults",
            json!({"path": "/items", "rate": 0.3, "action": {"status": 500}}),
        )
        .await;
    let mut failed = 0;
    for _ in 0..100 {
        if h.get("/api/items").await.status == 500 {
            failed += 1;
        }
    }
    assert!((15..=45).contains(&failed), "{failed} of 100 failed");
    let cleared = h.control.delete("/faults").await;
    assert_eq!(cleared.status, 204);
    assert_eq!(h.get("/api/items").await.status, 200);
}

#[tokio::test]
async fn one_of_draws_a_fault_kind_per_call_and_every_429_names_its_reset() {
    let h = Harness::start().await;
    h.control
        .post(
            "/faults",
            json!({"path": "/items", "action": {"oneOf": [
                {"status": 503},
                {"status": 429, "retryAfter": 1}
            ]}}),
        )
        .await;
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..40 {
        let reply = h.get("/api/items").await;
        if reply.status == 429 {
            assert_eq!(reply.header("x-ratelimit-remaining"), "0");
            assert!(reply.header("x-ratelimit-reset").parse::<i64>().is_ok());
            assert_eq!(reply.header("retry-after"), "1");
        }
        *statuses.entry(reply.status).or_insert(0) += 1;
    }
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), vec![429, 503]);
    assert!(statuses.values().all(|n| *n >= 5), "{statuses:?}");
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_for_the_client() {
    let h = Harness::start().await;
    h.control
        .post(
            "/faults",
            json!({"path": "/items", "times": 1, "action": {"drop": true}}),
        )
        .await;
    let result = async {
        let resp = h.http.get(h.url("/api/items")).send().await?;
        resp.bytes().await
    }
    .await;
    assert!(result.is_err(), "a dropped call must not produce a body");
    assert_eq!(h.kit.journal()[0].status, 0);
}

#[tokio::test]
async fn commit_then_delay_applies_the_change_but_stalls_the_answer() {
    let h = Harness::start().await;
    h.control.post("/faults",
        json!({"method": "POST", "path": "/items", "times": 1, "action": {"commitThenDelayMs": 2000}}),
    )
    .await;
    let err = h
        .http
        .post(h.url("/api/items"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(
        h.items.created.load(Ordering::SeqCst),
        1,
        "the write was committed"
    );
}

#[tokio::test]
async fn handler_specific_actions_reach_the_handler() {
    let h = Harness::start().await;
    h.control
        .post(
            "/faults",
            json!({"path": "/items", "times": 1, "action": {"capLimit": 40}}),
        )
        .await;
    let body: Value = h.get("/api/items").await.body;
    assert_eq!(body["cap"], 40);
    let body: Value = h.get("/api/items").await.body;
    assert_eq!(body["cap"], Value::Null);
}

#[tokio::test]
async fn malformed_body_faults_answer_200_with_non_json() {
    let h = Harness::start().await;
    h.control
        .post(
            "/faults",
            json!({"path": "/items", "times": 1, "action": {"malformedBody": true}}),
        )
        .await;
    let r = h.get("/api/items").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_string(), "the body is not JSON: {:?}", r.body);
}

#[tokio::test]
async fn reject_next_answers_429_with_reset_and_retry_after_headers() {
    let h = Harness::start().await;
    let r = h
        .control
        .post(
            "/rate-limit",
            json!({"rejectNext": 1, "resetInSecs": 7, "retryAfter": true}),
        )
        .await;
    assert_eq!(r.status, 204);
    let now = h.kit.now().timestamp();
    let limited = h.get("/api/items").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), "7");
    let reset: i64 = limited.header("x-ratelimit-reset").parse().unwrap();
    assert!((now + 6..=now + 8).contains(&reset));
    let body = &limited.body;
    assert_eq!(body["code"], 99429);
    let ok = h.get("/api/items").await;
    assert_eq!(ok.status, 200);
    assert!(ok.headers.contains_key("x-ratelimit-remaining"));
}

#[tokio::test]
async fn a_budget_per_key_refuses_calls_beyond_the_limit() {
    let h = Harness::start().await;
    h.control
        .post("/rate-limit", json!({"limit": 2, "windowSecs": 3600}))
        .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = h.get_as("/api/items", "k1").await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![200, 200, 429]);
    let other_key = h.get_as("/api/items", "k2").await;
    assert_eq!(other_key.status, 200, "budgets are per key");
    h.control.post("/rate-limit", json!({})).await;
    let restored = h.get_as("/api/items", "k1").await;
    assert_eq!(restored.status, 200);
}

#[tokio::test]
async fn the_clock_can_be_set_and_advanced() {
    let h = Harness::start().await;
    let set = h.control.set_clock("2030-05-01T00:00:00Z").await;
    assert!(set.starts_with("2030-05-01T00:00:0"), "{set}");
    h.control.advance_clock(86400).await;
    assert_eq!(h.kit.now().date_naive().to_string(), "2030-05-02");
    let bad = h.control.post("/clock", json!({"set": "yesterday"})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn reset_replaces_state_and_clears_faults_and_journal() {
    let h = Harness::start().await;
    h.post("/api/items").await;
    h.control
        .post(
            "/faults",
            json!({"path": "/items", "action": {"status": 500}}),
        )
        .await;
    let r = h.control.post("/reset", json!({"seed": 1})).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        h.items.resets.lock().unwrap().last().cloned().flatten(),
        Some(json!({"seed": 1}))
    );
    assert!(h.kit.faults().is_empty());
    assert!(h.kit.journal().is_empty());
    let state: Value = h.get("/__fake/state").await.body;
    assert_eq!(state["created"], 0);
    let refused = h.control.post("/reset", json!({"bad": true})).await;
    assert_eq!(refused.status, 400);
    let extra = h.get("/__fake/hello").await.text();
    assert_eq!(extra, "extra control route");
}

#[tokio::test]
async fn invalid_fault_rules_are_rejected() {
    let h = Harness::start().await;
    assert_eq!(
        h.control
            .post("/faults", json!({"path": "/x"}))
            .await
            .status,
        400
    );
    assert_eq!(
        h.control
            .post(
                "/faults",
                json!({"path": "/x", "rate": 2.0, "action": {"status": 500}})
            )
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn a_faulted_429_names_its_reset_and_every_answer_is_dated_by_the_fake_clock() {
    let h = Harness::start().await;
    h.control.set_clock("2030-05-01T00:00:00Z").await;
    h.control
        .fault("GET", "/items", 1, json!({"status": 429}))
        .await;
    let limited = h.get("/api/items").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-remaining"), "0");
    let reset: i64 = limited.header("x-ratelimit-reset").parse().unwrap();
    assert!(reset > h.kit.now().timestamp(), "the reset lies ahead");
    assert_eq!(limited.header("date"), "Wed, 01 May 2030 00:00:00 GMT");
    let ok = h.get("/api/items").await;
    assert!(
        ok.header("date").ends_with("2030 00:00:00 GMT"),
        "{}",
        ok.header("date")
    );
}

#[tokio::test]
async fn a_kit_that_asks_for_it_puts_retry_after_on_every_429() {
    let plain = Harness::with_kit(FakeKit::new("plain")).await;
    plain
        .control
        .fault("GET", "/items", 1, json!({"status": 429}))
        .await;
    let refused = plain.get("/api/items").await;
    assert_eq!(refused.header("retry-after"), "");
    assert_eq!(
        refused.header("x-ratelimit-reset"),
        "",
        "a kit without rate-limit headers (Webex) names no reset"
    );

    let h = Harness::with_kit(FakeKit::new("slack-like").with_retry_after_on_every_429()).await;
    h.control
        .fault("GET", "/items", 1, json!({"status": 429}))
        .await;
    let secs: i64 = h
        .get("/api/items")
        .await
        .header("retry-after")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    h.control
        .fault("GET", "/items", 1, json!({"status": 429, "retryAfter": 9}))
        .await;
    assert_eq!(h.get("/api/items").await.header("retry-after"), "9");
    h.control
        .rate_limit(json!({"rejectNext": 1, "resetInSecs": 4}))
        .await;
    assert_eq!(h.get("/api/items").await.header("retry-after"), "4");
}
