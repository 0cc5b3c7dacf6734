//! Hostile input (issue 14): property tests of `handle` with API Gateway v2 events (against moto and
//! slack-fake, like the rest of this suite). Any method, path, header set and body gets an answer from the
//! documented set and never a panic; every single-byte change of a validly signed request's body, signature
//! or timestamp gets 401 and queues nothing; a body over the cap gets 413 whatever its signature, so the cap
//! is applied before anything is hashed or parsed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use cls_testkit::hostile::runner;
use cls_webhook::{GITHUB_ROUTE, SLACK_ROUTE};
use lambda_http::http::{HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::Index;
use tokio::runtime::Runtime;

use crate::support::*;

/// `CLS_MAX_BODY_BYTES` of the size properties.
const CAP: usize = 1024;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs 128 cases of `strategy` through the handler, each as the event `make` builds; every answer must be
/// one of `allowed`. The statuses seen.
fn answers<S: Strategy>(
    rt: &Runtime,
    stack: &Stack,
    strategy: &S,
    allowed: &[i64],
    make: impl Fn(S::Value) -> ApiGatewayV2httpRequest,
) -> BTreeSet<i64> {
    let seen = Mutex::new(BTreeSet::new());
    runner(128)
        .run(strategy, |value| {
            let response = rt.block_on(stack.call(make(value)));
            prop_assert!(
                allowed.contains(&status(&response)),
                "{} for a signed body",
                status(&response)
            );
            seen.lock().unwrap().insert(status(&response));
            Ok(())
        })
        .unwrap();
    seen.into_inner().unwrap()
}

/// `event` carrying `body` base64-encoded (any bytes, as API Gateway passes a binary body).
fn with_body(mut event: ApiGatewayV2httpRequest, body: &[u8]) -> ApiGatewayV2httpRequest {
    event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
    event.is_base64_encoded = true;
    event
}

/// `bytes` with the byte at `at` replaced by a different one.
fn flip(bytes: &[u8], at: &Index, delta: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = at.index(out.len());
    out[i] = out[i].wrapping_add(delta);
    out
}

/// Sets header `name` to raw `value`; `false` when no HTTP request could carry that value (a control byte).
fn set_header(event: &mut ApiGatewayV2httpRequest, name: &'static str, value: &[u8]) -> bool {
    match HeaderValue::from_bytes(value) {
        Ok(value) => {
            event.headers.insert(HeaderName::from_static(name), value);
            true
        }
        Err(_) => false,
    }
}

/// One request of the "anything" property.
#[derive(Debug, Clone)]
struct Request {
    method: Method,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    base64: bool,
    base64_garbage: bool,
}

fn request() -> impl Strategy<Value = Request> {
    let method = prop_oneof![
        4 => Just(Method::POST),
        1 => Just(Method::GET),
        1 => Just(Method::PUT),
        1 => Just(Method::DELETE),
    ];
    let path = prop_oneof![
        3 => Just(GITHUB_ROUTE.to_owned()),
        3 => Just(SLACK_ROUTE.to_owned()),
        1 => "/[a-z/]{0,24}",
    ];
    let name = proptest::sample::select(vec![
        "x-hub-signature-256",
        "x-github-event",
        "x-github-delivery",
        "x-github-hook-installation-target-id",
        "x-slack-signature",
        "x-slack-request-timestamp",
        "content-type",
    ]);
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        "sha256=[0-9a-f]{64}".prop_map(String::into_bytes),
        "v0=[0-9a-f]{64}".prop_map(String::into_bytes),
        "[0-9]{1,12}".prop_map(String::into_bytes),
    ];
    (
        method,
        path,
        proptest::collection::vec((name, value), 0..8),
        proptest::collection::vec(any::<u8>(), 0..600),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(method, path, headers, body, base64, base64_garbage)| Request {
                method,
                path,
                headers,
                body,
                base64,
                base64_garbage,
            },
        )
}

/// The status an unsigned request must get: nothing it carries can match a configured secret.
fn expected_status(request: &Request) -> u16 {
    if request.path != GITHUB_ROUTE && request.path != SLACK_ROUTE {
        404
    } else if request.method != Method::POST {
        405
    } else if request.base64 && request.base64_garbage {
        400
    } else {
        401
    }
}

