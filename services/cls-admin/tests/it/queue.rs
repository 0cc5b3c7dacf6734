//! End to end: what `cls-admin` enqueues, processed by cls-queue's real handler behind the devstack
//! event-source emulator (CLS-33, CLS-34).

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use cls_core::queue::{EnqueueError, OutgoingMessage, QueueSender};
use cls_testkit::answer;
use devstack::lambda::typed_handler;
use devstack::sqs::EventSource;
use futures::future::BoxFuture;
use lambda_kit::Invocation;
use serde_json::Value;

use crate::support::{Stack, spawn};

/// cls-queue over the same queue, secrets and stand-ins, built as its `main` builds it.
async fn consumer(stack: &Stack) -> EventSource {
    let config = cls_queue::Config::from_lookup(lambda_kit::config::map_lookup(stack.vars.clone()))
        .expect("cls-queue config");
    let deps = cls_queue::Deps::new(config, &stack.env.platform)
        .await
        .expect("cls-queue deps");
    let handler = typed_handler(move |event: SqsEvent, ctx| {
        let deps = deps.clone();
        async move { cls_queue::handle(event, &Invocation::new(ctx.request_id), &deps).await }
    });
    EventSource::new(stack.sqs.clone(), &stack.queues.url, "cls-queue", handler)
}

async fn drain(stack: &Stack, source: &EventSource) {
    cls_testkit::drain(
        source,
        &stack.sqs,
        &stack.queues.url,
        Duration::from_secs(60),
    )
    .await;
}

/// Sends like the real queue but with a deduplication id SQS has not seen, as a run after the 5-minute
/// window would be delivered.
struct LateQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl QueueSender for LateQueue {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<(), EnqueueError>> {
        Box::pin(async move {
            self.sqs
                .send_message()
                .queue_url(&self.url)
                .message_group_id(&message.group_id)
                .message_deduplication_id(format!("{}-late", message.dedup_id))
                .message_body(&message.body)
                .send()
                .await
                .unwrap();
            Ok(())
        })
    }
}

fn late_env(stack: &Stack) -> cls_admin::Env {
    stack.env.clone().with_queue(Arc::new(LateQueue {
        sqs: stack.sqs.clone(),
        url: stack.queues.url.clone(),
    }))
}

fn requests(stack: &Stack) -> Vec<Value> {
    stack.spoke.state_json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ticket_of<'a>(requests: &'a [Value], login: &str) -> &'a Value {
    requests
        .iter()
        .find(|r| answer(r, 2).as_deref() == Some(login))
        .unwrap_or_else(|| panic!("no ticket for {login}"))
}

/// Drains the queue through cls-queue, then octocat's ticket.
async fn octocat_after_drain(stack: &Stack, source: &EventSource) -> Value {
    drain(stack, source).await;
    ticket_of(&requests(stack), "octocat").clone()
}

