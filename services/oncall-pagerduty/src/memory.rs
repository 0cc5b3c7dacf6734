//! What this execution environment last saw of each team: the person on call and when it looked (ADR 0017).
//! Only an optimisation of the start-time rule: a cold start has none and looks back instead.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use crate::config::Source;
use crate::pagerduty::User;

/// The last look at one team that was handled to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// When (the run's instant).
    pub at: DateTime<Utc>,
    /// Who was on call.
    pub user: User,
}

/// The teams' last looks, per execution environment.
#[derive(Debug, Default)]
pub struct Memory {
    seen: Mutex<HashMap<Source, Seen>>,
}

impl Memory {
    fn lock(&self) -> MutexGuard<'_, HashMap<Source, Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last handled look at `source`.
    pub fn get(&self, source: &Source) -> Option<Seen> {
        self.lock().get(source).cloned()
    }

    /// Records a handled look at `source`.
    pub fn record(&self, source: &Source, seen: Seen) {
        self.lock().insert(source.clone(), seen);
    }

    /// True when nothing has been recorded yet (a cold start, for the summary line).
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
