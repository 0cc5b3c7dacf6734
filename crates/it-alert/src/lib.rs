#![doc = include_str!("../README.md")]

pub mod alert;
pub mod slack;
pub mod url;
pub mod window;

pub use alert::{Alerter, Delivery, ItAlert, Lost, NoAlerts, RecordingAlerter};
pub use slack::{SlackAlerter, SlackSender};
pub use url::{FixedUrl, SecretUrl, UrlUnavailable, WebhookUrlSource};
pub use window::RepeatWindow;
