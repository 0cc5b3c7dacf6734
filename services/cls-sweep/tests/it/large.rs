//! Large organisations (issue 13): more open tickets than the Spoke client's 50-page cap, the sweep's own cap
//! (`CLS_SWEEP_MAX_PAGES`), and continuations over a long listing that changes between invocations.

use std::collections::BTreeMap;

use serde_json::json;

use crate::support::{Options, Stack, Ticket, spawn_with};

const TODAY: &str = "2027-01-10";
const DUE: &str = "2027-01-05";

fn far(n: u32) -> Ticket {
    Ticket::new(n, "2028-06-01")
}

/// `n` tickets, those numbered in `due` expired before [`TODAY`], the others far away.
fn tickets(n: u32, due: impl Fn(u32) -> bool) -> Vec<Ticket> {
    (0..n)
        .map(|k| if due(k) { Ticket::new(k, DUE) } else { far(k) })
        .collect()
}

/// Pages the sweep asked spoke-fake for since the last call.
fn list_calls(stack: &Stack) -> usize {
    let calls = stack.listing_queries().len();
    stack.env.spoke.kit().clear_journal();
    calls
}

#[tokio::test]
async fn a_sweep_over_more_than_fifty_pages_reviews_the_due_ticket_on_the_last_page() {
    let stack = spawn_with(Options::default()).await;
    // 5,150 open tickets: 53 pages, past the Spoke client's default cap of 50; the one due is the last.
    let last = 5_149;
    stack.seed_tickets(&tickets(last + 1, |k| k == last));

    let report = stack.sweep(TODAY).await;

    assert_eq!(report.scanned, 5_150);
    assert_eq!(report.reviewable, 5_150);
    assert!(report.pages > 50, "{} pages", report.pages);
    assert!(report.listing_ms <= report.duration_ms);
    assert_eq!(report.enqueued, 1);
    assert_eq!(
        stack.reviewed_tickets().await,
        [Ticket::new(last, DUE).id()]
    );
    assert!(stack.alerts_of("SpokeUnavailable").is_empty());
}

#[tokio::test]
async fn more_pages_than_cls_sweep_max_pages_fail_the_run_with_an_alert_and_send_nothing() {
    let stack = spawn_with(Options::default().var("CLS_SWEEP_MAX_PAGES", "2")).await;
    // Three pages, one due ticket on the first: a partial sweep would send it.
    stack.seed_tickets(&tickets(250, |k| k == 3));

    let err = stack.invoke(json!({"today": TODAY})).await.unwrap_err();

    assert_eq!(err.kind(), "SweepTooManyTickets");
    assert!(
        err.chain().contains("CLS_SWEEP_MAX_PAGES"),
        "{}",
        err.chain()
    );
    let alerts = stack.alerts_of("SweepTooManyTickets");
    assert_eq!(alerts.len(), 1, "{:?}", stack.alert_channel());
    assert!(alerts[0].contains("CLS_SWEEP_MAX_PAGES"), "{}", alerts[0]);
    assert_eq!(
        stack.depth().await,
        0,
        "nothing sent from a partial listing"
    );
    assert_eq!(stack.env.metrics.total("SweepFailed"), 1.0);
}

#[tokio::test]
async fn continuations_over_a_changing_listing_neither_skip_nor_repeat_a_review() {
    let stack = spawn_with(Options::default().var("CLS_SWEEP_MAX_ACTIONS", "12")).await;
    // 3,000 tickets (31 pages), 50 due spread over all of them: several invocations of at most 12 reviews.
    let is_due = |k: u32| k % 60 == 7;
    let mut open = tickets(3_000, is_due);
    let mut expected: Vec<String> = open
        .iter()
        .filter(|t| is_due(t.n))
        .map(Ticket::id)
        .collect();
    stack.seed_tickets(&open);

    // Every one is a removal: the operator raised the brake for this run.
    let first = json!({"today": TODAY, "allow_removals": 100});
    let mut reports = vec![stack.invoke(first).await.unwrap()];
    let full_listing = list_calls(&stack);
    let mut reviewed = stack.reviewed_tickets().await;
    while let Some(next) = reports.last().unwrap().next.clone() {
        // Between invocations cls-queue closes the tickets just reviewed, people close others before the
        // cursor and after it, and a new ticket, already due, is opened.
        let after = next.after.clone().unwrap();
        assert!(next.start.is_some(), "the continuation carries its offset");
        let step = u32::try_from(reports.len()).unwrap();
        open.retain(|t| {
            let reviewed = reviewed.contains(&t.id());
            let closed_by_a_person = (t.id() <= after.id && t.n % 7 == step) || t.n == 2_500 + step;
            !reviewed && !closed_by_a_person
        });
        let new = Ticket::new(5_000 + step, DUE);
        expected.push(new.id());
        open.push(new);
        stack.seed_tickets(&open);

        reports.push(stack.continue_on_another_instance(reports.len() - 1).await);
        let read = list_calls(&stack);
        assert!(
            read < full_listing,
            "continuation {step} read {read} pages, the whole listing is {full_listing}"
        );
        reviewed.extend(stack.reviewed_tickets().await);
    }

    assert!(reports.len() >= 5, "{} invocations", reports.len());
    // Each due ticket exactly once: counted at the sender (the queue's deduplication would hide a repeat)
    // and on the queue.
    let sent: usize = reports.iter().map(|r| r.enqueued).sum();
    assert_eq!(sent, expected.len());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &reviewed {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    expected.sort();
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), expected);
    assert!(counts.values().all(|c| *c == 1), "{counts:?}");
}

#[tokio::test]
async fn a_continuation_holds_the_removals_the_runs_brake_held_though_it_sees_fewer() {
    let stack = spawn_with(Options::default().var("CLS_SWEEP_MAX_ACTIONS", "10")).await;
    // 30 removals (over the brake of 25): 5 before the 15 reminders, 25 after them. The first invocation
    // holds all 30 and sends 10 reminders; its continuation reads only from its cursor on, where 25 removals
    // would not trip the brake by themselves.
    let reminder = |n: u32| Ticket::new(n, "2027-01-31");
    let tickets: Vec<Ticket> = (0..45)
        .map(|n| {
            if (5..20).contains(&n) {
                reminder(n)
            } else {
                Ticket::new(n, DUE)
            }
        })
        .collect();
    stack.seed_tickets(&tickets);

    let first = stack.sweep(TODAY).await;
    assert!(first.brake_tripped);
    assert_eq!((first.enqueued, first.remaining), (10, 5));
    let next = stack.env.continuations.events()[0].clone();
    assert_eq!(next.hold_removals, Some(true));

    let second = stack.continue_on_another_instance(0).await;
    assert_eq!((second.enqueued, second.remaining), (5, 0));
    assert_eq!(second.held_removals.len(), 25);
    let reviewed = stack.reviewed_tickets().await;
    assert_eq!(
        reviewed,
        (5..20).map(|n| reminder(n).id()).collect::<Vec<_>>()
    );
    assert_eq!(
        stack.alerts_of("SweepBrakeTripped").len(),
        1,
        "alerted once, by the first invocation"
    );
}
