//! The devstack server: mounting, aggregate state and reset, the invoke endpoint.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use devstack::Devstack;
use devstack::lambda::{Registry, json_handler};
use fake_kit::testing::{Control, send};
use fake_kit::{FakeKit, FakeState, fake_app};
use serde_json::{Value, json};

/// A tiny stand-in: `POST /items` appends the body; its state holds the items and a token.
struct Items {
    items: Mutex<Vec<Value>>,
}

impl FakeState for Items {
    fn state_json(&self) -> Value {
        json!({"items": *self.items.lock().unwrap(), "botToken": "xoxb-not-redacted-by-this-fake"})
    }

    fn reset(&self, _seed: Option<Value>) -> Result<(), String> {
        self.items.lock().unwrap().clear();
        Ok(())
    }
}

fn items_fake(name: &str) -> (Router, Arc<Items>) {
    let state = Arc::new(Items {
        items: Mutex::new(Vec::new()),
    });
    let for_route = Arc::clone(&state);
    let api = Router::new().route(
        "/items",
        post(move |body: String| {
            let state = Arc::clone(&for_route);
            async move {
                state.items.lock().unwrap().push(json!(body));
                "ok"
            }
        }),
    );
    let kit = FakeKit::new(name);
    let shared: Arc<dyn FakeState> = Arc::clone(&state) as Arc<dyn FakeState>;
    (fake_app(kit, api, shared, Router::new()), state)
}

async fn devstack(registry: Registry) -> Devstack {
    let (spoke, _) = items_fake("spoke");
    let (slack, _) = items_fake("slack");
    Devstack::builder()
        .mount("spoke", spoke)
        .mount("slack", slack)
        .registry(registry)
        .serve_on_port(0)
        .await
        .unwrap()
}

#[tokio::test]
async fn routes_each_prefix_to_its_fake_and_aggregates_their_state_with_secrets_redacted() {
    let stack = devstack(Registry::new()).await;
    let client = lambda_kit::http::default_client();

    let posted = send(
        client
            .post(format!("{}/items", stack.fake_url("spoke")))
            .body("team-1"),
    )
    .await;
    assert_eq!(posted.status, 200);
    let state = send(client.get(format!("{}/state", stack.admin_url())))
        .await
        .body;

    assert_eq!(state["spoke"]["items"], json!(["team-1"]));
    assert_eq!(state["slack"]["items"], json!([]));
    assert_eq!(state["spoke"]["botToken"], "[REDACTED]");
    assert_eq!(
        state.as_object().unwrap().len(),
        2,
        "keyed by fake name only"
    );
    let journal = Control::new(&stack.fake_url("spoke")).journal().await;
    assert_eq!(journal[0]["path"], "/items", "the fake sees its own paths");
}

#[tokio::test]
async fn reset_clears_every_fake() {
    let stack = devstack(Registry::new()).await;
    let client = lambda_kit::http::default_client();
    for fake in ["spoke", "slack"] {
        client
            .post(format!("{}/items", stack.fake_url(fake)))
            .body("x")
            .send()
            .await
            .unwrap();
    }

    let reset = client
        .post(format!("{}/reset", stack.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);

    let state = send(client.get(format!("{}/state", stack.admin_url())))
        .await
        .body;
    assert_eq!(state["spoke"]["items"], json!([]));
    assert_eq!(state["slack"]["items"], json!([]));
}

#[tokio::test]
async fn invokes_a_registered_function_and_reports_function_errors() {
    let registry = Registry::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in = Arc::clone(&seen);
    registry.register(
        "echo",
        json_handler(move |event, ctx| {
            let seen = Arc::clone(&seen_in);
            async move {
                seen.lock().unwrap().push(ctx.function_name.clone());
                Ok(json!({"got": event}))
            }
        }),
    );
    registry.register(
        "broken",
        json_handler(|_, _| async { Err("it broke".to_owned()) }),
    );
    let stack = devstack(registry).await;
    let client = lambda_kit::http::default_client();
    let invoke = |name: &str| format!("{}/invoke/{name}", stack.admin_url());

    let ok = send(client.post(invoke("echo")).body("{\"a\":1}")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, json!({"got": {"a": 1}}));
    assert_eq!(*seen.lock().unwrap(), ["echo"]);

    let failed = send(client.post(invoke("broken")).body("{}")).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.body["errorMessage"], "it broke");

    let unknown = send(client.post(invoke("nope")).body("{}")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["functions"], json!(["broken", "echo"]));

    let not_json = send(client.post(invoke("echo")).body("{")).await;
    assert_eq!(not_json.status, 400);
}

#[tokio::test]
async fn refuses_to_bind_a_non_loopback_address() {
    let result = Devstack::builder()
        .serve("0.0.0.0:0".parse().unwrap())
        .await;

    assert!(result.is_err());
}
