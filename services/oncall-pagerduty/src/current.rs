//! Who is on call for each configured team at an instant (README, "Behaviour" 1 and 3).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::config::{Source, TeamMapping};
use crate::pagerduty::{CallCtx, OnCall, OncallQuery, PagerDutyClient, PagerDutyError};

/// Ids per `GET /oncalls` request, so that a long team list never makes an over-long URL.
pub const IDS_PER_REQUEST: usize = 25;

/// What was learnt about one team: its on-call entry (`None`: nobody is on call), or why it could not be read.
pub type Reading = Result<Option<OnCall>, PagerDutyError>;

/// The entries of `source` that cover `at`: for a policy its level-1 entries, for a schedule its entries at
/// its lowest level.
fn candidates<'a>(entries: &'a [OnCall], source: &Source, at: DateTime<Utc>) -> Vec<&'a OnCall> {
    let covering = entries.iter().filter(|e| e.covers(at));
    match source {
        Source::EscalationPolicy(id) => covering
            .filter(|e| e.escalation_policy.id == *id && e.escalation_level == 1)
            .collect(),
        Source::Schedule(id) => {
            let of_schedule: Vec<&OnCall> = covering
                .filter(|e| e.schedule.as_ref().is_some_and(|s| s.id == *id))
                .collect();
            let lowest = of_schedule.iter().map(|e| e.escalation_level).min();
            of_schedule
                .into_iter()
                .filter(|e| Some(e.escalation_level) == lowest)
                .collect()
        }
    }
}

/// The team's on-call among `entries` at `at`: when several cover it, the one whose shift started last (a
/// permanent on-call counts as the earliest), then the lowest user id.
pub fn on_call_at(entries: &[OnCall], source: &Source, at: DateTime<Utc>) -> Option<OnCall> {
    candidates(entries, source, at)
        .into_iter()
        .max_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then_with(|| b.user.id.cmp(&a.user.id))
        })
        .cloned()
}

/// The instant range of a query about instant `at`: `since` = `at`, `until` one second later (entries are
/// then kept only when they cover `at`).
fn query_at(policy_ids: Vec<String>, schedule_ids: Vec<String>, at: DateTime<Utc>) -> OncallQuery {
    OncallQuery {
        policy_ids,
        schedule_ids,
        since: at,
        until: at + Duration::seconds(1),
    }
}

/// Every team's on-call at `at`: the policies, then the schedules, [`IDS_PER_REQUEST`] ids per query. A query
/// that fails fails the teams it was about.
pub async fn read_all(
    client: &PagerDutyClient,
    teams: &[TeamMapping],
    at: DateTime<Utc>,
    ctx: &CallCtx,
) -> HashMap<Source, Reading> {
    let mut readings = HashMap::new();
    let policies: Vec<&Source> = teams
        .iter()
        .map(|t| &t.source)
        .filter(|s| matches!(s, Source::EscalationPolicy(_)))
        .collect();
    let schedules: Vec<&Source> = teams
        .iter()
        .map(|t| &t.source)
        .filter(|s| matches!(s, Source::Schedule(_)))
        .collect();
    for (sources, is_policy) in [(policies, true), (schedules, false)] {
        for chunk in sources.chunks(IDS_PER_REQUEST) {
            let ids: Vec<String> = chunk.iter().map(|s| s.id().to_owned()).collect();
            let query = if is_policy {
                query_at(ids, Vec::new(), at)
            } else {
                query_at(Vec::new(), ids, at)
            };
            let result = client.oncalls(&query, ctx).await;
            for source in chunk {
                let reading = match &result {
                    Ok(entries) => Ok(on_call_at(entries, source, at)),
                    Err(e) => Err(e.clone()),
                };
                readings.insert((*source).clone(), reading);
            }
        }
    }
    readings
}

/// Who was on call for `source` the second before `start` (the person going off call).
pub async fn read_previous(
    client: &PagerDutyClient,
    source: &Source,
    start: DateTime<Utc>,
    ctx: &CallCtx,
) -> Result<Option<OnCall>, PagerDutyError> {
    let before = start - Duration::seconds(1);
    let query = match source {
        Source::EscalationPolicy(id) => query_at(vec![id.clone()], Vec::new(), before),
        Source::Schedule(id) => query_at(Vec::new(), vec![id.clone()], before),
    };
    let entries = client.oncalls(&query, ctx).await?;
    Ok(on_call_at(&entries, source, before))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    fn entry(
        policy: &str,
        level: u32,
        schedule: Option<&str>,
        user: &str,
        start: Option<&str>,
    ) -> OnCall {
        serde_json::from_value(json!({
            "escalation_policy": {"id": policy},
            "escalation_level": level,
            "schedule": schedule.map(|s| json!({"id": s})),
            "user": {"id": user},
            "start": start,
            "end": start.map(|_| "2026-03-02T17:00:00Z"),
        }))
        .unwrap()
    }

    #[test]
    fn a_policy_team_takes_the_level_one_entry_that_started_last() {
        let entries = [
            entry("P1", 2, Some("S2"), "boss", Some("2026-03-02T09:00:00Z")),
            entry("P1", 1, None, "always", None),
            entry("P1", 1, Some("S1"), "alice", Some("2026-03-02T09:00:00Z")),
            entry("P1", 1, Some("S3"), "zed", Some("2026-03-02T08:00:00Z")),
            entry("P2", 1, Some("S1"), "other", Some("2026-03-02T09:30:00Z")),
        ];
        let source = Source::EscalationPolicy("P1".into());
        let now = at("2026-03-02T10:00:00Z");
        assert_eq!(on_call_at(&entries, &source, now).unwrap().user.id, "alice");
        let only_permanent = [entries[1].clone()];
        assert_eq!(
            on_call_at(&only_permanent, &source, now).unwrap().user.id,
            "always"
        );
        assert!(on_call_at(&entries[..1], &source, now).is_none());
    }

    #[test]
    fn a_schedule_team_takes_its_schedule_at_its_lowest_level_and_only_covering_entries() {
        let entries = [
            entry("P1", 2, Some("S1"), "late", Some("2026-03-02T09:30:00Z")),
            entry("P2", 1, Some("S1"), "alice", Some("2026-03-02T09:00:00Z")),
            entry("P2", 1, Some("S1"), "future", Some("2026-03-02T10:00:01Z")),
        ];
        let source = Source::Schedule("S1".into());
        let on_call = on_call_at(&entries, &source, at("2026-03-02T10:00:00Z")).unwrap();
        assert_eq!(on_call.user.id, "alice");
    }
}
