//! Hostile input (issue 14): property tests of the parsers of outside input in cls-core — the queue
//! envelope, the Slack button value and the secret JSON decoders. None panics on any input; the envelope's
//! classification (permanent `NotJson`/`Malformed`, retryable unknown version or kind) follows from the body
//! alone; valid values round-trip; a settings error never echoes a secret value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, Utc};
use cls_core::button::{ButtonValue, ButtonValueError, MAX_VALUE_CHARS};
use cls_core::envelope::RepositoryRef;
use cls_core::settings::{
    AlertSettings, GithubSettings, IdentitySettings, SlackSettings, SpokeSettings, WebhookSettings,
};
use cls_core::{AccountRef, Envelope, EnvelopeError, MemberAction, MemberEventMsg, OrgRef};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A valid `member_event` envelope (the one the crate's own unit test uses).
const ENVELOPE: &str = r#"{"v":1,"kind":"member_event","enqueued_at":"2026-05-12T14:03:11Z",
"org":{"id":38302899,"login":"acme"},"collaborator":{"id":39652351,"login":"octocat"},
"member_event":{"delivery_id":"72d3162e-cc78-11e3-81ab-4c9367dc0958","event":"member","action":"added",
"installation_id":14988838,"repository":{"id":186853002,"full_name":"acme/widgets","private":true},
"sender":{"id":39652351,"login":"octocat","type":"User"},"permission":"write","role_name":"maintain",
"previous_permission":null}}"#;

const KINDS: [&str; 5] = [
    "member_event",
    "review",
    "slack_action",
    "import",
    "admin_extend",
];

/// Few, reproducible cases: the suite runs on every CI build.
fn config() -> Config {
    Config {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(14),
        ..Config::with_cases(256)
    }
}

/// `text` with the byte at `at` replaced by a different one, read back lossily (a queue body is text).
fn mutate(text: &str, at: &Index, delta: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let i = at.index(bytes.len());
    bytes[i] = bytes[i].wrapping_add(delta);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What `Envelope::parse` must answer for a body, decided from the body alone: `None` when
/// the envelope is either valid or `Malformed`.
fn expected_class(body: &str) -> Option<EnvelopeError> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Some(EnvelopeError::NotJson);
    };
    let version = value.get("v").and_then(Value::as_u64)?;
    if version != 1 {
        return Some(EnvelopeError::UnsupportedVersion { version });
    }
    let kind = value.get("kind").and_then(Value::as_str)?;
    (!KINDS.contains(&kind)).then(|| EnvelopeError::UnknownKind {
        kind: kind.chars().take(40).collect(),
    })
}

/// Checks one body: no panic, the same answer twice, the class the body calls for, permanence as
/// documented, and a valid envelope round-trips through `to_json`.
fn check_envelope(body: &str) -> Result<(), TestCaseError> {
    let parsed = Envelope::parse(body);
    prop_assert_eq!(&parsed, &Envelope::parse(body));
    match (&parsed, expected_class(body)) {
        (Ok(envelope), None) => {
            let again = Envelope::parse(&envelope.to_json());
            prop_assert_eq!(again.as_ref(), Ok(envelope));
        }
        (Err(error @ EnvelopeError::Malformed { .. }), None) => {
            prop_assert!(!error.is_retryable());
        }
        (Err(error), Some(expected)) => {
            prop_assert_eq!(error, &expected);
            let retryable = !matches!(expected, EnvelopeError::NotJson);
            prop_assert_eq!(error.is_retryable(), retryable);
        }
        (other, expected) => prop_assert!(false, "{other:?} where {expected:?} was due"),
    }
    Ok(())
}

fn member_envelope(
    seconds: i64,
    ids: (u64, u64, u64),
    texts: (String, String, String),
    action: MemberAction,
    permission: Option<String>,
) -> Envelope {
    let (org_login, login, repo) = texts;
    Envelope::member_event(
        DateTime::<Utc>::from_timestamp(seconds, 0).unwrap(),
        OrgRef {
            id: ids.0,
            login: org_login.clone(),
        },
        AccountRef { id: ids.1, login },
        MemberEventMsg {
            delivery_id: format!("{:032x}", ids.2),
            event: "member".into(),
            action,
            installation_id: Some(ids.2),
            repository: RepositoryRef {
                id: ids.2,
                full_name: format!("{org_login}/{repo}"),
                private: Some(true),
            },
            sender: None,
            permission: permission.clone(),
            role_name: permission,
            previous_permission: None,
            member_email: None,
        },
    )
}

/// A string value with some non-blank character.
fn non_blank(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(".{{0,{max}}}"))
        .unwrap()
        .prop_filter("blank", |s| !s.trim().is_empty())
}

