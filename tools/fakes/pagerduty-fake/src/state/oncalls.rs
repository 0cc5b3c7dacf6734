//! `GET /oncalls`: the query as PagerDuty reads it, the on-call entries every escalation rule yields over the
//! time range, and the offset/limit/`more` page (README, "Behaviour").

use serde_json::{Value, json};

use super::{ApiError, Data, Target, parse_time, render_time};

/// PagerDuty's default page size.
const DEFAULT_LIMIT: usize = 25;
/// The largest page PagerDuty serves.
const MAX_LIMIT: usize = 100;
/// The widest `since`–`until` range accepted.
const MAX_RANGE_SECS: i64 = 90 * 24 * 3600;

/// The parameters of `GET /oncalls`. Array parameters are read only in their `name[]` form, as PagerDuty's
/// Rails-style query parsing does; other parameters are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OncallQuery {
    policy_ids: Vec<String>,
    schedule_ids: Vec<String>,
    user_ids: Vec<String>,
    since: i64,
    until: i64,
    earliest: bool,
    include_users: bool,
    limit: usize,
    offset: usize,
    total: bool,
}

fn flag(value: &str) -> bool {
    value.eq_ignore_ascii_case("true")
}

impl OncallQuery {
    /// Reads the query pairs; `since` and `until` default to `now`.
    pub(crate) fn parse(pairs: &[(String, String)], now: i64) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let list = |name: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let one = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        let mut time = |name: &str| match one(name) {
            None => now,
            Some(t) => parse_time(t).unwrap_or_else(|| {
                errors.push(format!("{name} is not a valid ISO 8601 time"));
                now
            }),
        };
        let since = time("since");
        let until = time("until");
        let mut number = |name: &str, default: usize| match one(name) {
            None => default,
            Some(n) => n.parse().unwrap_or_else(|_| {
                errors.push(format!("{name} must be a number"));
                default
            }),
        };
        let limit = number("limit", DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let offset = number("offset", 0);
        if until < since {
            errors.push("until must not be before since".to_owned());
        } else if until - since > MAX_RANGE_SECS {
            errors.push("the range between since and until must not exceed 90 days".to_owned());
        }
        if !errors.is_empty() {
            return Err(ApiError::InvalidInput(errors));
        }
        Ok(Self {
            policy_ids: list("escalation_policy_ids[]"),
            schedule_ids: list("schedule_ids[]"),
            user_ids: list("user_ids[]"),
            since,
            until,
            earliest: one("earliest").is_some_and(|v| flag(v)),
            include_users: list("include[]").iter().any(|v| v == "users"),
            limit,
            offset,
            total: one("total").is_some_and(|v| flag(v)),
        })
    }
}

/// One on-call before rendering.
struct Entry<'a> {
    policy: usize,
    level: usize,
    schedule: Option<&'a str>,
    user: String,
    start: Option<i64>,
    end: Option<i64>,
}

impl Data {
    fn entries(&self, q: &OncallQuery) -> Vec<Entry<'_>> {
        let wanted = |ids: &[String], id: &str| ids.is_empty() || ids.iter().any(|i| i == id);
        let mut entries = Vec::new();
        for (p, policy) in self.policies.iter().enumerate() {
            if !wanted(&q.policy_ids, &policy.id) {
                continue;
            }
            for (level, targets) in policy.rules.iter().enumerate() {
                for target in targets {
                    match target {
                        Target::Schedule(id) if wanted(&q.schedule_ids, id) => {
                            let Some(schedule) = self.schedule(id) else {
                                continue;
                            };
                            for span in schedule.spans(q.since, q.until) {
                                entries.push(Entry {
                                    policy: p,
                                    level: level + 1,
                                    schedule: Some(id),
                                    user: span.user,
                                    start: Some(span.start),
                                    end: Some(span.end),
                                });
                            }
                        }
                        Target::User(user) if q.schedule_ids.is_empty() => entries.push(Entry {
                            policy: p,
                            level: level + 1,
                            schedule: None,
                            user: user.clone(),
                            start: None,
                            end: None,
                        }),
                        _ => {}
                    }
                }
            }
        }
        entries.retain(|e| wanted(&q.user_ids, &e.user));
        if q.earliest {
            // Only the earliest on-call of each escalation policy, level and user (a permanent one counts as
            // the earliest).
            entries.sort_by_key(|e| (e.policy, e.level, e.user.clone(), e.start));
            entries.dedup_by(|later, earlier| {
                later.policy == earlier.policy
                    && later.level == earlier.level
                    && later.user == earlier.user
            });
        }
        entries.sort_by_key(|e| (e.policy, e.level, e.start, e.user.clone()));
        entries
    }

    fn render(&self, e: &Entry<'_>, include_users: bool) -> Value {
        json!({
            "escalation_policy": self.policy_ref(&self.policies[e.policy]),
            "escalation_level": e.level,
            "schedule": e.schedule.and_then(|id| self.schedule(id)).map_or(Value::Null, |s| self.schedule_ref(s)),
            "user": self.user_json(&e.user, include_users),
            "start": e.start.map_or(Value::Null, render_time),
            "end": e.end.map_or(Value::Null, render_time),
        })
    }

    /// One page of `GET /oncalls`.
    pub(crate) fn oncalls(&self, q: &OncallQuery) -> Value {
        let entries = self.entries(q);
        let page: Vec<Value> = entries
            .iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|e| self.render(e, q.include_users))
            .collect();
        json!({
            "oncalls": page,
            "limit": q.limit,
            "offset": q.offset,
            "more": q.offset.saturating_add(q.limit) < entries.len(),
            "total": if q.total { json!(entries.len()) } else { Value::Null },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn arrays_are_read_in_their_bracket_form_only() {
        let q = OncallQuery::parse(
            &pairs(&[
                ("escalation_policy_ids[]", "P1"),
                ("escalation_policy_ids[]", "P2"),
                ("schedule_ids", "S1"),
                ("include[]", "users"),
                ("earliest", "true"),
            ]),
            100,
        )
        .unwrap();
        assert_eq!(q.policy_ids, ["P1", "P2"]);
        assert!(q.schedule_ids.is_empty());
        assert!(q.include_users && q.earliest);
        assert_eq!((q.since, q.until, q.limit, q.offset), (100, 100, 25, 0));
    }

    #[test]
    fn a_bad_range_or_number_is_invalid_input() {
        for bad in [
            vec![
                ("since", "2026-01-02T00:00:00Z"),
                ("until", "2026-01-01T00:00:00Z"),
            ],
            vec![
                ("since", "2026-01-01T00:00:00Z"),
                ("until", "2026-06-01T00:00:00Z"),
            ],
            vec![("since", "yesterday")],
            vec![("limit", "ten")],
        ] {
            let err = OncallQuery::parse(&pairs(&bad), 0).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
            assert_eq!(err.body()["error"]["code"], 2001);
        }
    }
}
