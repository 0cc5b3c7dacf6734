//! The Web API subset: `users.lookupByEmail`, `conversations.open`, `chat.postMessage`, `chat.update`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::SlackFake;
use crate::state::StoredMessage;

const MAX_BLOCKS: usize = 50;
const MAX_ID: usize = 255;
const MAX_BUTTON_TEXT: usize = 75;
const MAX_BUTTON_VALUE: usize = 2000;
const MAX_TEXT: usize = 40_000;

fn fail(error: &str) -> Json<Value> {
    Json(json!({"ok": false, "error": error}))
}

/// Request parameters from the query string and a JSON or form body, as Slack reads them.
fn params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, &'static str> {
    let mut out = Map::new();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    if is_json(headers) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => out.extend(map),
            _ => return Err("invalid_json"),
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(body) {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    Ok(out)
}

fn string_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// Checks the bot token: `not_authed` when absent, `invalid_auth` when wrong. A JSON body is authenticated by
/// the `Authorization` header only: Slack ignores a `token` field in JSON (README, "Authentication").
fn check_token(
    fake: &SlackFake,
    headers: &HeaderMap,
    params: &Map<String, Value>,
) -> Result<(), &'static str> {
    let from_header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let token = if is_json(headers) {
        from_header
    } else {
        from_header.or_else(|| string_param(params, "token"))
    };
    match token {
        None => Err("not_authed"),
        Some(t) if t == fake.lock().seed.bot_token => Ok(()),
        Some(_) => Err("invalid_auth"),
    }
}

/// `POST|GET /api/{method}`.
pub(crate) async fn dispatch(
    State(fake): State<SlackFake>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let params = match params(&headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let known = matches!(
        method.as_str(),
        "users.lookupByEmail"
            | "conversations.open"
            | "chat.postMessage"
            | "chat.update"
            | "auth.test"
    );
    if !known {
        return fail("unknown_method");
    }
    if let Err(e) = check_token(&fake, &headers, &params) {
        return fail(e);
    }
    match method.as_str() {
        "users.lookupByEmail" => lookup_by_email(&fake, &params),
        "conversations.open" => conversations_open(&fake, &params),
        "chat.postMessage" => post_message(&fake, &params),
        "chat.update" => update_message(&fake, &params),
        _ => {
            let st = fake.lock();
            Json(
                json!({"ok": true, "team_id": st.seed.team.id, "user_id": "U0FAKEBOT1", "bot_id": "B0FAKEBOT1"}),
            )
        }
    }
}

fn lookup_by_email(fake: &SlackFake, params: &Map<String, Value>) -> Json<Value> {
    let Some(email) = string_param(params, "email") else {
        return fail("invalid_arguments");
    };
    let st = fake.lock();
    match st.user_by_email(email) {
        Some(u) if !u.deleted => Json(json!({
            "ok": true,
            "user": {
                "id": u.id,
                "team_id": st.seed.team.id,
                "name": u.name,
                "real_name": u.real_name,
                "deleted": false,
                "profile": {"email": u.email, "real_name": u.real_name},
            }
        })),
        _ => fail("users_not_found"),
    }
}

fn conversations_open(fake: &SlackFake, params: &Map<String, Value>) -> Json<Value> {
    let Some(users) = string_param(params, "users") else {
        return fail("users_list_not_supplied");
    };
    let ids: Vec<&str> = users
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let [user] = ids.as_slice() else {
        // A multi-person DM is outside the subset this fake implements.
        return fail("not_enough_users");
    };
    let mut st = fake.lock();
    match st.user(user) {
        None => return fail("user_not_found"),
        Some(u) if u.deleted => return fail("user_disabled"),
        Some(_) => {}
    }
    let existed = st
        .channels
        .values()
        .any(|c| c.is_im && c.user.as_deref() == Some(*user));
    let id = st.open_dm(user);
    let mut answer = json!({"ok": true, "channel": {"id": id}});
    if existed {
        answer["no_op"] = json!(true);
        answer["already_open"] = json!(true);
    }
    Json(answer)
}

/// Validates `blocks` (an array, or a JSON string in a form body) against Slack's limits.
fn blocks_param(params: &Map<String, Value>) -> Result<Vec<Value>, &'static str> {
    let blocks = match params.get("blocks") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|_| "invalid_blocks_format")?
        }
        Some(v) => v.clone(),
    };
    let Value::Array(blocks) = blocks else {
        return Err("invalid_blocks_format");
    };
    if blocks.len() > MAX_BLOCKS {
        return Err("invalid_blocks");
    }
    for block in &blocks {
        check_block(block)?;
    }
    Ok(blocks)
}

