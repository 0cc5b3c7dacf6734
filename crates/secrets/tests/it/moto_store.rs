use std::sync::Arc;
use std::time::Duration;

use fake_kit::moto::Moto;
use lambda_kit::FixedClock;
use lambda_kit::tracing_init::capture_logs;
use secrets::{SecretStore, SecretStoreExt, SecretsClient, SecretsError, local_sdk_client};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Creds {
    api_key: secrecy::SecretString,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

async fn moto() -> &'static Moto {
    Moto::shared()
        .await
        .expect("moto must be installed: run `cargo xtask setup`")
}

async fn create(moto: &Moto, name: &str, value: &serde_json::Value) {
    local_sdk_client(&moto.endpoint())
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap();
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at("2026-01-01T00:00:00Z").unwrap())
}

/// moto keeps no call log we can query, so the test changes the secret behind the cache's back: a read that
/// reached Secrets Manager would return the new value.
#[tokio::test]
async fn a_second_read_within_the_ttl_is_served_from_the_cache() {
    let moto = moto().await;
    let name = unique("cache");
    create(moto, &name, &json!({"apiKey": "first"})).await;
    let clock = clock();
    let store = SecretsClient::new(local_sdk_client(&moto.endpoint()), clock.clone());

    let first: serde_json::Value = store.get_json(&name).await.unwrap();
    local_sdk_client(&moto.endpoint())
        .put_secret_value()
        .secret_id(&name)
        .secret_string(json!({"apiKey": "second"}).to_string())
        .send()
        .await
        .unwrap();
    let cached: serde_json::Value = store.get_json(&name).await.unwrap();
    assert_eq!(first["apiKey"], "first");
    assert_eq!(
        cached["apiKey"], "first",
        "the second read must not call Secrets Manager"
    );

    clock.advance(chrono::Duration::seconds(301));
    let expired: serde_json::Value = store.get_json(&name).await.unwrap();
    assert_eq!(
        expired["apiKey"], "second",
        "after the TTL the value is read again"
    );
}

#[tokio::test]
async fn invalidation_forces_the_next_read_to_the_store() {
    let moto = moto().await;
    let name = unique("invalidate");
    create(moto, &name, &json!({"apiKey": "old"})).await;
    let store = SecretsClient::new(local_sdk_client(&moto.endpoint()), clock());
    let _ = store.get_value(&name).await.unwrap();
    local_sdk_client(&moto.endpoint())
        .put_secret_value()
        .secret_id(&name)
        .secret_string(json!({"apiKey": "rotated"}).to_string())
        .send()
        .await
        .unwrap();
    store.invalidate(&name);
    assert_eq!(store.get_value(&name).await.unwrap()["apiKey"], "rotated");
}

#[tokio::test]
async fn a_written_value_becomes_current_and_the_old_one_previous() {
    let moto = moto().await;
    let name = unique("write");
    create(moto, &name, &json!({"refreshToken": "r1"})).await;
    let store = SecretsClient::new(local_sdk_client(&moto.endpoint()), clock());
    let before = store.get_fresh(&name).await.unwrap();

    let token = uuid::Uuid::new_v4().to_string();
    let version = store
        .put_json(&name, &json!({"refreshToken": "r2"}), &token)
        .await
        .unwrap();
    assert_eq!(
        version, token,
        "the client request token becomes the version id"
    );

    let sdk = local_sdk_client(&moto.endpoint());
    let current = sdk
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(current.secret_string(), Some(r#"{"refreshToken":"r2"}"#));
    let previous = sdk
        .get_secret_value()
        .secret_id(&name)
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.version_id(), before.version_id.as_deref());

    // The cache holds the written value: no stale read after our own write.
    assert_eq!(store.get_value(&name).await.unwrap()["refreshToken"], "r2");
    // Re-sending the same token is idempotent: no third version.
    store
        .put_json(&name, &json!({"refreshToken": "r2"}), &token)
        .await
        .unwrap();
    let versions = sdk
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);
}

#[tokio::test]
async fn errors_tell_not_found_malformed_and_transient_apart() {
    let moto = moto().await;
    let store = SecretsClient::new(local_sdk_client(&moto.endpoint()), clock());

    let missing = store.get_value(&unique("missing")).await.unwrap_err();
    assert!(
        matches!(missing, SecretsError::NotFound { .. }),
        "{missing:?}"
    );
    assert!(!missing.is_transient());

    let name = unique("malformed");
    local_sdk_client(&moto.endpoint())
        .create_secret()
        .name(&name)
        .secret_string("apiKey=not-json-s3cr3t")
        .send()
        .await
        .unwrap();
    let malformed = store.get_value(&name).await.unwrap_err();
    assert!(
        matches!(malformed, SecretsError::Malformed { .. }),
        "{malformed:?}"
    );
    assert!(!malformed.to_string().contains("s3cr3t"));

    let wrong_shape_name = unique("shape");
    create(moto, &wrong_shape_name, &json!({"other": "v4lue-s3cr3t"})).await;
    let wrong = store
        .get_json::<Creds>(&wrong_shape_name)
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("missing field"), "{wrong}");
    assert!(!wrong.to_string().contains("v4lue-s3cr3t"));

    // Nothing listens on this port: a transport failure is transient.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = SecretsClient::new(
        local_sdk_client(&format!("http://127.0.0.1:{closed}")),
        clock(),
    );
    let transient = tokio::time::timeout(Duration::from_secs(60), dead.get_value("any"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(transient.is_transient(), "{transient:?}");
}

#[tokio::test]
async fn secret_values_never_reach_logs_or_debug_output() {
    let logs = capture_logs();
    let moto = moto().await;
    let name = unique("redact");
    create(moto, &name, &json!({"apiKey": "sup3r-s3cret-value"})).await;
    let store = SecretsClient::new(local_sdk_client(&moto.endpoint()), clock());
    let creds: Creds = store.get_json(&name).await.unwrap();
    let fresh = store.get_fresh(&name).await.unwrap();
    store
        .put_json(
            &name,
            &json!({"apiKey": "n3w-s3cret-value"}),
            &uuid::Uuid::new_v4().to_string(),
        )
        .await
        .unwrap();

    assert!(!format!("{creds:?}").contains("sup3r"));
    assert!(!format!("{fresh:?}").contains("sup3r"));
    assert!(!format!("{store:?}").contains("sup3r"));
    assert!(
        logs.contents().contains("secret written"),
        "the write is logged"
    );
    logs.assert_absent(&["sup3r-s3cret-value", "n3w-s3cret-value"])
        .unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(creds.api_key.expose_secret(), "sup3r-s3cret-value");
}
