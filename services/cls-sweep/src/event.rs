//! The invocation event and the options of one run (README, "Trigger").
//!
//! The daily EventBridge schedule sends its own event, whose fields are ignored; an operator or a
//! continuation sends a JSON object with any of:
//!
//! | Field | Meaning |
//! |---|---|
//! | `continuation` | 0 for the first invocation of a run, n+1 for the n-th self-invocation |
//! | `after` | where the previous invocation stopped (`{"created_at", "id"}` of the last ticket it enqueued) |
//! | `start` | the listing offset of that ticket: a continuation reads from there instead of from the first page |
//! | `hold_removals` | `true` when the run's first invocation's brake held the removals: the continuation holds them too |
//! | `dry_run` | `true`: plan only, post the plan to the alert channel, send nothing |
//! | `allow_removals` | raises the safety brake to N for this run (`cls-admin sweep --allow-removals N`) |
//! | `today` | `YYYY-MM-DD` run date, like `CLS_FAKE_TODAY`; refused when `CLS_STAGE` is `production` |

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::error::SweepError;
use crate::plan::Cursor;

/// The sweep's event. Unknown keys (the schedule's `detail-type`, …) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepEvent {
    /// 0 for a run's first invocation.
    #[serde(default)]
    pub continuation: u32,
    /// Resume after this ticket (continuations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Cursor>,
    /// The listing offset of `after` when it was read: a continuation starts reading there (stepping back when
    /// tickets before it closed since), not from the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// The run's brake held the removals: a continuation, which reads only the tickets after `after`, holds
    /// them too rather than judging the brake on part of the tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_removals: Option<bool>,
    /// Plan only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Raise the removal brake to this many for the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_removals: Option<usize>,
    /// The run date (`YYYY-MM-DD`), outside production only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<String>,
}

impl SweepEvent {
    /// Reads the event; a field of the wrong type is refused (the schedule's own fields are ignored).
    pub fn from_value(event: &Value) -> Result<Self, SweepError> {
        if !event.is_object() {
            return Ok(Self::default());
        }
        serde_json::from_value(event.clone()).map_err(|e| SweepError::BadEvent(e.to_string()))
    }

    /// The event of the next invocation of the same run, resuming after `after`, which was at offset `start` of
    /// the listing; `hold_removals` when this run's brake held the removals.
    pub fn next(&self, after: Cursor, start: u64, hold_removals: bool) -> Self {
        Self {
            continuation: self.continuation + 1,
            after: Some(after),
            start: Some(start),
            hold_removals: (hold_removals || self.hold_removals == Some(true)).then_some(true),
            ..self.clone()
        }
    }
}

/// The options of one invocation, resolved from the event and the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// The run date.
    pub run_date: NaiveDate,
    /// Plan only (`CLS_DRY_RUN` or the event).
    pub dry_run: bool,
    /// Removals allowed in this run: `CLS_SWEEP_MAX_REMOVALS`, raised by `allow_removals`; 0 when the event
    /// says the run's brake held them (`hold_removals`).
    pub removal_brake: usize,
    /// The event (carried into a continuation).
    pub event: SweepEvent,
}

