//! Operator alerts (README, "Failure classes and alarms"): one message per failed invocation and a refresh-token warning.
//! A failing alert is logged and never changes the outcome.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use secrecy::SecretString;
use secrets::SecretStore;
use slack_notify::{Message, WebhookPoster};
use tracing::warn;

use crate::error::FailureClass;

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertKind {
    /// The invocation failed with this (most severe) class. `ReauthRequired` is the re-auth alert.
    SweepFailed(FailureClass),
    /// The integration refresh token expires within the warning days.
    RefreshTokenExpiring,
}

/// One alert: its kind and a secret-free text (class, ids, tracking ids, action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The kind.
    pub kind: AlertKind,
    /// The text.
    pub text: String,
}

/// Sends alerts. Implementations swallow and log their own failures.
pub trait Alerter: Send + Sync {
    /// Sends `alert`.
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()>;
}

/// Alerts switched off.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAlerts;

impl Alerter for NoAlerts {
    fn send<'a>(&'a self, _alert: &'a Alert) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// Keeps alerts in memory (tests, demo).
#[derive(Debug, Default, Clone)]
pub struct RecordingAlerter {
    alerts: Arc<Mutex<Vec<Alert>>>,
}

impl RecordingAlerter {
    /// Every alert sent so far.
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Alerter for RecordingAlerter {
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()> {
        self.alerts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(alert.clone());
        Box::pin(std::future::ready(()))
    }
}

/// Posts alerts to the Slack incoming webhook stored in the Slack secret (`BYODS_SLACK_SECRET_ID`), under
/// `webhookUrl` (also accepted: `webhook_url`, `alert_webhook_url`).
pub struct SlackAlerter {
    poster: Arc<dyn WebhookPoster>,
    secrets: Arc<dyn SecretStore>,
    secret_id: String,
}

impl SlackAlerter {
    /// An alerter posting through `poster` to the webhook in secret `secret_id`.
    pub fn new(
        poster: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretStore>,
        secret_id: &str,
    ) -> Self {
        Self {
            poster,
            secrets,
            secret_id: secret_id.to_owned(),
        }
    }

    async fn webhook_url(&self) -> Option<SecretString> {
        match self.secrets.get_value(&self.secret_id).await {
            Ok(v) => ["webhookUrl", "webhook_url", "alert_webhook_url"]
                .iter()
                .find_map(|k| v.get(*k).and_then(|u| u.as_str()))
                .map(SecretString::from),
            Err(e) => {
                warn!(event = "alert_failed", secret_id = %self.secret_id, error = %e, "cannot read the Slack secret");
                None
            }
        }
    }
}

impl Alerter for SlackAlerter {
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(url) = self.webhook_url().await else {
                warn!(event = "alert_failed", secret_id = %self.secret_id, "the Slack secret has no webhookUrl");
                return;
            };
            let message = Message::text(alert.text.clone());
            if let Err(e) = self.poster.post_webhook(&url, &message).await {
                warn!(event = "alert_failed", error = %e, "posting the Slack alert failed");
            }
        })
    }
}
