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
use crate::state::{ResponseUrl, SentInteraction};

/// Body of `POST /__fake/interactions/send`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendInteraction {
    /// Where to POST the interaction (loopback only).
    url: String,
    /// The clicking user's id (required unless `payload` or `rawBody` is given).
    #[serde(default)]
    user: Option<String>,
    /// Channel of the message holding the button.
    #[serde(default)]
    channel: Option<String>,
    /// `ts` of that message.
    #[serde(default)]
    ts: Option<String>,
    /// The button's `action_id`.
    #[serde(default, alias = "action_id")]
    action_id: Option<String>,
    /// Overrides the button's `value` (e.g. to send a tampered one).
    #[serde(default)]
    value: Option<String>,
    /// Sends this JSON as the `payload` field instead of a click built from a stored message (e.g. another
    /// interaction `type`).
    #[serde(default)]
    payload: Option<Value>,
    /// Sends exactly this form body (signed like any other), e.g. one without a `payload` field.
    #[serde(default, alias = "raw_body")]
    raw_body: Option<String>,
    /// Overrides the signature timestamp (Unix seconds), e.g. to send a stale request.
    #[serde(default)]
    timestamp: Option<i64>,
    /// The signature timestamp is this many seconds before the fake clock's now (a stale request when > 300).
    #[serde(default, alias = "age_secs")]
    age_secs: Option<i64>,
    /// Signs with this secret instead of the seed's (to test rejection).
    #[serde(default, alias = "signing_secret")]
    signing_secret: Option<String>,
    /// Sends a well-formed `v0=` signature that matches no secret.
    #[serde(default, alias = "forge_signature")]
    forge_signature: bool,
    /// Sends neither `X-Slack-Signature` nor `X-Slack-Request-Timestamp`.
    #[serde(default)]
    unsigned: bool,
    /// Overrides the base of the generated `response_url` (default: this fake's own address).
    #[serde(default, alias = "response_url_base")]
    response_url_base: Option<String>,
}

/// Body of `POST /__fake/interactions/replay`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReplayInteraction {
    /// The `deliveryId` of an earlier send.
    #[serde(alias = "delivery_id")]
    delivery_id: u64,
    /// Sends to this URL instead of the original one (loopback only).
    #[serde(default)]
    url: Option<String>,
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

fn is_loopback(target: &url::Url) -> bool {
    match target.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Builds the `block_actions` payload of a click on button `action_id` of the stored message `channel`/`ts`
/// by `user`, with a fresh `response_url` on this fake (or under `response_url_base`).
fn click_payload(
    fake: &SlackFake,
    req: &SendInteraction,
    default_base: &str,
) -> Result<Value, (StatusCode, &'static str)> {
    let (Some(user_id), Some(channel_key), Some(ts), Some(action_id)) =
        (&req.user, &req.channel, &req.ts, &req.action_id)
    else {
        return Err((
            StatusCode::BAD_REQUEST,
            "user, channel, ts and actionId are required unless payload or rawBody is given",
        ));
    };
    let now = fake.kit().now();
    let mut st = fake.lock();
    let Some(user) = st.user(user_id).cloned() else {
        return Err((StatusCode::NOT_FOUND, "unknown user"));
    };
    let Some(channel_id) = st.resolve_channel(channel_key) else {
        return Err((StatusCode::NOT_FOUND, "unknown channel"));
    };
    let Some(channel) = st.channels.get(&channel_id) else {
        return Err((StatusCode::NOT_FOUND, "unknown channel"));
    };
    let Some(message) = channel.messages.iter().find(|m| &m.ts == ts).cloned() else {
        return Err((
            StatusCode::NOT_FOUND,
            "no message with that ts in the channel",
        ));
    };
    let channel_name = channel.name.clone();
    let button = message.blocks.iter().find_map(|block| {
        let elements = block.get("elements")?.as_array()?;
        let button = elements.iter().find(|e| {
            e.get("type").and_then(Value::as_str) == Some("button")
                && e.get("action_id").and_then(Value::as_str) == Some(action_id.as_str())
        })?;
        Some((
            block.get("block_id").cloned().unwrap_or(Value::Null),
            button.clone(),
        ))
    });
    let Some((block_id, button)) = button else {
        return Err((
            StatusCode::NOT_FOUND,
            "the message has no button with that action_id",
        ));
    };
    let value = req.value.clone().or_else(|| {
        button
            .get("value")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let team = st.seed.team.clone();
    drop(st);
    let base = req.response_url_base.as_deref().unwrap_or(default_base);
    let response_url = new_response_url(fake, base, &channel_id, &message.ts);
    let action_ts = format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros());
    let mut action = json!({
        "type": "button",
        "action_id": action_id,
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
    Ok(json!({
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
    }))
}

/// What one POST to the receiver carried, so that it can be recorded and replayed.
struct Outgoing {
    url: url::Url,
    body: String,
    timestamp: Option<String>,
    signature: Option<String>,
    signing: &'static str,
    replay_of: Option<u64>,
    action_id: Option<String>,
    user: Option<String>,
}

/// POSTs `out` the way Slack does, records it, and answers with the receiver's status and body.
async fn deliver(
    fake: &SlackFake,
    out: Outgoing,
) -> Result<(u64, u16, String), (StatusCode, String)> {
    let client = fake_kit::client_builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot build HTTP client".to_owned(),
            )
        })?;
    let mut request = client
        .post(out.url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
        .body(out.body.clone());
    if let Some(ts) = &out.timestamp {
        request = request.header("x-slack-request-timestamp", ts);
    }
    if let Some(sig) = &out.signature {
        request = request.header("x-slack-signature", sig);
    }
    let (status, text) = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }
        Err(e) => {
            return Err((
                StatusCode::BAD_GATEWAY,
                format!("sending the interaction failed: {}", e.without_url()),
            ));
        }
    };
    let mut st = fake.lock();
    let id = st.interactions.len() as u64 + 1;
    st.interactions.push(SentInteraction {
        id,
        url: out.url.to_string(),
        body: out.body,
        timestamp: out.timestamp,
        signature: out.signature,
        signing: out.signing.to_owned(),
        status,
        replay_of: out.replay_of,
        action_id: out.action_id,
        user: out.user,
    });
    Ok((id, status, text))
}

