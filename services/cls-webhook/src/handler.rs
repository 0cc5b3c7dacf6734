//! `POST /github/webhook` (cls.md §4) and the route table. Every outcome is an HTTP answer: a handler
//! error would reach GitHub as a bare 502, so `handle` never fails.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use cls_core::envelope::{MAX_MESSAGE_BYTES, MemberEventMsg, RepositoryRef, SenderRef};
use cls_core::settings::GithubSettings;
use cls_core::{AccountRef, Alert, Envelope, MemberAction, OrgRef};
use github_app::webhook::{DELIVERY_HEADER, EVENT_HEADER, TARGET_ID_HEADER};
use github_app::{MemberEvent, PingEvent, SignatureError, verify_webhook_signature};
use lambda_http::http::{HeaderMap, HeaderValue, Method, header};
use secrecy::SecretString;
use secrets::SecretStoreExt;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::deps::{Deps, OutgoingMessage};

/// The GitHub route.
pub const GITHUB_ROUTE: &str = "/github/webhook";
/// The Slack interactions route (answered 501 until the interactions issue lands).
pub const SLACK_ROUTE: &str = "/slack/interactions";
/// This function's name in alerts.
pub const COMPONENT: &str = "cls-webhook";

/// An HTTP answer before it is turned into the API Gateway shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Small JSON body.
    pub body: Value,
}

impl Reply {
    fn new(status: u16, body: Value) -> Self {
        Self { status, body }
    }

    fn error(status: u16, reason: &str) -> Self {
        Self::new(status, json!({"status": "rejected", "reason": reason}))
    }

    fn ignored(reason: &str) -> Self {
        Self::new(200, json!({"status": "ignored", "reason": reason}))
    }

    /// The API Gateway v2 response.
    pub fn into_response(self) -> ApiGatewayV2httpResponse {
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = i64::from(self.status);
        response.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response.body = Some(Body::Text(self.body.to_string()));
        response
    }
}

