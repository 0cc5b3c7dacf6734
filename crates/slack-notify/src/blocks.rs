//! Block Kit as plain serde data, with the limits Slack enforces checked before sending.
//!
//! Builders are infallible; [`Message::validate`] (called by every sending method) checks the limits Slack's
//! Block Kit reference sets: button text ≤ 75 characters, `value` ≤ 2,000, `block_id`/`action_id` ≤ 255.

use serde::{Deserialize, Serialize};

/// Longest button text Slack accepts.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Longest button `value` Slack accepts.
pub const MAX_BUTTON_VALUE: usize = 2000;
/// Longest `block_id` / `action_id` Slack accepts.
pub const MAX_ID: usize = 255;
/// Longest section text Slack accepts.
pub const MAX_SECTION_TEXT: usize = 3000;
/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Most elements in one actions block.
pub const MAX_ACTION_ELEMENTS: usize = 25;
/// Most elements in one context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;

/// A message: the notification `text` (also the fallback) and optional Block Kit `blocks`.
///
/// `username`, `icon_emoji` and `channel` are honoured by legacy incoming webhooks only (how oncall-spoke uses
/// them: `services/oncall-spoke/README.md`, "Secret");
/// `chat.postMessage` takes its channel as a separate argument and ignores `channel` here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Message {
    /// Channel override for legacy incoming webhooks (e.g. `#alerts_it`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Display name override for legacy incoming webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Icon override for legacy incoming webhooks, e.g. `:atspoke:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
    /// Notification and fallback text (mrkdwn).
    pub text: String,
    /// Block Kit layout; omitted from the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
}

impl Message {
    /// A text-only message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Appends a block.
    #[must_use]
    pub fn block(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    /// Sets the blocks.
    #[must_use]
    pub fn with_blocks(mut self, blocks: Vec<Block>) -> Self {
        self.blocks = blocks;
        self
    }

    /// Sets the webhook `username` override.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Sets the webhook `icon_emoji` override.
    #[must_use]
    pub fn icon_emoji(mut self, icon: impl Into<String>) -> Self {
        self.icon_emoji = Some(icon.into());
        self
    }

    /// Sets the webhook `channel` override.
    #[must_use]
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// A question with buttons: `text` (notification and fallback), a mrkdwn section `body`, and an actions
    /// block `block_id` holding `buttons` (e.g. a reminder with "Extend 90 days" / "Let it expire", whose
    /// wording belongs to the caller).
    pub fn prompt(
        text: impl Into<String>,
        body: impl Into<String>,
        block_id: impl Into<String>,
        buttons: impl IntoIterator<Item = Button>,
    ) -> Self {
        Self::text(text)
            .block(Block::section(body))
            .block(Block::actions(buttons).block_id(block_id))
    }

    /// The message after a click: every actions block removed (so nobody clicks twice) and a mrkdwn context
    /// line `outcome` appended (e.g. "Extended to 2027-08-10 by @alice"); send it with `chat.update` or as a
    /// `replace_original` reply. `text` is kept.
    #[must_use]
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> Self {
        self.blocks.retain(|b| !matches!(b, Block::Actions { .. }));
        self.blocks.push(Block::context(outcome));
        self
    }

    /// Checks every Block Kit limit. Sending methods call it and send nothing when it fails.
    pub fn validate(&self) -> Result<(), BlockError> {
        if self.blocks.len() > MAX_BLOCKS {
            return Err(BlockError::TooMany {
                what: "blocks",
                len: self.blocks.len(),
                max: MAX_BLOCKS,
            });
        }
        self.blocks.iter().try_for_each(Block::validate)
    }
}

/// A Block Kit limit is broken. Carries lengths, never the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// A text or id is longer than Slack allows.
    #[error("{what} is {len} characters long; Slack allows {max}")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A list has more entries than Slack allows.
    #[error("{len} {what}; Slack allows {max}")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A required field is empty.
    #[error("{what} must not be empty")]
    Empty {
        /// Which field.
        what: &'static str,
    },
}

fn check_len(what: &'static str, text: &str, max: usize) -> Result<(), BlockError> {
    let len = text.chars().count();
    if len > max {
        Err(BlockError::TooLong { what, len, max })
    } else {
        Ok(())
    }
}

fn check_id(what: &'static str, id: &str) -> Result<(), BlockError> {
    if id.is_empty() {
        return Err(BlockError::Empty { what });
    }
    check_len(what, id, MAX_ID)
}

