//! The Slack side: [`SlackSender`] posts one message over [`slack_notify::WebhookPoster`] (which retries 429,
//! 5xx and failed connects) and adds one retry after a timeout; [`SlackAlerter`] puts the repeat window and
//! the URL source in front of it and logs every alert it could not deliver as lost.

use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_kit::Clock;
use secrecy::SecretString;
use slack_notify::{Message, SlackError, WebhookPoster};

use crate::alert::{Alerter, Delivery, ItAlert, Lost};
use crate::url::WebhookUrlSource;
use crate::window::RepeatWindow;

/// Posts one message to an incoming webhook: the poster's own retries (429 honouring `Retry-After`, 5xx,
/// failed connects), plus **one** retry after a timeout, which the poster does not repeat (a timed-out post
/// may have been delivered; a duplicated alert is acceptable, a lost one is not). Every attempt ends before
/// the deadline when one is given.
#[derive(Clone)]
pub struct SlackSender {
    poster: Arc<dyn WebhookPoster>,
}

impl SlackSender {
    /// A sender over `poster` (`slack_notify::WebhookClient`, or any `WebhookPoster`).
    pub fn new(poster: Arc<dyn WebhookPoster>) -> Self {
        Self { poster }
    }

    /// Posts `message` to `url`; after a timeout, posts once more.
    pub async fn post(
        &self,
        url: &SecretString,
        message: &Message,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), Lost> {
        match self.attempt(url, message, deadline).await {
            Err(AttemptError::Slack(SlackError::Timeout)) => {
                tracing::warn!(
                    upstream = "slack",
                    outcome = "alert_retry",
                    "the alert post timed out; posting once more"
                );
                self.attempt(url, message, deadline)
                    .await
                    .map_err(AttemptError::lost)
            }
            other => other.map_err(AttemptError::lost),
        }
    }

    async fn attempt(
        &self,
        url: &SecretString,
        message: &Message,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), AttemptError> {
        let post = self.poster.post_webhook(url, message);
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, post)
                .await
                .map_err(|_| AttemptError::Deadline)?
                .map_err(AttemptError::Slack),
            None => post.await.map_err(AttemptError::Slack),
        }
    }
}

enum AttemptError {
    Slack(SlackError),
    Deadline,
}

impl AttemptError {
    fn lost(self) -> Lost {
        match self {
            Self::Slack(error) => Lost {
                transient: error.is_transient(),
                reason: lambda_kit::error::chain(&error),
            },
            Self::Deadline => Lost {
                reason: "the invocation deadline was reached".to_owned(),
                transient: true,
            },
        }
    }
}

/// [`Alerter`] posting to Slack: a key delivered within the repeat window is [`Delivery::Suppressed`]; the URL
/// comes from a [`WebhookUrlSource`] on every alert; an alert that cannot be delivered (no URL, Slack
/// refused, timed out twice, deadline) is logged as lost at `error` level with its text
/// (`outcome="alert_lost"`) and returned as [`Delivery::Lost`]. Only delivered keys enter the window, so a
/// lost alert is tried again next time.
pub struct SlackAlerter {
    sender: SlackSender,
    url: Arc<dyn WebhookUrlSource>,
    window: RepeatWindow,
    clock: Arc<dyn Clock>,
}

impl SlackAlerter {
    /// An alerter with the default window ([`RepeatWindow::DEFAULT`], 10 minutes).
    pub fn new(
        poster: Arc<dyn WebhookPoster>,
        url: Arc<dyn WebhookUrlSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            sender: SlackSender::new(poster),
            url,
            window: RepeatWindow::default(),
            clock,
        }
    }

    /// Replaces the repeat window's length.
    #[must_use]
    pub fn with_window(mut self, window: std::time::Duration) -> Self {
        self.window = RepeatWindow::new(window);
        self
    }

    /// The repeat window (to forget keys an alert supersedes).
    pub fn window(&self) -> &RepeatWindow {
        &self.window
    }

    async fn deliver(&self, alert: &ItAlert) -> Result<(), Lost> {
        let url = self.url.webhook_url().await.map_err(|e| Lost {
            reason: format!("no webhook URL: {}", e.reason),
            transient: e.transient,
        })?;
        self.sender.post(&url, &alert.message, alert.deadline).await
    }
}

impl Alerter for SlackAlerter {
    fn send<'a>(&'a self, alert: &'a ItAlert) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            if self.window.was_sent(&alert.key, self.clock.now()) {
                tracing::info!(alert_kind = %alert.kind, outcome = "alert_suppressed", "identical alert sent recently");
                return Delivery::Suppressed;
            }
            match self.deliver(alert).await {
                Ok(()) => {
                    self.window.record(&alert.key, self.clock.now());
                    tracing::info!(alert_kind = %alert.kind, outcome = "alert_sent", "IT alert sent");
                    Delivery::Sent
                }
                Err(lost) => {
                    tracing::error!(
                        alert_kind = %alert.kind,
                        outcome = "alert_lost",
                        reason = %lost.reason,
                        transient = lost.transient,
                        alert_text = %alert.message.text,
                        "IT alert lost: it could not be delivered"
                    );
                    Delivery::Lost(lost)
                }
            }
        })
    }
}
