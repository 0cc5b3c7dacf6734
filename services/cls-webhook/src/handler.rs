//! The route table, the raw body and the reply shape shared by both routes. Every outcome is an HTTP
//! answer: a handler error would reach GitHub or Slack as a bare 502, so `handle` never fails.

use std::convert::Infallible;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use cls_core::Alert;
use cls_core::settings::WebhookSettings;
use cls_wiring::{SettingsLoadError, load_webhook_settings};
use lambda_http::http::{HeaderMap, HeaderValue, Method, header};
use lambda_kit::Invocation;
use serde_json::{Value, json};

use crate::deps::Deps;

/// The GitHub route.
pub const GITHUB_ROUTE: &str = "/github/webhook";
/// The Slack interactions route.
pub const SLACK_ROUTE: &str = "/slack/interactions";
/// This function's name in alerts.
pub const COMPONENT: &str = "cls-webhook";

/// An HTTP answer before it is turned into the API Gateway shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Small JSON body; `None` answers with an empty body (what Slack expects of an acknowledgement).
    pub body: Option<Value>,
}

impl Reply {
    pub(crate) fn new(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self { status, body: None }
    }

    pub(crate) fn error(status: u16, reason: &str) -> Self {
        Self::new(status, json!({"status": "rejected", "reason": reason}))
    }

    pub(crate) fn ignored(reason: &str) -> Self {
        Self::new(200, json!({"status": "ignored", "reason": reason}))
    }

    /// The API Gateway v2 response.
    pub fn into_response(self) -> ApiGatewayV2httpResponse {
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = i64::from(self.status);
        if let Some(body) = self.body {
            response.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response.body = Some(Body::Text(body.to_string()));
        }
        response
    }
}

/// Handles one API Gateway HTTP API (payload 2.0) event. Never fails: every outcome is an HTTP answer. The
/// invocation's span (request id, cold start) is entered by `lambda_kit::serve`; the webhook's work is a few
/// short calls, so it does not consult the deadline.
pub async fn handle(
    event: ApiGatewayV2httpRequest,
    _invocation: &Invocation,
    deps: &Deps,
) -> Result<ApiGatewayV2httpResponse, Infallible> {
    let apigw_request_id = event.request_context.request_id.clone().unwrap_or_default();
    let reply = route(event, deps).await;
    tracing::info!(http_status = reply.status, apigw_request_id = %apigw_request_id, "answered");
    Ok(reply.into_response())
}

async fn route(event: ApiGatewayV2httpRequest, deps: &Deps) -> Reply {
    let method = event.request_context.http.method.clone();
    let path = request_path(&event);
    let route = match path.as_str() {
        GITHUB_ROUTE | SLACK_ROUTE => path.as_str(),
        _ => return Reply::error(404, "unknown_route"),
    };
    if method != Method::POST {
        return Reply::error(405, "method_not_allowed");
    }
    let body = match raw_body(&event, deps.config.max_body_bytes) {
        Ok(body) => body,
        Err(reply) => {
            if reply.status == 413 {
                deps.count("WebhookRejected", &[("reason", "too_large")]);
            }
            return reply;
        }
    };
    if route == SLACK_ROUTE {
        crate::slack::interaction(&event.headers, &body, deps).await
    } else {
        crate::github::delivery(&event.headers, &body, deps).await
    }
}

/// The webhook's settings, re-read through the secret cache on every request (so a rotated secret or a new
/// org is picked up within `CLS_SECRETS_TTL_SECONDS`). `Err` is the 503 to answer.
pub(crate) async fn webhook_settings(deps: &Deps) -> Result<WebhookSettings, Reply> {
    let ids = &deps.config.cls.secrets;
    match load_webhook_settings(deps.secrets.as_ref(), &ids.webhook, &ids.github, &ids.slack).await
    {
        Ok(settings) => Ok(settings),
        Err(error) => {
            let class = lambda_kit::Classify::class(&error);
            let cause = std::error::Error::source(&error).map(ToString::to_string);
            tracing::error!(error = %error, cause = cause.as_deref().unwrap_or(""), error_class = ?class, upstream = "secretsmanager", "webhook settings unavailable");
            deps.count("WebhookRejected", &[("reason", "secrets_unavailable")]);
            if !error.is_transient() {
                // A missing or invalid secret does not heal by itself: tell IT (once per 10 minutes).
                let kind = match error {
                    SettingsLoadError::Invalid(_) => "SecretInvalid",
                    _ => "SecretUnavailable",
                };
                let alert = Alert::new(
                    &deps.config.cls.stage,
                    COMPONENT,
                    kind,
                    format!("{error}: {}", cause.as_deref().unwrap_or("")),
                )
                .class("Permanent");
                deps.alerts.alert(&alert).await;
            }
            Err(Reply::error(503, "secrets_unavailable"))
        }
    }
}