/// Handles one API Gateway HTTP API (payload 2.0) event. Never fails.
pub async fn handle(event: ApiGatewayV2httpRequest, deps: &Deps) -> ApiGatewayV2httpResponse {
    let request_id = event.request_context.request_id.clone().unwrap_or_default();
    let span = lambda_kit::invocation_span(&request_id);
    let reply = route(event, deps).instrument(span.clone()).await;
    span.in_scope(|| tracing::info!(http_status = reply.status, "answered"));
    reply.into_response()
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
    if route == SLACK_ROUTE {
        // Slack interactions belong to the next CLS issue; answer honestly instead of pretending success.
        return Reply::error(501, "not_implemented");
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
    github(&event.headers, &body, deps).await
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

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A delivery id usable as `MessageDeduplicationId`: 1–128 characters of `[A-Za-z0-9]` and punctuation.
fn valid_delivery_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

async fn github(headers: &HeaderMap, body: &[u8], deps: &Deps) -> Reply {
    let signature = header_str(headers, github_app::signature::SIGNATURE_HEADER);
    // Rule 3: header missing or not `sha256=` + 64 hex — decided before any secret is read.
    if let Err(SignatureError::Missing | SignatureError::Malformed) =
        verify_webhook_signature(&[], signature, b"")
    {
        deps.count("WebhookRejected", &[("reason", "bad_signature_header")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "bad_signature_header",
            "webhook refused"
        );
        return Reply::error(401, "bad_signature");
    }
    let settings: GithubSettings = match deps.secrets.get_json(&deps.config.github_secret_id).await
    {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(error = %error, error_class = "Retryable", upstream = "secretsmanager", "GitHub secret unavailable");
            deps.count("WebhookRejected", &[("reason", "secrets_unavailable")]);
            return Reply::error(503, "secrets_unavailable");
        }
    };
    // Rule 4: the App named by X-GitHub-Hook-Installation-Target-ID, else every configured secret.
    let target: Option<u64> = header_str(headers, TARGET_ID_HEADER).and_then(|v| v.parse().ok());
    let targeted: Vec<SecretString> = settings
        .orgs
        .iter()
        .filter(|o| Some(o.app_id) == target)
        .flat_map(|o| o.webhook_secrets.iter().cloned())
        .collect();
    let candidates: Vec<SecretString> = if targeted.is_empty() {
        settings
            .orgs
            .iter()
            .flat_map(|o| o.webhook_secrets.iter().cloned())
            .collect()
    } else {
        targeted
    };
    if verify_webhook_signature(&candidates, signature, body).is_err() {
        deps.count("WebhookRejected", &[("reason", "bad_signature")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "bad_signature",
            "webhook refused"
        );
        return Reply::error(401, "bad_signature");
    }
    // Rule 5.
    let (Some(event_name), Some(delivery_id)) = (
        header_str(headers, EVENT_HEADER),
        header_str(headers, DELIVERY_HEADER),
    ) else {
        tracing::warn!(
            outcome = "rejected",
            reason = "missing_headers",
            "webhook without event or delivery header"
        );
        return Reply::error(400, "missing_event_or_delivery_header");
    };
    if !valid_delivery_id(delivery_id) {
        return Reply::error(400, "bad_delivery_header");
    }
    let span = tracing::info_span!("delivery", delivery_id = %delivery_id, event = %event_name);
    deliver(event_name, delivery_id, body, &settings, deps)
        .instrument(span)
        .await
}

async fn deliver(
    event_name: &str,
    delivery_id: &str,
    body: &[u8],
    settings: &GithubSettings,
    deps: &Deps,
) -> Reply {
    // Rule 6.
    if event_name == "ping" {
        let ping: PingEvent = serde_json::from_slice(body).unwrap_or_default();
        tracing::info!(hook_id = ?ping.hook_id, app_id = ?ping.app_id(), outcome = "ignored", "ping");
        deps.count("WebhookReceived", &[("event", "ping")]);
        return Reply::ignored("ping");
    }
    // Rule 7.
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        deps.count("WebhookRejected", &[("reason", "malformed_json")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "malformed_json",
            "body is not JSON"
        );
        return Reply::error(400, "malformed_json");
    };
    // Rule 8.
    if event_name != "member" {
        deps.count("WebhookReceived", &[("event", "other")]);
        tracing::info!(outcome = "ignored", reason = "event", "event not handled");
        return Reply::ignored("event");
    }
    let Ok(member_event) = serde_json::from_value::<MemberEvent>(value) else {
        deps.count("WebhookRejected", &[("reason", "malformed_payload")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "malformed_payload",
            "member payload has the wrong shape"
        );
        return Reply::error(400, "malformed_payload");
    };
    // Rule 9.
    let Some(action) = MemberAction::parse(&member_event.action) else {
        deps.count(
            "WebhookReceived",
            &[("event", "member"), ("action", "other")],
        );
        tracing::info!(
            outcome = "ignored",
            reason = "action",
            "member action not handled"
        );
        return Reply::ignored("action");
    };
    deps.count(
        "WebhookReceived",
        &[("event", "member"), ("action", action.as_str())],
    );
    // Rule 10.
    let Some(envelope) = trim(&member_event, action, delivery_id, deps) else {
        deps.count("WebhookRejected", &[("reason", "missing_fields")]);
        tracing::info!(
            outcome = "ignored",
            reason = "missing_fields",
            "no organisation or required ids"
        );
        return Reply::ignored("missing_fields");
    };
    // Rule 11.
    let Some(org) = settings.org(&envelope.org.login) else {
        deps.count("UnknownOrg", &[]);
        tracing::warn!(org = %envelope.org.login, outcome = "ignored", reason = "unknown_org", "organisation not configured");
        return Reply::ignored("unknown_org");
    };
    if let cls_core::Payload::MemberEvent(m) = &envelope.payload
        && m.installation_id
            .is_some_and(|id| id != org.installation_id)
    {
        tracing::warn!(org = %org.org, "installation id differs from the configured one; the configured one is used");
    }
    // Rule 12.
    let message = OutgoingMessage {
        group_id: envelope.group_id(),
        dedup_id: envelope.dedup_id(),
        body: envelope.to_json(),
    };
    if message.body.len() > MAX_MESSAGE_BYTES {
        tracing::error!(
            outcome = "rejected",
            reason = "envelope_too_large",
            "trimmed envelope over 256 KiB"
        );
        let alert = Alert::new(
            &deps.config.stage,
            COMPONENT,
            "EnvelopeTooLarge",
            "trimmed envelope over 256 KiB",
        )
        .subject(&envelope.org.login, &envelope.collaborator.login)
        .key(delivery_id)
        .class("Permanent");
        deps.alerts.alert(&alert).await;
        return Reply::error(413, "envelope_too_large");
    }
    match deps.queue.send(&message).await {
        Ok(()) => {
            deps.count("Enqueued", &[("kind", "member_event")]);
            tracing::info!(outcome = "queued", group_id = %message.group_id, "enqueued");
            Reply::new(202, json!({"status": "queued", "delivery": delivery_id}))
        }
        Err(error) => {
            // Rule 13: GitHub shows a failed delivery that can be redelivered (`cls-admin redeliver`).
            deps.count("EnqueueFailed", &[]);
            tracing::error!(outcome = "enqueue_failed", error = %error, error_class = "Retryable", upstream = "sqs", "enqueue failed");
            let alert = Alert::new(
                &deps.config.stage,
                COMPONENT,
                "EnqueueFailed",
                format!("{error}; GitHub shows the delivery as failed: redeliver it"),
            )
            .subject(&envelope.org.login, &envelope.collaborator.login)
            .key(delivery_id)
            .class("Retryable");
            deps.alerts.alert(&alert).await;
            Reply::error(503, "enqueue_failed")
        }
    }
}

/// The §3.2 envelope, or `None` when the organisation or a required id is missing.
fn trim(
    event: &MemberEvent,
    action: MemberAction,
    delivery_id: &str,
    deps: &Deps,
) -> Option<Envelope> {
    let org = event.organization.as_ref()?;
    let member = event.member.as_ref()?;
    let repo = event.repository.as_ref()?;
    let org = OrgRef {
        id: org.id?,
        login: org.login.clone().filter(|l| !l.is_empty())?,
    };
    let collaborator = AccountRef {
        id: member.id?,
        login: member.login.clone().filter(|l| !l.is_empty())?,
    };
    let repository = RepositoryRef {
        id: repo.id?,
        full_name: repo.full_name.clone().filter(|n| !n.is_empty())?,
        private: repo.private,
    };
    let sender = event.sender.as_ref().and_then(|s| {
        Some(SenderRef {
            id: s.id?,
            login: s.login.clone()?,
            kind: s.kind.clone(),
        })
    });
    let msg = MemberEventMsg {
        delivery_id: delivery_id.to_owned(),
        event: "member".into(),
        action,
        installation_id: event.installation.as_ref().and_then(|i| i.id),
        repository,
        sender,
        permission: event.permission().map(str::to_owned),
        role_name: event.role_name().map(str::to_owned),
        previous_permission: event.previous_permission().map(str::to_owned),
        member_email: member.email.clone().filter(|e| !e.is_empty()),
    };
    Some(Envelope::member_event(
        deps.clock.now(),
        org,
        collaborator,
        msg,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_must_fit_a_deduplication_id() {
        assert!(valid_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!valid_delivery_id(""));
        assert!(!valid_delivery_id("a b"));
        assert!(!valid_delivery_id(&"x".repeat(129)));
    }

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
