//! The Lambda Runtime API emulator over real HTTP: a minimal runtime client written here, then the real
//! `lambda_runtime` crate in the `hello-lambda` binary.

use std::collections::BTreeMap;
use std::time::Duration;

use devstack::function_process::{FunctionProcess, FunctionSpec, ProcessError};
use devstack::runtime_api::{InvokeError, RuntimeApi};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// A runtime client in a dozen lines: what `lambda_runtime` does, spelled out.
struct FakeRuntime {
    base: String,
    http: reqwest::Client,
}

impl FakeRuntime {
    fn new(api: &RuntimeApi) -> Self {
        Self {
            base: format!("http://{}/2018-06-01/runtime", api.address()),
            http: lambda_kit::http::default_client(),
        }
    }

    async fn next(&self) -> reqwest::Response {
        self.http
            .get(format!("{}/invocation/next", self.base))
            .send()
            .await
            .unwrap()
    }

    /// `/next`, returning the request id and the event.
    async fn take_next(&self) -> (String, Value) {
        let next = self.next().await;
        let id = header(&next, "lambda-runtime-aws-request-id");
        (id, next.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// An emulator with a 30 s function timeout and a client for it.
async fn start(function: &str) -> (RuntimeApi, FakeRuntime) {
    let api = RuntimeApi::start(function, Duration::from_secs(30))
        .await
        .unwrap();
    let runtime = FakeRuntime::new(&api);
    (api, runtime)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[allow(clippy::disallowed_methods)] // the deadline header is wall-clock time
fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn next_blocks_until_an_event_is_queued_and_carries_the_lambda_headers() {
    let (api, runtime) = start("echo-fn").await;
    assert!(api.first_next().is_none());

    let poll = tokio::spawn(async move {
        let next = runtime.next().await;
        (runtime, next)
    });
    let first = api.wait_first_next(WAIT).await.expect("the poll arrives");
    assert_eq!(api.first_next(), Some(first));
    // Nothing queued yet: the poll is still waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "/next answered with nothing queued");

    let invoke = async { api.invoke(json!({"name": "ada"}), WAIT).await };
    let serve = async {
        let (runtime, next) = poll.await.unwrap();
        assert_eq!(next.status(), 200);
        let id = header(&next, "lambda-runtime-aws-request-id");
        assert_eq!(
            header(&next, "lambda-runtime-invoked-function-arn"),
            "arn:aws:lambda:us-east-1:123456789012:function:echo-fn"
        );
        let deadline: u64 = header(&next, "lambda-runtime-deadline-ms").parse().unwrap();
        let expected = now_ms() + 30_000;
        assert!(
            deadline.abs_diff(expected) < 2_000,
            "deadline {deadline}, expected ≈{expected}"
        );
        assert!(header(&next, "lambda-runtime-trace-id").starts_with("Root=1-"));
        let event: Value = next.json().await.unwrap();
        assert_eq!(event, json!({"name": "ada"}));
        let accepted = runtime
            .post(
                &format!("invocation/{id}/response"),
                &json!({"hello": "ada", "id": id}),
            )
            .await;
        assert_eq!(accepted.status(), 202);
        id
    };
    let (answer, id) = tokio::join!(invoke, serve);
    assert_eq!(answer.unwrap(), json!({"hello": "ada", "id": id}));
    // The first poll time does not move with later polls.
    assert_eq!(api.first_next(), Some(first));
}

#[tokio::test]
async fn events_are_handed_out_one_at_a_time_in_order() {
    let (api, runtime) = start("order-fn").await;
    let invokes = async {
        let (a, b) = tokio::join!(api.invoke(json!({"n": 1}), WAIT), async {
            // Queued after the first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            api.invoke(json!({"n": 2}), WAIT).await
        });
        (a.unwrap(), b.unwrap())
    };
    let serve = async {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (id, event) = runtime.take_next().await;
            seen.push(event["n"].clone());
            runtime
                .post(
                    &format!("invocation/{id}/response"),
                    &json!({"echo": event["n"]}),
                )
                .await;
        }
        seen
    };
    let ((a, b), seen) = tokio::join!(invokes, serve);
    assert_eq!(seen, vec![json!(1), json!(2)]);
    assert_eq!(api.invocations(), 2);
    assert_eq!((a, b), (json!({"echo": 1}), json!({"echo": 2})));
}

#[tokio::test]
async fn an_error_post_fails_the_invocation_with_the_reported_type_and_message() {
    let (api, runtime) = start("error-fn").await;
    let serve = async {
        let (id, _) = runtime.take_next().await;
        let accepted = runtime
            .post(
                &format!("invocation/{id}/error"),
                &json!({"errorType": "Retryable", "errorMessage": "spoke is down"}),
            )
            .await;
        assert_eq!(accepted.status(), 202);
    };
    let (answer, ()) = tokio::join!(api.invoke(json!({}), WAIT), serve);
    assert_eq!(
        answer,
        Err(InvokeError::Function {
            error_type: "Retryable".to_owned(),
            error_message: "spoke is down".to_owned()
        })
    );
}

#[tokio::test]
async fn each_answered_invocation_reports_its_time_from_hand_out_to_answer() {
    let (api, runtime) = start("timed-fn").await;
    let serve = async {
        let (id, _) = runtime.take_next().await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        runtime
            .post(&format!("invocation/{id}/response"), &json!({}))
            .await;
        let (id, _) = runtime.take_next().await;
        runtime
            .post(
                &format!("invocation/{id}/error"),
                &json!({"errorType": "E"}),
            )
            .await;
    };
    let invokes = async {
        let first = api.invoke(json!(1), WAIT).await;
        // The caller's own wait before the second event is queued is not part of its duration.
        tokio::time::sleep(Duration::from_millis(200)).await;
        (first, api.invoke(json!(2), WAIT).await)
    };
    let ((first, second), ()) = tokio::join!(invokes, serve);
    assert!(first.is_ok() && second.is_err());
    let durations = api.take_durations();
    assert_eq!(durations.len(), 2, "{durations:?}");
    assert!(durations[0] >= Duration::from_millis(40), "{durations:?}");
    assert!(durations[1] < Duration::from_millis(150), "{durations:?}");
    assert!(api.take_durations().is_empty(), "taken once");
}

#[tokio::test]
async fn unknown_request_ids_and_oversized_responses_are_refused() {
    let (api, runtime) = start("refuse-fn").await;
    let unknown = runtime
        .post("invocation/not-an-id/response", &json!({}))
        .await;
    assert_eq!(unknown.status(), 400);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["errorType"], "InvalidRequestID");

    let serve = async {
        let (id, _) = runtime.take_next().await;
        let huge = json!({"blob": "x".repeat(devstack::runtime_api::MAX_RESPONSE_BYTES)});
        let refused = runtime
            .post(&format!("invocation/{id}/response"), &huge)
            .await;
        assert_eq!(refused.status(), 413);
    };
    let (answer, ()) = tokio::join!(api.invoke(json!({}), WAIT), serve);
    match answer {
        Err(InvokeError::Function { error_type, .. }) => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge");
        }
        other => panic!("expected a size error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_init_error_fails_waiting_and_later_invocations() {
    let (api, runtime) = start("init-fn").await;
    let waiting = api.invoke(json!({}), WAIT);
    let report = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let accepted = runtime
            .post(
                "init/error",
                &json!({"errorType": "ConfigError", "errorMessage": "CLS_QUEUE_URL is missing"}),
            )
            .await;
        assert_eq!(accepted.status(), 202);
    };
    let (answer, ()) = tokio::join!(waiting, report);
    let expected = InvokeError::Init {
        error_type: "ConfigError".to_owned(),
        error_message: "CLS_QUEUE_URL is missing".to_owned(),
    };
    assert_eq!(answer, Err(expected.clone()));
    assert_eq!(api.invoke(json!({}), WAIT).await, Err(expected.clone()));
    assert_eq!(api.init_error(), Some(expected));
    assert_eq!(api.wait_first_next(Duration::from_millis(100)).await, None);
}

#[tokio::test]
async fn an_invocation_nobody_answers_times_out_and_is_not_handed_out_later() {
    let (api, runtime) = start("slow-fn").await;
    let answer = api
        .invoke(json!({"n": "stale"}), Duration::from_millis(100))
        .await;
    assert_eq!(
        answer,
        Err(InvokeError::Timeout(Duration::from_millis(100)))
    );
    let serve = async {
        let (id, event) = runtime.take_next().await;
        runtime
            .post(&format!("invocation/{id}/response"), &event)
            .await;
    };
    let (fresh, ()) = tokio::join!(api.invoke(json!({"n": "fresh"}), WAIT), serve);
    assert_eq!(fresh.unwrap(), json!({"n": "fresh"}));
}

fn hello_spec() -> FunctionSpec {
    FunctionSpec::new(
        "hello-lambda",
        env!("CARGO_BIN_EXE_hello-lambda"),
        BTreeMap::new(),
    )
}

#[tokio::test]
async fn the_real_lambda_runtime_cold_starts_answers_and_reports_errors() {
    let mut function = FunctionProcess::spawn(&hello_spec()).await.unwrap();
    let cold = function.wait_ready(WAIT).await.unwrap();
    assert!(cold < WAIT, "{cold:?}");
    assert!(cold > Duration::ZERO);

    let answer = function.invoke(json!({"name": "ada"}), WAIT).await.unwrap();
    assert_eq!(answer["hello"], "ada");
    assert_eq!(
        answer["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:hello-lambda"
    );
    let deadline = answer["deadlineMs"].as_u64().unwrap();
    assert!(deadline.abs_diff(now_ms() + 60_000) < 5_000, "{deadline}");

    let failed = function.invoke(json!({"fail": "boom"}), WAIT).await;
    match failed {
        Err(InvokeError::Function { error_message, .. }) => assert_eq!(error_message, "boom"),
        other => panic!("expected a function error, got {other:?}"),
    }
    // The process keeps serving after an error; request ids differ per invocation.
    let again = function.invoke(json!({"name": "bob"}), WAIT).await.unwrap();
    assert_eq!(again["hello"], "bob");
    assert_ne!(again["requestId"], answer["requestId"]);
    assert!(function.peak_rss_kib().unwrap() > 0);
    // The process ran on a CPU to get here; an idle process accumulates (next to) nothing.
    let used = function.cpu_time().unwrap();
    assert!(used.on_cpu > Duration::ZERO, "{used:?}");
    assert!(function.api().take_durations().len() == 3);
    function.stop().await;
}

#[tokio::test]
async fn a_binary_that_cannot_start_is_reported_with_its_output() {
    // A Runtime API address where nothing listens: the runtime fails before any /next reaches the emulator.
    let mut spec = hello_spec();
    spec.env.insert(
        "AWS_LAMBDA_RUNTIME_API".to_owned(),
        "127.0.0.1:1".to_owned(),
    );
    let mut function = FunctionProcess::spawn(&spec).await.unwrap();
    let error = function.wait_ready(WAIT).await.unwrap_err();
    assert!(matches!(error, ProcessError::Exited { .. }), "{error}");
    assert!(function.api().first_next().is_none());
}

#[test]
fn build_binaries_reports_the_executable_cargo_built() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = devstack::function_process::build_binaries(
        &root,
        devstack::function_process::Profile::Dev,
        &[("devstack", "hello-lambda")],
    )
    .unwrap();
    let path = &built["hello-lambda"];
    assert_eq!(
        path.canonicalize().unwrap(),
        std::path::Path::new(env!("CARGO_BIN_EXE_hello-lambda"))
            .canonicalize()
            .unwrap()
    );
}
