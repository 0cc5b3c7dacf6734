//! Injected waiting, so retries and backoff are testable without real sleeps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use lambda_kit::FixedClock;

/// Something that waits.
pub trait Sleeper: Send + Sync {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real sleeper (tokio timers).
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A sleeper for tests and the demo: returns at once, records every wait and, when given a
/// [`FixedClock`], advances it by the waited time.
#[derive(Debug, Default, Clone)]
pub struct RecordingSleeper {
    waits: Arc<Mutex<Vec<Duration>>>,
    clock: Option<Arc<FixedClock>>,
}

impl RecordingSleeper {
    /// A recording sleeper that leaves time alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recording sleeper that advances `clock`.
    pub fn advancing(clock: Arc<FixedClock>) -> Self {
        Self {
            waits: Arc::default(),
            clock: Some(clock),
        }
    }

    /// Every wait so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(duration);
        if let Some(clock) = &self.clock {
            clock.advance(chrono::Duration::from_std(duration).unwrap_or_default());
        }
        Box::pin(std::future::ready(()))
    }
}
