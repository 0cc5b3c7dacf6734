#![doc = include_str!("../README.md")]

mod client;
mod error;
mod field;
mod memory;
mod redact;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use client::{SecretsClient, local_sdk_client};
pub use error::SecretsError;
pub use field::SecretField;
pub use memory::MemorySecretStore;
pub use redact::{Redacted, fingerprint};

/// A boxed future, so that [`SecretStore`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The default cache lifetime (5 minutes: a rotated value is picked up within that time).
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// A secret value together with the Secrets Manager version it came from.
#[derive(Clone)]
pub struct VersionedValue {
    /// The parsed JSON value.
    pub value: Arc<Value>,
    /// The version id (`AWSCURRENT` at read time).
    pub version_id: Option<String>,
}

impl std::fmt::Debug for VersionedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedValue")
            .field("value", &"[REDACTED]")
            .field("version_id", &self.version_id)
            .finish()
    }
}

/// JSON secrets by id (name or ARN). Services hold an `Arc<dyn SecretStore>`.
pub trait SecretStore: Send + Sync {
    /// The secret's JSON value, served from the cache while it is younger than the TTL.
    fn get_value<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Arc<Value>, SecretsError>>;

    /// Reads the secret from the store, bypassing the cache (and refreshing it). Used before a write during
    /// rotation, so that a newer value written by someone else is not overwritten blindly.
    fn get_fresh<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<VersionedValue, SecretsError>>;

    /// Writes a new version with `PutSecretValue` (idempotent for the same `client_request_token`) and returns
    /// the new version id. The cache then holds the written value.
    fn put_value<'a>(
        &'a self,
        id: &'a str,
        value: &'a Value,
        client_request_token: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretsError>>;

    /// Drops the cached value of `id`, e.g. after the upstream rejected a key (rotation).
    fn invalidate(&self, id: &str);
}

/// Typed helpers over any [`SecretStore`].
pub trait SecretStoreExt: SecretStore {
    /// The secret decoded as `T`; a value that does not fit `T` is [`SecretsError::Malformed`].
    fn get_json<'a, T: DeserializeOwned + 'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<T, SecretsError>>
    where
        Self: Sync,
    {
        Box::pin(async move {
            let value = self.get_value(id).await?;
            decode(id, &value)
        })
    }

    /// Encodes `value` as JSON and writes it.
    fn put_json<'a, T: Serialize + Sync + 'a>(
        &'a self,
        id: &'a str,
        value: &'a T,
        client_request_token: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretsError>>
    where
        Self: Sync,
    {
        Box::pin(async move {
            let json = serde_json::to_value(value).map_err(|e| SecretsError::Malformed {
                id: id.to_owned(),
                reason: format!("cannot encode: {}", e.classify_name()),
            })?;
            self.put_value(id, &json, client_request_token).await
        })
    }
}

impl<S: SecretStore + ?Sized> SecretStoreExt for S {}

/// Decodes a cached value as `T` without echoing any part of it in the error.
pub fn decode<T: DeserializeOwned>(id: &str, value: &Value) -> Result<T, SecretsError> {
    T::deserialize(value).map_err(|e| SecretsError::Malformed {
        id: id.to_owned(),
        reason: malformed_reason(&e),
    })
}

/// The error text of a serde failure, reduced to what is safe to log: serde_json's messages name the field
/// and the expected type, never the value, except for `invalid value`/`invalid type` which quote it.
fn malformed_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field")
        || text.starts_with("unknown field")
        || text.starts_with("duplicate field")
    {
        text
    } else {
        format!("does not have the expected shape ({})", e.classify_name())
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}
