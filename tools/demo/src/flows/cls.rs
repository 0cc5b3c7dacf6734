//! The CLS flow: signed `member` deliveries from github-fake through the API Gateway emulator, the FIFO queue
//! and `cls-queue` to one Spoke ticket.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use devstack::Stack;
use devstack::seed::{ORG, answer_of, has_tag};
use github_fake::MemberSpec;
use serde_json::Value;

use crate::report::{Row, record};

/// The CLS flow: signed `member` deliveries from github-fake through the API emulator, the FIFO queue and
/// `cls-queue` to one Spoke ticket.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let flow = "cls";
    let mut rows = Vec::new();
    let Some(url) = stack.endpoints.get("cls_webhook").cloned() else {
        return vec![Row::failed(
            flow,
            "cls-webhook behind the API emulator",
            "not registered",
        )];
    };
    let Some(source) = stack.event_source.as_ref() else {
        return vec![Row::failed(
            flow,
            "cls-queue behind the event source",
            "not running",
        )];
    };
    let spoke = &stack.fakes.spoke;
    let spec = |action: &str, login: &str, role: Option<&str>| member(action, login, role, "alice");
    let deliver = |spec: MemberSpec, guid: &'static str| {
        let url = url.clone();
        async move {
            let before = source.outcomes().len();
            deliver_member(stack, &url, &spec, guid).await?;
            wait_for_batches(source, before + 1).await?;
            anyhow::Ok(())
        }
    };

    let tickets_before = spoke.request_count();
    let ids_before = request_ids(stack);
    let added = async {
        deliver(spec("added", "mona", Some("write")), "demo-delivery-added").await?;
        let new: Vec<String> = request_ids(stack)
            .into_iter()
            .filter(|id| !ids_before.contains(id))
            .collect();
        let [id] = new.as_slice() else {
            anyhow::bail!("{} tickets were created", new.len());
        };
        let ticket = ticket(stack, id)?;
        anyhow::ensure!(
            has_tag(&ticket, "access_granted"),
            "the ticket lacks `access granted`"
        );
        let expires =
            answer_of(&ticket, "expires_on").ok_or_else(|| anyhow!("the ticket has no expiry"))?;
        Ok((id.clone(), format!("ticket {id}, expires {expires}")))
    }
    .await;
    let step = "signed member.added creates one ticket with an expiry";
    let Some(ticket_id) = record(&mut rows, flow, step, added) else {
        return rows;
    };

    let duplicate = async {
        let messages = spoke.messages(&ticket_id).len();
        deliver(spec("added", "mona", Some("write")), "demo-delivery-added").await?;
        anyhow::ensure!(
            spoke.request_count() == tickets_before + 1,
            "a second ticket appeared"
        );
        let after = spoke.messages(&ticket_id).len();
        anyhow::ensure!(after == messages, "the duplicate posted a message");
        Ok("same delivery id: no new ticket, no message".to_owned())
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "the same delivery again changes nothing",
        duplicate,
    ));

    let edited = async {
        let messages = spoke.messages(&ticket_id).len();
        deliver(
            spec("edited", "mona", Some("admin")),
            "demo-delivery-edited",
        )
        .await?;
        let after = spoke.messages(&ticket_id).len();
        anyhow::ensure!(
            after == messages + 1,
            "{} update messages",
            after.saturating_sub(messages)
        );
        Ok(format!("ticket {ticket_id}: one update message"))
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "a permission edit posts one update message",
        edited,
    ));

    let removed = async {
        deliver(spec("removed", "mona", None), "demo-delivery-removed").await?;
        let ticket = ticket(stack, &ticket_id)?;
        anyhow::ensure!(
            has_tag(&ticket, "access_removed"),
            "no `access removed` tag"
        );
        anyhow::ensure!(
            !has_tag(&ticket, "access_granted"),
            "`access granted` is still there"
        );
        Ok(format!(
            "ticket {ticket_id}: access granted → access removed"
        ))
    }
    .await;
    rows.push(Row::from_result(flow, "a removal swaps the tags", removed));

    let member = async {
        let before = spoke.request_count();
        deliver(spec("added", "bob", Some("write")), "demo-delivery-member").await?;
        anyhow::ensure!(
            spoke.request_count() == before,
            "a ticket was created for an org member"
        );
        Ok("bob is an org member: no ticket".to_owned())
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "an org member added gets no ticket",
        member,
    ));
    rows
}

/// A `member` event about `login` on acme/widgets with the role `role`, sent by `sender`.
pub(crate) fn member(action: &str, login: &str, role: Option<&str>, sender: &str) -> MemberSpec {
    MemberSpec {
        action: action.to_owned(),
        org: ORG.to_owned(),
        login: login.to_owned(),
        repo: "widgets".to_owned(),
        role_name: role.map(str::to_owned),
        sender: Some(sender.to_owned()),
        apply: Some(true),
    }
}

/// Sends `spec` as the signed `member` delivery `guid` from github-fake to `cls-webhook` at `url`; the webhook
/// must accept it (202).
pub(crate) async fn deliver_member(
    stack: &Stack,
    url: &str,
    spec: &MemberSpec,
    guid: &str,
) -> Result<()> {
    let outcome = stack
        .fakes
        .github
        .send_member_event(url, spec, Some(guid))
        .await
        .map_err(|e| anyhow!("delivery: {e}"))?;
    anyhow::ensure!(
        outcome.status == 202,
        "cls-webhook answered {}",
        outcome.status
    );
    Ok(())
}

/// Waits until the event source has handled `count` batches in total and the queue is empty.
async fn wait_for_batches(source: &devstack::sqs::EventSourceHandle, count: usize) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let outcomes = source.outcomes();
        if outcomes.len() >= count {
            let last = &outcomes[outcomes.len() - 1];
            anyhow::ensure!(
                last.is_success(),
                "cls-queue did not acknowledge the batch: {:?}",
                last.batch_error.as_deref().unwrap_or("batch item failures")
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(anyhow!("cls-queue handled no batch within 30 s"))
}

fn request_ids(stack: &Stack) -> Vec<String> {
    stack.fakes.spoke.state_json()["requests"]
        .as_array()
        .map(|requests| {
            requests
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ticket(stack: &Stack, id: &str) -> Result<Value> {
    stack
        .fakes
        .spoke
        .request(id)
        .ok_or_else(|| anyhow!("spoke-fake has no request {id}"))
}
