//! The Lambda entry: event → run options → [`crate::sweep::run`] → continuation. A failure is logged once,
//! alerted and returned as the Lambda error (Lambda retries the asynchronous invocation; the run is
//! idempotent).

use lambda_kit::{Classify, Invocation};
use serde_json::Value;

use crate::deps::Deps;
use crate::error::SweepError;
use crate::event::{RunOptions, SweepEvent};
use crate::report::SweepReport;
use crate::sweep::run;

/// Handles one invocation (the daily schedule, an operator event or a continuation). The invocation's span
/// is entered by `lambda_kit::serve`; the work of one invocation is bounded by `CLS_SWEEP_MAX_ACTIONS`, not
/// by the deadline.
pub async fn handle(
    event: Value,
    _invocation: &Invocation,
    deps: &Deps,
) -> Result<SweepReport, SweepError> {
    let deps = &deps.refreshed().await;
    let result: Result<SweepReport, SweepError> = async {
        let event = SweepEvent::from_value(&event)?;
        let options = RunOptions::resolve(event, &deps.config, deps.clock.now())?;
        let mut report = run(&options, deps).await?;
        if let Some(next) = &report.next {
            deps.continuation
                .start(next)
                .await
                .map_err(SweepError::Continuation)?;
            tracing::info!(
                continuation = next.continuation,
                outcome = "continued",
                "continuation started"
            );
            report.continued = true;
        }
        Ok(report)
    }
    .await;
    if let Err(e) = &result {
        let class = e.class();
        tracing::error!(error = %e.chain(), error_class = class.as_str(), error_kind = e.kind(), outcome = "failed", "sweep failed");
        deps.count("SweepFailed", &[("reason", e.kind())]);
        let alert = deps.alert(e.kind(), e.chain()).class(class.as_str());
        deps.alerts.alert(&alert).await;
    }
    result
}
