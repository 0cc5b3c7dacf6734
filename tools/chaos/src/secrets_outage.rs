//! Scenario 3: Secrets Manager throttled, then down, then back, under `byods-extender` with Webex rotating
//! its refresh token on every refresh, and under a `cls-webhook` instance with nothing cached receiving GitHub
//! deliveries (refused with 503 while it cannot read its secrets, accepted when GitHub redelivers them). moto cannot throttle, so a small proxy in front of it answers what
//! Secrets Manager answers when it throttles (`400 ThrottlingException`) or fails (`503`), per operation.
//! Invocations fail while it misbehaves and succeed once it is back; the rotated refresh token is never lost.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use demo::services::{byods, cls, cls_env, secret_names};
use devstack::Wiring;
use devstack::apigw::ApiGateway;
use devstack::lambda::{InvokeContext, typed_handler};
use fake_kit::RunningServer;
use lambda_kit::Invocation;
use serde_json::{Value, json};

use crate::cls_events::{apply_counts, count, deliver_to, event_count, plan};
use crate::harness::{Consumers, Harness, progress, to_u64};
use crate::report::ScenarioResult;

/// What the proxy does to a Secrets Manager operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `400 {"__type":"ThrottlingException"}`, as Secrets Manager throttles.
    Throttle,
    /// `503 ServiceUnavailable`.
    Down,
}

#[derive(Clone)]
struct Proxy {
    target: String,
    http: reqwest::Client,
    /// Faults by operation (`PutSecretValue`, …); `*` applies to every operation.
    faults: Arc<Mutex<BTreeMap<String, Fault>>>,
    refused: Arc<Mutex<u64>>,
}

/// A fault-injecting proxy in front of moto's Secrets Manager.
pub struct SecretsProxy {
    server: RunningServer,
    state: Proxy,
}

