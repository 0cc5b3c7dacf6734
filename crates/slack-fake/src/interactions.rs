//! Control routes that act like Slack towards the service: sign and send a `block_actions` interaction, or
//! hand out a `response_url`.

use std::time::Duration;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::SlackFake;
use crate::state::ResponseUrl;

/// Body of `POST /__fake/interactions/send`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendInteraction {
    /// Where to POST the interaction (loopback only).
    url: String,
    /// The clicking user's id.
    user: String,
    /// Channel of the message holding the button.
    channel: String,
    /// `ts` of that message.
    ts: String,
    /// The button's `action_id`.
    #[serde(alias = "action_id")]
    action_id: String,
    /// Overrides the button's `value` (e.g. to send a tampered one).
    #[serde(default)]
    value: Option<String>,
    /// Overrides the signature timestamp (Unix seconds), e.g. to send a stale request.
    #[serde(default)]
    timestamp: Option<i64>,
    /// Signs with this secret instead of the seed's (to test rejection).
    #[serde(default, alias = "signing_secret")]
    signing_secret: Option<String>,
    /// Overrides the base of the generated `response_url` (default: this fake's own address).
    #[serde(default, alias = "response_url_base")]
    response_url_base: Option<String>,
}

/// Body of `POST /__fake/response-urls`.
#[derive(Debug, Deserialize)]
pub(crate) struct NewResponseUrl {
    channel: String,
    ts: String,
}

fn control_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// `http://<host><mount prefix>` of this fake, as the caller reached it (devstack mounts it under `/slack`).
fn own_base(headers: &HeaderMap, original: &OriginalUri, suffix: &str) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let path = original.0.path();
    let prefix = path.strip_suffix(suffix).unwrap_or("");
    format!("http://{host}{prefix}")
}

fn new_response_url(fake: &SlackFake, base: &str, channel: &str, ts: &str) -> String {
    let id = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let issued_at = fake.kit().now().timestamp();
    fake.lock().response_urls.insert(
        id.clone(),
        ResponseUrl {
            channel: channel.to_owned(),
            ts: ts.to_owned(),
            issued_at,
            posts: Vec::new(),
        },
    );
    format!("{}/actions/{id}", base.trim_end_matches('/'))
}

/// `POST /__fake/response-urls` `{"channel","ts"}` → `{"responseUrl": ...}`.
pub(crate) async fn create_response_url(
    State(fake): State<SlackFake>,
    original: OriginalUri,
    headers: HeaderMap,
    Json(req): Json<NewResponseUrl>,
) -> Response {
    let base = own_base(&headers, &original, "/__fake/response-urls");
    let url = new_response_url(&fake, &base, &req.channel, &req.ts);
    (StatusCode::CREATED, Json(json!({"responseUrl": url}))).into_response()
}

/// The `X-Slack-Signature` for a body.
pub(crate) fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::from("v0=");
    };
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// `POST /__fake/interactions/send`: clicks a button of a stored message, as Slack does: builds the
/// `block_actions` payload, form-encodes it, signs it with the signing secret and POSTs it to `url`.
/// Answers with what the receiver answered.
pub(crate) async fn send_interaction(
    State(fake): State<SlackFake>,
    original: OriginalUri,
    headers: HeaderMap,
    Json(req): Json<SendInteraction>,
) -> Response {
    let Ok(target) = url::Url::parse(&req.url) else {
        return control_error(StatusCode::BAD_REQUEST, "url is not a URL");
    };
    let loopback = match target.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback {
        return control_error(
            StatusCode::BAD_REQUEST,
            "interactions are sent to loopback URLs only",
        );
    }
    let now = fake.kit().now();
    let (payload, secret) = {
        let mut st = fake.lock();
        let Some(user) = st.user(&req.user).cloned() else {
            return control_error(StatusCode::NOT_FOUND, "unknown user");
        };
        let Some(channel_id) = st.resolve_channel(&req.channel) else {
            return control_error(StatusCode::NOT_FOUND, "unknown channel");
        };
        let Some(channel) = st.channels.get(&channel_id) else {
            return control_error(StatusCode::NOT_FOUND, "unknown channel");
        };
        let Some(message) = channel.messages.iter().find(|m| m.ts == req.ts).cloned() else {
            return control_error(
                StatusCode::NOT_FOUND,
                "no message with that ts in the channel",
            );
        };
        let channel_name = channel.name.clone();
        let button = message.blocks.iter().find_map(|block| {
            let elements = block.get("elements")?.as_array()?;
            let button = elements.iter().find(|e| {
                e.get("type").and_then(Value::as_str) == Some("button")
                    && e.get("action_id").and_then(Value::as_str) == Some(req.action_id.as_str())
            })?;
            Some((
                block.get("block_id").cloned().unwrap_or(Value::Null),
                button.clone(),
            ))
        });
        let Some((block_id, button)) = button else {
            return control_error(
                StatusCode::NOT_FOUND,
                "the message has no button with that action_id",
            );
        };
        let value = req.value.clone().or_else(|| {
            button
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let team = st.seed.team.clone();
        let secret = req
            .signing_secret
            .clone()
            .unwrap_or_else(|| st.seed.signing_secret.clone());
        drop(st);
        let base = req
            .response_url_base
            .clone()
            .unwrap_or_else(|| own_base(&headers, &original, "/__fake/interactions/send"));
        let response_url = new_response_url(&fake, &base, &channel_id, &message.ts);
        let action_ts = format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros());
        let mut action = json!({
            "type": "button",
            "action_id": req.action_id,
            "block_id": block_id,
            "text": button.get("text").cloned().unwrap_or(Value::Null),
            "action_ts": action_ts,
        });
        if let Some(v) = value {
            action["value"] = json!(v);
        }
        if let Some(style) = button.get("style") {
            action["style"] = style.clone();
        }
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": team.id},
            "api_app_id": "A0FAKEAPP1",
            "token": "legacy-verification-token-ignored",
            "container": {"type": "message", "message_ts": message.ts, "channel_id": channel_id, "is_ephemeral": false},
            "trigger_id": format!("{}.{}.fake", now.timestamp(), rand::random::<u32>()),
            "team": {"id": team.id, "domain": team.domain},
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": {"id": channel_id, "name": channel_name},
            "message": {
                "type": "message",
                "user": "U0FAKEBOT1",
                "bot_id": "B0FAKEBOT1",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
            },
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        });
        (payload, secret)
    };

    let timestamp = req.timestamp.unwrap_or_else(|| now.timestamp()).to_string();
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let signature = sign(&secret, &timestamp, body.as_bytes());
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(_) => {
            return control_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot build HTTP client",
            );
        }
    };
    let sent = client
        .post(target)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &timestamp)
        .header("x-slack-signature", signature)
        .header("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            Json(json!({
                "status": status,
                "body": text,
                "timestamp": timestamp,
                "responseUrl": payload["response_url"],
                "payload": payload,
            }))
            .into_response()
        }
        Err(e) => control_error(
            StatusCode::BAD_GATEWAY,
            &format!("sending the interaction failed: {}", e.without_url()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_slacks_published_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            sign(
                "8f742231b10e8888abcd99yyyzzz85a5",
                "1531420618",
                body.as_bytes()
            ),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }
}