fn chars(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

fn check_block(block: &Value) -> Result<(), &'static str> {
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .ok_or("invalid_blocks")?;
    if chars(block.get("block_id")) > MAX_ID {
        return Err("invalid_blocks");
    }
    match kind {
        "section" | "header" => {
            let text = block.get("text").ok_or("invalid_blocks")?;
            if text
                .get("text")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err("invalid_blocks");
            }
            if chars(text.get("text")) > 3000 {
                return Err("invalid_blocks");
            }
        }
        "context" => {
            let elements = block
                .get("elements")
                .and_then(Value::as_array)
                .ok_or("invalid_blocks")?;
            if elements.is_empty() || elements.len() > 10 {
                return Err("invalid_blocks");
            }
        }
        "actions" => {
            let elements = block
                .get("elements")
                .and_then(Value::as_array)
                .ok_or("invalid_blocks")?;
            if elements.is_empty() || elements.len() > 25 {
                return Err("invalid_blocks");
            }
            for element in elements {
                if element.get("type").and_then(Value::as_str) == Some("button") {
                    let action_id = chars(element.get("action_id"));
                    let label = element.get("text").map_or(0, |t| chars(t.get("text")));
                    if action_id > MAX_ID
                        || label == 0
                        || label > MAX_BUTTON_TEXT
                        || chars(element.get("value")) > MAX_BUTTON_VALUE
                    {
                        return Err("invalid_blocks");
                    }
                }
            }
        }
        "divider" | "image" | "input" | "rich_text" | "file" | "video" => {}
        _ => return Err("invalid_blocks"),
    }
    Ok(())
}

fn post_message(fake: &SlackFake, params: &Map<String, Value>) -> Json<Value> {
    let Some(channel_key) = string_param(params, "channel") else {
        return fail("channel_not_found");
    };
    let blocks = match blocks_param(params) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let text = string_param(params, "text").unwrap_or("").to_owned();
    if text.is_empty() && blocks.is_empty() {
        return fail("no_text");
    }
    if text.chars().count() > MAX_TEXT {
        return fail("msg_too_long");
    }
    let now = fake.kit().now().timestamp();
    let mut st = fake.lock();
    let Some(channel_id) = st.resolve_channel(channel_key) else {
        return fail("channel_not_found");
    };
    let ts = st.next_ts(now);
    let Some(channel) = st.channels.get_mut(&channel_id) else {
        return fail("channel_not_found");
    };
    if channel.archived {
        return fail("is_archived");
    }
    // DMs the bot opened are fine; a channel needs the bot as a member.
    if !channel.is_im && !channel.bot_member {
        return fail("not_in_channel");
    }
    let message = StoredMessage {
        ts: ts.clone(),
        text,
        blocks,
        via: "api".to_owned(),
        username: string_param(params, "username").map(str::to_owned),
        icon_emoji: string_param(params, "icon_emoji").map(str::to_owned),
        edits: 0,
    };
    let echo = json!({
        "type": "message",
        "bot_id": "B0FAKEBOT1",
        "user": "U0FAKEBOT1",
        "ts": message.ts,
        "text": message.text,
        "blocks": message.blocks,
    });
    channel.messages.push(message);
    Json(json!({"ok": true, "channel": channel_id, "ts": ts, "message": echo}))
}

fn update_message(fake: &SlackFake, params: &Map<String, Value>) -> Json<Value> {
    let (Some(channel_key), Some(ts)) =
        (string_param(params, "channel"), string_param(params, "ts"))
    else {
        return fail("invalid_arguments");
    };
    let blocks = match blocks_param(params) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let text = string_param(params, "text").map(str::to_owned);
    let mut st = fake.lock();
    let Some(channel_id) = st.resolve_channel(channel_key) else {
        return fail("channel_not_found");
    };
    let Some(channel) = st.channels.get_mut(&channel_id) else {
        return fail("channel_not_found");
    };
    if channel.archived {
        return fail("is_archived");
    }
    let Some(message) = channel.messages.iter_mut().find(|m| m.ts == ts) else {
        return fail("message_not_found");
    };
    if message.via != "api" {
        return fail("cant_update_message");
    }
    if let Some(text) = text {
        message.text = text;
    }
    // As in Slack: an absent `blocks` keeps the old blocks, an empty array removes them.
    if params.contains_key("blocks") {
        message.blocks = blocks;
    }
    message.edits += 1;
    Json(json!({"ok": true, "channel": channel_id, "ts": ts, "text": message.text}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_label_over_75_characters_is_invalid() {
        let block = json!({"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x".repeat(76)}}
        ]});
        assert_eq!(check_block(&block), Err("invalid_blocks"));
    }

    #[test]
    fn a_form_body_with_blocks_as_a_json_string_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let body = b"channel=C1&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D";
        let p = params(&headers, Some("token=t"), body).unwrap();
        assert_eq!(string_param(&p, "token"), Some("t"));
        assert_eq!(blocks_param(&p).unwrap().len(), 1);
    }
}
