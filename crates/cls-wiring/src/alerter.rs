//! The CLS binaries' IT alerts over the one alert path (`it-alert`, ADR 0016): a [`cls_core::Alert`] becomes
//! an [`it_alert::ItAlert`] (its text, keyed by `dedup_key`), posted by [`it_alert::SlackAlerter`] to the
//! `alert_webhook_url` of `cls/alerts` — or of the old layout's `cls/slack` while `cls/alerts` does not exist
//! ([`load_alert_settings`]) — read through the secret store's TTL cache on every alert. Identical alerts
//! at most once per 10 minutes per instance; an alert that cannot be delivered is logged as lost, never
//! returned: an alert never fails the work it reports on.

use std::sync::Arc;

use cls_core::Alert;
use cls_core::settings::SecretIds;
use futures::future::BoxFuture;
use it_alert::{Delivery, ItAlert, UrlUnavailable, WebhookUrlSource};
use lambda_kit::Clock;
use secrecy::SecretString;
use secrets::SecretStore;
use slack_notify::WebhookPoster;

use crate::load::{SettingsLoadError, legacy_alert_settings, load_alert_settings};

/// Sends CLS IT alerts. Every [`it_alert::Alerter`] is one (a `RecordingAlerter` in a test, say).
pub trait Alerter: Send + Sync {
    /// Sends `alert` (identical alerts at most once per 10 minutes in this instance); what could not be
    /// delivered is logged as lost.
    fn alert<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()>;
}

impl<T: it_alert::Alerter + ?Sized> Alerter for T {
    fn alert<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _: Delivery = self.send(&to_it_alert(alert)).await;
        })
    }
}

/// The one-path alert for `alert`: kind `alert.kind`, keyed by [`Alert::dedup_key`], its text.
pub fn to_it_alert(alert: &Alert) -> ItAlert {
    ItAlert::text(alert.kind.as_str(), alert.dedup_key(), alert.text())
}

/// The `alert_webhook_url` of the CLS alert settings, read through the store on every alert.
pub struct AlertUrl {
    store: Arc<dyn SecretStore>,
    alerts_secret_id: Option<String>,
    slack_secret_id: String,
}

impl AlertUrl {
    /// `cls/alerts` (`ids.alerts`), falling back to `alert_webhook_url` of `ids.slack` while it does not exist.
    pub fn from_ids(store: Arc<dyn SecretStore>, ids: &SecretIds) -> Self {
        Self {
            store,
            alerts_secret_id: Some(ids.alerts.clone()),
            slack_secret_id: ids.slack.clone(),
        }
    }

    /// The old layout only: `alert_webhook_url` of `slack_secret_id`.
    pub fn legacy(store: Arc<dyn SecretStore>, slack_secret_id: &str) -> Self {
        Self {
            store,
            alerts_secret_id: None,
            slack_secret_id: slack_secret_id.to_owned(),
        }
    }
}

impl WebhookUrlSource for AlertUrl {
    fn webhook_url(&self) -> BoxFuture<'_, Result<SecretString, UrlUnavailable>> {
        Box::pin(async move {
            let store = self.store.as_ref();
            let settings = match &self.alerts_secret_id {
                Some(alerts) => load_alert_settings(store, alerts, &self.slack_secret_id).await,
                None => legacy_alert_settings(store, &self.slack_secret_id).await,
            };
            settings
                .map(|s| s.alert_webhook_url)
                .map_err(|error: SettingsLoadError| UrlUnavailable {
                    transient: error.is_transient(),
                    reason: lambda_kit::error::chain(&error),
                })
        })
    }
}

/// The CLS alerter: [`it_alert::SlackAlerter`] over [`AlertUrl`].
pub struct SlackAlerter(it_alert::SlackAlerter);

impl SlackAlerter {
    /// Identical alerts within this window are sent once.
    pub const REPEAT_WINDOW_MINUTES: i64 = 10;

    /// An alerter of the old layout only: `alert_webhook_url` of `slack_secret_id`. Prefer [`Self::from_ids`].
    pub fn new(
        poster: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretStore>,
        slack_secret_id: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::over(poster, AlertUrl::legacy(secrets, slack_secret_id), clock)
    }

    /// An alerter of the per-function layout: `ids.alerts`, falling back to `ids.slack` while `ids.alerts`
    /// does not exist.
    pub fn from_ids(
        poster: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretStore>,
        ids: &SecretIds,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::over(poster, AlertUrl::from_ids(secrets, ids), clock)
    }

    fn over(poster: Arc<dyn WebhookPoster>, url: AlertUrl, clock: Arc<dyn Clock>) -> Self {
        let minutes = u64::try_from(Self::REPEAT_WINDOW_MINUTES).unwrap_or(10);
        Self(
            it_alert::SlackAlerter::new(poster, Arc::new(url), clock)
                .with_window(std::time::Duration::from_secs(minutes * 60)),
        )
    }
}

impl it_alert::Alerter for SlackAlerter {
    fn send<'a>(&'a self, alert: &'a ItAlert) -> BoxFuture<'a, Delivery> {
        self.0.send(alert)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::Duration;
    use lambda_kit::FixedClock;
    use secrecy::ExposeSecret;
    use secrets::MemorySecretStore;
    use slack_notify::{Message, SlackError};

    use super::*;

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
        assert_eq!(posts[0].1, alert.text());
    }

    #[tokio::test]
    async fn a_missing_webhook_url_sends_nothing_and_is_logged_as_lost() {
        let clock = Arc::new(FixedClock::at("2026-01-01T00:00:00Z").unwrap());
        let poster = Arc::new(Recorder::default());
        let store = MemorySecretStore::with("cls/slack", serde_json::json!({}));
        let alerter = SlackAlerter::new(poster.clone(), Arc::new(store), "cls/slack", clock);
        let capture = lambda_kit::tracing_init::capture_logs();
        alerter.alert(&alert()).await;
        assert!(poster.posts.lock().unwrap().is_empty());
        let logs = capture.contents();
        assert!(
            logs.lines()
                .any(|l| l.contains("alert_lost") && l.contains("alert_webhook_url")),
            "{logs}"
        );
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

    #[tokio::test]
    async fn every_one_path_alerter_is_a_cls_alerter() {
        let recording = it_alert::RecordingAlerter::default();
        let alerts: Arc<dyn Alerter> = Arc::new(recording.clone());
        alerts.alert(&alert()).await;
        let sent = recording.alerts();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].kind.as_str(), sent[0].key.as_str()),
            ("PermanentFailure", alert().dedup_key().as_str())
        );
    }
}
