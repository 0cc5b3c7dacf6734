use cls_core::{ImportSource, Payload};
use serde_json::Value;

use crate::support::{Stack, spawn};

fn imports(received: &[crate::support::Received]) -> Vec<(String, cls_core::ImportMsg)> {
    received
        .iter()
        .map(|r| match &r.envelope.payload {
            Payload::Import(i) => (r.envelope.collaborator.login.clone(), i.clone()),
            other => panic!("not an import: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn backfill_from_github_enqueues_one_import_per_outside_collaborator_of_every_org() {
    let stack = spawn().await;
    let outcome = stack.run(&["backfill", "--from-github"]).await.unwrap();
    assert!(outcome.ok, "{}", outcome.text);
    assert_eq!(outcome.document["enqueued"], 3);
    let received = stack.received().await;
    assert_eq!(
        received.len(),
        3,
        "octocat and hubot in acme, wombat in globex"
    );
    for r in &received {
        assert_eq!(
            r.group,
            format!("gh-{}-{}", r.envelope.org.id, r.envelope.collaborator.id)
        );
        assert_eq!(r.dedup, r.envelope.dedup_id());
        assert!(r.dedup.starts_with(&format!(
            "import-{}-{}-",
            r.envelope.org.id, r.envelope.collaborator.id
        )));
    }
    let mut all = imports(&received);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let (login, hubot) = &all[0];
    assert_eq!(login, "hubot");
    assert_eq!(hubot.source, ImportSource::GithubApi);
    let repos: Vec<(String, String)> = hubot
        .repositories
        .iter()
        .map(|r| (r.full_name.clone(), r.permission.clone()))
        .collect();
    assert_eq!(
        repos,
        vec![
            ("acme/gadgets".to_owned(), "read".to_owned()),
            ("acme/widgets".to_owned(), "write".to_owned())
        ]
    );
    assert_eq!(all[1].0, "octocat");
    assert_eq!(all[1].1.repositories[0].permission, "maintain");
    assert_eq!(all[2].0, "wombat");
    let wombat = received
        .iter()
        .find(|r| r.envelope.collaborator.login == "wombat")
        .unwrap();
    assert_eq!(wombat.envelope.org.login, "globex");
}

#[tokio::test]
async fn the_same_backfill_twice_sends_the_same_command_ids() {
    let stack = spawn().await;
    stack
        .run(&["backfill", "--org", "acme", "--from-github"])
        .await
        .unwrap();
    let first: Vec<String> = stack
        .received()
        .await
        .into_iter()
        .map(|r| r.dedup)
        .collect();
    stack
        .run(&["backfill", "--org", "acme", "--from-github"])
        .await
        .unwrap();
    let second: Vec<String> = stack
        .received()
        .await
        .into_iter()
        .map(|r| r.dedup)
        .collect();
    assert_eq!(first.len(), 2);
    let (mut a, mut b) = (first, second);
    a.sort();
    b.sort();
    assert_eq!(a, b, "cls-queue recognises a re-run by these ids");
}

#[tokio::test]
async fn a_dry_run_backfill_prints_the_plan_and_sends_nothing() {
    let stack = spawn().await;
    let outcome = stack
        .run(&["backfill", "--from-github", "--dry-run"])
        .await
        .unwrap();
    assert!(outcome.ok);
    assert_eq!(outcome.document["planned"], 3);
    assert_eq!(outcome.document["enqueued"], 0);
    assert!(outcome.text.contains("octocat"), "{}", outcome.text);
    assert!(outcome.text.contains("dry run"), "{}", outcome.text);
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn backfill_csv_imports_the_documented_columns_and_reports_bad_rows_by_line() {
    let stack = spawn().await;
    let csv = "login,name,repositories,added_by,added_at,expires_on\n\
        octocat,The Octocat,widgets,alice,2026-01-05,\n\
        hubot,Hubot,acme/widgets:admin;gadgets,bob,,2026-12-24\n\
        nobody,Not a collaborator,widgets,,,\n\
        wombat,Other org,globex/tunnels,,,\n\
        ,No login,widgets,,,\n\
        octocat2,Bad date,widgets,,yesterday,\n";
    let path = stack.file("collaborators.csv", csv);
    let outcome = stack
        .run(&["backfill", "--org", "acme", "--csv", path.to_str().unwrap()])
        .await
        .unwrap();
    assert!(!outcome.ok, "bad rows make the run fail: {}", outcome.text);
    let lines: Vec<u64> = outcome.document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![4, 5, 6, 7], "{}", outcome.text);
    assert!(
        outcome
            .text
            .contains("line 4: nobody is not an outside collaborator of acme"),
        "{}",
        outcome.text
    );
    let mut all = imports(&stack.received().await);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all.len(), 2);
    let hubot = &all[0].1;
    assert_eq!(hubot.source, ImportSource::Csv);
    assert_eq!(hubot.added_by.as_deref(), Some("bob"));
    assert_eq!(
        hubot.expires_on,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 24)
    );
    let perms: Vec<(&str, &str)> = hubot
        .repositories
        .iter()
        .map(|r| (r.full_name.as_str(), r.permission.as_str()))
        .collect();
    assert_eq!(
        perms,
        vec![("acme/widgets", "admin"), ("acme/gadgets", "read")],
        "an explicit permission is kept, a missing one is read from GitHub"
    );
    let octocat = &all[1].1;
    assert_eq!(
        octocat.added_at,
        chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
    );
    assert_eq!(octocat.repositories[0].permission, "maintain");
}

#[tokio::test]
async fn backfill_audit_csv_replays_the_export_and_imports_what_is_still_granted() {
    let stack = spawn().await;
    let csv = "action,actor,user,repo,created_at,permission\n\
        repo.add_member,alice,octocat,acme/widgets,2026-02-01T10:00:00Z,write\n\
        repo.update_member,bob,octocat,acme/widgets,2026-03-01T10:00:00Z,maintain\n\
        repo.add_member,bob,hubot,acme/gadgets,2026-01-10T10:00:00Z,read\n\
        repo.remove_member,bob,hubot,acme/gadgets,2026-01-20T10:00:00Z,\n\
        repo.add_member,carol,hubot,acme/widgets,2026-01-15T10:00:00Z,write\n\
        org.update_member,alice,bob,,2026-01-15T10:00:00Z,\n\
        repo.add_member,alice,,acme/widgets,2026-01-15T10:00:00Z,\n";
    let path = stack.file("audit.csv", csv);
    let outcome = stack
        .run(&[
            "backfill",
            "--org",
            "acme",
            "--audit-csv",
            path.to_str().unwrap(),
            "--json",
        ])
        .await
        .unwrap();
    let problems = outcome.document["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{}", outcome.document);
    assert_eq!(problems[0]["line"], 8);
    assert_eq!(problems[0]["message"], Value::from("user is empty"));
    let mut all = imports(&stack.received().await);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let (_, hubot) = &all[0];
    assert_eq!(hubot.source, ImportSource::AuditCsv);
    assert_eq!(
        hubot.repositories.len(),
        1,
        "gadgets was removed in the export"
    );
    assert_eq!(hubot.repositories[0].full_name, "acme/widgets");
    assert_eq!(hubot.added_by.as_deref(), Some("carol"));
    assert_eq!(hubot.added_at, chrono::NaiveDate::from_ymd_opt(2026, 1, 15));
    let (_, octocat) = &all[1];
    assert_eq!(octocat.repositories[0].permission, "maintain");
    assert_eq!(
        octocat.added_by.as_deref(),
        Some("alice"),
        "the adder, not the editor"
    );
}

#[tokio::test]
async fn a_csv_without_the_repositories_column_is_a_usage_error() {
    let stack: Stack = spawn().await;
    let path = stack.file("bad.csv", "login,name\noctocat,O\n");
    let err = stack
        .run(&["backfill", "--org", "acme", "--csv", path.to_str().unwrap()])
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), cls_admin::exit::USAGE);
    assert!(err.to_string().contains("repositories"), "{err}");
    assert_eq!(stack.depth().await, 0);
}
