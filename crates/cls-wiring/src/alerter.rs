//! The IT alerter shared by the CLS binaries: an incoming-webhook post per alert, identical alerts at most once
//! per window (cls.md §12). Failures are logged, never returned: an alert never fails the work it reports on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use lambda_kit::Clock;
use secrets::SecretStore;
use slack_notify::{Message, WebhookPoster};

use cls_core::Alert;
use cls_core::settings::SecretIds;

use crate::load::{legacy_alert_settings, load_alert_settings};

/// Sends IT alerts. Failures are logged, never returned: an alert never fails a record or an HTTP answer.
pub trait Alerter: Send + Sync {
    /// Sends `alert` (identical alerts at most once per 10 minutes in this instance).
    fn alert<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()>;
}

/// [`Alerter`] posting to the incoming webhook of the `cls/alerts` secret (`alert_webhook_url`), or of the old
/// layout's `cls/slack` secret (see [`load_alert_settings`]).
pub struct SlackAlerter {
    poster: Arc<dyn WebhookPoster>,
    secrets: Arc<dyn SecretStore>,
    alerts_secret_id: Option<String>,
    slack_secret_id: String,
    clock: Arc<dyn Clock>,
    sent: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl SlackAlerter {
    /// Identical alerts within this window are sent once (cls.md §12).
    pub const REPEAT_WINDOW_MINUTES: i64 = 10;

    /// An alerter of the old layout only: reads `alert_webhook_url` from `slack_secret_id` on each (rare)
    /// alert, through the cache. Prefer [`Self::from_ids`].
    pub fn new(
        poster: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretStore>,
        slack_secret_id: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            poster,
            secrets,
            alerts_secret_id: None,
            slack_secret_id: slack_secret_id.to_owned(),
            clock,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// An alerter of the per-function layout: reads `ids.alerts` on each (rare) alert, through the cache,
    /// falling back to `alert_webhook_url` of `ids.slack` while `ids.alerts` does not exist.
    pub fn from_ids(
        poster: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretStore>,
        ids: &SecretIds,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut alerter = Self::new(poster, secrets, &ids.slack, clock);
        alerter.alerts_secret_id = Some(ids.alerts.clone());
        alerter
    }

    fn first_in_window(&self, key: &str) -> bool {
        let now = self.clock.now();
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.retain(|_, at| now - *at < Duration::minutes(Self::REPEAT_WINDOW_MINUTES));
        if sent.contains_key(key) {
            return false;
        }
        sent.insert(key.to_owned(), now);
        true
    }
}

impl Alerter for SlackAlerter {
    fn alert<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !self.first_in_window(&alert.dedup_key()) {
                tracing::info!(alert_kind = %alert.kind, outcome = "alert_suppressed", "identical alert sent recently");
                return;
            }
            let store = self.secrets.as_ref();
            let settings = match &self.alerts_secret_id {
                Some(alerts) => load_alert_settings(store, alerts, &self.slack_secret_id).await,
                None => legacy_alert_settings(store, &self.slack_secret_id).await,
            };
            let settings = match settings {
                Ok(s) => s,
                Err(error) => {
                    let cause = std::error::Error::source(&error).map(ToString::to_string);
                    tracing::error!(alert_kind = %alert.kind, error = %error, cause = cause.as_deref().unwrap_or(""), "alert not sent: alert settings unavailable");
                    return;
                }
            };
            match self
                .poster
                .post_webhook(&settings.alert_webhook_url, &Message::text(alert.text()))
                .await
            {
                Ok(()) => {
                    tracing::info!(alert_kind = %alert.kind, outcome = "alert_sent", "IT alert sent")
                }
                Err(error) => {
                    tracing::error!(alert_kind = %alert.kind, error = %error, "alert not sent")
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_kit::FixedClock;
    use secrecy::{ExposeSecret, SecretString};
    use secrets::MemorySecretStore;
    use slack_notify::SlackError;

    #[derive(Default)]
    struct Recorder {
        posts: Mutex<Vec<(String, String)>>,
    }

    impl WebhookPoster for Recorder {
        fn post_webhook<'a>(
            &'a self,
            url: &'a SecretString,
            message: &'a Message,
        ) -> BoxFuture<'a, Result<(), SlackError>> {
            self.posts
                .lock()
                .unwrap()
                .push((url.expose_secret().to_owned(), message.text.clone()));
            Box::pin(async { Ok(()) })
        }
    }

    fn alert() -> Alert {
        Alert::new("test", "cls-queue", "PermanentFailure", "bad record").subject("acme", "octocat")
    }

    #[tokio::test]
    async fn identical_alerts_are_sent_once_per_window() {
        let clock = Arc::new(FixedClock::at("2026-01-01T00:00:00Z").unwrap());
        let poster = Arc::new(Recorder::default());
        let store = MemorySecretStore::with(
            "cls/slack",
            serde_json::json!({"alert_webhook_url": "http://127.0.0.1:1/services/T/B/X"}),
        );
        let alerter =
            SlackAlerter::new(poster.clone(), Arc::new(store), "cls/slack", clock.clone());
        let alert = alert();
        alerter.alert(&alert).await;
        alerter.alert(&alert).await;
        assert_eq!(poster.posts.lock().unwrap().len(), 1);
        clock.advance(Duration::minutes(SlackAlerter::REPEAT_WINDOW_MINUTES));
        alerter.alert(&alert).await;
        let posts = poster.posts.lock().unwrap();
        assert_eq!(posts.len(), 2, "after the window the alert is sent again");
        assert_eq!(posts[0].0, "http://127.0.0.1:1/services/T/B/X");
    }

    #[tokio::test]
    async fn a_missing_webhook_url_sends_nothing_and_does_not_fail() {
        let clock = Arc::new(FixedClock::at("2026-01-01T00:00:00Z").unwrap());
        let poster = Arc::new(Recorder::default());
        let store = MemorySecretStore::with("cls/slack", serde_json::json!({}));
        let alerter = SlackAlerter::new(poster.clone(), Arc::new(store), "cls/slack", clock);
        alerter.alert(&alert()).await;
        assert!(poster.posts.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_alerts_secret_wins_and_the_old_slack_secret_is_the_fallback() {
        let clock = Arc::new(FixedClock::at("2026-01-01T00:00:00Z").unwrap());
        let poster = Arc::new(Recorder::default());
        let store = MemorySecretStore::with(
            "a1/slack",
            serde_json::json!({"alert_webhook_url": "http://127.0.0.1:1/services/T/B/OLD"}),
        );
        let ids = SecretIds {
            alerts: "a1/alerts".into(),
            slack: "a1/slack".into(),
            ..SecretIds::default()
        };
        let alerter =
            SlackAlerter::from_ids(poster.clone(), Arc::new(store.clone()), &ids, clock.clone());
        alerter.alert(&alert()).await;
        store.insert(
            "a1/alerts",
            serde_json::json!({"alert_webhook_url": "http://127.0.0.1:1/services/T/B/NEW"}),
        );
        clock.advance(Duration::minutes(SlackAlerter::REPEAT_WINDOW_MINUTES));
        alerter.alert(&alert()).await;
        let urls: Vec<String> = poster
            .posts
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.0.clone())
            .collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:1/services/T/B/OLD",
                "http://127.0.0.1:1/services/T/B/NEW"
            ]
        );
    }
}
