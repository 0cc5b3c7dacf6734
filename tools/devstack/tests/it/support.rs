//! Shared helpers: moto, unique names, deadline polling.

use std::future::Future;
use std::time::{Duration, Instant};

use devstack::Moto;

/// The moto server shared by this test binary (unique names per test keep tests apart).
pub(crate) async fn moto() -> &'static Moto {
    Moto::shared()
        .await
        .unwrap_or_else(|e| panic!("moto is required for this test: {e}; run `cargo xtask setup`"))
}

/// A name no other test uses.
pub(crate) fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Polls `probe` until it yields `Some` or `limit` passes.
pub(crate) async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
