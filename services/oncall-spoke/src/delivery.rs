//! Delivering the rendered alerts over it-alert's pieces (ADR 0016): [`it_alert::SlackSender`] posts (the
//! webhook client's retries plus one retry after a timeout, every attempt before the deadline) and
//! [`it_alert::RepeatWindow`] remembers what was delivered for `ONCALL_ALERT_DEDUP_TTL_SECS`. oncall-spoke
//! routes each message to its channel's webhook itself, so it uses the sender, not `SlackAlerter`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use it_alert::{RepeatWindow, SlackSender};

use crate::alert::Message;
use crate::outcome::AlertKind;
use crate::secret::{OncallSecret, normalise_channel};

/// Delivered alerts, per de-dup key (Spoke team | on-call e-mail | reason) and channel, in a repeat window.
/// Holds no secrets.
#[derive(Debug)]
pub struct AlertLog {
    window: RepeatWindow,
}

impl AlertLog {
    /// An empty log remembering deliveries for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            window: RepeatWindow::new(ttl),
        }
    }

    fn entry(key: &str, channel: &str) -> String {
        format!("{key}|{}", normalise_channel(channel))
    }

    /// True when `key` was delivered to `channel` within the TTL.
    pub fn was_sent(&self, key: &str, channel: &str, now: DateTime<Utc>) -> bool {
        self.window.was_sent(&Self::entry(key, channel), now)
    }

    /// Remembers a delivery of `key` to `channel`.
    pub fn record(&self, key: &str, channel: &str, now: DateTime<Utc>) {
        self.window.record(&Self::entry(key, channel), now);
    }

    /// Forgets every live delivery of a retryable alert whose key starts with `prefix` (`team|email|`); true
    /// when there was one (a `recovered` note is then due).
    pub fn take_retryable(&self, prefix: &str, now: DateTime<Utc>) -> bool {
        self.window.forget_where(now, |entry| {
            entry
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('|').next())
                .is_some_and(AlertKind::is_retryable_code)
        })
    }
}

/// The result of delivering one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Posts delivered.
    pub sent: u32,
    /// Posts that failed or could not be routed.
    pub failures: u32,
    /// A post failed transiently (429/5xx/timeout after the retry, or the deadline): the invocation must
    /// fail so that the platform retries and the alert is delivered then.
    pub transient_failure: bool,
    /// Channels skipped because the same alert was already delivered there.
    pub deduplicated: u32,
}

/// Where alerts go and how they are remembered.
pub struct Deliverer<'a> {
    /// Posts to one webhook.
    pub sender: &'a SlackSender,
    /// The routes.
    pub secret: &'a OncallSecret,
    /// The de-dup log.
    pub log: &'a AlertLog,
    /// Now.
    pub now: DateTime<Utc>,
    /// Posts must end before this instant (the Lambda deadline).
    pub deadline: Option<tokio::time::Instant>,
}

impl Deliverer<'_> {
    /// Sends each message unless already delivered for `key`; records deliveries. A message that cannot be
    /// delivered is logged as lost with its text (it holds no secret).
    pub async fn deliver(&self, key: &str, kind: AlertKind, messages: &[Message]) -> Delivery {
        let mut report = Delivery::default();
        for message in messages {
            if self.log.was_sent(key, &message.channel, self.now) {
                tracing::info!(alert = kind.code(), channel = %message.channel, outcome = "alert_suppressed", "alert already delivered for this handoff; not repeated");
                report.deduplicated += 1;
                continue;
            }
            let Some(route) = self.secret.route(&message.channel) else {
                tracing::error!(alert = kind.code(), channel = %message.channel, outcome = "alert_lost", reason = "undeliverable", transient = false, alert_text = %message.text, "no Slack route for the channel");
                report.failures += 1;
                continue;
            };
            let sent = self
                .sender
                .post(route.url(), &message.to_slack(&route), self.deadline)
                .await;
            match sent {
                Ok(()) => {
                    tracing::info!(alert = kind.code(), channel = %message.channel, route = route.kind(), outcome = "alert_sent", "alert sent");
                    self.log.record(key, &message.channel, self.now);
                    report.sent += 1;
                }
                Err(lost) => {
                    report.failures += 1;
                    report.transient_failure |= lost.transient;
                    tracing::error!(
                        alert = kind.code(),
                        channel = %message.channel,
                        outcome = "alert_lost",
                        reason = %lost.reason,
                        transient = lost.transient,
                        alert_text = %message.text,
                        "alert not delivered"
                    );
                }
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_deliveries_are_handed_back_once_and_others_kept() {
        let log = AlertLog::new(Duration::from_secs(60));
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        log.record("it|alice@example.com|spoke_unavailable", "#alerts_it", t0);
        log.record("it|alice@example.com|not_team_member", "#alerts_it", t0);
        assert!(log.was_sent("it|alice@example.com|spoke_unavailable", "ALERTS_IT", t0));
        let later = t0 + chrono::Duration::seconds(61);
        assert!(!log.was_sent(
            "it|alice@example.com|spoke_unavailable",
            "#alerts_it",
            later
        ));
        assert!(!log.take_retryable("it|bob@example.com|", t0));
        assert!(log.take_retryable("it|alice@example.com|", t0));
        assert!(!log.take_retryable("it|alice@example.com|", t0));
        assert!(log.was_sent("it|alice@example.com|not_team_member", "#alerts_it", t0));
    }
}
