//! The one error type of this crate.

use std::time::Duration;

use lambda_kit::{Classify, ErrorClass};

use crate::blocks::BlockError;

/// A Slack call failed. `Display` names what failed at this layer and never contains a token, a webhook or
/// `response_url` URL, or a message payload; Slack's own error codes (`channel_not_found`, …) are not secret
/// and are kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlackError {
    /// `users.lookupByEmail` found nobody (`users_not_found`). [`crate::SlackApi::lookup_user_by_email`]
    /// returns `Ok(None)` instead; the variant exists for callers that map codes themselves.
    #[error("Slack user not found")]
    UsersNotFound,
    /// The bot token was rejected (`invalid_auth`, `not_authed`, `account_inactive`, `token_revoked`,
    /// `token_expired`, `missing_scope`, …). `error` is Slack's code.
    #[error("Slack rejected the bot credentials ({error})")]
    InvalidAuth {
        /// Slack's error code.
        error: String,
    },
    /// `channel_not_found` (Web API) or the webhook's channel is gone (404 `channel_not_found`).
    #[error("Slack channel not found")]
    ChannelNotFound,
    /// `is_archived` (Web API) or 410 `channel_is_archived` (webhook).
    #[error("Slack channel is archived")]
    ChannelArchived,
    /// `not_in_channel`: the bot is not a member of the channel.
    #[error("the Slack bot is not in the channel")]
    NotInChannel,
    /// `chat.update` of a message that does not exist (`message_not_found`).
    #[error("Slack message not found")]
    MessageNotFound,
    /// Incoming webhook: 404 `no_service` (the webhook was removed or never existed).
    #[error("Slack incoming webhook does not exist (no_service)")]
    NoService,
    /// Incoming webhook: 400 `invalid_payload`, or Web API `invalid_blocks`/`invalid_arguments`.
    #[error("Slack rejected the message payload ({error})")]
    InvalidPayload {
        /// Slack's error code.
        error: String,
    },
    /// Incoming webhook: 403 `action_prohibited`.
    #[error("Slack prohibited the action (action_prohibited)")]
    ActionProhibited,
    /// HTTP 429 (`ratelimited`). `retry_after` is Slack's `Retry-After` when given. Returned once the
    /// retry budget is spent or when the wait exceeds the policy's `max_rate_limit_wait`.
    #[error("Slack rate limit hit")]
    RateLimited {
        /// How long Slack asked us to wait.
        retry_after: Option<Duration>,
    },
    /// Any other `ok: false` answer, or an unexpected 4xx, with Slack's error code (or the status).
    #[error("Slack API call failed ({error})")]
    Api {
        /// Slack's error code, e.g. `restricted_action`, or `http_<status>` when there was none.
        error: String,
    },
    /// HTTP 5xx from Slack.
    #[error("Slack answered HTTP {status}")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// The request timed out.
    #[error("Slack request timed out")]
    Timeout,
    /// Connection or protocol failure (the URL is stripped from the source).
    #[error("Slack request failed in transport")]
    Transport(#[source] reqwest::Error),
    /// Slack's answer was not the expected JSON.
    #[error("Slack answer could not be decoded")]
    Decode(#[source] serde_json::Error),
    /// The message breaks a Block Kit limit; nothing was sent.
    #[error("Slack message is invalid")]
    InvalidMessage(#[source] BlockError),
    /// A `response_url` that does not start with the configured `SLACK_RESPONSE_URL_PREFIX`; nothing was sent.
    #[error("response_url refused: it does not start with the configured prefix")]
    ResponseUrlRefused,
    /// A webhook URL that is not a valid `https://` URL (or loopback `http://`); nothing was sent.
    #[error("Slack webhook URL is not a valid https URL")]
    InvalidWebhookUrl,
}

impl SlackError {
    /// True when the same call may succeed later: rate limits, 5xx, timeouts and transport failures.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout | Self::Transport(_)
        )
    }

    /// A short stable name for the `error_kind` log field and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UsersNotFound => "users_not_found",
            Self::InvalidAuth { .. } => "invalid_auth",
            Self::ChannelNotFound => "channel_not_found",
            Self::ChannelArchived => "channel_archived",
            Self::NotInChannel => "not_in_channel",
            Self::MessageNotFound => "message_not_found",
            Self::NoService => "no_service",
            Self::InvalidPayload { .. } => "invalid_payload",
            Self::ActionProhibited => "action_prohibited",
            Self::RateLimited { .. } => "rate_limited",
            Self::Api { .. } => "api",
            Self::Server { .. } => "server",
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport",
            Self::Decode(_) => "decode",
            Self::InvalidMessage(_) => "invalid_message",
            Self::ResponseUrlRefused => "response_url_refused",
            Self::InvalidWebhookUrl => "invalid_webhook_url",
        }
    }

    /// Maps a Web API `error` code (from an `ok: false` answer) to a variant.
    pub fn from_api_code(code: &str) -> Self {
        match code {
            "users_not_found" => Self::UsersNotFound,
            "invalid_auth"
            | "not_authed"
            | "account_inactive"
            | "token_revoked"
            | "token_expired"
            | "no_permission"
            | "missing_scope"
            | "not_allowed_token_type"
            | "ekm_access_denied" => Self::InvalidAuth {
                error: code.to_owned(),
            },
            "channel_not_found" => Self::ChannelNotFound,
            "is_archived" | "channel_is_archived" => Self::ChannelArchived,
            "not_in_channel" => Self::NotInChannel,
            "message_not_found" => Self::MessageNotFound,
            "ratelimited" | "rate_limited" => Self::RateLimited { retry_after: None },
            "invalid_blocks"
            | "invalid_blocks_format"
            | "invalid_arguments"
            | "msg_too_long"
            | "no_text"
            | "invalid_payload"
            | "too_many_attachments" => Self::InvalidPayload {
                error: code.to_owned(),
            },
            "action_prohibited" => Self::ActionProhibited,
            "no_service" => Self::NoService,
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                Self::Server { status: 500 }
            }
            other => Self::Api {
                error: sanitize_code(other),
            },
        }
    }
}

