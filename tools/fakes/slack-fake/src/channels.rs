//! Control routes for the bot's channel memberships.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::SlackFake;

/// `POST /__fake/channels/{channel}/join` and `/leave`: the bot joins or leaves a channel (id, `name` or
/// `#name`). 404 for an unknown channel or a DM; 409 for joining an archived channel (`is_archived`).
pub(crate) async fn set_membership(
    State(fake): State<SlackFake>,
    Path((channel, verb)): Path<(String, String)>,
) -> Response {
    let member = match verb.as_str() {
        "join" => true,
        "leave" => false,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "use join or leave"})),
            )
                .into_response();
        }
    };
    match fake.set_bot_member(&channel, member) {
        Ok(id) => Json(json!({"channel": id, "botMember": member})).into_response(),
        Err(MembershipError::UnknownChannel) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "channel_not_found"})),
        )
            .into_response(),
        Err(MembershipError::Archived) => {
            (StatusCode::CONFLICT, Json(json!({"error": "is_archived"}))).into_response()
        }
    }
}

/// Why the bot's membership could not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipError {
    /// No such channel (or a DM, which has no membership to change).
    UnknownChannel,
    /// The channel is archived; nobody can join it.
    Archived,
}
