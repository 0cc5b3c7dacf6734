//! The Lambda entry: EventBridge scheduled event (content ignored apart from overrides) → sweep.

use chrono::{DateTime, Utc};

use crate::deps::Deps;
use crate::error::SweepError;
use crate::sweep::{Overrides, SweepSummary, run_sweep};

/// Time kept back from the invocation deadline (`byods.md` §4).
pub const DEADLINE_RESERVE: chrono::Duration = chrono::Duration::seconds(10);

/// Handles one scheduled invocation without a deadline. The event is JSON so that any test event works
/// (the deployment guide tests with the `hello-world` template).
pub async fn handle(event: serde_json::Value, deps: &Deps) -> Result<SweepSummary, SweepError> {
    handle_with_deadline(event, deps, None).await
}

/// Handles one invocation that must not start new work after `deadline` minus 10 s.
pub async fn handle_with_deadline(
    event: serde_json::Value,
    deps: &Deps,
    deadline: Option<DateTime<Utc>>,
) -> Result<SweepSummary, SweepError> {
    let overrides = Overrides::from_event(&event);
    run_sweep(deps, &overrides, deadline.map(|d| d - DEADLINE_RESERVE)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_read_from_the_event_and_everything_else_is_ignored() {
        let event: serde_json::Value =
            serde_json::from_str(include_str!("../events/scheduled.json")).unwrap();
        let o = Overrides::from_event(&event);
        assert!(o.dry_run.is_none());
        let o = Overrides::from_event(
            &serde_json::json!({"byods": {"dryRun": true, "dataSourceIds": ["a"]}}),
        );
        assert_eq!(o.dry_run, Some(true));
        assert_eq!(o.data_source_ids.unwrap(), vec!["a"]);
        let o = Overrides::from_event(&serde_json::json!({"key1": "value1"}));
        assert!(o.force.is_none());
    }
}
