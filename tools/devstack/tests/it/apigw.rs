//! The API Gateway v2 emulator over real HTTP.

use std::sync::{Arc, Mutex};

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use axum::http::Method;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use devstack::apigw::ApiGateway;
use devstack::lambda::{JsonHandler, json_handler};
use fake_kit::RunningServer;
use fake_kit::testing::{Reply, send};
use serde_json::{Value, json};

fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

fn capturing(captured: &Arc<Mutex<Vec<Value>>>, response: Value) -> JsonHandler {
    let captured = Arc::clone(captured);
    json_handler(move |event, _| {
        let captured = Arc::clone(&captured);
        let response = response.clone();
        async move {
            captured.lock().unwrap().push(event);
            Ok(response)
        }
    })
}

async fn serve(api: ApiGateway) -> RunningServer {
    api.with_clock(Arc::new(fixed_time))
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The emulator with only `POST /github/webhook` → `handler`.
async fn serve_webhook(handler: JsonHandler) -> RunningServer {
    serve(ApiGateway::new().route(Method::POST, "/github/webhook", "f", handler)).await
}

/// POSTs `{}` to the emulator's `/github/webhook`.
async fn post_webhook(server: &RunningServer) -> Reply {
    send(
        lambda_kit::http::default_client()
            .post(format!("{}/github/webhook", server.base_url()))
            .body("{}"),
    )
    .await
}

#[tokio::test]
async fn turns_a_request_into_a_v2_event_and_the_response_back_into_http() {
    let captured = Arc::default();
    let handler = capturing(
        &captured,
        json!({"statusCode": 202, "headers": {"x-delivery": "d-1"}, "body": "{\"queued\":true}"}),
    );
    let server =
        serve(ApiGateway::new().route(Method::POST, "/github/webhook", "cls-webhook", handler))
            .await;
    let raw = "{\"action\":\"added\",  \"zen\": \"keep it raw\"}";

    let response = lambda_kit::http::default_client()
        .post(format!("{}/github/webhook?x=1&y=a%20b", server.base_url()))
        .header("X-GitHub-Event", "member")
        .header("X-Hub-Signature-256", "sha256=00")
        .header("Content-Type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-delivery"], "d-1");
    assert_eq!(response.text().await.unwrap(), "{\"queued\":true}");
    let event = captured.lock().unwrap()[0].clone();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /github/webhook");
    assert_eq!(event["rawPath"], "/github/webhook");
    assert_eq!(event["rawQueryString"], "x=1&y=a%20b");
    assert_eq!(event["queryStringParameters"]["y"], "a b");
    assert_eq!(event["headers"]["x-github-event"], "member");
    assert_eq!(event["headers"]["x-hub-signature-256"], "sha256=00");
    assert_eq!(event["body"], raw, "the body is passed byte for byte");
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_eq!(
        event["requestContext"]["time"],
        "02/Jan/2026:03:04:05 +0000"
    );
    assert_eq!(event["requestContext"]["timeEpoch"], 1_767_323_045_000_i64);
    assert!(
        event["requestContext"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    let typed: ApiGatewayV2httpRequest = serde_json::from_value(event).unwrap();
    assert_eq!(typed.body.as_deref(), Some(raw));
    assert_eq!(typed.headers["x-github-event"], "member");
    assert_eq!(typed.request_context.http.method, Method::POST);
}

#[tokio::test]
async fn passes_a_form_body_as_text_and_a_binary_body_as_base64() {
    let captured: Arc<Mutex<Vec<Value>>> = Arc::default();
    let handler = capturing(&captured, json!({"statusCode": 200}));
    let server =
        serve(ApiGateway::new().route(Method::POST, "/slack/interactions", "cls-webhook", handler))
            .await;
    let client = lambda_kit::http::default_client();
    let url = format!("{}/slack/interactions", server.base_url());

    client
        .post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("payload=%7B%22type%22%3A%22block_actions%22%7D")
        .send()
        .await
        .unwrap();
    let binary = vec![0_u8, 159, 146, 150, 255];
    client
        .post(&url)
        .header("Content-Type", "application/octet-stream")
        .body(binary.clone())
        .send()
        .await
        .unwrap();

    let events = captured.lock().unwrap().clone();
    assert_eq!(
        events[0]["body"],
        "payload=%7B%22type%22%3A%22block_actions%22%7D"
    );
    assert_eq!(events[0]["isBase64Encoded"], false);
    assert_eq!(events[1]["isBase64Encoded"], true);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(events[1]["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, binary);
}

#[tokio::test]
async fn sends_a_response_without_status_code_as_a_200_json_body() {
    let captured = Arc::default();
    let server = serve_webhook(capturing(&captured, json!({"ok": true}))).await;

    let response = post_webhook(&server).await;

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), "application/json");
    assert_eq!(response.body, json!({"ok": true}));
}

#[tokio::test]
async fn answers_502_when_the_function_fails() {
    let server = serve_webhook(json_handler(|_, _| async { Err("boom".to_owned()) })).await;

    let response = post_webhook(&server).await;

    assert_eq!(response.status, 502);
    assert_eq!(response.body, json!({"message": "Internal Server Error"}));
}

#[tokio::test]
async fn answers_404_for_a_route_that_is_not_configured() {
    let captured: Arc<Mutex<Vec<Value>>> = Arc::default();
    let server = serve_webhook(capturing(&captured, json!({}))).await;
    let client = lambda_kit::http::default_client();

    let wrong_path = client
        .post(format!("{}/github/other", server.base_url()))
        .send()
        .await
        .unwrap();
    let wrong_method = client
        .get(format!("{}/github/webhook", server.base_url()))
        .send()
        .await
        .unwrap();

    assert_eq!(wrong_path.status(), 404);
    assert_eq!(wrong_method.status(), 404);
    assert!(captured.lock().unwrap().is_empty());
}
