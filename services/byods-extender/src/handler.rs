//! The Lambda entry: EventBridge scheduled event (content ignored apart from overrides) → sweep.

use std::time::Duration;

use lambda_kit::Invocation;

use crate::deps::Deps;
use crate::error::SweepError;
use crate::sweep::{Overrides, SweepSummary, run_sweep};

/// Time kept back from the invocation deadline: no data source starts later than this before it.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(10);

/// Handles one invocation. The event is JSON so that any test event works (the deployment guide tests
/// with the `hello-world` template); only the overrides under `byods` are read. No new work starts after
/// the invocation's deadline minus [`DEADLINE_RESERVE`].
pub async fn handle(
    event: serde_json::Value,
    invocation: &Invocation,
    deps: &Deps,
) -> Result<SweepSummary, SweepError> {
    let overrides = Overrides::from_event(&event);
    let deadline = invocation
        .deadline
        .map(|d| d.checked_sub(DEADLINE_RESERVE).unwrap_or(d));
    run_sweep(deps, &overrides, deadline).await
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
