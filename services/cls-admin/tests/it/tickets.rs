//! `expiring`, `extend` and `report` over seeded tickets.

use std::collections::HashMap;

use cls_admin::Outcome;
use cls_core::Payload;
use serde_json::json;

use crate::support::{Options, Stack, Ticket, spawn_with};

/// Today is 2026-06-01. octocat expires in 9 days (one reminder sent, one extension), hubot in 61 days,
/// ghost is overdue, gone was removed at expiry (resolved), wombat (globex) expires in 19 days.
fn tickets() -> Vec<Ticket> {
    let mut octocat = Ticket::open(1, "octocat", 39_652_351, "2026-06-10");
    octocat.repositories = "acme/gadgets: read (added by bob 2025-07-01)\nacme/widgets: maintain (added by alice 2025-06-10)".into();
    octocat.state = json!({"v": 1, "uid": 39_652_351, "access": "granted", "reason": null, "granted_on": "2025-06-10",
        "expires_on": "2026-06-10", "notified": {"for": "2026-06-10", "days": [21]}, "notify_slack_ids": ["U024BE7LH"],
        "last_activity": "2026-05-20", "inactivity_warned_for": null,
        "ext": [{"by": "U024BE7LH", "on": "2026-03-01", "to": "2026-06-10"}], "deliveries": ["d-1"]});
    let hubot = Ticket::open(2, "hubot", 2002, "2026-08-01");
    let ghost = Ticket::open(3, "ghost", 5005, "2026-05-30");
    let mut gone = Ticket::open(4, "gone", 6006, "2026-05-25");
    gone.status = "RESOLVED".into();
    gone.added_by = "bob".into();
    gone.state = json!({"v": 1, "uid": 6006, "access": "removed", "reason": "expired", "granted_on": "2025-05-25",
        "expires_on": "2026-05-25", "removed_on": "2026-05-25", "notified": {"for": "2026-05-25", "days": [21, 7, 3]},
        "deliveries": []});
    let mut wombat = Ticket::open(5, "wombat", 3003, "2026-06-20");
    wombat.org = "globex".into();
    wombat.repositories = "globex/tunnels: triage (added by unknown)".into();
    vec![octocat, hubot, ghost, gone, wombat]
}

async fn stack() -> Stack {
    spawn_with(Options {
        tickets: tickets(),
        ..Options::default()
    })
    .await
}

/// `cls-admin extend acme/octocat --until 2026-09-01 <extra>`.
async fn extend_octocat_to_september(stack: &Stack, extra: &[&str]) -> Outcome {
    let mut args = vec!["extend", "acme/octocat", "--until", "2026-09-01"];
    args.extend_from_slice(extra);
    stack.run(&args).await.unwrap()
}

fn logins(document: &serde_json::Value) -> Vec<String> {
    document["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["login"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn expiring_lists_only_open_tickets_inside_the_window() {
    let stack = stack().await;
    let all = stack.run(&["expiring"]).await.unwrap();
    assert_eq!(
        logins(&all.document),
        vec!["ghost", "octocat", "wombat"],
        "{}",
        all.text
    );
    let octocat = &all.document["tickets"][1];
    assert_eq!(octocat["days_left"], 9);
    assert_eq!(octocat["reminders_sent"], json!([21]));
    assert_eq!(octocat["owner"], "alice@example.com");
    assert_eq!(octocat["link"], stack.permalink("62c000000000000000000001"));
    let acme = stack
        .run(&["expiring", "--within", "30d", "--org", "acme"])
        .await
        .unwrap();
    assert_eq!(logins(&acme.document), vec!["ghost", "octocat"]);
    let soon = stack.run(&["expiring", "--within", "5"]).await.unwrap();
    assert_eq!(logins(&soon.document), vec!["ghost"]);
    assert!(soon.text.contains("ghost"), "{}", soon.text);
    assert!(!soon.text.contains("octocat"), "{}", soon.text);
    assert_eq!(stack.depth().await, 0, "read-only");
}

#[tokio::test]
async fn extend_enqueues_admin_extend_naming_the_operator() {
    let stack = stack().await;
    let outcome = extend_octocat_to_september(&stack, &["--reason", "contract renewed"]).await;
    assert!(outcome.ok, "{}", outcome.text);
    let received = stack.received().await;
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.group, "gh-38302899-39652351");
    assert!(
        r.dedup.starts_with("extend-38302899-39652351-"),
        "{}",
        r.dedup
    );
    let Payload::AdminExtend(m) = &r.envelope.payload else {
        panic!("not admin_extend: {:?}", r.envelope.payload);
    };
    assert_eq!(
        m.until,
        chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
    );
    assert_eq!(m.operator, "jane.operator");
    assert_eq!(m.reason.as_deref(), Some("contract renewed"));
    assert_eq!(m.command_id, r.dedup);
}

