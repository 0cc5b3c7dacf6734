//! Helpers for the lifecycle tests: tickets seeded through the Spoke API with the real codec, and the
//! `review` / `slack_action` / `import` / `admin_extend` envelopes the sweep, the webhook and `cls-admin`
//! produce.

use chrono::{DateTime, NaiveDate, Utc};
use cls_core::dates::parse_date;
use cls_core::envelope::{ReviewMsg, SlackActionMsg};
use cls_core::ticket::{Access, ClsState, RemovalReason, RepoGrant};
use cls_core::{AccountRef, Envelope, OrgRef, Payload, TicketFields};
use fake_kit::FakeState;
use serde_json::Value;
use spoke_client::{FieldId, NewRequest, PrivacyLevel, RequestTypeId, TagId, TeamId, UserId};

use crate::support::*;

pub(crate) const OCTOCAT_ID: u64 = 39_652_351;
pub(crate) const ALICE_SLACK: &str = "U0ALICE001";

pub(crate) fn d(s: &str) -> NaiveDate {
    parse_date(s).unwrap()
}

/// An open ticket of `login` (user id `uid`) in acme, added by alice to acme/widgets.
pub(crate) fn granted(login: &str, uid: u64, granted_on: &str, expires_on: &str) -> TicketFields {
    TicketFields {
        expires_on: Some(d(expires_on)),
        github_login: Some(login.to_owned()),
        github_user_id: Some(uid),
        github_org: Some(ORG.to_owned()),
        collaborator_email: None,
        repositories: vec![
            RepoGrant::parse_line(&format!(
                "acme/widgets: write (added by alice {granted_on})"
            ))
            .unwrap(),
        ],
        added_by: Some("alice".to_owned()),
        state: ClsState {
            uid: Some(uid),
            granted_on: Some(d(granted_on)),
            expires_on: Some(d(expires_on)),
            ..ClsState::default()
        },
        has_state: true,
    }
}

/// Creates the ticket in spoke-fake (owner `owner`, tagged `access granted`) and returns its id.
pub(crate) async fn seed(stack: &Stack, fields: &TicketFields, owner: &str) -> String {
    let spoke = stack.deps.spoke();
    let login = fields.github_login.clone().unwrap_or_default();
    let mut request = NewRequest::new(
        cls_core::messages::subject(&login, ORG),
        UserId::new(SERVICE_USER),
    )
    .body("seeded")
    .owner(UserId::new(owner))
    .team(TeamId::new(TEAM))
    .privacy(PrivacyLevel::Private)
    .request_type(RequestTypeId::new("61b000000000000000000001"));
    for (id, value) in fields.encode(&stack.deps.settings.spoke.fields) {
        request = request.answer(FieldId::new(id), value);
    }
    let created = spoke.create_request(&request).await.unwrap();
    spoke
        .add_tags(&created.id, &[TagId::new(TAG_GRANTED)])
        .await
        .unwrap();
    stack.spoke.kit().clear_journal();
    created.id.as_str().to_owned()
}

/// octocat's open ticket (granted 2026-05-12, expiring 2027-05-12) owned by alice; returns its id.
pub(crate) async fn seed_octocat(stack: &Stack) -> String {
    seed(
        stack,
        &granted("octocat", OCTOCAT_ID, "2026-05-12", "2027-05-12"),
        ALICE,
    )
    .await
}

/// Delivers the sweep's review of octocat's ticket `id` on `run_date`, the activity source off.
pub(crate) async fn review_on(stack: &Stack, id: &str, run_date: &str) {
    deliver(stack, &review(stack, id, OCTOCAT_ID, run_date, "off", None)).await;
}

/// Ticket `id` is closed as removed for inactivity and tagged so.
pub(crate) fn assert_removed_as_inactive(stack: &Stack, id: &str) {
    let s = state(stack, id);
    assert_eq!(
        (s.access, s.reason),
        (Access::Removed, Some(RemovalReason::Inactive))
    );
    assert_eq!(
        tags(stack, id),
        vec![TAG_REMOVED.to_owned(), TAG_INACTIVE.to_owned()]
    );
}

pub(crate) fn request(stack: &Stack, id: &str) -> Value {
    stack
        .requests()
        .into_iter()
        .find(|r| r["id"] == id)
        .expect("ticket")
}

pub(crate) fn state(stack: &Stack, id: &str) -> ClsState {
    ClsState::decode(&Stack::answer(&request(stack, id), 8).unwrap()).unwrap()
}

