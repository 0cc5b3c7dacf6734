//! The SQS event-source emulator against moto.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use devstack::aws::{
    FifoQueueSpec, FifoQueues, create_fifo_queue_with_dlq, queue_depth, sqs_client,
};
use devstack::lambda::{JsonHandler, json_handler};
use devstack::sqs::EventSource;
use serde_json::{Value, json};

use crate::support::{eventually, moto, unique};

/// What the handler saw: one entry per invocation, each a list of (body, receive count).
type Seen = Arc<Mutex<Vec<Vec<(String, u32)>>>>;

struct Fixture {
    client: aws_sdk_sqs::Client,
    queues: FifoQueues,
}

async fn fifo(visibility_secs: u32, max_receive: u32) -> Fixture {
    let moto = moto().await;
    let client = sqs_client(&moto.endpoint());
    let spec = FifoQueueSpec::new(&unique("events"))
        .visibility_timeout_secs(visibility_secs)
        .max_receive_count(max_receive);
    let queues = create_fifo_queue_with_dlq(&client, &spec).await.unwrap();
    Fixture { client, queues }
}

impl Fixture {
    async fn send(&self, group: &str, bodies: &[&str]) {
        for body in bodies {
            self.client
                .send_message()
                .queue_url(&self.queues.url)
                .message_body(*body)
                .message_group_id(group)
                .message_deduplication_id(format!("{group}-{body}"))
                .send()
                .await
                .unwrap();
        }
    }

    fn source(&self, handler: JsonHandler) -> EventSource {
        EventSource::new(self.client.clone(), &self.queues.url, "test-fn", handler)
    }

    async fn depth(&self) -> u64 {
        queue_depth(&self.client, &self.queues.url).await.unwrap()
    }

    async fn dlq_bodies(&self) -> Vec<String> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queues.dlq_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received
            .messages()
            .iter()
            .map(|m| m.body().unwrap_or_default().to_owned())
            .collect()
    }
}

fn records(event: &Value) -> Vec<(String, String, u32)> {
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["messageId"].as_str().unwrap().to_owned(),
                r["body"].as_str().unwrap().to_owned(),
                r["attributes"]["ApproximateReceiveCount"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
            )
        })
        .collect()
}

/// A handler that records what it saw and fails the messages whose bodies `fail` returns for an invocation
/// number (0-based).
fn recording(
    seen: &Seen,
    fail: impl Fn(usize, &str) -> bool + Send + Sync + 'static,
) -> JsonHandler {
    let seen = Arc::clone(seen);
    let fail = Arc::new(fail);
    json_handler(move |event, _ctx| {
        let seen = Arc::clone(&seen);
        let fail = Arc::clone(&fail);
        async move {
            let records = records(&event);
            let call = {
                let mut all = seen.lock().unwrap();
                all.push(records.iter().map(|(_, b, c)| (b.clone(), *c)).collect());
                all.len() - 1
            };
            let failures: Vec<Value> = records
                .iter()
                .filter(|(_, body, _)| fail(call, body))
                .map(|(id, _, _)| json!({"itemIdentifier": id}))
                .collect();
            Ok(json!({"batchItemFailures": failures}))
        }
    })
}

fn bodies(seen: &Seen, call: usize) -> Vec<String> {
    seen.lock().unwrap()[call]
        .iter()
        .map(|(b, _)| b.clone())
        .collect()
}

/// Every body the handler saw, across calls, in order.
fn all_bodies(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .flatten()
        .map(|(b, _)| b.clone())
        .collect()
}

#[tokio::test]
async fn delivers_the_messages_of_a_fifo_group_in_order_and_deletes_them() {
    let f = fifo(30, 5).await;
    f.send("g1", &["m0", "m1", "m2", "m3", "m4", "m5", "m6"])
        .await;
    let seen: Seen = Arc::default();
    let source = f.source(recording(&seen, |_, _| false));

    let outcomes = source.run_until_idle().await.unwrap();

    assert_eq!(
        all_bodies(&seen),
        ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    );
    assert!(outcomes.iter().all(|o| o.is_success()));
    assert_eq!(f.depth().await, 0);
}

