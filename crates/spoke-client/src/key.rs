//! The Spoke client that follows its API key through a rotation: the one "re-read the key after Spoke refuses
//! it" of every service. The key comes from a [`KeySource`] (a `secrets::SecretField::reader()` over the
//! service's JSON secret, or any closure); after Spoke answers `InvalidApiKey` the key is re-read past any
//! cache and, when it changed, a client with the new key replaces the old one.

use std::sync::{Arc, PoisonError, RwLock};

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::api::{SpokeApi, SpokeResult};
use crate::error::{BuildError, SpokeError};
use crate::models::{
    NewMessage, NewRequest, Page, Request, RequestId, RequestPatch, RequestType, RequestTypeId,
    Tag, TagId, Team, TeamId, TeamPatch, Update, User, UserId, WhoAmI,
};
use crate::query::{RequestQuery, RequestTypeQuery, TagQuery, TeamQuery, UserQuery};

/// Why the key could not be read (the source's own error; it names the secret, never the value).
pub type KeyReadError = Box<dyn std::error::Error + Send + Sync>;

/// Reads the Spoke API key. Implemented by every
/// `Fn(bool) -> BoxFuture<'static, Result<SecretString, KeyReadError>>`, which is what
/// `secrets::SecretField::reader()` returns.
pub trait KeySource: Send + Sync {
    /// The key; `fresh = false` may be answered from a cache (its TTL), `fresh = true` reads past it.
    fn read_key(&self, fresh: bool) -> BoxFuture<'_, Result<SecretString, KeyReadError>>;
}

impl<F> KeySource for F
where
    F: Fn(bool) -> BoxFuture<'static, Result<SecretString, KeyReadError>> + Send + Sync,
{
    fn read_key(&self, fresh: bool) -> BoxFuture<'_, Result<SecretString, KeyReadError>> {
        self(fresh)
    }
}

/// Builds a Spoke client for a key (base URL, user agent, clock and HTTP client fixed by the caller).
pub type BuildClient =
    Arc<dyn Fn(SecretString) -> Result<Arc<dyn SpokeApi>, BuildError> + Send + Sync>;

/// The first client could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key could not be read.
    #[error("reading the Spoke API key failed")]
    Read(#[source] KeyReadError),
    /// A client could not be built for it.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// The Spoke client in use and the source of its key. [`RotatingSpoke::call`] runs a call and, when Spoke
/// refuses the key, re-reads it once and repeats the call once with the new key; a second refusal (or an
/// unchanged key) is returned as `InvalidApiKey`. It is itself a [`SpokeApi`] whose every call goes through
/// [`RotatingSpoke::call`], so a service can hold it as its `Arc<dyn SpokeApi>`.
pub struct RotatingSpoke {
    source: Arc<dyn KeySource>,
    build: BuildClient,
    /// The fingerprint of the key in use, and its client.
    current: RwLock<(String, Arc<dyn SpokeApi>)>,
}

impl RotatingSpoke {
    /// Reads the key from `source` (a cache may answer) and builds its client.
    pub async fn connect(source: Arc<dyn KeySource>, build: BuildClient) -> Result<Self, KeyError> {
        let key = source.read_key(false).await.map_err(KeyError::Read)?;
        Ok(Self::with_key(source, build, &key)?)
    }

    /// Starts from `key`, already read from `source` (e.g. with the rest of the service's settings).
    pub fn with_key(
        source: Arc<dyn KeySource>,
        build: BuildClient,
        key: &SecretString,
    ) -> Result<Self, BuildError> {
        let client = build(key.clone())?;
        Ok(Self {
            source,
            build,
            current: RwLock::new((fingerprint(key), client)),
        })
    }

    /// The client in use.
    pub fn client(&self) -> Arc<dyn SpokeApi> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .1,
        )
    }

    /// Switches to `key` when it differs from the key in use; true when it did.
    pub fn adopt(&self, key: &SecretString) -> Result<bool, BuildError> {
        let print = fingerprint(key);
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.0 == print {
            return Ok(false);
        }
        *current = (print, (self.build)(key.clone())?);
        Ok(true)
    }

    /// After Spoke refused the key: re-reads it past any cache and switches to it when it changed (a
    /// rotation). True when the key changed; a failed read or build is logged and false.
    pub async fn refresh_refused(&self) -> bool {
        let adopted = match self.source.read_key(true).await {
            Ok(key) => self.adopt(&key).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match adopted {
            Ok(true) => {
                tracing::warn!(
                    outcome = "spoke_key_rotated",
                    "Spoke refused the key; a new key from the secret is in use"
                );
                true
            }
            Ok(false) => {
                tracing::warn!(
                    outcome = "spoke_key_unchanged",
                    "Spoke refused the key and the secret holds the same key"
                );
                false
            }
            Err(error) => {
                tracing::error!(error = %error, outcome = "spoke_key_unreadable", "could not re-read the Spoke API key");
                false
            }
        }
    }

    /// Runs `call` with the client in use; when Spoke refuses the key and a re-read finds a new one, runs it
    /// once more with the new client. Any other result, a second refusal included, is returned as is.
    /// A refused call did nothing on Spoke's side, so repeating a write is safe.
    pub async fn call<'a, T, F>(&'a self, call: F) -> Result<T, SpokeError>
    where
        F: Fn(Arc<dyn SpokeApi>) -> BoxFuture<'a, Result<T, SpokeError>>,
    {
        match call(self.client()).await {
            Err(SpokeError::InvalidApiKey { .. }) if self.refresh_refused().await => {
                call(self.client()).await
            }
            other => other,
        }
    }
}

/// `fn name<'a>(&'a self, args: &'a T…) -> BoxFuture<'a, SpokeResult<Out>>` through [`RotatingSpoke::call`].
macro_rules! through_call {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(fn $name<'a>(&'a self, $($arg: &'a $ty),*) -> BoxFuture<'a, SpokeResult<$out>> {
            Box::pin(self.call(move |client| Box::pin(async move { client.$name($($arg),*).await })))
        })*
    };
}

impl SpokeApi for RotatingSpoke {
    through_call! {
        whoami() -> WhoAmI;
        user_by_email(address: str) -> Option<User>;
        list_users(query: UserQuery) -> Page<User>;
        get_user(id: UserId) -> Option<User>;
        list_teams(query: TeamQuery) -> Page<Team>;
        get_team(id: TeamId) -> Option<Team>;
        update_team(id: TeamId, patch: TeamPatch) -> Team;
        list_requests(query: RequestQuery) -> Page<Request>;
        create_request(request: NewRequest) -> Request;
        get_request(id: RequestId) -> Option<Request>;
        update_request(id: RequestId, patch: RequestPatch) -> Request;
        post_message(id: RequestId, message: NewMessage) -> Update;
        add_tags(id: RequestId, tags: [TagId]) -> ();
        remove_tag(id: RequestId, tag: TagId) -> ();
        list_request_types(query: RequestTypeQuery) -> Page<RequestType>;
        get_request_type(id: RequestTypeId) -> Option<RequestType>;
        list_tags(query: TagQuery) -> Page<Tag>;
    }

    fn max_pages(&self) -> u32 {
        self.client().max_pages()
    }
}

fn fingerprint(key: &SecretString) -> String {
    lambda_kit::redact::fingerprint(key.expose_secret())
}