/// A text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    /// Formatted text (`*bold*`, `<url|label>`).
    Mrkdwn {
        /// The text.
        text: String,
    },
    /// Plain text (buttons, headers).
    PlainText {
        /// The text.
        text: String,
        /// Whether `:emoji:` codes are rendered; omitted when `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<bool>,
    },
}

impl Text {
    /// A `mrkdwn` text object.
    pub fn mrkdwn(text: impl Into<String>) -> Self {
        Self::Mrkdwn { text: text.into() }
    }

    /// A `plain_text` text object.
    pub fn plain(text: impl Into<String>) -> Self {
        Self::PlainText {
            text: text.into(),
            emoji: None,
        }
    }

    /// The text content.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Mrkdwn { text } | Self::PlainText { text, .. } => text,
        }
    }
}

/// A layout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Block {
    /// A section with one text.
    Section {
        /// Optional id (≤ 255).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
        /// The text (≤ 3,000).
        text: Text,
    },
    /// Small grey text and images; here text only.
    Context {
        /// Optional id (≤ 255).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
        /// Up to 10 texts.
        elements: Vec<Text>,
    },
    /// Interactive elements (buttons).
    Actions {
        /// Optional id (≤ 255).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
        /// Up to 25 elements.
        elements: Vec<Element>,
    },
    /// A horizontal rule.
    Divider {
        /// Optional id (≤ 255).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
}

impl Block {
    /// A section with mrkdwn text.
    pub fn section(mrkdwn: impl Into<String>) -> Self {
        Self::Section {
            block_id: None,
            text: Text::mrkdwn(mrkdwn),
        }
    }

    /// A context block with one mrkdwn text.
    pub fn context(mrkdwn: impl Into<String>) -> Self {
        Self::Context {
            block_id: None,
            elements: vec![Text::mrkdwn(mrkdwn)],
        }
    }

    /// An actions block of buttons.
    pub fn actions(buttons: impl IntoIterator<Item = Button>) -> Self {
        Self::Actions {
            block_id: None,
            elements: buttons.into_iter().map(Element::Button).collect(),
        }
    }

    /// A divider.
    pub fn divider() -> Self {
        Self::Divider { block_id: None }
    }

    /// Sets the `block_id`.
    #[must_use]
    pub fn block_id(mut self, id: impl Into<String>) -> Self {
        let id = Some(id.into());
        match &mut self {
            Self::Section { block_id, .. }
            | Self::Context { block_id, .. }
            | Self::Actions { block_id, .. }
            | Self::Divider { block_id } => *block_id = id,
        }
        self
    }

    /// Checks this block's limits.
    pub fn validate(&self) -> Result<(), BlockError> {
        let block_id = match self {
            Self::Section { block_id, .. }
            | Self::Context { block_id, .. }
            | Self::Actions { block_id, .. }
            | Self::Divider { block_id } => block_id,
        };
        if let Some(id) = block_id {
            check_id("block_id", id)?;
        }
        match self {
            Self::Section { text, .. } => {
                if text.as_str().is_empty() {
                    return Err(BlockError::Empty {
                        what: "section text",
                    });
                }
                check_len("section text", text.as_str(), MAX_SECTION_TEXT)
            }
            Self::Context { elements, .. } => {
                if elements.is_empty() {
                    return Err(BlockError::Empty {
                        what: "context elements",
                    });
                }
                if elements.len() > MAX_CONTEXT_ELEMENTS {
                    return Err(BlockError::TooMany {
                        what: "context elements",
                        len: elements.len(),
                        max: MAX_CONTEXT_ELEMENTS,
                    });
                }
                elements
                    .iter()
                    .try_for_each(|t| check_len("context text", t.as_str(), MAX_SECTION_TEXT))
            }
            Self::Actions { elements, .. } => {
                if elements.is_empty() {
                    return Err(BlockError::Empty {
                        what: "actions elements",
                    });
                }
                if elements.len() > MAX_ACTION_ELEMENTS {
                    return Err(BlockError::TooMany {
                        what: "actions elements",
                        len: elements.len(),
                        max: MAX_ACTION_ELEMENTS,
                    });
                }
                elements.iter().try_for_each(Element::validate)
            }
            Self::Divider { .. } => Ok(()),
        }
    }
}

/// An interactive element of an actions block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Element {
    /// A button.
    Button(Button),
}

impl Element {
    fn validate(&self) -> Result<(), BlockError> {
        match self {
            Self::Button(b) => b.validate(),
        }
    }
}

