//! State built from a seed document, kept with the seed so that `POST /__fake/reset` can rebuild it.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::control::FakeState;
use crate::kit::FakeKit;

/// A fake's state that a seed document builds.
pub trait SeededState: Sized + Send + 'static {
    /// Builds the state from `seed` at fake-clock time `now` (for seeds with relative times).
    fn from_seed(seed: &Value, now: DateTime<Utc>) -> Result<Self, String>;
    /// The state as `GET /__fake/state` shows it at `now`, secrets redacted.
    fn state_json(&self, now: DateTime<Utc>) -> Value;
}

/// The state of a fake and the seed it was last built from; the [`FakeState`] behind the control API.
#[derive(Debug)]
pub struct SeededStore<S> {
    data: Mutex<S>,
    seed: Mutex<Value>,
    kit: FakeKit,
}

impl<S: SeededState> SeededStore<S> {
    /// The state built from `seed` at the kit's time.
    pub fn new(seed: Value, kit: FakeKit) -> Result<Self, String> {
        let data = S::from_seed(&seed, kit.now())?;
        Ok(Self {
            data: Mutex::new(data),
            seed: Mutex::new(seed),
            kit,
        })
    }

    /// The state, locked.
    pub fn lock(&self) -> MutexGuard<'_, S> {
        lock(&self.data)
    }
}

impl<S: SeededState> FakeState for SeededStore<S> {
    fn state_json(&self) -> Value {
        self.lock().state_json(self.kit.now())
    }

    /// Rebuilds the state from `seed` (which becomes the seed of later resets) or from the last seed.
    fn reset(&self, seed: Option<Value>) -> Result<(), String> {
        let seed = match seed {
            Some(seed) => seed,
            None => lock(&self.seed).clone(),
        };
        *self.lock() = S::from_seed(&seed, self.kit.now())?;
        *lock(&self.seed) = seed;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
