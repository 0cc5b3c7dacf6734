//! What the CLS services' hostile-input property tests share: one runner configuration and one strategy for
//! "any JSON value".

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::Value;

/// Few, reproducible cases (the suites run on every CI build): a fixed seed and no failure files.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(14),
        ..Config::with_cases(cases)
    }
}

/// A runner with [`proptest_config`].
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(proptest_config(cases))
}

/// Any JSON value, a few levels deep. Object keys are drawn from `keys` (the fields the code under test
/// reads, so that its own checks are reached rather than only "unknown field") or are any short name;
/// strings include date-shaped ones.
pub fn json_value(keys: &[&str]) -> impl Strategy<Value = Value> + use<> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::from),
    ];
    let known: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    let key = if known.is_empty() {
        "[a-z_]{1,10}".boxed()
    } else {
        prop_oneof![proptest::sample::select(known), "[a-z_]{1,10}"].boxed()
    };
    leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