#[test]
fn any_unsigned_request_gets_the_documented_answer_and_queues_nothing() {
    let rt = runtime();
    let stack = rt.block_on(spawn());
    let seen = Mutex::new(BTreeSet::new());
    runner(256)
        .run(&request(), |request| {
            let mut event = fixture("member-added");
            event.headers.clear();
            event.request_context.http.method = request.method.clone();
            event.request_context.http.path = Some(request.path.clone());
            event.raw_path = Some(request.path.clone());
            for (name, value) in &request.headers {
                set_header(&mut event, name, value);
            }
            event = if request.base64 {
                with_body(event, &request.body)
            } else {
                event.body = Some(String::from_utf8_lossy(&request.body).into_owned());
                event.is_base64_encoded = false;
                event
            };
            if request.base64_garbage {
                // Not base64 at all ('*' is outside the alphabet); as text it is just a body.
                let body = event.body.take().unwrap_or_default();
                event.body = Some(format!("*{body}"));
            }
            let response = rt.block_on(stack.call(event));
            prop_assert_eq!(status(&response), i64::from(expected_status(&request)));
            seen.lock().unwrap().insert(status(&response));
            Ok(())
        })
        .unwrap();
    // Every branch of the oracle was exercised.
    assert_eq!(
        seen.into_inner().unwrap(),
        BTreeSet::from([400, 401, 404, 405])
    );
    assert_eq!(rt.block_on(stack.depth()), 0);
}

#[test]
fn any_validly_signed_github_body_gets_2xx_or_400_never_a_panic_or_5xx() {
    let rt = runtime();
    let stack = rt.block_on(spawn());
    let strategy = (
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..600),
            // JSON-shaped bodies reach the payload checks, not only the JSON parser.
            "\\{\"(action|zen|hook_id|member|organization|repository)\":(\"[a-z]{0,8}\"|[0-9]{1,6}|null|\\{\\}),\"[a-z_]{1,12}\":.{0,40}\\}"
                .prop_map(String::into_bytes),
        ],
        proptest::sample::select(vec!["member", "ping", "push", "membership", ""]),
        "[0-9a-f-]{0,60}",
    );
    let seen = answers(
        &rt,
        &stack,
        &strategy,
        &[200, 202, 400],
        |(body, event_name, delivery)| {
            let mut event = with_body(signed(b"", SECRET, "member", "x"), &body);
            let signature = github_app::sign_webhook_body(&SECRET.to_owned().into(), &body);
            set_header(&mut event, "x-hub-signature-256", signature.as_bytes());
            set_header(&mut event, "x-github-event", event_name.as_bytes());
            set_header(&mut event, "x-github-delivery", delivery.as_bytes());
            event
        },
    );
    // Bodies got past the signature into the JSON and payload checks (ignored events answer 200).
    assert!(seen.contains(&200) && seen.contains(&400), "{seen:?}");
}

#[test]
fn any_validly_signed_slack_body_gets_200_or_400_never_a_panic_or_5xx() {
    let rt = runtime();
    let stack = rt.block_on(spawn());
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        // Form bodies whose `payload` is JSON-shaped reach the interaction checks.
        (
            "[a-z_]{1,12}",
            "(block_actions|view_submission|[a-z]{0,8})",
            ".{0,60}"
        )
            .prop_map(|(key, kind, value)| {
                let payload =
                    serde_json::json!({"type": kind, key: value, "actions": [{"value": value}]});
                slack_form(&payload).into_bytes()
            }),
    ];
    let seen = answers(&rt, &stack, &strategy, &[200, 400], |body| {
        let text = String::from_utf8_lossy(&body).into_owned();
        with_body(
            slack_signed(&text, SLACK_SECRET, stack.now()),
            text.as_bytes(),
        )
    });
    assert!(seen.contains(&200) && seen.contains(&400), "{seen:?}");
    assert_eq!(rt.block_on(stack.depth()), 0);
}

