//! A per-call deadline that flows through `Arc<dyn SpokeApi>`: no attempt or wait starts
//! that would end after it.

use std::future::Future;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `future` with a deadline for every Spoke call made inside it: no attempt or wait is started that
/// would end after `deadline`; the last error is returned instead. Nested scopes keep the earlier deadline.
/// Lambda handlers pass "remaining invocation time minus a margin".
pub async fn with_deadline<F: Future>(deadline: Instant, future: F) -> F::Output {
    let effective = current().map_or(deadline, |outer| outer.min(deadline));
    DEADLINE.scope(effective, future).await
}

/// The deadline of the current scope, if any.
pub(crate) fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}
