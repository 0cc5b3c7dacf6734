//! `RotatingSpoke` against spoke-fake: the key is re-read after Spoke refuses it, and the call repeated once.

use std::sync::Arc;

use secrets::{MemorySecretStore, SecretField, SecretStore};
use serde_json::json;
use spoke_client::{BuildClient, KeySource, RotatingSpoke, SpokeApi, SpokeError};

use crate::support::{SVC, SVC_KEY, client_for, spawn};

const SECRET: &str = "svc/spoke";

/// `apiKey` of the secret, as the services read it.
fn key_source(store: &MemorySecretStore) -> Arc<dyn KeySource> {
    let store: Arc<dyn SecretStore> = Arc::new(store.clone());
    Arc::new(SecretField::new(store, SECRET, "apiKey").reader())
}

fn rotating(api: &str, store: &MemorySecretStore) -> (RotatingSpoke, BuildClient) {
    let base = api.to_owned();
    let build: BuildClient = Arc::new(move |key: secrecy::SecretString| {
        use secrecy::ExposeSecret;
        Ok(Arc::new(client_for(&base, key.expose_secret())) as Arc<dyn SpokeApi>)
    });
    let source = key_source(store);
    let old = secrecy::SecretString::from("retired-key".to_owned());
    let spoke = RotatingSpoke::with_key(source, Arc::clone(&build), &old).unwrap();
    (spoke, build)
}

async fn whoami(spoke: &RotatingSpoke) -> Result<String, SpokeError> {
    spoke
        .call(|client| Box::pin(async move { client.whoami().await.map(|w| w.user.to_string()) }))
        .await
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_after_a_refusal_and_the_call_succeeds_once() {
    let fake = spawn().await;
    let store = MemorySecretStore::with(SECRET, json!({"apiKey": "retired-key"}));
    let (spoke, _) = rotating(&fake.api(), &store);
    store.insert(SECRET, json!({"apiKey": SVC_KEY}));
    assert_eq!(whoami(&spoke).await.unwrap(), SVC);
    assert_eq!(
        fake.calls("GET", "/whoami"),
        2,
        "the refused call and one repeat"
    );
    assert_eq!(
        whoami(&spoke).await.unwrap(),
        SVC,
        "the new key stays in use"
    );
    assert_eq!(fake.calls("GET", "/whoami"), 3);
}

#[tokio::test]
async fn a_second_refusal_fails_cleanly_without_another_attempt() {
    let fake = spawn().await;
    let store = MemorySecretStore::with(SECRET, json!({"apiKey": "retired-key"}));
    let (spoke, _) = rotating(&fake.api(), &store);
    store.insert(SECRET, json!({"apiKey": "also-refused"}));
    let e = whoami(&spoke).await.unwrap_err();
    assert!(matches!(e, SpokeError::InvalidApiKey { .. }), "{e:?}");
    assert_eq!(
        fake.calls("GET", "/whoami"),
        2,
        "one re-read, one repeat, no more"
    );
    let e = whoami(&spoke).await.unwrap_err();
    assert!(matches!(e, SpokeError::InvalidApiKey { .. }));
    assert_eq!(
        fake.calls("GET", "/whoami"),
        3,
        "an unchanged key in the secret is not tried twice"
    );
}

#[tokio::test]
async fn an_unreadable_secret_returns_the_refusal() {
    let fake = spawn().await;
    let store = MemorySecretStore::with(SECRET, json!({"apiKey": "retired-key"}));
    let (spoke, build) = rotating(&fake.api(), &store);
    store.insert(SECRET, json!({"other": 1}));
    let e = whoami(&spoke).await.unwrap_err();
    assert!(matches!(e, SpokeError::InvalidApiKey { .. }));
    assert_eq!(fake.calls("GET", "/whoami"), 1);
    assert!(
        RotatingSpoke::connect(key_source(&store), build)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn held_as_the_spoke_api_every_call_follows_the_rotation() {
    let fake = spawn().await;
    let store = MemorySecretStore::with(SECRET, json!({"apiKey": "retired-key"}));
    let (spoke, _) = rotating(&fake.api(), &store);
    let spoke: Arc<dyn SpokeApi> = Arc::new(spoke);
    store.insert(SECRET, json!({"apiKey": SVC_KEY}));
    let team = spoke
        .get_team(&spoke_client::TeamId::new(crate::support::IT))
        .await
        .unwrap();
    assert_eq!(team.unwrap().id.as_str(), crate::support::IT);
    assert_eq!(fake.calls("GET", "/teams/*"), 2);
}