/// Button colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    /// Green.
    Primary,
    /// Red.
    Danger,
}

/// A button. Its `value` only identifies what was clicked; it is never trusted for authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// The id the interaction reports (≤ 255).
    pub action_id: String,
    /// Plain-text label (≤ 75).
    pub text: Text,
    /// Opaque value sent back on click (≤ 2,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Colour; default grey when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
}

impl Button {
    /// A plain button.
    pub fn new(action_id: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            action_id: action_id.into(),
            text: Text::plain(label),
            value: None,
            style: None,
        }
    }

    /// Sets the value.
    #[must_use]
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sets the value to the compact JSON of `value`; [`BlockError::TooLong`] when it exceeds Slack's 2,000
    /// characters (nothing is truncated).
    pub fn json_value<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self, BlockError> {
        let json = serde_json::to_string(value).map_err(|_| BlockError::Empty {
            what: "button value",
        })?;
        check_len("button value", &json, MAX_BUTTON_VALUE)?;
        self.value = Some(json);
        Ok(self)
    }

    /// Sets the style.
    #[must_use]
    pub fn style(mut self, style: ButtonStyle) -> Self {
        self.style = Some(style);
        self
    }

    /// Checks this button's limits.
    pub fn validate(&self) -> Result<(), BlockError> {
        check_id("action_id", &self.action_id)?;
        if self.text.as_str().is_empty() {
            return Err(BlockError::Empty {
                what: "button text",
            });
        }
        check_len("button text", self.text.as_str(), MAX_BUTTON_TEXT)?;
        if let Some(value) = &self.value {
            check_len("button value", value, MAX_BUTTON_VALUE)?;
        }
        Ok(())
    }
}

/// A reply posted to an interaction's `response_url`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// Text (mrkdwn).
    pub text: String,
    /// Optional blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    /// `ephemeral` (only the clicker sees it) or `in_channel`; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<ResponseType>,
    /// Replace the message that held the button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_original: Option<bool>,
}

impl ResponseMessage {
    /// An ephemeral reply seen only by the clicker; the original message stays.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            blocks: Vec::new(),
            response_type: Some(ResponseType::Ephemeral),
            replace_original: Some(false),
        }
    }

    /// Replaces the original message with `message`.
    pub fn replace_original(message: Message) -> Self {
        Self {
            text: message.text,
            blocks: message.blocks,
            response_type: None,
            replace_original: Some(true),
        }
    }

    /// Checks Block Kit limits.
    pub fn validate(&self) -> Result<(), BlockError> {
        if self.blocks.len() > MAX_BLOCKS {
            return Err(BlockError::TooMany {
                what: "blocks",
                len: self.blocks.len(),
                max: MAX_BLOCKS,
            });
        }
        self.blocks.iter().try_for_each(Block::validate)
    }
}

/// Who sees a `response_url` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the clicking user.
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

/// Escapes `&`, `<` and `>` for interpolation into Slack text (mrkdwn or plain).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_label_longer_than_75_characters_is_rejected() {
        let ok = Button::new("a", "x".repeat(75));
        assert!(ok.validate().is_ok());
        let long = Button::new("a", "é".repeat(76));
        assert_eq!(
            long.validate(),
            Err(BlockError::TooLong {
                what: "button text",
                len: 76,
                max: 75
            })
        );
    }

    #[test]
    fn a_button_value_longer_than_2000_characters_is_rejected() {
        assert!(
            Button::new("a", "b")
                .value("v".repeat(2000))
                .validate()
                .is_ok()
        );
        assert!(
            Button::new("a", "b")
                .value("v".repeat(2001))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn ids_longer_than_255_characters_are_rejected() {
        assert!(Button::new("a".repeat(256), "b").validate().is_err());
        let block = Block::section("hi").block_id("b".repeat(256));
        let msg = Message::text("t").block(block);
        assert!(matches!(
            msg.validate(),
            Err(BlockError::TooLong {
                what: "block_id",
                ..
            })
        ));
    }

    #[test]
    fn escaping_replaces_the_three_control_characters() {
        assert_eq!(escape("a & <b> c"), "a &amp; &lt;b&gt; c");
    }

    #[test]
    fn a_text_only_message_serialises_without_blocks() {
        let json = serde_json::to_value(Message::text("hello")).unwrap();
        assert_eq!(json, serde_json::json!({"text": "hello"}));
    }
}
