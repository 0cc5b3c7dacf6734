#![doc = include_str!("../README.md")]

pub mod blocks;
pub mod client;
pub mod error;
pub mod models;
pub mod signature;

pub use blocks::{
    Block, BlockError, Button, ButtonStyle, Element, Message, ResponseMessage, ResponseType, Text,
    escape,
};
pub use client::{
    SlackApi, SlackClient, SlackEndpoints, WebhookClient, WebhookPoster, post_message_body,
    update_message_body,
};
pub use error::SlackError;
pub use models::{ChannelId, MessageTs, PostedMessage, UserId};
pub use signature::{SignatureError, SignatureVerifier, sign};
