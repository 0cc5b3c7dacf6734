//! The real `cls-admin` binary: help text, exit codes and stdout.

use std::process::Command;

use crate::support::{Options, Ticket, spawn_with};

/// Every subcommand.
const COMMANDS: [&str; 8] = [
    "backfill",
    "expiring",
    "extend",
    "reconcile",
    "redeliver",
    "sweep",
    "doctor",
    "report",
];

fn cls_admin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cls-admin"))
}

#[test]
fn help_explains_every_command_with_an_example() {
    let out = cls_admin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in COMMANDS {
        assert!(text.contains(command), "{command} missing from\n{text}");
    }
    assert!(text.contains("Exit codes"), "{text}");
    for command in COMMANDS {
        let out = cls_admin().args([command, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("cls-admin {command}")),
            "{command} has no example:\n{text}"
        );
    }
}

#[test]
fn bad_arguments_exit_with_2() {
    let out = cls_admin()
        .args(["backfill", "--csv", "x.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--csv needs --org");
    let out = cls_admin()
        .args(["backfill", "--from-github", "--org", "a", "--csv", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "one source only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_the_report_csv_and_fails_doctor_with_exit_1() {
    let stack = spawn_with(Options {
        tickets: vec![Ticket::open(1, "octocat", 39_652_351, "2026-06-10")],
        ..Options::default()
    })
    .await;
    let run = |args: &[&str]| {
        let out = cls_admin()
            .args(args)
            .env_clear()
            .envs(&stack.vars)
            .env("AWS_ENDPOINT_URL", &stack.moto_endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        for stream in [&out.stdout, &out.stderr] {
            stack.leaks.scan("cli", &String::from_utf8_lossy(stream));
        }
        out
    };
    let out = run(&["report", "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("org,login,user_id,status"), "{text}");
    assert!(text.contains("acme,octocat,39652351,active"), "{text}");

    let out = run(&["doctor", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["failed"], 0);

    stack
        .github
        .set_permission("acme", "members", "none")
        .unwrap();
    let out = run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL github acme permission members: write"),
        "{text}"
    );

    let out = run(&["extend", "acme/nobody", "--days", "10", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(
        doc["error"].as_str().unwrap().contains("no open ticket"),
        "{doc}"
    );
}