#[test]
fn every_single_byte_change_of_a_signed_github_delivery_gets_401() {
    let rt = runtime();
    let stack = rt.block_on(spawn());
    let body = fixture("member-added").body.unwrap().into_bytes();
    let valid = signed(&body, SECRET, "member", "hostile-github-1");
    let signature = valid.headers["x-hub-signature-256"].as_bytes().to_vec();
    let strategy = (any::<bool>(), any::<Index>(), 1u8..=255);
    runner(256)
        .run(&strategy, |(in_body, at, delta)| {
            let mut event = with_body(valid.clone(), &body);
            if in_body {
                event = with_body(event, &flip(&body, &at, delta));
            } else if !set_header(
                &mut event,
                "x-hub-signature-256",
                &flip(&signature, &at, delta),
            ) {
                return Ok(());
            }
            let response = rt.block_on(stack.call(event));
            prop_assert_eq!(status(&response), 401);
            Ok(())
        })
        .unwrap();
    assert_eq!(rt.block_on(stack.depth()), 0);
    // The unchanged request is accepted: the 401s came from the changes.
    let response = rt.block_on(stack.call(with_body(valid, &body)));
    assert_eq!(status(&response), 202);
    assert_eq!(rt.block_on(stack.depth()), 1);
}

#[test]
fn every_single_byte_change_of_a_signed_slack_interaction_gets_401() {
    let rt = runtime();
    let stack = rt.block_on(spawn());
    let body = slack_form(&slack_payload());
    let valid = slack_signed(&body, SLACK_SECRET, stack.now());
    let signature = valid.headers["x-slack-signature"].as_bytes().to_vec();
    let timestamp = valid.headers["x-slack-request-timestamp"]
        .as_bytes()
        .to_vec();
    let strategy = (0..3u8, any::<Index>(), 1u8..=255);
    runner(256)
        .run(&strategy, |(part, at, delta)| {
            let mut event = with_body(valid.clone(), body.as_bytes());
            let carried = match part {
                0 => {
                    event = with_body(event, &flip(body.as_bytes(), &at, delta));
                    true
                }
                1 => set_header(
                    &mut event,
                    "x-slack-signature",
                    &flip(&signature, &at, delta),
                ),
                _ => set_header(
                    &mut event,
                    "x-slack-request-timestamp",
                    &flip(&timestamp, &at, delta),
                ),
            };
            if carried {
                let response = rt.block_on(stack.call(event));
                prop_assert_eq!(status(&response), 401);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(rt.block_on(stack.depth()), 0);
    let response = rt.block_on(stack.call(with_body(valid, body.as_bytes())));
    assert_eq!(status(&response), 200);
    assert_eq!(rt.block_on(stack.depth()), 1);
}

#[test]
fn a_body_over_the_cap_gets_413_whatever_its_signature() {
    let rt = runtime();
    let cap = CAP.to_string();
    let stack = rt.block_on(spawn_with(&[("CLS_MAX_BODY_BYTES", cap.as_str())]));
    let strategy = (
        any::<bool>(),
        1..3 * CAP,
        any::<u8>(),
        any::<bool>(),
        0..3u8,
    );
    runner(64)
        .run(&strategy, |(github, extra, fill, base64, signature)| {
            let body = vec![b'a'.max(fill & 0x7f); CAP + extra];
            let text = String::from_utf8_lossy(&body).into_owned();
            let mut event = if github {
                signed(text.as_bytes(), SECRET, "member", "hostile-big")
            } else {
                slack_signed(&text, SLACK_SECRET, stack.now())
            };
            let header = if github {
                "x-hub-signature-256"
            } else {
                "x-slack-signature"
            };
            match signature {
                // A signature that would fail: a hashing check would answer 401.
                0 => {
                    let bogus = if github { "sha256=" } else { "v0=" };
                    set_header(
                        &mut event,
                        header,
                        format!("{bogus}{}", "0".repeat(64)).as_bytes(),
                    );
                }
                1 => {
                    event.headers.remove(header);
                }
                _ => {} // validly signed
            }
            if base64 {
                event = with_body(event, text.as_bytes());
            }
            let response = rt.block_on(stack.call(event));
            prop_assert_eq!(status(&response), 413);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        stack.metric_with("WebhookRejected", &[("reason", "too_large")]),
        64.0
    );
    assert_eq!(rt.block_on(stack.depth()), 0);
}