impl RunOptions {
    /// Resolves the run: the date is the event's `today`, else `CLS_FAKE_TODAY`, else the UTC date of `now`;
    /// `today` is refused in production (CLS-35).
    pub fn resolve(
        event: SweepEvent,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Result<Self, SweepError> {
        let today = match event.today.as_deref() {
            Some(_) if config.is_production() => return Err(SweepError::TestClockRefused),
            Some(raw) => Some(cls_core::dates::parse_date(raw).ok_or_else(|| {
                SweepError::BadEvent(format!("today is not a YYYY-MM-DD date: {raw:?}"))
            })?),
            None => None,
        };
        Ok(Self {
            run_date: today
                .or(config.fake_today)
                .unwrap_or_else(|| cls_core::dates::today(now)),
            dry_run: config.dry_run || event.dry_run == Some(true),
            removal_brake: if event.hold_removals == Some(true) {
                0
            } else {
                config.max_removals.max(event.allow_removals.unwrap_or(0))
            },
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use cls_testkit::hostile::{json_value, proptest_config};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::plan::Cursor;

    fn config(stage: &str) -> Config {
        Config::from_pairs(&[("CLS_STAGE", stage), ("CLS_QUEUE_URL", "http://q")]).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-03-04T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_schedule_event_runs_as_of_today_with_the_configured_brake() {
        let scheduled: Value =
            serde_json::from_str(include_str!("../events/scheduled.json")).unwrap();
        let event = SweepEvent::from_value(&scheduled).unwrap();
        let options = RunOptions::resolve(event, &config("production"), now()).unwrap();
        assert_eq!(options.run_date.to_string(), "2027-03-04");
        assert!(!options.dry_run);
        assert_eq!(options.removal_brake, 25);
    }

    #[test]
    fn an_operator_event_sets_the_date_the_dry_run_and_raises_the_brake() {
        let event = SweepEvent::from_value(
            &json!({"today": "2027-05-01", "dry_run": true, "allow_removals": 40}),
        )
        .unwrap();
        let options = RunOptions::resolve(event, &config("testing"), now()).unwrap();
        assert_eq!(options.run_date.to_string(), "2027-05-01");
        assert!(options.dry_run);
        assert_eq!(options.removal_brake, 40);
    }

    #[test]
    fn today_is_refused_in_production_and_a_bad_field_is_a_bad_event() {
        let event = SweepEvent::from_value(&json!({"today": "2027-05-01"})).unwrap();
        assert!(matches!(
            RunOptions::resolve(event, &config("production"), now()),
            Err(SweepError::TestClockRefused)
        ));
        assert!(matches!(
            SweepEvent::from_value(&json!({"continuation": "one"})),
            Err(SweepError::BadEvent(_))
        ));
    }

    #[test]
    fn a_continuation_carries_the_run_options_forward() {
        let event = SweepEvent {
            today: Some("2027-05-01".into()),
            allow_removals: Some(30),
            ..SweepEvent::default()
        };
        let cursor = Cursor {
            created_at: "2026-01-01T00:00:00Z".into(),
            id: "t1".into(),
        };
        let next = event.next(cursor.clone(), 4_200, false);
        assert_eq!(next.continuation, 1);
        assert_eq!(next.today.as_deref(), Some("2027-05-01"));
        assert_eq!(next.allow_removals, Some(30));
        let wire = serde_json::to_value(&next).unwrap();
        assert_eq!(wire["continuation"], 1);
        assert_eq!(wire["after"]["id"], "t1");
        assert_eq!(wire["start"], 4_200);
        assert!(wire.get("hold_removals").is_none());
        let resolved = RunOptions::resolve(next.clone(), &config("testing"), now()).unwrap();
        assert_eq!(resolved.removal_brake, 30);
        // A brake that held the removals holds them in every later invocation of the run.
        let held = next.next(cursor.clone(), 4_300, true);
        assert_eq!(held.hold_removals, Some(true));
        assert_eq!(held.next(cursor, 4_400, false).hold_removals, Some(true));
        let resolved = RunOptions::resolve(held, &config("testing"), now()).unwrap();
        assert_eq!(resolved.removal_brake, 0);
    }

    // Hostile input (issue 14): any JSON never panics: a non-object is the schedule's event, an object of
    // the wrong shape is `BadEvent`; `today` is honoured outside production and refused in it; a
    // continuation carries the run's options.
    proptest! {
        #![proptest_config(proptest_config(256))]

        #[test]
        fn any_json_event_is_read_or_refused_and_resolved_without_panicking(event in json_value(&[
                "continuation", "after", "created_at", "id", "start", "hold_removals", "dry_run", "allow_removals",
                "today", "detail-type",
            ])) {
            let read = SweepEvent::from_value(&event);
            if !event.is_object() {
                prop_assert_eq!(read.as_ref().ok(), Some(&SweepEvent::default()));
            }
            let Ok(read) = read else { return Ok(()) };
            let resolved = RunOptions::resolve(read.clone(), &config("testing"), now());
            match read.today.as_deref() {
                None => prop_assert_eq!(resolved.unwrap().run_date, now().date_naive()),
                Some(raw) => match cls_core::dates::parse_date(raw) {
                    Some(date) => prop_assert_eq!(resolved.unwrap().run_date, date),
                    None => prop_assert!(matches!(resolved, Err(SweepError::BadEvent(_)))),
                },
            }
            let production = RunOptions::resolve(read.clone(), &config("production"), now());
            if read.today.is_some() {
                prop_assert!(matches!(production, Err(SweepError::TestClockRefused)));
            } else {
                prop_assert!(production.is_ok());
            }
        }

        #[test]
        fn an_event_round_trips_and_its_continuation_keeps_the_options(
            continuation in 0u32..u32::MAX,
            dry_run in proptest::option::of(any::<bool>()),
            allow_removals in proptest::option::of(any::<usize>()),
            today in proptest::option::of(".{0,12}"),
            created_at in ".{0,30}",
            id in ".{0,30}",
        ) {
            let event = SweepEvent {
                continuation, after: None, start: None, hold_removals: None, dry_run, allow_removals, today,
            };
            let value = serde_json::to_value(&event).unwrap();
            prop_assert_eq!(SweepEvent::from_value(&value).unwrap(), event.clone());
            let cursor = Cursor { created_at, id };
            let next = event.next(cursor.clone(), 7, false);
            prop_assert_eq!(next.continuation, continuation + 1);
            prop_assert_eq!(next.after.as_ref(), Some(&cursor));
            prop_assert_eq!(
                (next.dry_run, next.allow_removals, next.today.as_ref()),
                (event.dry_run, event.allow_removals, event.today.as_ref())
            );
            let again = SweepEvent::from_value(&serde_json::to_value(&next).unwrap()).unwrap();
            prop_assert_eq!(again, next);
        }
    }

    /// A field of the wrong type is refused rather than defaulted (an operator's typo must not start a real run).
    #[test]
    fn wrongly_typed_fields_are_refused() {
        for bad in [
            json!({"dry_run": "yes"}),
            json!({"continuation": -1}),
            json!({"allow_removals": 1.5}),
            json!({"after": {"id": 1}}),
            json!({"start": "page 3"}),
            json!({"hold_removals": "no"}),
        ] {
            assert!(
                matches!(SweepEvent::from_value(&bad), Err(SweepError::BadEvent(_))),
                "{bad}"
            );
        }
    }
}