/// `POST /__fake/interactions/send`: clicks a button of a stored message, as Slack does: builds the
/// `block_actions` payload, form-encodes it, signs it with the signing secret and POSTs it to `url`.
/// Answers with what the receiver answered. Options send another payload or body, a stale timestamp, a
/// wrong or forged signature, or none.
pub(crate) async fn send_interaction(
    State(fake): State<SlackFake>,
    original: OriginalUri,
    headers: HeaderMap,
    Json(req): Json<SendInteraction>,
) -> Response {
    let Ok(target) = url::Url::parse(&req.url) else {
        return control_error(StatusCode::BAD_REQUEST, "url is not a URL");
    };
    if !is_loopback(&target) {
        return control_error(
            StatusCode::BAD_REQUEST,
            "interactions are sent to loopback URLs only",
        );
    }
    let now = fake.kit().now();
    let (body, payload) = if let Some(raw) = &req.raw_body {
        (raw.clone(), Value::Null)
    } else {
        let payload = match &req.payload {
            Some(p) => p.clone(),
            None => {
                let base = own_base(&headers, &original, "/__fake/interactions/send");
                match click_payload(&fake, &req, &base) {
                    Ok(p) => p,
                    Err((status, message)) => return control_error(status, message),
                }
            }
        };
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        (body, payload)
    };
    let timestamp = req
        .timestamp
        .or_else(|| req.age_secs.map(|age| now.timestamp() - age))
        .unwrap_or_else(|| now.timestamp())
        .to_string();
    let (signature, signing) = if req.unsigned {
        (None, "unsigned")
    } else if req.forge_signature {
        let forged: [u8; 32] = rand::random();
        (Some(format!("v0={}", hex::encode(forged))), "forged")
    } else if let Some(other) = &req.signing_secret {
        (
            Some(sign(other, &timestamp, body.as_bytes())),
            "wrong_secret",
        )
    } else {
        let secret = fake.signing_secret();
        (Some(sign(&secret, &timestamp, body.as_bytes())), "valid")
    };
    let out = Outgoing {
        url: target,
        body,
        timestamp: (!req.unsigned).then(|| timestamp.clone()),
        signature,
        signing,
        replay_of: None,
        action_id: payload
            .pointer("/actions/0/action_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        user: payload
            .pointer("/user/id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    match deliver(&fake, out).await {
        Ok((id, status, text)) => Json(json!({
            "deliveryId": id,
            "status": status,
            "body": text,
            "timestamp": timestamp,
            "responseUrl": payload.get("response_url").cloned().unwrap_or(Value::Null),
            "payload": payload,
        }))
        .into_response(),
        Err((status, message)) => control_error(status, &message),
    }
}

/// `POST /__fake/interactions/replay` `{"deliveryId", "url"?}`: sends an earlier interaction again, byte for
/// byte with the same timestamp and signature headers, as an attacker replaying a captured request would.
pub(crate) async fn replay_interaction(
    State(fake): State<SlackFake>,
    Json(req): Json<ReplayInteraction>,
) -> Response {
    let Some(earlier) = fake
        .lock()
        .interactions
        .iter()
        .find(|i| i.id == req.delivery_id)
        .cloned()
    else {
        return control_error(StatusCode::NOT_FOUND, "no interaction with that deliveryId");
    };
    let url = req.url.as_deref().unwrap_or(&earlier.url);
    let Ok(target) = url::Url::parse(url) else {
        return control_error(StatusCode::BAD_REQUEST, "url is not a URL");
    };
    if !is_loopback(&target) {
        return control_error(
            StatusCode::BAD_REQUEST,
            "interactions are sent to loopback URLs only",
        );
    }
    let timestamp = earlier.timestamp.clone();
    let out = Outgoing {
        url: target,
        body: earlier.body,
        timestamp: earlier.timestamp,
        signature: earlier.signature,
        signing: "replay",
        replay_of: Some(earlier.id),
        action_id: earlier.action_id,
        user: earlier.user,
    };
    match deliver(&fake, out).await {
        Ok((id, status, text)) => Json(json!({
            "deliveryId": id,
            "replayOf": earlier.id,
            "status": status,
            "body": text,
            "timestamp": timestamp,
        }))
        .into_response(),
        Err((status, message)) => control_error(status, &message),
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
