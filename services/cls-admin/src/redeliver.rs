//! `redeliver --since HOURS`: asks GitHub to re-send the App's failed webhook deliveries (README, "Commands"; the
//! recovery for a webhook that answered 503). GitHub keeps deliveries for 3 days.

use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use cls_core::dates::format_instant;
use github_app::HookDelivery;
use serde_json::json;

use crate::deps::Deps;
use crate::error::AdminError;
use crate::output::{Outcome, Progress, Table};

/// GitHub's delivery retention, in hours.
pub const MAX_HOURS: u32 = 72;
/// Pages of deliveries read per App (100 each, newest first).
pub const MAX_PAGES: u32 = 30;

/// The deliveries to re-send: per GUID delivered since `since` whose attempts all failed, the newest attempt.
pub fn failed_deliveries(
    deliveries: &[HookDelivery],
    since: chrono::DateTime<chrono::Utc>,
) -> Vec<HookDelivery> {
    let mut by_guid: BTreeMap<&str, Vec<&HookDelivery>> = BTreeMap::new();
    for d in deliveries {
        by_guid.entry(d.guid.as_str()).or_default().push(d);
    }
    let mut out: Vec<HookDelivery> = by_guid
        .into_values()
        .filter(|attempts| attempts.iter().all(|d| d.is_failed()))
        .filter_map(|attempts| {
            attempts
                .into_iter()
                .max_by_key(|d| (d.delivered_at, d.id))
                .cloned()
        })
        .filter(|d| d.delivered_at.is_some_and(|at| at >= since))
        .collect();
    out.sort_by_key(|d| (d.delivered_at, d.id));
    out
}

/// Runs `redeliver`.
pub async fn run(
    deps: &Deps,
    hours: u32,
    dry_run: bool,
    progress: &Progress,
) -> Result<Outcome, AdminError> {
    if hours == 0 || hours > MAX_HOURS {
        return Err(AdminError::Usage(format!(
            "--since must be 1..={MAX_HOURS} hours (GitHub keeps deliveries for 3 days)"
        )));
    }
    let since = deps.clock.now() - Duration::hours(i64::from(hours));
    let mut apps = HashSet::new();
    let mut table = Table::new(&["org", "guid", "event", "delivered_at", "status", "result"]);
    let mut items = Vec::new();
    let mut failed = 0;
    for org in &deps.settings.github.orgs {
        // One App's deliveries cover every org it is installed on.
        if !apps.insert(org.app_id) {
            continue;
        }
        let deliveries = deps.github.hook_deliveries(&org.org, MAX_PAGES).await?;
        let todo = failed_deliveries(&deliveries, since);
        let bar = progress.bar(todo.len() as u64, &format!("{}: redeliveries", org.org));
        for d in todo {
            let result = if dry_run {
                "planned".to_owned()
            } else {
                match deps.github.redeliver(&org.org, d.id).await {
                    Ok(()) => "requested".to_owned(),
                    Err(e) => {
                        failed += 1;
                        format!("FAILED: {e}")
                    }
                }
            };
            bar.inc(1);
            let event = match &d.action {
                Some(a) => format!("{}.{a}", d.event),
                None => d.event.clone(),
            };
            let at = d.delivered_at.map(format_instant).unwrap_or_default();
            table.row(vec![
                org.org.clone(),
                d.guid.clone(),
                event.clone(),
                at.clone(),
                format!("{} {}", d.status_code, d.status),
                result.clone(),
            ]);
            items.push(json!({"app_id": org.app_id, "org": org.org, "delivery_id": d.id, "guid": d.guid,
                "event": event, "delivered_at": at, "status": d.status, "status_code": d.status_code,
                "result": result}));
        }
        bar.finish_and_clear();
    }
    let mut text = if table.is_empty() {
        String::new()
    } else {
        table.render()
    };
    text.push_str(&format!(
        "{} failed deliveries in the last {hours} h{}, {failed} redelivery requests failed\n",
        items.len(),
        if dry_run {
            " (dry run, nothing requested)"
        } else {
            ""
        }
    ));
    Ok(Outcome {
        document: json!({"command": "redeliver", "since_hours": hours, "dry_run": dry_run,
            "deliveries": items, "failed": failed}),
        text,
        ok: failed == 0,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn d(id: u64, guid: &str, status: &str, at: &str) -> HookDelivery {
        HookDelivery {
            id,
            guid: guid.into(),
            status: status.into(),
            delivered_at: Some(
                DateTime::parse_from_rfc3339(at)
                    .unwrap()
                    .with_timezone(&Utc),
            ),
            ..HookDelivery::default()
        }
    }

    #[test]
    fn only_guids_that_never_succeeded_inside_the_window_are_redelivered() {
        let since = DateTime::parse_from_rfc3339("2026-05-12T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let all = [
            d(1, "a", "Internal Server Error", "2026-05-12T01:00:00Z"),
            d(2, "a", "OK", "2026-05-12T02:00:00Z"),
            d(3, "b", "Internal Server Error", "2026-05-12T03:00:00Z"),
            d(4, "b", "Timeout", "2026-05-12T04:00:00Z"),
            d(5, "c", "Internal Server Error", "2026-05-11T04:00:00Z"),
        ];
        let todo = failed_deliveries(&all, since);
        assert_eq!(todo.iter().map(|d| d.id).collect::<Vec<_>>(), vec![4]);
    }
}
