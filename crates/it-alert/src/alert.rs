//! The alert, what became of it, and the trait services hold.

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use slack_notify::Message;

/// One IT alert: a short `kind` for logs and metrics, the `key` the repeat window compares (identical keys
/// within the window are sent once), and the Slack message. The message must hold no secret: when the alert
/// cannot be delivered its text is logged.
#[derive(Debug, Clone, PartialEq)]
pub struct ItAlert {
    /// A short, stable name (`SettingsInvalid`, `not_team_member`): the `alert_kind` log field.
    pub kind: String,
    /// Identical keys within the repeat window are sent once.
    pub key: String,
    /// What is posted (text, and optionally blocks, `username`, `icon_emoji`, `channel`).
    pub message: Message,
    /// Delivery must end before this instant (the Lambda deadline); `None` = the HTTP client's timeouts only.
    pub deadline: Option<tokio::time::Instant>,
}

impl ItAlert {
    /// An alert posting `message`.
    pub fn new(kind: impl Into<String>, key: impl Into<String>, message: Message) -> Self {
        Self {
            kind: kind.into(),
            key: key.into(),
            message,
            deadline: None,
        }
    }

    /// An alert posting plain mrkdwn `text`.
    pub fn text(kind: impl Into<String>, key: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(kind, key, Message::text(text))
    }

    /// Delivery must end before `deadline`.
    #[must_use]
    pub fn before(mut self, deadline: tokio::time::Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// What became of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Slack accepted it.
    Sent,
    /// The same key was delivered within the repeat window; nothing was posted.
    Suppressed,
    /// It could not be delivered; it was logged as lost (`outcome="alert_lost"`, with its text).
    Lost(Lost),
}

impl Delivery {
    /// True when the alert was lost for a reason that may pass (timeout, 429, 5xx, a Secrets Manager outage):
    /// a caller that must not lose it fails its invocation so that the platform retries.
    pub fn is_transient_loss(&self) -> bool {
        matches!(self, Self::Lost(lost) if lost.transient)
    }
}

/// Why an alert was lost. Never holds the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// What failed (`Slack request timed out`, `no webhook URL: …`).
    pub reason: String,
    /// A later attempt may succeed.
    pub transient: bool,
}

/// Sends IT alerts. Never fails: what could not be delivered is reported as [`Delivery::Lost`] and logged.
pub trait Alerter: Send + Sync {
    /// Sends `alert` unless its key was delivered within the repeat window.
    fn send<'a>(&'a self, alert: &'a ItAlert) -> BoxFuture<'a, Delivery>;
}

/// Alerts switched off: every alert is [`Delivery::Suppressed`].
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAlerts;

impl Alerter for NoAlerts {
    fn send<'a>(&'a self, _alert: &'a ItAlert) -> BoxFuture<'a, Delivery> {
        Box::pin(std::future::ready(Delivery::Suppressed))
    }
}

/// Keeps alerts in memory and reports them [`Delivery::Sent`] (unit tests, the demo). Clones share the list.
#[derive(Debug, Default, Clone)]
pub struct RecordingAlerter {
    alerts: Arc<Mutex<Vec<ItAlert>>>,
}

impl RecordingAlerter {
    /// Every alert sent so far.
    pub fn alerts(&self) -> Vec<ItAlert> {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Alerter for RecordingAlerter {
    fn send<'a>(&'a self, alert: &'a ItAlert) -> BoxFuture<'a, Delivery> {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(alert.clone());
        Box::pin(std::future::ready(Delivery::Sent))
    }
}