fn messages(stack: &Stack, id: &str) -> Vec<String> {
    stack
        .spoke
        .messages(id)
        .iter()
        .filter_map(|m| m["content"]["message"]["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn backfill_from_github_creates_tickets_and_a_second_run_creates_no_duplicates() {
    let stack = spawn().await;
    let source = consumer(&stack).await;
    let outcome = stack.run(&["backfill", "--from-github"]).await.unwrap();
    assert!(outcome.ok, "{}", outcome.text);
    drain(&stack, &source).await;
    let first = requests(&stack);
    assert_eq!(first.len(), 3, "octocat, hubot, wombat");
    let hubot = ticket_of(&first, "hubot");
    assert_eq!(answer(hubot, 4).as_deref(), Some("acme"));
    assert_eq!(answer(hubot, 3).as_deref(), Some("2002"));
    let repos = answer(hubot, 6).unwrap();
    assert!(
        repos.contains("acme/gadgets: read") && repos.contains("acme/widgets: write"),
        "{repos}"
    );
    // Imported without a date: today (CLS_FAKE_TODAY 2026-06-01) + 1 year, never before today + 30 days.
    assert_eq!(answer(hubot, 1).as_deref(), Some("2027-06-01"));
    let id = hubot["id"].as_str().unwrap().to_owned();
    assert_eq!(
        messages(&stack, &id).len(),
        1,
        "{:?}",
        messages(&stack, &id)
    );

    let again = stack.run(&["backfill", "--from-github"]).await.unwrap();
    assert!(again.ok);
    drain(&stack, &source).await;
    assert_eq!(requests(&stack).len(), 3, "no duplicate tickets");
    assert_eq!(messages(&stack, &id).len(), 1, "and no second message");

    // After the 5-minute SQS deduplication window the same run is delivered again: cls-queue finds the
    // command id in each ticket's state and changes nothing.
    let late = late_env(&stack);
    let cli = <cls_admin::Cli as clap::Parser>::try_parse_from([
        "cls-admin",
        "backfill",
        "--from-github",
    ])
    .unwrap();
    let again = cls_admin::run(&cli, &late, &cls_admin::Progress::hidden())
        .await
        .unwrap();
    assert_eq!(again.document["enqueued"], 3);
    drain(&stack, &source).await;
    assert_eq!(requests(&stack).len(), 3, "no duplicate tickets");
    assert_eq!(messages(&stack, &id).len(), 1, "and no second message");
    let report = stack.run(&["report", "--format", "csv"]).await.unwrap();
    assert_eq!(report.text.lines().count(), 4, "{}", report.text);
}

#[tokio::test]
async fn extend_moves_the_expiry_and_the_ticket_message_names_the_operator() {
    let stack = spawn().await;
    let source = consumer(&stack).await;
    stack
        .run(&["backfill", "--org", "acme", "--from-github"])
        .await
        .unwrap();
    drain(&stack, &source).await;
    let outcome = stack
        .run(&[
            "extend",
            "acme/octocat",
            "--until",
            "2027-09-01",
            "--reason",
            "contract renewed",
        ])
        .await
        .unwrap();
    assert!(outcome.ok, "{}", outcome.text);
    let octocat = &octocat_after_drain(&stack, &source).await;
    assert_eq!(answer(octocat, 1).as_deref(), Some("2027-09-01"));
    let id = octocat["id"].as_str().unwrap();
    let texts = messages(&stack, id);
    let last = texts.last().unwrap();
    assert!(last.contains("jane.operator"), "{texts:?}");
    assert!(last.contains("2027-09-01"), "{texts:?}");

    let report = stack
        .run(&["report", "--org", "acme", "--json"])
        .await
        .unwrap();
    let row = report.document["collaborators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["login"] == "octocat")
        .cloned()
        .unwrap();
    assert_eq!(row["expires_on"], "2027-09-01");
    assert_eq!(row["extensions"][0]["by"], "jane.operator", "{row}");
    assert_eq!(row["extensions"][0]["to"], "2027-09-01");
}

#[tokio::test]
async fn a_csv_import_of_an_old_grant_expires_no_earlier_than_thirty_days_from_today() {
    let stack = spawn().await;
    let source = consumer(&stack).await;
    let path = stack.file(
        "old.csv",
        "login,name,repositories,added_by,added_at\noctocat,The Octocat,widgets,alice,2025-01-05\n",
    );
    let outcome = stack
        .run(&["backfill", "--org", "acme", "--csv", path.to_str().unwrap()])
        .await
        .unwrap();
    assert!(outcome.ok, "{}", outcome.text);
    let octocat = &octocat_after_drain(&stack, &source).await;
    assert_eq!(
        answer(octocat, 1).as_deref(),
        Some("2026-07-01"),
        "today 2026-06-01 + 30 days"
    );
    assert_eq!(answer(octocat, 7).as_deref(), Some("alice"));
    assert_eq!(
        answer(octocat, 6).as_deref(),
        Some("acme/widgets: maintain (added by alice 2025-01-05)")
    );
}
