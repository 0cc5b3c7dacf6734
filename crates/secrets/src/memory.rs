//! An in-memory [`SecretStore`] for unit tests of services.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::{BoxFuture, SecretStore, SecretsError, VersionedValue};

#[derive(Default)]
struct State {
    versions: HashMap<String, Vec<(String, Arc<Value>)>>,
    fail_writes: bool,
}

/// Secrets in memory, with version history, call counters and an injectable write failure.
#[derive(Clone, Default)]
pub struct MemorySecretStore {
    state: Arc<Mutex<State>>,
    reads: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl std::fmt::Debug for MemorySecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemorySecretStore([REDACTED])")
    }
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding one secret.
    pub fn with(id: &str, value: Value) -> Self {
        let store = Self::new();
        store.insert(id, value);
        store
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a new current version of `id`.
    pub fn insert(&self, id: &str, value: Value) {
        let mut state = self.lock();
        let versions = state.versions.entry(id.to_owned()).or_default();
        let version = format!("v{}", versions.len() + 1);
        versions.push((version, Arc::new(value)));
    }

    /// The current value of `id`.
    pub fn current(&self, id: &str) -> Option<Value> {
        self.lock()
            .versions
            .get(id)
            .and_then(|v| v.last())
            .map(|(_, value)| (**value).clone())
    }

    /// How many versions `id` has.
    pub fn version_count(&self, id: &str) -> usize {
        self.lock().versions.get(id).map_or(0, Vec::len)
    }

    /// Makes every following write fail with a transient error (or succeed again).
    pub fn fail_writes(&self, fail: bool) {
        self.lock().fail_writes = fail;
    }

    /// Reads served so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// Writes attempted so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    fn read(&self, id: &str) -> Result<VersionedValue, SecretsError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.lock()
            .versions
            .get(id)
            .and_then(|v| v.last())
            .map(|(version, value)| VersionedValue {
                value: Arc::clone(value),
                version_id: Some(version.clone()),
            })
            .ok_or_else(|| SecretsError::NotFound { id: id.to_owned() })
    }
}

impl SecretStore for MemorySecretStore {
    fn get_value<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Arc<Value>, SecretsError>> {
        Box::pin(async move { self.read(id).map(|v| v.value) })
    }

    fn get_fresh<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<VersionedValue, SecretsError>> {
        Box::pin(async move { self.read(id) })
    }

    fn put_value<'a>(
        &'a self,
        id: &'a str,
        value: &'a Value,
        _client_request_token: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretsError>> {
        Box::pin(async move {
            self.writes.fetch_add(1, Ordering::SeqCst);
            if self.lock().fail_writes {
                return Err(SecretsError::Transient {
                    id: id.to_owned(),
                    operation: "PutSecretValue",
                    source: "injected write failure".into(),
                });
            }
            self.insert(id, value.clone());
            Ok(format!("v{}", self.version_count(id)))
        })
    }

    fn invalidate(&self, _id: &str) {}
}
