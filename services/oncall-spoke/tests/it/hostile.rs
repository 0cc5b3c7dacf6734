//! Hostile input (issue 14): property tests of the EventBridge handoff event reader (`event::screen` and
//! `event::context`, rows 1–9 of the decision table). Any JSON in any place of the event never panics;
//! an event that proceeds always carries a non-blank Spoke team and a trimmed e-mail address; an event of
//! another source or detail type is always skipped, whatever else it holds. The service's secret JSON
//! (`OncallSecret::parse`) never panics, always routes the IT channel when it parses, and never echoes a
//! credential in its error or `Debug`.

use chrono::{DateTime, Utc};
use oncall_spoke::Config;
use oncall_spoke::HandoffResult;
use oncall_spoke::event::{EXPECTED_DETAIL_TYPE, EXPECTED_SOURCE, Screening, context, screen};
use oncall_spoke::secret::OncallSecret;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use serde_json::{Value, json};

use crate::support::baseline;

/// Few, reproducible cases: the suite runs on every CI build.
fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(14),
        ..ProptestConfig::with_cases(256)
    }
}

fn config() -> Config {
    Config::from_lookup(|k| match k {
        "ONCALL_SECRET_ID" => Some("oncall-spoke".to_owned()),
        "ONCALL_SPOKE_ORG" => Some("example".to_owned()),
        "ONCALL_BOT_EMAILS" => Some("bot@example.com".to_owned()),
        "ONCALL_MAX_EVENT_AGE_SECS" => Some("7200".to_owned()),
        _ => None,
    })
    .unwrap()
}

/// Shortly after the baseline event's `time`.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-08-04T20:40:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from(1)),
        Just(Value::from(" 1.0 ")),
        ".{0,24}".prop_map(Value::from),
        "[ a-z]{0,8}@[a-z]{0,8}[ ]?".prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            proptest::collection::btree_map("[A-Za-z]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The places of the event the screening reads.
const PLACES: [&str; 12] = [
    "/source",
    "/detail-type",
    "/time",
    "/detail",
    "/detail/Team",
    "/detail/Team/spoke",
    "/detail/Team/name",
    "/detail/PagerdutyHandoffs",
    "/detail/PagerdutyHandoffs/1",
    "/detail/PagerdutyHandoffs/1/escalationLevel",
    "/detail/OnCallEmail",
    "/detail/PreviouslyOnCall",
];

/// Screens `event` and checks what must hold whatever it contains.
fn check(event: &Value) -> Result<(), TestCaseError> {
    let config = config();
    let screening = screen(event, &config, now());
    prop_assert_eq!(&screening, &screen(event, &config, now()));
    let seen = context(event);
    let expected_kind = event.get("source").and_then(Value::as_str) == Some(EXPECTED_SOURCE)
        && event.get("detail-type").and_then(Value::as_str) == Some(EXPECTED_DETAIL_TYPE);
    match screening {
        Screening::Proceed(handoff) => {
            prop_assert!(expected_kind);
            prop_assert!(!handoff.spoke_team.is_empty());
            prop_assert_eq!(handoff.spoke_team.trim(), handoff.spoke_team.as_str());
            prop_assert_eq!(
                seen.spoke_team.as_deref(),
                Some(handoff.spoke_team.as_str())
            );
            prop_assert!(handoff.email.contains('@'));
            prop_assert_eq!(handoff.email.trim(), handoff.email.as_str());
            prop_assert!(!config.is_bot(&handoff.email));
        }
        Screening::Stop(decision) if !expected_kind => {
            prop_assert_eq!(decision.result, HandoffResult::Skipped);
            prop_assert_eq!(decision.reason, "unexpected_event");
            prop_assert!(decision.alert.is_none());
        }
        Screening::Stop(_) => {}
    }
    Ok(())
}

/// A valid secret: the Spoke key, a default webhook and two channel webhooks.
fn secret() -> Value {
    json!({
        "spokeApiKey": "test-only-hostile-spoke-key",
        "slack": {
            "defaultWebhookUrl": "https://hooks.slack.com/services/T0/B0/test-only-hostile-default",
            "channelWebhooks": {
                "#alerts_it": "https://hooks.slack.com/services/T0/B1/test-only-hostile-alerts",
                "#it-team": "https://hooks.slack.com/services/T0/B2/test-only-hostile-it-team"
            }
        }
    })
}

/// Every string leaf of `value` of 8 characters or more (keys excluded: channel names are not secret).
fn long_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.trim().len() >= 8 => out.push(s.trim().to_owned()),
        Value::Array(items) => items.iter().for_each(|v| long_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| long_strings(v, out)),
        _ => {}
    }
}

/// Parses `value` as the secret and checks what must hold whatever it contains.
fn check_secret(value: &Value) -> Result<(), TestCaseError> {
    let mut credentials = Vec::new();
    long_strings(value, &mut credentials);
    let shown = match OncallSecret::parse(value, "#alerts_it") {
        Ok(secret) => {
            prop_assert!(secret.route("#alerts_it").is_some());
            format!("{secret:?}")
        }
        Err(error) => error.reason,
    };
    for credential in &credentials {
        prop_assert!(
            !shown.contains(credential.as_str()),
            "{shown:?} shows a credential"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn any_secret_json_parses_or_is_refused_without_showing_a_credential(
        value in json_value(),
        place in proptest::sample::select(vec![
            "/spokeApiKey", "/slack", "/slack/defaultWebhookUrl", "/slack/channelWebhooks",
            "/slack/channelWebhooks/#alerts_it",
        ]),
    ) {
        check_secret(&value)?;
        let mut placed = secret();
        if let Some(slot) = placed.pointer_mut(place) {
            *slot = value;
        }
        check_secret(&placed)?;
    }

    #[test]
    fn every_single_byte_change_of_the_secret_text_parses_or_is_refused_without_showing_a_credential(
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let mut text = secret().to_string().into_bytes();
        let i = at.index(text.len());
        text[i] = text[i].wrapping_add(delta);
        if let Ok(value) = serde_json::from_slice::<Value>(&text) {
            check_secret(&value)?;
        }
    }

    #[test]
    fn any_json_event_is_screened_without_panicking(event in json_value()) {
        check(&event)?;
    }

    #[test]
    fn any_json_in_any_place_the_screening_reads_is_screened_without_panicking(
        place in proptest::sample::select(PLACES.to_vec()),
        value in json_value(),
    ) {
        let mut event = baseline();
        if let Some(slot) = event.pointer_mut(place) {
            *slot = value;
        } else if let Some(detail) = event["detail"].as_object_mut() {
            detail.insert(place.rsplit('/').next().unwrap().to_owned(), value);
        }
        check(&event)?;
    }

    #[test]
    fn every_single_byte_change_of_the_event_text_is_screened_without_panicking(
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let mut text = baseline().to_string().into_bytes();
        let i = at.index(text.len());
        text[i] = text[i].wrapping_add(delta);
        // Not JSON: the Lambda runtime refuses it before the handler runs.
        if let Ok(event) = serde_json::from_slice::<Value>(&text) {
            check(&event)?;
        }
    }
}

/// The unchanged baseline proceeds, so the properties above screen events that reach every row.
#[test]
fn the_baseline_event_proceeds() {
    assert!(matches!(
        screen(&baseline(), &config(), now()),
        Screening::Proceed(_)
    ));
}
