//! Slack id newtypes and call results.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw id.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The raw id.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The raw id, owned.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }
    };
}

id_type!(
    /// A Slack user id, e.g. `U2CERLKJA`.
    UserId
);
id_type!(
    /// A Slack conversation id: a channel (`C…`), private group (`G…`) or DM (`D…`).
    ChannelId
);
id_type!(
    /// A message timestamp, Slack's message id within a channel, e.g. `1503435956.000247`.
    MessageTs
);

/// Where a posted message landed; keep both to `chat.update` it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedMessage {
    /// The conversation (for a DM, the `D…` id Slack answered with).
    pub channel: ChannelId,
    /// The message's `ts`.
    pub ts: MessageTs,
}
