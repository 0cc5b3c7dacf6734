//! What a consumer saw: every batch with its records and outcome ([`Tracer`], written as JSON lines for
//! diagnosing an ordering failure), or every record it received ([`Recorder`], for sending late copies).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use devstack::lambda::{InvokeContext, JsonHandler, json_handler};
use serde_json::{Value, json};

/// Records every batch a consumer handles (start, end, each record's group, delivery, receive count, and the
/// failures the response listed) for diagnosing an ordering failure.
#[derive(Debug, Clone, Default)]
pub struct Tracer {
    batches: Arc<Mutex<Vec<Value>>>,
    started: Arc<std::sync::OnceLock<Instant>>,
}

impl Tracer {
    /// `handler`, with every batch it handles recorded.
    pub fn wrap(&self, handler: JsonHandler) -> JsonHandler {
        let batches = Arc::clone(&self.batches);
        let started = Arc::clone(&self.started);
        json_handler(move |event: Value, ctx: InvokeContext| {
            let handler = handler.clone();
            let batches = Arc::clone(&batches);
            let t0 = *started.get_or_init(Instant::now);
            async move {
                let begin = t0.elapsed().as_millis();
                let records: Vec<Value> = event["Records"]
                    .as_array()
                    .map(|rs| {
                        rs.iter()
                            .map(|r| {
                                let body: Value =
                                    serde_json::from_str(r["body"].as_str().unwrap_or("{}"))
                                        .unwrap_or(Value::Null);
                                json!({
                                    "id": r["messageId"],
                                    "group": r["attributes"]["MessageGroupId"],
                                    "receives": r["attributes"]["ApproximateReceiveCount"],
                                    "dedup": r["attributes"]["MessageDeduplicationId"],
                                    "body_len": body.to_string().len(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let result = handler(event, ctx).await;
                let end = t0.elapsed().as_millis();
                let outcome = match &result {
                    Ok(v) => v["batchItemFailures"].clone(),
                    Err(e) => json!({"error": e}),
                };
                if let Ok(mut all) = batches.lock() {
                    all.push(json!({"begin": begin, "end": end, "records": records, "failures": outcome}));
                }
                result
            }
        })
    }

    /// The deduplication ids (the delivery ids) of every record a batch acknowledged (not reported failed,
    /// in a batch that did not fail as a whole).
    pub fn acknowledged(&self) -> BTreeSet<String> {
        let all = self.batches.lock().map(|b| b.clone()).unwrap_or_default();
        let mut acked = BTreeSet::new();
        for batch in all {
            let Some(failures) = batch["failures"].as_array() else {
                continue;
            };
            let failed: BTreeSet<&str> = failures
                .iter()
                .filter_map(|f| f["itemIdentifier"].as_str())
                .collect();
            for record in batch["records"].as_array().into_iter().flatten() {
                if !failed.contains(record["id"].as_str().unwrap_or_default())
                    && let Some(dedup) = record["dedup"].as_str()
                {
                    acked.insert(dedup.to_owned());
                }
            }
        }
        acked
    }

    /// Writes every recorded batch as one JSON line to `path` (best effort: a diagnostic).
    pub fn write(&self, path: &std::path::Path) {
        let all = self.batches.lock().map(|b| b.clone()).unwrap_or_default();
        let text: String = all.iter().map(|b| format!("{b}\n")).collect();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, text);
    }
}

/// Records every SQS record a consumer receives (body and attributes), then passes the event on.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    records: Arc<Mutex<Vec<Value>>>,
}

impl Recorder {
    /// `handler`, with every record it receives kept.
    pub fn wrap(&self, handler: JsonHandler) -> JsonHandler {
        let records = Arc::clone(&self.records);
        json_handler(move |event: Value, ctx: InvokeContext| {
            if let Some(list) = event["Records"].as_array()
                && let Ok(mut all) = records.lock()
            {
                all.extend(list.iter().cloned());
            }
            handler(event, ctx)
        })
    }

    /// The first copy of every record (by message id).
    pub fn records(&self) -> Vec<Value> {
        let all = self.records.lock().map(|r| r.clone()).unwrap_or_default();
        let mut seen = BTreeSet::new();
        all.into_iter()
            .filter(|r| seen.insert(r["messageId"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }
}