#[tokio::test]
async fn batches_hold_at_most_ten_messages() {
    let f = fifo(30, 5).await;
    let names: Vec<String> = (0..12).map(|i| format!("b{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    f.send("g", &refs).await;
    let seen: Seen = Arc::default();

    let outcomes = f
        .source(recording(&seen, |_, _| false))
        .run_until_idle()
        .await
        .unwrap();

    assert!(outcomes.iter().all(|o| o.message_ids.len() <= 10));
    assert_eq!(outcomes.iter().map(|o| o.deleted.len()).sum::<usize>(), 12);
}

#[tokio::test]
async fn redelivers_the_first_failure_of_a_group_and_everything_after_it_in_order() {
    let f = fifo(0, 5).await;
    f.send("g1", &["m0", "m1", "m2", "m3", "m4"]).await;
    let seen: Seen = Arc::default();
    // Stop at the first failure: m2 failed, so m2 and every later message of its group are reported.
    let source = f.source(recording(&seen, |call, body| call == 0 && body >= "m2"));

    let first = source.poll_once().await.unwrap().unwrap();
    assert_eq!(bodies(&seen, 0), ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(first.deleted.len(), 2);
    assert_eq!(first.failed.len(), 3);

    eventually(Duration::from_secs(10), "the redelivery", || async {
        source.poll_once().await.unwrap()
    })
    .await;
    let redelivered = seen.lock().unwrap()[1].clone();
    assert_eq!(
        redelivered,
        [
            ("m2".to_owned(), 2),
            ("m3".to_owned(), 2),
            ("m4".to_owned(), 2)
        ]
    );
    assert_eq!(f.depth().await, 0);
}

#[tokio::test]
async fn deletes_only_the_messages_not_listed_as_failures() {
    let f = fifo(30, 5).await;
    f.send("a", &["a0"]).await;
    f.send("b", &["b0"]).await;
    f.send("c", &["c0"]).await;
    let seen: Seen = Arc::default();

    let outcome = f
        .source(recording(&seen, |_, body| body == "b0"))
        .poll_once()
        .await
        .unwrap()
        .unwrap();

    assert_eq!(outcome.message_ids.len(), 3);
    assert_eq!(outcome.deleted.len(), 2);
    assert_eq!(outcome.failed.len(), 1);
    assert!(outcome.batch_error.is_none());
    assert_eq!(
        f.depth().await,
        1,
        "only the failed message stays on the queue"
    );
}

#[tokio::test]
async fn fails_the_whole_batch_when_the_handler_returns_an_error() {
    let f = fifo(0, 5).await;
    f.send("g", &["x0", "x1"]).await;
    let calls = Arc::new(Mutex::new(Vec::<Vec<u32>>::new()));
    let calls_in = Arc::clone(&calls);
    let source = f.source(json_handler(move |event, _| {
        let calls = Arc::clone(&calls_in);
        async move {
            let mut calls = calls.lock().unwrap();
            calls.push(records(&event).iter().map(|r| r.2).collect());
            if calls.len() == 1 {
                Err("upstream unavailable".to_owned())
            } else {
                Ok(Value::Null)
            }
        }
    }));

    let first = source.poll_once().await.unwrap().unwrap();
    assert!(first.deleted.is_empty());
    assert_eq!(first.failed.len(), 2);
    assert!(
        first
            .batch_error
            .as_deref()
            .unwrap()
            .contains("upstream unavailable")
    );
    assert_eq!(f.depth().await, 2);

    eventually(Duration::from_secs(10), "the redelivery", || async {
        source.poll_once().await.unwrap()
    })
    .await;
    assert_eq!(
        calls.lock().unwrap()[1],
        [2, 2],
        "both messages come back with a second receive"
    );
    assert_eq!(f.depth().await, 0);
}

#[tokio::test]
async fn fails_the_whole_batch_when_an_item_identifier_is_not_in_the_batch() {
    let f = fifo(30, 5).await;
    f.send("g", &["y0", "y1"]).await;
    let source = f.source(json_handler(|_, _| async {
        Ok(json!({"batchItemFailures": [{"itemIdentifier": "not-a-message-of-this-batch"}]}))
    }));

    let outcome = source.poll_once().await.unwrap().unwrap();

    assert!(outcome.deleted.is_empty());
    assert!(outcome.batch_error.unwrap().contains("not in the batch"));
    assert_eq!(f.depth().await, 2);
}

#[tokio::test]
async fn fails_the_whole_batch_when_a_handler_panics() {
    let f = fifo(30, 5).await;
    f.send("g", &["p0"]).await;
    let source = f.source(json_handler(|_, _| async { panic!("boom") }));

    let outcome = source.poll_once().await.unwrap().unwrap();

    assert!(outcome.deleted.is_empty());
    assert!(outcome.batch_error.unwrap().contains("panicked"));
}

#[tokio::test]
async fn redelivers_a_failed_message_only_after_the_visibility_timeout() {
    let f = fifo(2, 5).await;
    f.send("g", &["v0"]).await;
    let seen: Seen = Arc::default();
    let source = f.source(recording(&seen, |call, _| call == 0));

    // Started before the receive, so the elapsed time covers the whole visibility timeout.
    let started = std::time::Instant::now();
    source.poll_once().await.unwrap().unwrap();
    assert!(
        source.poll_once().await.unwrap().is_none(),
        "the failed message is invisible right after the batch"
    );
    let outcome = eventually(Duration::from_secs(10), "the redelivery", || async {
        source.poll_once().await.unwrap()
    })
    .await;

    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(outcome.receive_counts, [2]);
    assert!(outcome.is_success());
    assert_eq!(f.depth().await, 0);
}

#[tokio::test]
async fn moto_moves_a_message_to_the_dlq_after_five_receives_in_group_order() {
    let f = fifo(0, 5).await;
    f.send("g", &["d0", "d1"]).await;
    let seen: Seen = Arc::default();
    let source = f.source(recording(&seen, |_, _| true));

    eventually(Duration::from_secs(20), "the DLQ to fill", || async {
        let _ = source.poll_once().await.unwrap();
        let depth = queue_depth(&f.client, &f.queues.dlq_url).await.unwrap();
        (depth == 2).then_some(())
    })
    .await;

    let deliveries = seen.lock().unwrap().clone();
    assert_eq!(
        deliveries.len(),
        5,
        "five receives, then moto moves the messages"
    );
    for (i, batch) in deliveries.iter().enumerate() {
        let expected = u32::try_from(i).unwrap() + 1;
        assert_eq!(
            batch,
            &[("d0".to_owned(), expected), ("d1".to_owned(), expected)],
            "delivery {i} keeps the group's order"
        );
    }
    assert_eq!(f.dlq_bodies().await, ["d0", "d1"]);
    assert_eq!(f.depth().await, 0);
}

#[tokio::test]
async fn records_deserialize_as_the_lambda_sqs_event_with_fifo_attributes() {
    let f = fifo(30, 5).await;
    f.send("group-7", &["{\"kind\":\"member\"}"]).await;
    let captured = Arc::new(Mutex::new(None::<Value>));
    let captured_in = Arc::clone(&captured);
    let source = f.source(json_handler(move |event, ctx| {
        let captured = Arc::clone(&captured_in);
        async move {
            assert_eq!(ctx.function_name, "test-fn");
            *captured.lock().unwrap() = Some(event);
            Ok(json!({"batchItemFailures": []}))
        }
    }));

    source.poll_once().await.unwrap().unwrap();

    let event = captured.lock().unwrap().clone().unwrap();
    let typed: SqsEvent = serde_json::from_value(event).unwrap();
    let record = &typed.records[0];
    assert_eq!(record.body.as_deref(), Some("{\"kind\":\"member\"}"));
    assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(
        record.event_source_arn.as_deref(),
        Some(f.queues.arn.as_str())
    );
    assert!(
        record
            .receipt_handle
            .as_deref()
            .is_some_and(|h| !h.is_empty())
    );
    assert_eq!(record.attributes["MessageGroupId"], "group-7");
    assert_eq!(record.attributes["ApproximateReceiveCount"], "1");
    assert_eq!(
        record.attributes["MessageDeduplicationId"],
        "group-7-{\"kind\":\"member\"}"
    );
    assert!(record.attributes.contains_key("SequenceNumber"));
    assert!(record.attributes.contains_key("SentTimestamp"));
}

#[tokio::test]
async fn the_background_mapping_drains_messages_sent_while_it_runs() {
    let f = fifo(30, 5).await;
    let seen: Seen = Arc::default();
    let handle = f.source(recording(&seen, |_, _| false)).spawn();

    f.send("g", &["s0", "s1", "s2"]).await;
    // Wait for the deletes too: `stop` abandons a batch still in flight, as a Lambda timeout would.
    let f = &f;
    eventually(
        Duration::from_secs(15),
        "the background mapping",
        || async {
            let n: usize = seen.lock().unwrap().iter().map(Vec::len).sum();
            (n == 3 && f.depth().await == 0).then_some(())
        },
    )
    .await;
    handle.stop().await;

    assert_eq!(all_bodies(&seen), ["s0", "s1", "s2"]);
    assert_eq!(f.depth().await, 0);
}
