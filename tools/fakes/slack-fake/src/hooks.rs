//! Incoming webhooks (`/services/T/B/X`) and the `response_url` receiver (`/actions/{id}`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::SlackFake;
use crate::state::StoredMessage;

/// How many posts a `response_url` accepts.
pub const RESPONSE_URL_MAX_POSTS: usize = 5;
/// How long a `response_url` stays valid (fake clock).
pub const RESPONSE_URL_TTL_SECS: i64 = 30 * 60;

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [("content-type", "text/html")], body).into_response()
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `POST /services/{team}/{bot}/{secret}`.
pub(crate) async fn webhook(
    State(fake): State<SlackFake>,
    Path((team, bot, secret)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let path = format!("{team}/{bot}/{secret}");
    let now = fake.kit().now().timestamp();
    let mut st = fake.lock();
    let Some(hook) = st.webhook(&path).cloned() else {
        return text(StatusCode::NOT_FOUND, "no_service");
    };
    // Slack also accepts `payload=<json>` form bodies.
    let parsed = serde_json::from_slice::<Value>(&body).ok().or_else(|| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "payload")
            .and_then(|(_, v)| serde_json::from_str(&v).ok())
    });
    let Some(Value::Object(payload)) = parsed else {
        return text(StatusCode::BAD_REQUEST, "invalid_payload");
    };
    if hook.prohibited {
        return text(StatusCode::FORBIDDEN, "action_prohibited");
    }
    let blocks = match payload.get("blocks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(b))
            if b.iter()
                .all(|x| x.get("type").and_then(Value::as_str).is_some()) =>
        {
            b.clone()
        }
        Some(_) => return text(StatusCode::BAD_REQUEST, "invalid_blocks"),
    };
    let message_text = non_empty(payload.get("text")).unwrap_or_default();
    if message_text.is_empty() && blocks.is_empty() {
        return text(StatusCode::BAD_REQUEST, "no_text");
    }
    let target = match non_empty(payload.get("channel")) {
        Some(over) if hook.legacy => over,
        _ => hook.channel.clone(),
    };
    let Some(channel_id) = st.resolve_channel(&target) else {
        return text(StatusCode::NOT_FOUND, "channel_not_found");
    };
    let ts = st.next_ts(now);
    let Some(channel) = st.channels.get_mut(&channel_id) else {
        return text(StatusCode::NOT_FOUND, "channel_not_found");
    };
    if channel.archived {
        return text(StatusCode::GONE, "channel_is_archived");
    }
    channel.messages.push(StoredMessage {
        ts,
        text: message_text,
        blocks,
        via: "webhook".to_owned(),
        username: non_empty(payload.get("username")),
        icon_emoji: non_empty(payload.get("icon_emoji")),
        edits: 0,
    });
    text(StatusCode::OK, "ok")
}

/// `POST /actions/{id}`: a reply to an interaction.
pub(crate) async fn response_url(
    State(fake): State<SlackFake>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let now = fake.kit().now().timestamp();
    let mut st = fake.lock();
    let Some(entry) = st.response_urls.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": "invalid_url"})),
        )
            .into_response();
    };
    if now - entry.issued_at > RESPONSE_URL_TTL_SECS {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": "expired_url"})),
        )
            .into_response();
    }
    if entry.posts.len() >= RESPONSE_URL_MAX_POSTS {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": "used_url"})),
        )
            .into_response();
    }
    let Ok(Value::Object(payload)) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"ok": false, "error": "invalid_payload"})),
        )
            .into_response();
    };
    let replace = payload
        .get("replace_original")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let delete = payload
        .get("delete_original")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ephemeral = payload.get("response_type").and_then(Value::as_str) == Some("ephemeral");
    if let Some(channel) = st.channels.get_mut(&entry.channel) {
        if delete {
            channel.messages.retain(|m| m.ts != entry.ts);
        } else if replace {
            if let Some(m) = channel.messages.iter_mut().find(|m| m.ts == entry.ts) {
                m.text = non_empty(payload.get("text")).unwrap_or_default();
                m.blocks = payload
                    .get("blocks")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                m.edits += 1;
            }
        } else if !ephemeral {
            let ts = st.next_ts(now);
            if let Some(channel) = st.channels.get_mut(&entry.channel) {
                channel.messages.push(StoredMessage {
                    ts,
                    text: non_empty(payload.get("text")).unwrap_or_default(),
                    blocks: payload
                        .get("blocks")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    via: "response_url".to_owned(),
                    username: None,
                    icon_emoji: None,
                    edits: 0,
                });
            }
        }
    }
    if let Some(entry) = st.response_urls.get_mut(&id) {
        entry.posts.push(Value::Object(payload));
    }
    (StatusCode::OK, axum::Json(json!({"ok": true}))).into_response()
}
