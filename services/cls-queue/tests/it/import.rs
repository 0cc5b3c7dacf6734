//! `import` and `admin_extend` handling (README, `import` and `admin_extend`; CLS-33, CLS-34).

use cls_core::Payload;
use cls_core::envelope::{AdminExtendMsg, ImportMsg, ImportRepo, ImportSource, command_dedup_id};

use crate::life::*;
use crate::support::*;

fn import_msg(added_at: Option<&str>) -> ImportMsg {
    ImportMsg {
        command_id: command_dedup_id("import", 38_302_899, OCTOCAT_ID, "github_api"),
        source: ImportSource::GithubApi,
        repositories: vec![ImportRepo {
            full_name: "acme/widgets".into(),
            permission: "maintain".into(),
        }],
        added_by: Some("alice".into()),
        added_at: added_at.map(d),
        expires_on: None,
    }
}

async fn on(today: &str) -> Stack {
    spawn_with(Options {
        env: vec![("CLS_FAKE_TODAY", today.to_owned())],
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn an_import_creates_one_ticket_and_a_second_run_creates_nothing() {
    let stack = on("2026-12-03").await;
    // Added long ago: a year after that is past, so the expiry is today + 30 days.
    let env = command(
        &stack,
        "octocat",
        OCTOCAT_ID,
        Payload::Import(import_msg(Some("2025-06-01"))),
    );
    deliver(&stack, &env).await;
    let requests = stack.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let id = r["id"].as_str().unwrap();
    assert_eq!(Stack::answer(r, 1).as_deref(), Some("2027-01-02"));
    assert_eq!(Stack::answer(r, 2).as_deref(), Some("octocat"));
    assert_eq!(
        Stack::answer(r, 6).as_deref(),
        Some("acme/widgets: maintain (added by alice 2025-06-01)")
    );
    assert_eq!(r["owner"], ALICE);
    assert_eq!(tags(&stack, id), vec![TAG_GRANTED.to_owned()]);
    assert_eq!(
        stack.messages(id),
        vec![format!(
            "Imported by cls-admin (github_api). [cls:{}]",
            env.dedup_id()
        )]
    );

    let patches = stack.spoke_calls("PATCH", "/requests/");
    deliver(&stack, &env).await;
    assert_eq!(stack.requests().len(), 1);
    assert_eq!(
        stack.spoke.kit().calls("POST", "/requests").len(),
        1,
        "one create"
    );
    assert_eq!(
        stack.spoke_calls("PATCH", "/requests/"),
        patches,
        "no write"
    );
    assert_eq!(stack.messages(id).len(), 1);
}

#[tokio::test]
async fn an_import_fills_only_the_missing_fields_of_a_legacy_ticket() {
    let stack = on("2026-12-03").await;
    // A legacy ticket from the old service: login and expiry only.
    let mut legacy = granted("octocat", OCTOCAT_ID, "2026-05-12", "2027-03-01");
    legacy.github_user_id = None;
    legacy.github_org = None;
    legacy.repositories.clear();
    legacy.added_by = None;
    legacy.state = cls_core::ticket::ClsState::default();
    legacy.has_state = false;
    let id = seed(&stack, &legacy, DEFAULT_OWNER).await;
    let env = command(
        &stack,
        "octocat",
        OCTOCAT_ID,
        Payload::Import(import_msg(Some("2026-11-20"))),
    );
    deliver(&stack, &env).await;
    assert_eq!(stack.requests().len(), 1, "adopted, not duplicated");
    let r = request(&stack, &id);
    assert_eq!(
        Stack::answer(&r, 1).as_deref(),
        Some("2027-03-01"),
        "expiry unchanged"
    );
    assert_eq!(Stack::answer(&r, 3), Some(OCTOCAT_ID.to_string()));
    assert_eq!(Stack::answer(&r, 4).as_deref(), Some("acme"));
    assert_eq!(Stack::answer(&r, 7).as_deref(), Some("alice"));
    assert!(stack.messages(&id)[0].starts_with("Imported by cls-admin (github_api): filled"));
    deliver(&stack, &env).await;
    assert_eq!(stack.messages(&id).len(), 1, "a re-run changes nothing");
}

#[tokio::test]
async fn an_operator_extension_moves_the_expiry_and_names_the_operator() {
    let stack = on("2027-04-21").await;
    let id = seed_octocat(&stack).await;
    let env = command(
        &stack,
        "octocat",
        OCTOCAT_ID,
        Payload::AdminExtend(AdminExtendMsg {
            command_id: command_dedup_id("extend", 38_302_899, OCTOCAT_ID, "--until 2027-12-31"),
            until: d("2027-12-31"),
            reason: Some("contract renewed".into()),
            operator: "ops@example.com".into(),
        }),
    );
    deliver(&stack, &env).await;
    let s = state(&stack, &id);
    assert_eq!(s.expires_on, Some(d("2027-12-31")));
    assert_eq!(s.ext[0].by, "ops@example.com");
    assert_eq!(
        stack.messages(&id),
        vec![format!(
            "Access extended to 2027-12-31 by ops@example.com via cls-admin. Reason: contract renewed. [cls:{}]",
            env.dedup_id()
        )]
    );
    deliver(&stack, &env).await;
    assert_eq!(stack.messages(&id).len(), 1);
}

#[tokio::test]
async fn extending_closed_access_is_refused_with_one_alert_and_no_change() {
    let stack = on("2027-04-21").await;
    let mut closed = granted("octocat", OCTOCAT_ID, "2026-05-12", "2027-05-12");
    closed.state.access = cls_core::ticket::Access::Removed;
    let id = seed(&stack, &closed, ALICE).await;
    let env = command(
        &stack,
        "octocat",
        OCTOCAT_ID,
        Payload::AdminExtend(AdminExtendMsg {
            command_id: command_dedup_id("extend", 38_302_899, OCTOCAT_ID, "--days 30"),
            until: d("2027-06-11"),
            reason: None,
            operator: "ops@example.com".into(),
        }),
    );
    deliver(&stack, &env).await;
    assert_eq!(state(&stack, &id).expires_on, Some(d("2027-05-12")));
    assert!(stack.messages(&id).is_empty());
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("access is closed"), "{}", alerts[0]);
}