#[tokio::test]
async fn extend_by_days_counts_from_the_later_of_expiry_and_today() {
    let stack = stack().await;
    stack
        .run(&[
            "extend",
            "acme/octocat",
            "--days",
            "90",
            "--operator",
            "sam",
        ])
        .await
        .unwrap();
    stack
        .run(&["extend", "acme/ghost", "--days", "90"])
        .await
        .unwrap();
    let received = stack.received().await;
    let until = |login: &str| {
        received
            .iter()
            .find(|r| r.envelope.collaborator.login == login)
            .and_then(|r| match &r.envelope.payload {
                Payload::AdminExtend(m) => Some((m.until, m.operator.clone())),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(
        until("octocat"),
        (
            chrono::NaiveDate::from_ymd_opt(2026, 9, 8).unwrap(),
            "sam".to_owned()
        )
    );
    assert_eq!(
        until("ghost").0,
        chrono::NaiveDate::from_ymd_opt(2026, 8, 30).unwrap(),
        "overdue: from today"
    );
}

#[tokio::test]
async fn a_dry_run_extend_prints_the_plan_and_sends_nothing() {
    let stack = stack().await;
    let outcome = extend_octocat_to_september(&stack, &["--dry-run"]).await;
    assert!(outcome.text.contains("2026-09-01"), "{}", outcome.text);
    assert!(outcome.text.contains("dry run"), "{}", outcome.text);
    assert_eq!(
        outcome.document["admin_extend"]["operator"],
        "jane.operator"
    );
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn extend_refuses_a_closed_ticket_and_a_date_in_the_past() {
    let stack = stack().await;
    let err = stack
        .run(&["extend", "acme/gone", "--days", "30"])
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), cls_admin::exit::USAGE);
    assert!(err.to_string().contains("no open ticket"), "{err}");
    let err = stack
        .run(&["extend", "acme/octocat", "--until", "2026-05-01"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not after today"), "{err}");
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn report_csv_lists_every_tracked_collaborator_with_the_review_evidence() {
    let stack = stack().await;
    let outcome = stack.run(&["report", "--format", "csv"]).await.unwrap();
    let mut reader = csv::Reader::from_reader(outcome.text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, cls_admin::report::CSV_COLUMNS.to_vec());
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|r| {
            headers
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    let logins: Vec<&str> = rows.iter().map(|r| r["login"].as_str()).collect();
    assert_eq!(
        logins,
        vec!["ghost", "gone", "hubot", "octocat", "wombat"],
        "every status, by org then login"
    );

    let octocat = rows.iter().find(|r| r["login"] == "octocat").unwrap();
    let expect = [
        ("org", "acme"),
        ("user_id", "39652351"),
        ("status", "active"),
        ("access", "granted"),
        ("removal_reason", ""),
        ("removed_on", ""),
        (
            "repositories",
            "acme/gadgets: read (added by bob 2025-07-01); acme/widgets: maintain (added by alice 2025-06-10)",
        ),
        ("added_by", "alice"),
        ("added_on", "2025-06-10"),
        ("expires_on", "2026-06-10"),
        ("reminders_sent", "21"),
        ("reminders_for", "2026-06-10"),
        ("extensions", "2026-06-10 by U024BE7LH on 2026-03-01"),
        ("last_activity", "2026-05-20"),
        ("owner", "alice@example.com"),
        ("email", "octocat@example.org"),
        ("ticket_id", "62c000000000000000000001"),
    ];
    for (column, value) in expect {
        assert_eq!(octocat[column], value, "octocat.{column}");
    }
    assert_eq!(octocat["link"], stack.permalink("62c000000000000000000001"));
    let gone = rows.iter().find(|r| r["login"] == "gone").unwrap();
    for (column, value) in [
        ("status", "removed (expired)"),
        ("access", "removed"),
        ("removal_reason", "expired"),
        ("removed_on", "2026-05-25"),
        ("added_by", "bob"),
        ("reminders_sent", "21,7,3"),
        ("extensions", ""),
    ] {
        assert_eq!(gone[column], value, "gone.{column}");
    }
    let wombat = rows.iter().find(|r| r["login"] == "wombat").unwrap();
    assert_eq!(wombat["org"], "globex");
    assert_eq!(
        wombat["repositories"],
        "globex/tunnels: triage (added by unknown)"
    );
    assert_eq!(stack.depth().await, 0, "read-only");
}

#[tokio::test]
async fn report_json_and_table_carry_the_same_collaborators() {
    let stack = stack().await;
    let json = stack
        .run(&["report", "--org", "acme", "--json"])
        .await
        .unwrap();
    let rows = json.document["collaborators"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "globex left out");
    let octocat = rows.iter().find(|r| r["login"] == "octocat").unwrap();
    assert_eq!(
        octocat["extensions"][0],
        json!({"to": "2026-06-10", "by": "U024BE7LH", "on": "2026-03-01"})
    );
    assert_eq!(octocat["repositories"][1]["permission"], "maintain");
    assert_eq!(json.document["active"], 3);
    let table = stack.run(&["report"]).await.unwrap();
    assert!(table.text.contains("removed (expired)"), "{}", table.text);
    assert!(
        table
            .text
            .contains("5 tracked collaborators: 4 active, 1 removed"),
        "{}",
        table.text
    );
}

#[tokio::test]
async fn reconcile_reports_untracked_collaborators_and_tickets_without_access() {
    let stack = stack().await;
    let outcome = stack.run(&["reconcile", "--org", "acme"]).await.unwrap();
    let untracked: Vec<&str> = outcome.document["without_ticket"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(
        untracked,
        Vec::<&str>::new(),
        "octocat and hubot both have open tickets"
    );
    let stale: Vec<&str> = outcome.document["tickets_without_access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["login"].as_str().unwrap())
        .collect();
    assert_eq!(
        stale,
        vec!["ghost"],
        "gone is resolved, so not listed: {}",
        outcome.text
    );

    stack.github.remove_member("acme", "bob").unwrap();
    stack
        .github
        .add_collaborator("acme", "widgets", "bob", "write")
        .unwrap();
    let outcome = stack.run(&["reconcile", "--org", "acme"]).await.unwrap();
    assert_eq!(
        outcome.document["without_ticket"][0]["login"], "bob",
        "{}",
        outcome.text
    );
    assert!(outcome.text.contains("no open ticket"), "{}", outcome.text);
    assert_eq!(stack.depth().await, 0, "read-only");
}

#[tokio::test]
async fn sweep_runs_the_sweep_library_and_enqueues_reviews_for_due_tickets() {
    let stack = stack().await;
    let plan = stack.run(&["sweep", "--dry-run"]).await.unwrap();
    let report = &plan.document["reports"][0];
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["scanned"], 4, "the open tickets: {}", plan.text);
    assert_eq!(
        report["due"],
        json!({"expire": 1, "notify": 1}),
        "{}",
        plan.text
    );
    assert_eq!(stack.depth().await, 0, "a dry run sends nothing");

    let run = stack.run(&["sweep"]).await.unwrap();
    assert!(run.ok, "{}", run.text);
    assert_eq!(run.document["reports"][0]["enqueued"], 2);
    let mut received: Vec<(String, String)> = stack
        .received()
        .await
        .into_iter()
        .map(|r| (r.group, r.dedup))
        .collect();
    received.sort();
    assert_eq!(
        received,
        vec![
            (
                "gh-38302899-5005".to_owned(),
                "review-62c000000000000000000003-2026-06-01".to_owned()
            ),
            (
                "gh-48302899-3003".to_owned(),
                "review-62c000000000000000000005-2026-06-01".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn sweep_holds_removals_over_the_brake_until_allow_removals_confirms_them() {
    let stack = spawn_with(Options {
        tickets: tickets(),
        vars: vec![("CLS_SWEEP_MAX_REMOVALS", "0".to_owned())],
        ..Options::default()
    })
    .await;
    let run = stack.run(&["sweep"]).await.unwrap();
    let report = &run.document["reports"][0];
    assert_eq!(report["brake_tripped"], true, "{}", run.text);
    assert_eq!(report["held_removals"], json!(["62c000000000000000000003"]));
    assert!(
        run.text.contains("cls-admin sweep --allow-removals 1"),
        "{}",
        run.text
    );
    let received = stack.received().await;
    assert_eq!(received.len(), 1, "only the reminder");
    assert_eq!(received[0].group, "gh-48302899-3003");

    let confirmed = stack
        .run(&["sweep", "--allow-removals", "1"])
        .await
        .unwrap();
    assert_eq!(
        confirmed.document["reports"][0]["brake_tripped"], false,
        "{}",
        confirmed.text
    );
    let groups: Vec<String> = stack
        .received()
        .await
        .into_iter()
        .map(|r| r.group)
        .collect();
    assert!(
        groups.contains(&"gh-38302899-5005".to_owned()),
        "the removal is enqueued now: {groups:?}"
    );
}
