//! Hostile input (issue 14): property tests of the sweep's invocation event (`SweepEvent::from_value`,
//! `RunOptions::resolve`, `SweepEvent::next`). Any JSON never panics: a non-object is the schedule's event,
//! an object of the wrong shape is `BadEvent`; `today` is honoured outside production and refused in it;
//! a continuation carries the run's options.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cls_sweep::plan::Cursor;
use cls_sweep::{Config, RunOptions, SweepError, SweepEvent};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use serde_json::{Value, json};

/// Few, reproducible cases: the suite runs on every CI build.
fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(14),
        ..ProptestConfig::with_cases(256)
    }
}

fn config(stage: &str) -> Config {
    Config::from_lookup(lambda_kit::config::map_lookup(HashMap::from([
        ("CLS_STAGE".to_owned(), stage.to_owned()),
        ("CLS_QUEUE_URL".to_owned(), "http://q".to_owned()),
    ])))
    .unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-04T16:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Any JSON value, biased towards the event's own fields.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::from),
    ];
    let key = prop_oneof![
        proptest::sample::select(vec![
            "continuation".to_owned(),
            "after".to_owned(),
            "created_at".to_owned(),
            "id".to_owned(),
            "dry_run".to_owned(),
            "allow_removals".to_owned(),
            "today".to_owned(),
            "detail-type".to_owned(),
        ]),
        "[a-z_]{1,10}",
    ];
    leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn any_json_event_is_read_or_refused_and_resolved_without_panicking(event in json_value()) {
        let read = SweepEvent::from_value(&event);
        if !event.is_object() {
            prop_assert_eq!(read.as_ref().ok(), Some(&SweepEvent::default()));
        }
        let Ok(read) = read else { return Ok(()) };
        let resolved = RunOptions::resolve(read.clone(), &config("testing"), now());
        match read.today.as_deref() {
            None => prop_assert_eq!(resolved.unwrap().run_date, now().date_naive()),
            Some(raw) => match cls_core::dates::parse_date(raw) {
                Some(date) => prop_assert_eq!(resolved.unwrap().run_date, date),
                None => prop_assert!(matches!(resolved, Err(SweepError::BadEvent(_)))),
            },
        }
        let production = RunOptions::resolve(read.clone(), &config("production"), now());
        if read.today.is_some() {
            prop_assert!(matches!(production, Err(SweepError::TestClockRefused)));
        } else {
            prop_assert!(production.is_ok());
        }
    }

    #[test]
    fn an_event_round_trips_and_its_continuation_keeps_the_options(
        continuation in 0u32..u32::MAX,
        dry_run in proptest::option::of(any::<bool>()),
        allow_removals in proptest::option::of(any::<usize>()),
        today in proptest::option::of(".{0,12}"),
        created_at in ".{0,30}",
        id in ".{0,30}",
    ) {
        let event = SweepEvent { continuation, after: None, dry_run, allow_removals, today };
        let value = serde_json::to_value(&event).unwrap();
        prop_assert_eq!(SweepEvent::from_value(&value).unwrap(), event.clone());
        let cursor = Cursor { created_at, id };
        let next = event.next(cursor.clone());
        prop_assert_eq!(next.continuation, continuation + 1);
        prop_assert_eq!(next.after.as_ref(), Some(&cursor));
        prop_assert_eq!(
            (next.dry_run, next.allow_removals, next.today.as_ref()),
            (event.dry_run, event.allow_removals, event.today.as_ref())
        );
        let again = SweepEvent::from_value(&serde_json::to_value(&next).unwrap()).unwrap();
        prop_assert_eq!(again, next);
    }
}

/// A field of the wrong type is refused rather than defaulted (an operator's typo must not start a real run).
#[test]
fn wrongly_typed_fields_are_refused() {
    for bad in [
        json!({"dry_run": "yes"}),
        json!({"continuation": -1}),
        json!({"allow_removals": 1.5}),
        json!({"after": {"id": 1}}),
    ] {
        assert!(
            matches!(SweepEvent::from_value(&bad), Err(SweepError::BadEvent(_))),
            "{bad}"
        );
    }
}