fn button_value() -> impl Strategy<Value = ButtonValue> {
    (
        non_blank(800),
        any::<u64>(),
        non_blank(40),
        any::<u64>(),
        non_blank(40),
        0i32..3_000_000,
    )
        .prop_map(
            |(ticket_id, org_id, org_login, user_id, user_login, day)| ButtonValue {
                ticket_id,
                org_id,
                org_login,
                user_id,
                user_login,
                expires_on: NaiveDate::from_num_days_from_ce_opt(day).unwrap(),
            },
        )
}

/// Keys whose string values are credentials in the CLS secrets.
const SECRET_KEYS: [&str; 8] = [
    "webhook_secrets",
    "slack_signing_secrets",
    "signing_secrets",
    "alert_webhook_url",
    "api_key",
    "token",
    "private_key_pem",
    "bot_token",
];

/// Every string under a credential key of `value`.
fn secret_values(value: &Value, under_secret: bool, out: &mut Vec<String>) {
    match value {
        Value::String(s) if under_secret => out.push(s.clone()),
        Value::Array(items) => items
            .iter()
            .for_each(|v| secret_values(v, under_secret, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            secret_values(v, under_secret || SECRET_KEYS.contains(&k.as_str()), out)
        }),
        _ => {}
    }
}

/// The secret documents of a valid CLS deployment, as Secrets Manager holds them.
fn secret_documents() -> Vec<(&'static str, Value)> {
    let owner = json!({"github_login": "it-admin", "spoke_user_id": "5f0c3a9e2b7d4c0012ab0002"});
    vec![
        (
            "webhook",
            json!({"orgs": [{"org": "acme", "org_id": 38302899, "app_id": 102441,
                "webhook_secrets": ["test-only-hostile-webhook-secret-1", "test-only-hostile-webhook-secret-2"]}],
                "slack_signing_secrets": ["test-only-hostile-signing-secret"]}),
        ),
        (
            "alerts",
            json!({"alert_webhook_url": "https://hooks.slack.com/services/T0/B0/test-only-hostile-alert-path"}),
        ),
        (
            "github",
            json!({"orgs": [{"org": "acme", "org_id": 38302899, "app_id": 102441, "installation_id": 7,
                "private_key_pem": "-----BEGIN RSA PRIVATE KEY-----\ntest-only-hostile-key\n",
                "webhook_secrets": ["test-only-hostile-webhook-secret-3"], "default_owner": owner}]}),
        ),
        (
            "slack",
            json!({"bot_token": "xoxb-test-only-hostile-bot-token",
                "signing_secrets": ["test-only-hostile-signing-secret-2"],
                "alert_webhook_url": "https://hooks.slack.com/services/T0/B0/test-only-hostile-alert-2"}),
        ),
        (
            "spoke",
            json!({"api_key": "test-only-hostile-spoke-api-key", "team_id": "t", "request_type_id": "rt",
                "fields": {"expires_on": "u0", "github_login": "u1", "github_user_id": "u2", "github_org": "u3",
                           "collaborator_email": "u4", "repositories": "u5", "added_by": "u6", "cls_state": "u7"},
                "tags": {"access_granted": "g", "access_removed": "r", "expired": "e", "inactive": "i",
                         "needs_attention": "n"}}),
        ),
        (
            "identity",
            json!({"source": "http", "users": {"octocat": {"email": "o@example.com", "employee": true}},
                "http": {"url": "https://identity.example.com/users", "token": "test-only-hostile-identity-token"}}),
        ),
    ]
}

