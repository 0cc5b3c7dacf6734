//! `POST /slack/interactions` (statuses as in the README): the Slack signature and timestamp are
//! checked on the raw body before anything is parsed; a click on a reminder button becomes one `slack_action`
//! message on the FIFO queue and Slack gets 200 with an empty body at once. Whether the clicker may extend is
//! decided later by `cls-queue`; this function has no Spoke, GitHub or Slack Web API client.

use cls_core::button::{ButtonAction, ButtonValue};
use cls_core::envelope::{SlackActionMsg, slack_dedup_id};
use cls_core::{Envelope, Payload};
use lambda_http::http::HeaderMap;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use slack_notify::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use slack_notify::{SignatureError, SignatureVerifier};

use crate::deps::{Deps, OutgoingMessage};
use crate::handler::{Reply, header_str, webhook_settings};

/// The `block_actions` fields CLS reads (Slack's interaction payload; unknown fields ignored).
#[derive(Debug, Deserialize)]
struct BlockActions {
    user: SlackUser,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    message: Option<MessageRef>,
    #[serde(default)]
    channel: Option<ChannelRef>,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default)]
    response_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SlackUser {
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessageRef {
    #[serde(default)]
    ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChannelRef {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Action {
    #[serde(default)]
    action_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    action_ts: Option<String>,
}

/// Verifies `v0:{ts}:{body}` against every configured signing secret (any may match) and the timestamp
/// against the injected clock (±300 s).
fn verify(
    secrets: &[SecretString],
    headers: &HeaderMap,
    body: &[u8],
    deps: &Deps,
) -> Result<(), SignatureError> {
    let timestamp = header_str(headers, TIMESTAMP_HEADER);
    let signature = header_str(headers, SIGNATURE_HEADER);
    let mut first_error = SignatureError::Mismatch;
    // `SignatureVerifier` holds a current and a previous secret; more are checked pair by pair.
    for (i, pair) in secrets.chunks(2).enumerate() {
        let verifier = SignatureVerifier::new(pair[0].clone(), pair.get(1).cloned())
            .with_max_body_bytes(deps.config.max_body_bytes);
        match verifier.verify(timestamp, signature, body, deps.clock.as_ref()) {
            Ok(()) => return Ok(()),
            Err(e) if i == 0 => first_error = e,
            Err(_) => {}
        }
    }
    Err(first_error)
}

/// The `payload` form field of an `application/x-www-form-urlencoded` body.
fn payload_field(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
}

/// A click this function turns into a message, or why it is ignored.
enum Click {
    Enqueue(Box<OutgoingMessage>, Box<ButtonValue>),
    Ignore(&'static str),
    Malformed(&'static str),
}

/// Decides what to do with a verified interaction payload (pure: the click time comes from `deps.clock`).
fn decide(payload: &Value, deps: &Deps) -> Click {
    if payload.get("type").and_then(Value::as_str) != Some("block_actions") {
        return Click::Ignore("interaction_type");
    }
    let Ok(click) = BlockActions::deserialize(payload) else {
        return Click::Malformed("block_actions_shape");
    };
    let Some((action, button)) = click.actions.iter().find_map(|a| {
        a.action_id
            .as_deref()
            .and_then(ButtonAction::from_action_id)
            .map(|kind| (kind, a))
    }) else {
        return Click::Ignore("action");
    };
    let Some(Ok(value)) = button.value.as_deref().map(ButtonValue::decode) else {
        return Click::Ignore("button_value");
    };
    let message_ts = click
        .container
        .as_ref()
        .and_then(|c| c.message_ts.clone())
        .or_else(|| click.message.as_ref().and_then(|m| m.ts.clone()))
        .filter(|ts| !ts.is_empty());
    let channel_id = click
        .channel
        .as_ref()
        .and_then(|c| c.id.clone())
        .or_else(|| click.container.as_ref().and_then(|c| c.channel_id.clone()))
        .filter(|c| !c.is_empty());
    let action_ts = button.action_ts.clone().filter(|ts| !ts.is_empty());
    let response_url = click.response_url.clone().filter(|u| !u.is_empty());
    let (Some(message_ts), Some(channel_id), Some(action_ts), Some(response_url)) =
        (message_ts, channel_id, action_ts, response_url)
    else {
        return Click::Malformed("missing_click_fields");
    };
    if click.user.id.trim().is_empty() {
        return Click::Malformed("missing_click_fields");
    }
    let dedup_id = slack_dedup_id(&click.user.id, &message_ts, &action_ts);
    let envelope = Envelope {
        enqueued_at: deps.clock.now(),
        org: value.org(),
        collaborator: value.collaborator(),
        payload: Payload::SlackAction(SlackActionMsg {
            action: action.as_str().to_owned(),
            ticket_id: value.ticket_id.clone(),
            expected_expiry: value.expires_on,
            slack_user_id: click.user.id.clone(),
            slack_user_name: click.user.username.clone().or(click.user.name.clone()),
            channel_id,
            message_ts,
            response_url,
        }),
    };
    let message = OutgoingMessage {
        group_id: envelope.group_id(),
        dedup_id,
        body: envelope.to_json(),
    };
    Click::Enqueue(Box::new(message), Box::new(value))
}

/// Handles a Slack interaction whose raw body is within the size cap.
pub(crate) async fn interaction(headers: &HeaderMap, body: &[u8], deps: &Deps) -> Reply {
    let settings = match webhook_settings(deps).await {
        Ok(settings) => settings,
        Err(reply) => return reply,
    };
    if settings.slack_signing_secrets.is_empty() {
        deps.count("WebhookRejected", &[("reason", "slack_no_signing_secret")]);
        tracing::error!(
            outcome = "rejected",
            reason = "slack_no_signing_secret",
            "no Slack signing secret configured"
        );
        return Reply::error(401, "bad_signature");
    }
    if let Err(error) = verify(&settings.slack_signing_secrets, headers, body, deps) {
        let reason = error.reason();
        deps.count("WebhookRejected", &[("reason", reason)]);
        tracing::warn!(outcome = "rejected", reason = %reason, "Slack interaction refused");
        return Reply::error(401, "bad_signature");
    }
    deps.count("WebhookReceived", &[("event", "slack_interaction")]);
    let Some(Ok(payload)) = payload_field(body).map(|p| serde_json::from_str::<Value>(&p)) else {
        deps.count("WebhookRejected", &[("reason", "slack_bad_payload")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "slack_bad_payload",
            "no JSON payload field"
        );
        return Reply::error(400, "bad_payload");
    };
    let (message, value) = match decide(&payload, deps) {
        Click::Enqueue(message, value) => (message, value),
        Click::Ignore(reason) => {
            tracing::info!(outcome = "ignored", reason = %reason, "Slack interaction ignored");
            return Reply::empty(200);
        }
        Click::Malformed(reason) => {
            deps.count("WebhookRejected", &[("reason", reason)]);
            tracing::warn!(outcome = "rejected", reason = %reason, "Slack click without its ids");
            return Reply::error(400, "bad_payload");
        }
    };
    crate::handler::enqueue(
        deps,
        &message,
        crate::handler::Enqueue {
            kind: "slack_action",
            subject: (&value.org_login, &value.user_login),
            key: &value.ticket_id,
            queued: "click enqueued",
            consequence: "a Slack reminder click was not recorded (Slack showed the user an error)",
        },
        Reply::empty(200),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_field_is_url_decoded_and_other_fields_are_ignored() {
        assert_eq!(
            payload_field(b"token=x&payload=%7B%22type%22%3A%22block_actions%22%7D").as_deref(),
            Some(r#"{"type":"block_actions"}"#)
        );
        assert_eq!(payload_field(b"token=x"), None);
        assert_eq!(payload_field(b"payload=a+b").as_deref(), Some("a b"));
    }
}
