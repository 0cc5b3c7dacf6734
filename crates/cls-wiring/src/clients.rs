//! What `cls-queue`, `cls-sweep` and `cls-admin` build from the CLS secrets, in one place: the validated
//! settings of `cls/github`, `cls/spoke` and (optional) `cls/identity` ([`ClsSettings`]), the Spoke and GitHub
//! clients they configure ([`ClientFactory`]: one App installation per configured org), the re-read of the
//! secrets on their TTL with one `SettingsInvalid` alert per bad value ([`Reloader`]), and the Spoke key that
//! is re-read when Spoke refuses it ([`SpokeKey`]) — docs/architecture.md, "CLS secrets".

use std::sync::Arc;

use cls_core::Alert;
use cls_core::settings::{
    GithubSettings, IdentitySettings, OrgSettings, SecretIds, SettingsError, SpokeSettings,
};
use github_app::{AppCredentials, GithubApi, GithubClient, OrgInstallation};
use lambda_kit::Clock;
use secrecy::SecretString;
use secrets::{SecretField, SecretStore, SecretsError};
use spoke_client::{BuildClient, BuildError, RotatingSpoke, SpokeApi, SpokeClient};

use crate::alerter::Alerter;
use crate::config::ApiUrls;

/// A CLS binary cannot start (or keep) its settings: a secret is unreadable or invalid, or a client cannot
/// be built. Names the secret and key, never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// Secrets Manager failed, or the secret is not the expected JSON.
    #[error("reading secret failed")]
    Secret(#[from] SecretsError),
    /// A secret's content is unusable (names the key).
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A client could not be built.
    #[error("building the {client} client failed: {reason}")]
    Client {
        /// `spoke`, `github` or `identity`.
        client: &'static str,
        /// Why.
        reason: String,
    },
}

/// The secret values the settings are built from, as the store's cache serves them (compared to notice a
/// change). No `Debug`: the values are credentials.
#[derive(Clone, PartialEq)]
pub struct RawSecrets {
    /// `cls/github`.
    pub github: Arc<serde_json::Value>,
    /// `cls/spoke`.
    pub spoke: Arc<serde_json::Value>,
    /// `cls/identity`; `None` when it does not exist or is not read.
    pub identity: Option<Arc<serde_json::Value>>,
}

