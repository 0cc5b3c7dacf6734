//! moto's FIFO queues as corrected by ADR 0005 (docs/decisions/0005-patch-moto-fifo-redelivery-order.md):
//! several consumers receiving at once, with messages arriving during their long polls, never hold messages of
//! one group at the same time, and each group is received oldest first — as Amazon SQS delivers them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devstack::aws::{FifoQueueSpec, create_fifo_queue_with_dlq, sqs_client};

use crate::support::{moto, unique};

const GROUPS: usize = 3;
const PER_GROUP: usize = 20;
const CONSUMERS: usize = 6;

/// What the consumers saw: which consumer holds which group now, every overlap, and each group's bodies in
/// the order they were received.
#[derive(Default)]
struct Seen {
    holders: BTreeMap<String, usize>,
    overlaps: Vec<String>,
    received: BTreeMap<String, Vec<String>>,
}

#[tokio::test]
async fn concurrent_consumers_never_share_a_group_and_receive_it_oldest_first() {
    let moto = moto().await;
    let client = sqs_client(&moto.endpoint());
    let spec = FifoQueueSpec::new(&unique("concurrent"))
        .visibility_timeout_secs(30)
        .max_receive_count(5);
    let queues = create_fifo_queue_with_dlq(&client, &spec).await.unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let total = GROUPS * PER_GROUP;
    let deadline = Instant::now() + Duration::from_secs(120);

    let consumers = (0..CONSUMERS).map(|me| {
        let (client, url, seen) = (client.clone(), queues.url.clone(), Arc::clone(&seen));
        async move {
            while Instant::now() < deadline {
                let done: usize = seen.lock().unwrap().received.values().map(Vec::len).sum();
                if done >= total {
                    break;
                }
                // Long polls, so messages sent while a call waits are delivered by that call.
                let answer = client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(
                        aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
                    )
                    .send()
                    .await
                    .unwrap();
                let messages = answer.messages();
                let groups: Vec<String> = messages
                    .iter()
                    .map(|m| {
                        m.attributes()
                            .and_then(|a| {
                                a.get(
                                    &aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
                                )
                            })
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                {
                    let mut seen = seen.lock().unwrap();
                    for (message, group) in messages.iter().zip(&groups) {
                        if let Some(other) = seen.holders.insert(group.clone(), me)
                            && other != me
                        {
                            seen.overlaps
                                .push(format!("{group}: consumers {other} and {me}"));
                        }
                        let body = message.body().unwrap_or_default().to_owned();
                        seen.received.entry(group.clone()).or_default().push(body);
                    }
                }
                // Hold the batch a moment (a handler at work), release the groups, then delete.
                tokio::time::sleep(Duration::from_millis(100)).await;
                {
                    let mut seen = seen.lock().unwrap();
                    for group in &groups {
                        if seen.holders.get(group) == Some(&me) {
                            seen.holders.remove(group);
                        }
                    }
                }
                for message in messages {
                    client
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    });
    // Messages arrive a few at a time while the consumers poll.
    let sender = async {
        for i in 0..PER_GROUP {
            for g in 0..GROUPS {
                client
                    .send_message()
                    .queue_url(&queues.url)
                    .message_group_id(format!("g{g}"))
                    .message_deduplication_id(format!("g{g}-{i:02}"))
                    .message_body(format!("{i:02}"))
                    .send()
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    futures::future::join(sender, futures::future::join_all(consumers)).await;

    let seen = seen.lock().unwrap();
    assert!(
        seen.overlaps.is_empty(),
        "one group held by two consumers: {:?}",
        seen.overlaps
    );
    let in_order: Vec<String> = (0..PER_GROUP).map(|i| format!("{i:02}")).collect();
    for g in 0..GROUPS {
        assert_eq!(
            seen.received.get(&format!("g{g}")),
            Some(&in_order),
            "group g{g}"
        );
    }
}