impl SecretsProxy {
    /// Starts the proxy on a free loopback port, forwarding to `target` (moto's endpoint).
    pub async fn start(target: &str) -> Result<Self> {
        let state = Proxy {
            target: target.trim_end_matches('/').to_owned(),
            http: lambda_kit::http::client_builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
            faults: Arc::default(),
            refused: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let server = fake_kit::serve(app, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
            .await
            .context("starting the Secrets Manager proxy")?;
        Ok(Self { server, state })
    }

    /// The endpoint to give the SDK.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// Sets (or with `None` clears) the fault of `operation` (`*` = all).
    pub fn set(&self, operation: &str, fault: Option<Fault>) {
        let mut faults = self
            .state
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match fault {
            Some(f) => faults.insert(operation.to_owned(), f),
            None => faults.remove(operation),
        };
    }

    /// Clears every fault.
    pub fn heal(&self) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Calls answered with a fault so far.
    pub fn refused(&self) -> u64 {
        *self
            .state
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    let fault = {
        let faults = proxy
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        faults.get(&operation).or_else(|| faults.get("*")).copied()
    };
    if let Some(fault) = fault {
        *proxy
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        let (status, kind, message) = match fault {
            Fault::Throttle => (
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Rate exceeded",
            ),
            Fault::Down => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Service unavailable",
            ),
        };
        return (
            status,
            [("content-type", "application/x-amz-json-1.1")],
            json!({"__type": kind, "message": message}).to_string(),
        )
            .into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, 10 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let url = format!(
        "{}{}",
        proxy.target,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            headers.insert(name.clone(), value.clone());
        }
    }
    let answer = proxy
        .http
        .request(parts.method.clone(), url)
        .headers(headers)
        .body(bytes)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_else(|_| Bytes::new());
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// GitHub deliveries sent while Secrets Manager is down, one `added` per collaborator.
const WEBHOOK_DELIVERIES: usize = 5;

/// Runs the scenario; `consumers` drain the queue at the end.
pub async fn outage(
    h: &mut Harness,
    consumers: Consumers,
    limit: Duration,
) -> Result<ScenarioResult> {
    let mut result = ScenarioResult::new("secrets");
    let proxy = SecretsProxy::start(&h.stack.moto.endpoint()).await?;
    h.stack
        .fakes
        .webex
        .update_settings(&json!({"rotation": true}))
        .map_err(|e| anyhow!("webex-fake settings: {e}"))?;
    // A fresh credential set whose integration token has expired: the first run must refresh it, and with
    // rotation on Webex revokes the old refresh token at once.
    devstack::aws::put_secret(
        &h.stack.secrets,
        secret_names::BYODS,
        &byods::secret("demo-int-refresh"),
    )
    .await?;
    let warm = byods_deps(h, &proxy).await?;

    // 1. Saving is throttled: the refresh happens at Webex, its save is refused.
    proxy.set("PutSecretValue", Some(Fault::Throttle));
    let throttled = run(h, &warm).await;
    // 2. Secrets Manager is down altogether: BYODS runs, and GitHub deliveries reach a `cls-webhook`
    //    instance that has nothing cached yet.
    proxy.set("*", Some(Fault::Down));
    let down = run(h, &warm).await;
    let plan = plan("sm", WEBHOOK_DELIVERIES, WEBHOOK_DELIVERIES);
    let (webhook_url, _api) = cold_webhook(h, &proxy).await?;
    let while_down = deliver_to(h, &webhook_url, &plan, 1, 4, 0).await?;
    let answered_503 = while_down.get(&503).copied().unwrap_or(0);
    result.detail("deliveries_answered_503_while_down", answered_503);
    result.check(answered_503 == to_u64(plan.len()), || {
        format!("with Secrets Manager down the webhook answered {while_down:?}, not 503 to each delivery")
    });
    progress(
        "secrets",
        &format!(
            "throttled: {}, down: {}",
            outcome(&throttled),
            outcome(&down)
        ),
    );
    result.detail("secrets_calls_refused", proxy.refused());
    let degraded_failed = u64::from(throttled.is_err()) + u64::from(down.is_err());
    result.detail("runs_while_degraded", 2);
    result.detail("runs_failed_while_degraded", degraded_failed);
    result.check(degraded_failed == 2, || {
        format!("a run reported success while Secrets Manager refused it: throttled {throttled:?}, down {down:?}")
    });

    // 3. Back: the same warm environment runs again, then a cold one (nothing in memory).
    proxy.heal();
    let recovered = run(h, &warm).await;
    let cold = byods_deps(h, &proxy).await?;
    let cold_run = run(h, &cold).await;
    progress(
        "secrets",
        &format!(
            "recovered: {}, cold start: {}",
            outcome(&recovered),
            outcome(&cold_run)
        ),
    );
    let recovered_ok = u64::from(recovered.is_ok()) + u64::from(cold_run.is_ok());
    result.detail("runs_after_recovery", 2);
    result.detail("runs_ok_after_recovery", recovered_ok);
    result.check(recovered_ok == 2, || {
        format!("runs after recovery: warm {recovered:?}, cold {cold_run:?}")
    });

    // GitHub redelivers the failed deliveries; the same instance now accepts them and cls-queue applies them.
    let redelivered = deliver_to(h, &webhook_url, &plan, 1, 4, 0).await?;
    let accepted_after = redelivered.get(&202).copied().unwrap_or(0);
    result.detail("redeliveries_accepted", accepted_after);
    result.check(accepted_after == to_u64(plan.len()), || {
        format!("after recovery the webhook answered {redelivered:?}")
    });
    let consumer = h.consumer(consumers.function_timeout)?;
    h.start_pollers(consumers, &consumer).await?;
    let drained = h.wait_drained(limit).await;
    h.stop_pollers_counting(&mut result).await;
    drained?;
    let dlq = h.dlq_bodies().await?;
    apply_counts(&mut result, &count(h, &plan, &dlq));

    // The rotated refresh token: stored, and still accepted by Webex.
    let webex = &h.stack.fakes.webex;
    let (stored, _) = devstack::aws::get_secret(&h.stack.secrets, secret_names::BYODS).await?;
    let token = stored["tokenManager"]["refreshToken"]
        .as_str()
        .unwrap_or_default();
    let rotated = token != "demo-int-refresh" && !token.is_empty();
    let accepted = webex.accepts_refresh_token(token);
    h.leaks.seed("webex refresh token", token);
    // One event per delivery, and the token rotation.
    let token_kept = u64::from(rotated && accepted);
    result.events_in = to_u64(event_count(&plan)) + 1;
    result.processed += token_kept;
    result.lost += 1 - token_kept;
    result.detail("refresh_token_rotated", u64::from(rotated));
    result.detail("refresh_token_accepted", u64::from(accepted));
    result.detail(
        "webex_refreshes",
        to_u64(webex.kit().calls("POST", "/access_token").len()),
    );
    Ok(result)
}

fn outcome(result: &Result<Value>) -> &'static str {
    if result.is_ok() { "ok" } else { "failed" }
}

/// A `cls-webhook` instance with nothing cached, built as the stack builds it (`Deps::new` through `demo`'s one
/// builder) but reaching Secrets Manager through the proxy, behind its own API Gateway emulator. Returns the
/// URL of its `POST /github/webhook` route and the server (stops when dropped).
async fn cold_webhook(h: &Harness, proxy: &SecretsProxy) -> Result<(String, RunningServer)> {
    let wiring = Wiring {
        moto_endpoint: proxy.endpoint(),
        ..h.stack.wiring()
    };
    let deps = Arc::new(cls::webhook_deps(&wiring, &cls_env(&wiring)).await?);
    let webhook = typed_handler(move |event: ApiGatewayV2httpRequest, ctx: InvokeContext| {
        let deps = Arc::clone(&deps);
        let invocation = Invocation::new(ctx.request_id);
        async move { cls_webhook::handle(event, &invocation, &deps).await }
    });
    let server = ApiGateway::new()
        .route(Method::POST, "/github/webhook", "cls-webhook", webhook)
        .serve(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
        .await
        .context("starting the API emulator of the cold cls-webhook")?;
    let url = format!("{}/github/webhook", server.base_url());
    Ok((url, server))
}

/// `byods-extender`'s dependencies as the stack builds them (`Deps::new` through `demo`'s one builder), but
/// with every AWS call going through the proxy instead of straight to moto.
async fn byods_deps(h: &Harness, proxy: &SecretsProxy) -> Result<byods_extender::Deps> {
    let stack = &h.stack;
    let wiring = Wiring {
        moto_endpoint: proxy.endpoint(),
        ..stack.wiring()
    };
    let env = byods::env(&wiring, secret_names::BYODS);
    byods::deps(&wiring, &env).await
}

async fn run(h: &Harness, deps: &byods_extender::Deps) -> Result<Value> {
    let invocation = Invocation::new(uuid::Uuid::new_v4().to_string());
    match byods_extender::handle(json!({}), &invocation, deps).await {
        Ok(summary) => {
            let summary = serde_json::to_value(summary)?;
            h.scan("response", &summary.to_string());
            Ok(summary)
        }
        Err(error) => {
            let text = error.to_string();
            h.scan("error", &text);
            Err(anyhow!("{text}"))
        }
    }
}