impl RawSecrets {
    /// Reads `cls/github`, `cls/spoke` and, with `identity`, `cls/identity` (absent = `None`) through the
    /// store's TTL cache. The reads run concurrently: one round trip to Secrets Manager at cold start instead
    /// of three. When more than one fails, the error is the first of identity, github, spoke.
    pub async fn read(
        store: &dyn SecretStore,
        ids: &SecretIds,
        identity: bool,
    ) -> Result<Self, SecretsError> {
        let read_identity = async {
            if !identity {
                return Ok(None);
            }
            match store.get_value(&ids.identity).await {
                Ok(value) => Ok(Some(value)),
                Err(SecretsError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let (identity, github, spoke) = tokio::join!(
            read_identity,
            store.get_value(&ids.github),
            store.get_value(&ids.spoke)
        );
        let identity = identity?;
        Ok(Self {
            github: github?,
            spoke: spoke?,
            identity,
        })
    }
}

/// The validated content of the CLS secrets the ticket-handling binaries read.
#[derive(Debug, Clone)]
pub struct ClsSettings {
    /// `cls/github` (private keys required).
    pub github: GithubSettings,
    /// `cls/spoke` (team, request type, every field and tag id).
    pub spoke: SpokeSettings,
    /// `cls/identity` (empty when the secret does not exist or is not read).
    pub identity: IdentitySettings,
}

impl ClsSettings {
    /// Reads ([`RawSecrets::read`]) and validates the secrets.
    pub async fn load(
        store: &dyn SecretStore,
        ids: &SecretIds,
        identity: bool,
    ) -> Result<Self, StartupError> {
        Self::decode(&RawSecrets::read(store, ids, identity).await?, ids)
    }

    /// Decodes and validates `raw`.
    pub fn decode(raw: &RawSecrets, ids: &SecretIds) -> Result<Self, StartupError> {
        Ok(Self {
            github: decode_github(&ids.github, &raw.github)?,
            spoke: decode_spoke(&ids.spoke, &raw.spoke)?,
            identity: decode_identity(&ids.identity, raw.identity.as_deref())?,
        })
    }

    /// The configured org with login `login` (case-insensitive).
    pub fn org(&self, login: &str) -> Option<&OrgSettings> {
        self.github.org(login)
    }
}

/// `cls/github` (`id`), validated with private keys required.
pub fn decode_github(id: &str, value: &serde_json::Value) -> Result<GithubSettings, StartupError> {
    let github: GithubSettings = secrets::decode(id, value)?;
    github.validate(false, true)?;
    Ok(github)
}

/// `cls/spoke` (`id`), validated.
pub fn decode_spoke(id: &str, value: &serde_json::Value) -> Result<SpokeSettings, StartupError> {
    let spoke: SpokeSettings = secrets::decode(id, value)?;
    spoke.validate()?;
    Ok(spoke)
}

/// `cls/identity` (`id`), validated; `None` (no secret) is an empty directory.
pub fn decode_identity(
    id: &str,
    value: Option<&serde_json::Value>,
) -> Result<IdentitySettings, StartupError> {
    let identity: IdentitySettings = match value {
        Some(value) => secrets::decode(id, value)?,
        None => IdentitySettings::default(),
    };
    identity.validate()?;
    Ok(identity)
}

/// The org's App installation for the GitHub client; `None` without a private key.
pub fn installation(org: &OrgSettings) -> Option<OrgInstallation> {
    Some(OrgInstallation {
        org: org.org.clone(),
        installation_id: org.installation_id,
        app: AppCredentials {
            app_id: org.app_id,
            private_key_pem: org.private_key_pem.clone()?,
            webhook_secrets: Vec::new(),
        },
    })
}

/// Builds the Spoke and GitHub clients over one shared HTTP client, clock and user agent.
#[derive(Clone)]
pub struct ClientFactory {
    /// The HTTP client every API client shares.
    pub http: reqwest::Client,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// `User-Agent` of both clients (`cls-queue/1.2.3`).
    pub user_agent: &'static str,
    /// The Spoke and GitHub API base URLs.
    pub urls: ApiUrls,
}

impl ClientFactory {
    /// A Spoke client with `api_key`.
    pub fn spoke(&self, api_key: SecretString) -> Result<Arc<dyn SpokeApi>, StartupError> {
        self.try_spoke(api_key).map_err(spoke_build_error)
    }

    fn try_spoke(&self, api_key: SecretString) -> Result<Arc<dyn SpokeApi>, BuildError> {
        SpokeClient::builder(self.http.clone(), api_key)
            .base_url(self.urls.spoke.as_str())
            .user_agent(self.user_agent)
            .clock(Arc::clone(&self.clock))
            .build()
            .map(|c| Arc::new(c) as Arc<dyn SpokeApi>)
    }

    /// Builds Spoke clients for a key, for [`RotatingSpoke`].
    pub fn spoke_builder(&self) -> BuildClient {
        let factory = self.clone();
        Arc::new(move |key| factory.try_spoke(key))
    }

    /// The GitHub client with one App installation per configured org that has a private key.
    pub fn github(&self, settings: &GithubSettings) -> Result<Arc<dyn GithubApi>, StartupError> {
        GithubClient::builder(
            self.urls.github.as_str().trim_end_matches('/'),
            Arc::clone(&self.clock),
        )
        .http_client(self.http.clone())
        .user_agent(self.user_agent)
        .installations(settings.orgs.iter().filter_map(installation))
        .build()
        .map(|c| Arc::new(c) as Arc<dyn GithubApi>)
        .map_err(|e| StartupError::Client {
            client: "github",
            reason: e.to_string(),
        })
    }
}

/// The Spoke client, replaced when `api_key` in `cls/spoke` changes (key rotation): on a changed secret
/// ([`SpokeKey::adopt`]) and after Spoke refused the key ([`SpokeKey::refresh_refused`]) — the shared
/// [`spoke_client::RotatingSpoke`] over `api_key` of the secret ([`secrets::SecretField`]).
pub struct SpokeKey(RotatingSpoke);

impl SpokeKey {
    /// The client for `settings.api_key` (read from `secret_id` in `store`).
    pub fn new(
        store: Arc<dyn SecretStore>,
        secret_id: &str,
        clients: ClientFactory,
        settings: &SpokeSettings,
    ) -> Result<Self, StartupError> {
        let source = Arc::new(SecretField::new(store, secret_id, "api_key").reader());
        RotatingSpoke::with_key(source, clients.spoke_builder(), &settings.api_key)
            .map(Self)
            .map_err(spoke_build_error)
    }

    /// The client in use.
    pub fn client(&self) -> Arc<dyn SpokeApi> {
        self.0.client()
    }

    /// Switches to `settings.api_key` when it differs from the key in use; true when it did.
    pub fn adopt(&self, settings: &SpokeSettings) -> Result<bool, StartupError> {
        self.0.adopt(&settings.api_key).map_err(spoke_build_error)
    }

    /// After Spoke refused the key: re-reads `api_key` bypassing the cache and switches to it when it changed
    /// (a rotation). True when the key changed; a failed read is logged and false.
    pub async fn refresh_refused(&self) -> bool {
        self.0.refresh_refused().await
    }

    /// The shared rotating client ([`RotatingSpoke::call`] repeats a refused call once after a rotation).
    pub fn rotating(&self) -> &RotatingSpoke {
        &self.0
    }

    /// The client as a [`SpokeApi`] whose every call re-reads the key once after a refusal and repeats the
    /// call with a rotated key (for `cls-admin`, whose commands have no record to retry).
    pub fn into_api(self) -> Arc<dyn SpokeApi> {
        Arc::new(self.0)
    }
}

fn spoke_build_error(e: BuildError) -> StartupError {
    StartupError::Client {
        client: "spoke",
        reason: e.to_string(),
    }
}

/// Re-reads the CLS secrets through the store's TTL cache (`CLS_SECRETS_TTL_SECONDS`) and rebuilds what a
/// changed value feeds (a rotated key or a new org needs no redeploy). `T` is what the binary
/// builds from the settings (the settings and its clients).
pub struct Reloader<T> {
    store: Arc<dyn SecretStore>,
    ids: SecretIds,
    identity: bool,
    alert: AlertSource,
    state: tokio::sync::Mutex<Loaded<T>>,
}

struct Loaded<T> {
    raw: RawSecrets,
    built: T,
    /// The last changed values that did not validate (reported once, not re-validated on every call).
    rejected: Option<RawSecrets>,
}

/// Where a [`Reloader`]'s `SettingsInvalid` alert goes and whom it names.
pub struct AlertSource {
    /// The alerter.
    pub alerts: Arc<dyn Alerter>,
    /// `CLS_STAGE`.
    pub stage: String,
    /// The component (`cls-queue`).
    pub component: &'static str,
}

impl<T: Clone> Reloader<T> {
    /// A reloader whose last good values are `raw`, from which `built` was built; `identity` as in
    /// [`RawSecrets::read`]; `SettingsInvalid` alerts go to `alert`.
    pub fn new(
        store: Arc<dyn SecretStore>,
        ids: &SecretIds,
        identity: bool,
        alert: AlertSource,
        raw: RawSecrets,
        built: T,
    ) -> Self {
        Self {
            store,
            ids: ids.clone(),
            identity,
            alert,
            state: tokio::sync::Mutex::new(Loaded {
                raw,
                built,
                rejected: None,
            }),
        }
    }

    /// What is built from the current secrets. A changed value is passed to `rebuild` (with the previous
    /// values and what was built from them). A read that fails keeps the last good build (logged; the next
    /// call reads again); a changed value that `rebuild` refuses keeps it too, with one `SettingsInvalid`
    /// alert (class `Permanent`) naming the secret and key, once per bad value.
    pub async fn current<F>(&self, rebuild: F) -> T
    where
        F: FnOnce(&RawSecrets, &RawSecrets, &T) -> Result<T, StartupError>,
    {
        let mut loaded = self.state.lock().await;
        match RawSecrets::read(self.store.as_ref(), &self.ids, self.identity).await {
            Ok(raw) if raw == loaded.raw || loaded.rejected.as_ref() == Some(&raw) => {}
            Ok(raw) => match rebuild(&raw, &loaded.raw, &loaded.built) {
                Ok(next) => {
                    tracing::info!(
                        outcome = "settings_reloaded",
                        "a CLS secret changed; settings and clients rebuilt"
                    );
                    *loaded = Loaded {
                        raw,
                        built: next,
                        rejected: None,
                    };
                }
                Err(error) => {
                    loaded.rejected = Some(raw);
                    // The chain names the secret and key, never a value.
                    let error = lambda_kit::error::chain(&error);
                    tracing::error!(error = %error, outcome = "settings_invalid", "a changed CLS secret is invalid; the last good settings stay in use");
                    let message = format!(
                        "{error}; the last good settings stay in use until the secret is fixed"
                    );
                    let source = &self.alert;
                    let alert =
                        Alert::new(&source.stage, source.component, "SettingsInvalid", message)
                            .class("Permanent");
                    source.alerts.alert(&alert).await;
                }
            },
            Err(error) => {
                tracing::warn!(error = %lambda_kit::error::chain(&error), upstream = "secretsmanager", outcome = "settings_not_reread", "could not re-read the CLS secrets; the last good settings stay in use");
            }
        }
        loaded.built.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use secrets::{BoxFuture, MemorySecretStore, SecretStore, SecretsError, VersionedValue};
    use serde_json::{Value, json};
    use tokio::sync::Barrier;

    use super::*;

    /// A store whose reads each wait until `barrier` has as many readers as it counts: reads made one after
    /// the other never get past the first.
    struct AllAtOnce {
        inner: MemorySecretStore,
        barrier: Barrier,
    }

    impl SecretStore for AllAtOnce {
        fn get_value<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Arc<Value>, SecretsError>> {
            Box::pin(async move {
                self.barrier.wait().await;
                self.inner.get_value(id).await
            })
        }

        fn get_fresh<'a>(
            &'a self,
            id: &'a str,
        ) -> BoxFuture<'a, Result<VersionedValue, SecretsError>> {
            self.inner.get_fresh(id)
        }

        fn put_value<'a>(
            &'a self,
            id: &'a str,
            value: &'a Value,
            client_request_token: &'a str,
        ) -> BoxFuture<'a, Result<String, SecretsError>> {
            self.inner.put_value(id, value, client_request_token)
        }

        fn invalidate(&self, id: &str) {
            self.inner.invalidate(id);
        }
    }

