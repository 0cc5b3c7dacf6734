//! The Spoke team name → id cache of one execution environment (`ONCALL_TEAM_CACHE_TTL_SECS`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use spoke_client::TeamId;

/// The cache never holds more entries than this; expired entries are purged first, then everything.
const TEAM_CACHE_CAP: usize = 1000;

/// Spoke team name → id, shared by the invocations of one environment.
#[derive(Debug)]
pub struct TeamCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (TeamId, DateTime<Utc>)>>,
}

impl TeamCache {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    fn alive(&self, stored: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(stored)
            .to_std()
            .unwrap_or_default()
            < self.ttl
    }

    /// The cached id for `name`, unless expired.
    pub fn get(&self, name: &str, now: DateTime<Utc>) -> Option<TeamId> {
        let entries = self.lock();
        let (id, stored) = entries.get(&Self::key(name))?;
        self.alive(*stored, now).then(|| id.clone())
    }

    /// Remembers `id` for `name`.
    pub fn put(&self, name: &str, id: &TeamId, now: DateTime<Utc>) {
        let mut entries = self.lock();
        if entries.len() >= TEAM_CACHE_CAP {
            entries.retain(|_, (_, at)| self.alive(*at, now));
            if entries.len() >= TEAM_CACHE_CAP {
                entries.clear();
            }
        }
        entries.insert(Self::key(name), (id.clone(), now));
    }

    /// Forgets `name` (its id answered 404).
    pub fn remove(&self, name: &str) {
        self.lock().remove(&Self::key(name));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (TeamId, DateTime<Utc>)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_case_insensitive_and_entries_expire() {
        let cache = TeamCache::new(Duration::from_secs(60));
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        cache.put(" IT ", &TeamId::new("team-it"), t0);
        assert_eq!(cache.get("it", t0), Some(TeamId::new("team-it")));
        assert_eq!(cache.get("IT", t0 + chrono::Duration::seconds(61)), None);
        cache.remove("It");
        assert_eq!(cache.get("it", t0), None);
    }
}