pub(crate) fn tags(stack: &Stack, id: &str) -> Vec<String> {
    let mut tags: Vec<String> = request(stack, id)["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    tags
}

fn envelope(stack: &Stack, login: &str, uid: u64, payload: Payload) -> Envelope {
    Envelope {
        enqueued_at: stack.deps.clock.now(),
        org: OrgRef {
            id: stack.github.org_id(ORG).unwrap(),
            login: ORG.to_owned(),
        },
        collaborator: AccountRef {
            id: uid,
            login: login.to_owned(),
        },
        payload,
    }
}

/// The sweep's `review` of ticket `id` on `run_date`, with the activity source's answer.
pub(crate) fn review(
    stack: &Stack,
    id: &str,
    uid: u64,
    run_date: &str,
    source: &str,
    last_activity: Option<&str>,
) -> Envelope {
    envelope(
        stack,
        "octocat",
        uid,
        Payload::Review(ReviewMsg {
            ticket_id: id.to_owned(),
            run_date: d(run_date),
            last_activity: last_activity.map(d),
            activity_source: Some(source.to_owned()),
        }),
    )
}

/// A click as `cls-webhook` enqueues it.
pub(crate) struct Click<'a> {
    pub(crate) action: &'a str,
    pub(crate) ticket: &'a str,
    pub(crate) expected: &'a str,
    pub(crate) user: &'a str,
    pub(crate) name: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) ts: &'a str,
    pub(crate) response_url: &'a str,
    pub(crate) at: DateTime<Utc>,
}

/// alice's `extend` click, now, on the reminder (`channel`, `ts`) of ticket `id` showing 2027-05-12.
pub(crate) fn alice_extends<'a>(
    stack: &Stack,
    id: &'a str,
    channel: &'a str,
    ts: &'a str,
    response_url: &'a str,
) -> Click<'a> {
    Click {
        action: "extend",
        ticket: id,
        expected: "2027-05-12",
        user: ALICE_SLACK,
        name: "alice",
        channel,
        ts,
        response_url,
        at: stack.deps.clock.now(),
    }
}

pub(crate) fn click(stack: &Stack, c: &Click<'_>) -> Envelope {
    let mut env = envelope(
        stack,
        "octocat",
        OCTOCAT_ID,
        Payload::SlackAction(SlackActionMsg {
            action: c.action.to_owned(),
            ticket_id: c.ticket.to_owned(),
            expected_expiry: d(c.expected),
            slack_user_id: c.user.to_owned(),
            slack_user_name: Some(c.name.to_owned()),
            channel_id: c.channel.to_owned(),
            message_ts: c.ts.to_owned(),
            response_url: c.response_url.to_owned(),
        }),
    );
    env.enqueued_at = c.at;
    env
}

pub(crate) fn command(stack: &Stack, login: &str, uid: u64, payload: Payload) -> Envelope {
    envelope(stack, login, uid, payload)
}

/// Sends `env` with a fresh SQS deduplication id (as a later re-run would) and drains the queue.
pub(crate) async fn deliver(stack: &Stack, env: &Envelope) {
    let dedup = format!("{}-{}", env.dedup_id(), uuid::Uuid::new_v4().simple());
    let mut dedup = dedup;
    dedup.truncate(128);
    stack
        .send_raw(&env.group_id(), &dedup, &env.to_json())
        .await;
    stack.drain(std::time::Duration::from_secs(30)).await;
}

/// A `response_url` issued by slack-fake for a message.
pub(crate) async fn response_url(stack: &Stack, channel: &str, ts: &str) -> String {
    let answer: Value = lambda_kit::http::default_client()
        .post(format!(
            "{}/__fake/response-urls",
            stack.slack_server.base_url()
        ))
        .json(&serde_json::json!({"channel": channel, "ts": ts}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["responseUrl"].as_str().unwrap().to_owned()
}

/// The first reminder DM'd to `user` was edited once: its buttons replaced by a line reading `outcome`.
pub(crate) fn assert_reminder_replaced_by(stack: &Stack, user: &str, outcome: &str) {
    let reminder = &stack.slack.dm_messages(user)[0];
    assert_eq!(reminder.edits, 1);
    assert!(reminder.blocks.iter().all(|b| b["type"] != "actions"));
    assert!(
        reminder
            .blocks
            .iter()
            .any(|b| b["elements"][0]["text"] == outcome),
        "{:?}",
        reminder.blocks
    );
}

/// The DM channel id slack-fake opened for `user`.
pub(crate) fn dm_channel(stack: &Stack, user: &str) -> String {
    stack.slack.state_json()["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["is_im"] == true && c["user"] == user)
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .expect("a DM was opened")
}

/// How many calls slack-fake received for a Web API method.
pub(crate) fn slack_calls(stack: &Stack, method: &str) -> usize {
    stack
        .slack
        .kit()
        .journal()
        .iter()
        .filter(|e| e.path.ends_with(method))
        .count()
}

pub(crate) fn github_calls(stack: &Stack, method: &str, path: &str) -> usize {
    stack.github.kit().calls(method, path).len()
}