/// Keeps an error code printable and short: Slack codes are `[a-z_]+`; anything else is cut.
pub(crate) fn sanitize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .take(64)
        .collect()
}

impl Classify for SlackError {
    fn class(&self) -> ErrorClass {
        if self.is_transient() {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_api_codes_map_to_typed_variants() {
        assert!(matches!(
            SlackError::from_api_code("users_not_found"),
            SlackError::UsersNotFound
        ));
        assert!(matches!(
            SlackError::from_api_code("account_inactive"),
            SlackError::InvalidAuth { error } if error == "account_inactive"
        ));
        assert!(matches!(
            SlackError::from_api_code("message_not_found"),
            SlackError::MessageNotFound
        ));
        assert!(matches!(
            SlackError::from_api_code("is_archived"),
            SlackError::ChannelArchived
        ));
        assert!(matches!(
            SlackError::from_api_code("restricted_action"),
            SlackError::Api { error } if error == "restricted_action"
        ));
    }

    #[test]
    fn only_rate_limits_server_errors_timeouts_and_transport_are_transient() {
        assert!(SlackError::RateLimited { retry_after: None }.is_transient());
        assert!(SlackError::Server { status: 503 }.is_transient());
        assert!(SlackError::Timeout.is_transient());
        assert!(!SlackError::ChannelNotFound.is_transient());
        assert_eq!(SlackError::ChannelNotFound.class(), ErrorClass::Permanent);
        assert_eq!(SlackError::Timeout.class(), ErrorClass::Retryable);
    }

    #[test]
    fn unexpected_codes_are_sanitised() {
        let err = SlackError::from_api_code("weird code <script>");
        assert_eq!(err.to_string(), "Slack API call failed (weirdcodescript)");
    }
}
