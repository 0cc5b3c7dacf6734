//! The Secrets Manager implementation of [`SecretStore`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use lambda_kit::Clock;
use serde_json::Value;

use crate::{BoxFuture, DEFAULT_TTL, SecretStore, SecretsError, VersionedValue};

/// A Secrets Manager client for a local endpoint (moto) with throw-away static credentials and `us-east-1`.
/// For tests and the local stack only.
pub fn local_sdk_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&lambda_kit::local_sdk_config(endpoint))
}

#[derive(Clone)]
struct Entry {
    value: Arc<Value>,
    fetched_at: DateTime<Utc>,
}

/// Secrets Manager with a per-id TTL cache. Cheap to clone; clones share the cache.
///
/// On a transient error the cache does not serve a stale value: the caller fails and AWS retries the
/// invocation, which keeps rotation visible (a deliberate choice; see the crate README).
#[derive(Clone)]
pub struct SecretsClient {
    sdk: aws_sdk_secretsmanager::Client,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<String, Entry>>>,
}

impl std::fmt::Debug for SecretsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsClient")
            .field("ttl", &self.ttl)
            .field("cached", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl SecretsClient {
    /// A client with the default 5-minute TTL.
    pub fn new(sdk: aws_sdk_secretsmanager::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            sdk,
            clock,
            ttl: DEFAULT_TTL,
            cache: Arc::default(),
        }
    }

    /// The same client with another TTL (`Duration::ZERO` disables caching).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self, id: &str) -> Option<Arc<Value>> {
        let entry = self.lock().get(id).cloned()?;
        let age = self.clock.now().signed_duration_since(entry.fetched_at);
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::MAX);
        (age >= chrono::Duration::zero() && age < ttl).then_some(entry.value)
    }

    fn store(&self, id: &str, value: Arc<Value>) {
        let entry = Entry {
            value,
            fetched_at: self.clock.now(),
        };
        self.lock().insert(id.to_owned(), entry);
    }

    async fn fetch(&self, id: &str) -> Result<VersionedValue, SecretsError> {
        let out = self
            .sdk
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| classify(id, "GetSecretValue", e))?;
        let text = out.secret_string().ok_or_else(|| SecretsError::Malformed {
            id: id.to_owned(),
            reason: "has no SecretString (binary secrets are not supported)".to_owned(),
        })?;
        let value: Value = serde_json::from_str(text).map_err(|_| SecretsError::Malformed {
            id: id.to_owned(),
            reason: "is not JSON".to_owned(),
        })?;
        let value = Arc::new(value);
        let version_id = out.version_id().map(str::to_owned);
        self.store(id, Arc::clone(&value));
        tracing::debug!(secret_id = %id, version_id = version_id.as_deref().unwrap_or(""), "secret read");
        Ok(VersionedValue { value, version_id })
    }
}

impl SecretStore for SecretsClient {
    fn get_value<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Arc<Value>, SecretsError>> {
        Box::pin(async move {
            if let Some(value) = self.cached(id) {
                return Ok(value);
            }
            Ok(self.fetch(id).await?.value)
        })
    }

    fn get_fresh<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<VersionedValue, SecretsError>> {
        Box::pin(self.fetch(id))
    }

    fn put_value<'a>(
        &'a self,
        id: &'a str,
        value: &'a Value,
        client_request_token: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretsError>> {
        Box::pin(async move {
            let out = self
                .sdk
                .put_secret_value()
                .secret_id(id)
                .secret_string(value.to_string())
                .client_request_token(client_request_token)
                .send()
                .await
                .map_err(|e| classify(id, "PutSecretValue", e))?;
            let version_id = out.version_id().unwrap_or(client_request_token).to_owned();
            self.store(id, Arc::new(value.clone()));
            tracing::info!(secret_id = %id, version_id = %version_id, "secret written");
            Ok(version_id)
        })
    }

    fn invalidate(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn classify<E, R>(id: &str, operation: &'static str, err: SdkError<E, R>) -> SecretsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let id = id.to_owned();
    if let SdkError::ServiceError(service) = &err {
        let code = service.err().code().unwrap_or_default().to_owned();
        return match code.as_str() {
            "ResourceNotFoundException" => SecretsError::NotFound { id },
            "AccessDeniedException"
            | "AccessDenied"
            | "DecryptionFailure"
            | "KMSAccessDeniedException"
            | "UnrecognizedClientException" => SecretsError::AccessDenied { id },
            "InternalServiceError"
            | "ThrottlingException"
            | "ServiceUnavailable"
            | "RequestTimeout" => SecretsError::Transient {
                id,
                operation,
                source: Box::new(err),
            },
            _ => SecretsError::Rejected {
                id,
                operation,
                code,
            },
        };
    }
    SecretsError::Transient {
        id,
        operation,
        source: Box::new(err),
    }
}
