//! Putting the events on the EventBridge bus (`PutEvents`, 10 entries per call).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;

use crate::event::{DETAIL_TYPE, SOURCE};

/// The most entries one `PutEvents` call takes.
pub const ENTRIES_PER_CALL: usize = 10;

/// Where the handoff events go. One result per detail, in order: the event id, or why the entry failed.
pub trait HandoffBus: Send + Sync {
    /// Puts one event per detail, timestamped `at`.
    fn put<'a>(
        &'a self,
        details: &'a [Value],
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Vec<Result<String, String>>>;
}

/// The EventBridge bus `bus_name`.
#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeBus {
    /// Puts on `bus_name` through `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: &str) -> Self {
        Self {
            client,
            bus_name: bus_name.to_owned(),
        }
    }

    async fn put_batch(&self, details: &[Value], at: DateTime<Utc>) -> Vec<Result<String, String>> {
        let time = aws_smithy_types::DateTime::from_secs(at.timestamp());
        let entries: Vec<PutEventsRequestEntry> = details
            .iter()
            .map(|detail| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(DETAIL_TYPE)
                    .detail(detail.to_string())
                    .event_bus_name(&self.bus_name)
                    .time(time)
                    .build()
            })
            .collect();
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Err(e) => {
                let why = format!("PutEvents failed: {}", describe(&e));
                details.iter().map(|_| Err(why.clone())).collect()
            }
            Ok(out) => {
                let results = out.entries();
                (0..details.len())
                    .map(|i| match results.get(i) {
                        Some(r) if r.error_code().is_none() => {
                            Ok(r.event_id().unwrap_or_default().to_owned())
                        }
                        Some(r) => Err(format!(
                            "PutEvents entry failed: {} {}",
                            r.error_code().unwrap_or_default(),
                            r.error_message().unwrap_or_default()
                        )),
                        None => Err("PutEvents answered fewer entries than sent".to_owned()),
                    })
                    .collect()
            }
        }
    }
}

fn describe<E: aws_sdk_eventbridge::error::ProvideErrorMetadata + std::fmt::Display>(
    error: &E,
) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => error.to_string(),
    }
}

impl HandoffBus for EventBridgeBus {
    fn put<'a>(
        &'a self,
        details: &'a [Value],
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Vec<Result<String, String>>> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(details.len());
            for batch in details.chunks(ENTRIES_PER_CALL) {
                results.extend(self.put_batch(batch, at).await);
            }
            results
        })
    }
}
