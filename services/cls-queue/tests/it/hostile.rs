//! Hostile input (issue 14): property tests of the SQS envelope path of `handle`. Batches of bodies that are
//! not usable envelopes (any text, any JSON, wrong version or kind, single-byte changes of a real envelope)
//! never panic and never reach Spoke; a permanent problem (`NotJson`, `Malformed`) is acknowledged; an
//! unknown version or kind is reported failed, and so is every later record of its message group (FIFO).

use std::collections::HashSet;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use cls_core::{Envelope, EnvelopeError};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::*;

/// One record: message group, receive count, body.
type Record = (String, u32, String);

/// Bodies that are not usable envelopes, derived from the real envelope `valid`.
fn hostile_body(valid: String) -> impl Strategy<Value = String> {
    let flipped = valid.clone();
    let versioned = valid.clone();
    let kinded = valid;
    prop_oneof![
        ".{0,120}",
        "\\{\"v\":[0-9]{1,3},\"kind\":\"[a-z_]{0,14}\"(,\"[a-z_]{1,10}\":(null|[0-9]{1,4}|\"[a-z]{0,6}\"|\\{\\}))?\\}",
        (any::<Index>(), 1u8..=255).prop_map(move |(at, delta)| {
            let mut bytes = flipped.clone().into_bytes();
            let i = at.index(bytes.len());
            bytes[i] = bytes[i].wrapping_add(delta);
            String::from_utf8_lossy(&bytes).into_owned()
        }),
        (2u64..u64::MAX).prop_map(move |v| {
            let mut json: serde_json::Value = serde_json::from_str(&versioned).unwrap();
            json["v"] = v.into();
            json.to_string()
        }),
        "[a-z_]{1,20}".prop_map(move |kind| {
            let mut json: serde_json::Value = serde_json::from_str(&kinded).unwrap();
            json["kind"] = kind.into();
            json.to_string()
        }),
    ]
    // A body that parses is a real event for real services: not what this property is about.
    .prop_filter("a usable envelope", |body| Envelope::parse(body).is_err())
}

/// The message ids `handle` must report failed, in order (cls-core README, "Queue messages": unknown version or kind is
/// retried; FIFO: a later record of a failed group is deferred).
fn expected_failures(records: &[Record]) -> Vec<String> {
    let mut failed_groups = HashSet::new();
    let mut failures = Vec::new();
    for (i, (group, _, body)) in records.iter().enumerate() {
        let retryable = Envelope::parse(body).is_err_and(|e| e.is_retryable());
        if failed_groups.contains(group) || retryable {
            failed_groups.insert(group.clone());
            failures.push(format!("m-{i}"));
        }
    }
    failures
}

fn sqs_event(records: &[Record]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records
        .iter()
        .enumerate()
        .map(|(i, (group, receives, body))| {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m-{i}"));
            message.body = Some(body.clone());
            message
                .attributes
                .insert("MessageGroupId".into(), group.clone());
            message
                .attributes
                .insert("ApproximateReceiveCount".into(), receives.to_string());
            message
        })
        .collect();
    event
}

#[test]
fn hostile_bodies_are_acknowledged_or_retried_by_class_and_never_reach_spoke() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stack = rt.block_on(spawn());
    let valid = stack
        .envelope(&Event::added("octocat", "widgets"))
        .to_json();
    let record = (
        proptest::sample::select(vec![
            "gh-1-1".to_owned(),
            "gh-1-2".to_owned(),
            "gh-2-1".to_owned(),
        ]),
        1u32..=6,
        hostile_body(valid),
    );
    let mut runner = cls_testkit::hostile::runner(64);
    let classes = std::sync::Mutex::new(HashSet::new());
    runner
        .run(&proptest::collection::vec(record, 1..6), |records| {
            for (_, _, body) in &records {
                if let Err(e) = Envelope::parse(body) {
                    classes.lock().unwrap().insert(e.reason());
                }
            }
            let response = rt.block_on(stack.handle(sqs_event(&records)));
            let failed: Vec<String> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect();
            prop_assert_eq!(failed, expected_failures(&records));
            Ok(())
        })
        .unwrap();
    assert!(stack.requests().is_empty(), "no ticket was created");
    assert_eq!(
        stack.spoke.kit().journal().len(),
        0,
        "Spoke was never called"
    );
    // Every class of refusal was exercised.
    let classes = classes.into_inner().unwrap();
    for class in [
        EnvelopeError::NotJson.reason(),
        "malformed_envelope",
        "unsupported_version",
        "unknown_kind",
    ] {
        assert!(
            classes.contains(class),
            "{class} never generated: {classes:?}"
        );
    }
}