/// The route path without a non-default stage prefix.
fn request_path(event: &ApiGatewayV2httpRequest) -> String {
    let raw = event
        .raw_path
        .clone()
        .or_else(|| event.request_context.http.path.clone())
        .unwrap_or_default();
    match event.request_context.stage.as_deref() {
        Some(stage) if stage != "$default" && !stage.is_empty() => raw
            .strip_prefix(&format!("/{stage}"))
            .filter(|p| p.starts_with('/'))
            .map_or(raw.clone(), str::to_owned),
        _ => raw,
    }
}

/// The exact bytes GitHub sent: base64-decoded when API Gateway says so. The size cap is applied before
/// decoding (on the encoded length) and after it, so nothing large is ever hashed.
fn raw_body(event: &ApiGatewayV2httpRequest, cap: usize) -> Result<Vec<u8>, Reply> {
    let text = event.body.as_deref().unwrap_or("");
    if event.is_base64_encoded {
        if text.len() > cap.saturating_mul(4) / 3 + 4 {
            return Err(Reply::error(413, "too_large"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| Reply::error(400, "bad_base64"))?;
        if bytes.len() > cap {
            return Err(Reply::error(413, "too_large"));
        }
        Ok(bytes)
    } else if text.len() > cap {
        Err(Reply::error(413, "too_large"))
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// What a route enqueues and how an enqueue failure is reported.
pub(crate) struct Enqueue<'a> {
    /// The envelope kind, the `Enqueued{kind}` dimension.
    pub(crate) kind: &'static str,
    /// Org and collaborator logins for the alert.
    pub(crate) subject: (&'a str, &'a str),
    /// The delivery or ticket id the alert names.
    pub(crate) key: &'a str,
    /// The log line of a success (`enqueued`, `click enqueued`).
    pub(crate) queued: &'static str,
    /// What the failure means for the sender, appended to the error in the alert.
    pub(crate) consequence: &'static str,
}

/// Sends `message`; on success counts `Enqueued{kind}` and answers `ok`, on failure counts `EnqueueFailed`,
/// alerts IT once and answers 503 (the sender shows a failed delivery or click).
pub(crate) async fn enqueue(
    deps: &Deps,
    message: &crate::deps::OutgoingMessage,
    what: Enqueue<'_>,
    ok: Reply,
) -> Reply {
    match deps.queue.send(message).await {
        Ok(()) => {
            deps.count("Enqueued", &[("kind", what.kind)]);
            tracing::info!(outcome = "queued", kind = what.kind, key = what.key, group_id = %message.group_id, "{}", what.queued);
            ok
        }
        Err(error) => {
            deps.count("EnqueueFailed", &[]);
            tracing::error!(outcome = "enqueue_failed", error = %error, error_class = "Retryable", upstream = "sqs", "enqueue failed");
            let alert = Alert::new(
                &deps.config.cls.stage,
                COMPONENT,
                "EnqueueFailed",
                format!("{error}; {}", what.consequence),
            )
            .subject(what.subject.0, what.subject.1)
            .key(what.key)
            .class("Retryable");
            deps.alerts.alert(&alert).await;
            Reply::error(503, "enqueue_failed")
        }
    }
}

/// A header's trimmed value, `None` when absent, blank or not text.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_prefix_is_stripped_from_the_path() {
        let mut event = ApiGatewayV2httpRequest::default();
        event.raw_path = Some("/prod/github/webhook".into());
        event.request_context.stage = Some("prod".into());
        assert_eq!(request_path(&event), GITHUB_ROUTE);
        event.request_context.stage = Some("$default".into());
        event.raw_path = Some("/github/webhook".into());
        assert_eq!(request_path(&event), GITHUB_ROUTE);
    }
}
