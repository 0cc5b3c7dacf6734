//! What a sweep invocation tells people: the one-line summary for the alert channel, the dry-run plan and
//! the brake alert (README, "What one invocation does", steps 4–7).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use cls_core::dates::format_date;
use serde::Serialize;

use crate::event::SweepEvent;
use crate::plan::{Due, Plan};

/// Lines per dry-run plan post (a Slack message stays far below its size limit).
pub const PLAN_LINES_PER_POST: usize = 50;

/// A ticket the sweep set aside, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedTicket {
    /// Spoke request id.
    pub ticket: String,
    /// Why.
    pub reason: String,
}

/// The invocation's result (the Lambda response and what `cls-admin sweep` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// The run date.
    pub run_date: NaiveDate,
    /// 0 for the first invocation of the run.
    pub continuation: u32,
    /// Plan only.
    pub dry_run: bool,
    /// Open tickets read (a continuation reads only those after its predecessor's last enqueued ticket).
    pub scanned: usize,
    /// Pages of the listing read.
    pub pages: u32,
    /// Tickets with access granted and usable fields.
    pub reviewable: usize,
    /// Actions due per action name.
    pub due: BTreeMap<String, usize>,
    /// Review messages sent by this invocation.
    pub enqueued: usize,
    /// More removals were due than the brake allows.
    pub brake_tripped: bool,
    /// Ticket ids of the removals held by the brake.
    pub held_removals: Vec<String>,
    /// Sendable actions left after this invocation.
    pub remaining: usize,
    /// A continuation was started for the rest.
    pub continued: bool,
    /// The event of the invocation that continues this run, when one is needed (`cls-admin` runs it inline).
    pub next: Option<SweepEvent>,
    /// Tickets set aside.
    pub skipped: Vec<SkippedTicket>,
    /// Per org: the activity source, or why it was unavailable.
    pub activity: BTreeMap<String, String>,
    /// Wall time of the invocation.
    pub duration_ms: u64,
    /// Of which reading the listing of open tickets.
    pub listing_ms: u64,
}

impl SweepReport {
    /// The one-line Slack summary.
    pub fn summary_line(&self, stage: &str) -> String {
        let mut text = format!(
            "CLS sweep [{stage}] {}{}{}: {} open tickets, due: {}; {} enqueued",
            format_date(self.run_date),
            if self.dry_run { " (dry run)" } else { "" },
            if self.continuation > 0 {
                format!(" continuation {}", self.continuation)
            } else {
                String::new()
            },
            self.scanned,
            if self.due.is_empty() {
                "none".to_owned()
            } else {
                self.due
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            self.enqueued,
        );
        if self.brake_tripped {
            text.push_str(&format!(
                "; brake tripped: {} removals held",
                self.held_removals.len()
            ));
        }
        if !self.skipped.is_empty() {
            let ids: Vec<&str> = self.skipped.iter().map(|s| s.ticket.as_str()).collect();
            text.push_str(&format!(
                "; {} skipped ({})",
                self.skipped.len(),
                ids.join(", ")
            ));
        }
        if self.remaining > 0 {
            text.push_str(&format!(
                "; {} left for {}",
                self.remaining,
                if self.continued {
                    "the continuation"
                } else {
                    "the next run"
                }
            ));
        }
        if !self.activity.is_empty() {
            let orgs: Vec<String> = self
                .activity
                .iter()
                .map(|(org, source)| format!("{org} {source}"))
                .collect();
            text.push_str(&format!("; activity: {}", orgs.join(", ")));
        }
        text
    }
}

/// One plan line: `acme/octocat expire (expires 2027-01-10) <link>`.
pub fn plan_line(due: &Due, held: bool) -> String {
    format!(
        "{}/{} {} (expires {}) {}{}",
        due.ticket.org,
        due.ticket.login,
        due.action.as_str(),
        due.ticket
            .state
            .expires_on
            .map(format_date)
            .unwrap_or_else(|| "?".to_owned()),
        due.ticket.link,
        if held { " — held by the brake" } else { "" }
    )
}

/// The dry-run plan as posts of at most [`PLAN_LINES_PER_POST`] lines each.
pub fn plan_posts(plan: &Plan, stage: &str) -> Vec<String> {
    let lines: Vec<String> = plan
        .due
        .iter()
        .map(|d| plan_line(d, plan.brake_tripped && d.action.is_removal()))
        .collect();
    let header = format!(
        "CLS sweep dry run [{stage}] {}: {} action(s) due, nothing sent",
        format_date(plan.run_date),
        lines.len()
    );
    if lines.is_empty() {
        return vec![header];
    }
    let chunks: Vec<&[String]> = lines.chunks(PLAN_LINES_PER_POST).collect();
    let total = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| format!("{header} ({}/{total})\n{}", i + 1, chunk.join("\n")))
        .collect()
}

/// The brake alert's message: every held removal, and how to confirm.
pub fn brake_message(plan: &Plan, brake: usize) -> String {
    let mut text = format!(
        "{} removals are due, more than the brake of {brake}: none was enqueued (other actions were). \
         After checking, confirm with `cls-admin sweep --allow-removals {}`.",
        plan.held.len(),
        plan.held.len()
    );
    for d in &plan.held {
        text.push('\n');
        text.push_str(&plan_line(d, false));
    }
    text
}

#[cfg(test)]
mod tests {
    use cls_core::dates::parse_date;
    use cls_core::{ClsState, ReviewConfig};

    use super::*;
    use crate::plan::{ActivityByOrg, Limits, plan};
    use crate::scan::TicketView;

    fn expired(n: u32) -> TicketView {
        TicketView {
            id: format!("t{n}"),
            link: format!("https://example.askspoke.com/requests/t{n}"),
            created_at: format!("2026-01-01T00:00:{n:02}Z"),
            offset: u64::from(n),
            org: "acme".into(),
            org_id: 1,
            user_id: u64::from(n),
            login: format!("user{n}"),
            repositories: Vec::new(),
            state: ClsState {
                expires_on: parse_date("2027-01-01"),
                ..ClsState::default()
            },
        }
    }

    fn planned(n: u32, brake: usize) -> Plan {
        let tickets: Vec<TicketView> = (0..n).map(expired).collect();
        plan(
            &tickets,
            &ActivityByOrg::new(),
            parse_date("2027-01-10").unwrap(),
            &ReviewConfig::default(),
            &Limits {
                max_actions: 500,
                removal_brake: brake,
            },
            None,
        )
    }

    #[test]
    fn a_long_plan_is_posted_in_chunks_each_naming_org_login_action_expiry_and_link() {
        let posts = plan_posts(&planned(120, 500), "testing");
        assert_eq!(posts.len(), 3);
        assert!(posts[0].starts_with(
            "CLS sweep dry run [testing] 2027-01-10: 120 action(s) due, nothing sent (1/3)"
        ));
        assert!(posts[2].contains(
            "acme/user119 expire (expires 2027-01-01) https://example.askspoke.com/requests/t119"
        ));
        assert_eq!(
            posts.iter().map(|p| p.lines().count() - 1).sum::<usize>(),
            120
        );
    }

    #[test]
    fn held_removals_are_marked_in_the_plan_and_listed_in_the_brake_message() {
        let plan = planned(3, 2);
        assert!(plan_posts(&plan, "t")[0].contains("— held by the brake"));
        let message = brake_message(&plan, 2);
        assert!(message.starts_with("3 removals are due, more than the brake of 2"));
        assert!(message.contains("--allow-removals 3"));
        assert_eq!(message.lines().count(), 4);
    }
}