/// Decodes `text` as the secret `role` the way the services do (the store parses the text as JSON, then
/// `secrets::decode`, then `validate`) and returns every error text produced on the way.
fn decode_secret(role: &str, text: &str) -> Vec<String> {
    fn run<T: DeserializeOwned>(
        value: &Value,
        validate: impl Fn(&T) -> Result<(), cls_core::settings::SettingsError>,
    ) -> Vec<String> {
        match secrets::decode::<T>("cls/hostile", value) {
            Ok(settings) => match validate(&settings) {
                Ok(()) => Vec::new(),
                Err(e) => vec![e.to_string(), format!("{e:?}")],
            },
            Err(e) => vec![e.to_string(), format!("{e:?}")],
        }
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    match role {
        "webhook" => run::<WebhookSettings>(&value, WebhookSettings::validate),
        "alerts" => run::<AlertSettings>(&value, AlertSettings::validate),
        "github" => run::<GithubSettings>(&value, |s| {
            s.validate(true, true)?;
            s.validate_activity_sources()
        }),
        "slack" => run::<SlackSettings>(&value, |_| Ok(())),
        "spoke" => run::<SpokeSettings>(&value, SpokeSettings::validate),
        _ => run::<IdentitySettings>(&value, IdentitySettings::validate),
    }
}

/// No error text carries a credential of the document it was decoded from.
fn check_secret(role: &str, text: &str) -> Result<(), TestCaseError> {
    let errors = decode_secret(role, text);
    let mut credentials = Vec::new();
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        secret_values(&value, false, &mut credentials);
    }
    for error in &errors {
        for credential in credentials.iter().filter(|c| c.len() >= 8) {
            prop_assert!(
                !error.contains(credential.as_str()),
                "{role}: error {error:?} carries a credential"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_parses_or_is_classified(body in ".{0,200}") {
        check_envelope(&body)?;
    }

    #[test]
    fn any_json_parses_or_is_classified(value in json_value()) {
        check_envelope(&value.to_string())?;
    }

    #[test]
    fn an_unknown_version_or_kind_is_retryable_whatever_else_the_body_holds(
        version in any::<u64>().prop_filter("current", |v| *v != 1),
        kind in ".{0,60}".prop_filter("known", |k| !KINDS.contains(&k.as_str())),
        rest in json_value(),
    ) {
        let mut with_version: Value = serde_json::from_str(ENVELOPE).unwrap();
        with_version["v"] = version.into();
        with_version["member_event"] = rest.clone();
        prop_assert_eq!(
            Envelope::parse(&with_version.to_string()),
            Err(EnvelopeError::UnsupportedVersion { version })
        );
        let mut with_kind: Value = serde_json::from_str(ENVELOPE).unwrap();
        with_kind["kind"] = kind.clone().into();
        with_kind["org"] = rest;
        let error = Envelope::parse(&with_kind.to_string()).unwrap_err();
        prop_assert!(error.is_retryable());
        prop_assert_eq!(error, EnvelopeError::UnknownKind { kind: kind.chars().take(40).collect() });
    }

    #[test]
    fn every_single_byte_change_of_a_valid_envelope_parses_or_is_classified(
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        check_envelope(&mutate(ENVELOPE, &at, delta))?;
    }

    #[test]
    fn a_member_event_envelope_round_trips(
        seconds in 0i64..4_000_000_000,
        ids in (any::<u64>(), any::<u64>(), any::<u64>()),
        texts in (".{1,40}", ".{1,40}", ".{1,40}"),
        action in prop_oneof![Just(MemberAction::Added), Just(MemberAction::Removed), Just(MemberAction::Edited)],
        permission in proptest::option::of(".{0,20}"),
    ) {
        let envelope = member_envelope(seconds, ids, texts, action, permission);
        prop_assert_eq!(Envelope::parse(&envelope.to_json()), Ok(envelope));
    }

    #[test]
    fn any_button_value_text_decodes_or_is_refused(value in ".{0,300}") {
        if let Ok(decoded) = ButtonValue::decode(&value) {
            prop_assert!(!decoded.ticket_id.trim().is_empty());
            prop_assert!(!decoded.org_login.trim().is_empty());
            prop_assert!(!decoded.user_login.trim().is_empty());
        }
    }

    #[test]
    fn a_button_value_round_trips_or_is_too_long_both_ways(value in button_value()) {
        let json = serde_json::to_string(&value).unwrap();
        if json.chars().count() > MAX_VALUE_CHARS {
            prop_assert_eq!(value.encode(), Err(ButtonValueError::TooLong));
            prop_assert_eq!(ButtonValue::decode(&json), Err(ButtonValueError::TooLong));
        } else {
            let encoded = value.encode().unwrap();
            prop_assert_eq!(ButtonValue::decode(&encoded), Ok(value));
        }
    }

    #[test]
    fn every_single_byte_change_of_a_button_value_decodes_or_is_refused(
        value in button_value(),
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let json = serde_json::to_string(&value).unwrap();
        if let Ok(decoded) = ButtonValue::decode(&mutate(&json, &at, delta)) {
            prop_assert!(!decoded.ticket_id.trim().is_empty());
            prop_assert!(!decoded.user_login.trim().is_empty());
        }
    }

    #[test]
    fn any_secret_text_decodes_or_is_refused_without_echoing_a_credential(
        role in proptest::sample::select(vec!["webhook", "alerts", "github", "slack", "spoke", "identity"]),
        text in ".{0,120}",
        value in json_value(),
    ) {
        check_secret(role, &text)?;
        check_secret(role, &value.to_string())?;
    }

    #[test]
    fn every_single_byte_change_of_a_valid_secret_decodes_or_is_refused_without_echoing_a_credential(
        document in proptest::sample::select(secret_documents()),
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let (role, value) = document;
        let text = value.to_string();
        prop_assert!(decode_secret(role, &text).is_empty(), "{role}: the valid document is refused");
        check_secret(role, &mutate(&text, &at, delta))?;
    }
}

/// Nesting far past serde_json's recursion limit is refused as not JSON, not a stack overflow.
#[test]
fn deeply_nested_bodies_are_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(Envelope::parse(&body), Err(EnvelopeError::NotJson));
    let object = format!("{}1{}", r#"{"v":"#.repeat(depth), "}".repeat(depth));
    assert_eq!(Envelope::parse(&object), Err(EnvelopeError::NotJson));
    assert!(ButtonValue::decode(&body[..MAX_VALUE_CHARS]).is_err());
    assert!(decode_secret("webhook", &body).is_empty());
}