    fn ids() -> SecretIds {
        SecretIds::default()
    }

    fn store(readers: usize) -> AllAtOnce {
        let inner = MemorySecretStore::new();
        let ids = ids();
        inner.insert(&ids.github, json!({"github": 1}));
        inner.insert(&ids.spoke, json!({"spoke": 1}));
        AllAtOnce {
            inner,
            barrier: Barrier::new(readers),
        }
    }

    async fn read(store: &AllAtOnce, identity: bool) -> Result<RawSecrets, SecretsError> {
        tokio::time::timeout(
            Duration::from_secs(5),
            RawSecrets::read(store, &ids(), identity),
        )
        .await
        .expect("the secrets were read one after the other")
    }

    #[tokio::test]
    async fn reads_the_three_secrets_at_once() {
        let store = store(3);
        store.inner.insert(&ids().identity, json!({"identity": 1}));
        let raw = read(&store, true).await.unwrap();
        assert_eq!(*raw.github, json!({"github": 1}));
        assert_eq!(*raw.spoke, json!({"spoke": 1}));
        assert_eq!(raw.identity.as_deref(), Some(&json!({"identity": 1})));
    }

    #[tokio::test]
    async fn reads_github_and_spoke_at_once_without_the_identity_secret() {
        let raw = read(&store(2), false).await.unwrap();
        assert_eq!(raw.identity, None);
    }

    #[tokio::test]
    async fn an_absent_identity_secret_is_none_and_an_absent_github_secret_an_error() {
        let store = store(3);
        assert_eq!(read(&store, true).await.unwrap().identity, None);
        let store = AllAtOnce {
            inner: MemorySecretStore::with(&ids().spoke, json!({})),
            barrier: Barrier::new(2),
        };
        let error = read(&store, false).await.err().unwrap();
        assert!(
            matches!(&error, SecretsError::NotFound { id } if *id == ids().github),
            "{error}"
        );
    }
}
