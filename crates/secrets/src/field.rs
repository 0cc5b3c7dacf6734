//! One string field of a JSON secret (an API key, a webhook URL), read through a [`SecretStore`]: from the
//! TTL cache, or past it after the upstream refused the value.

use std::sync::Arc;

use futures::future::BoxFuture;
use secrecy::SecretString;

use crate::{SecretStore, SecretsError};

/// The first of `fields` present as a string in the JSON secret `id`. Cheap to clone.
#[derive(Clone)]
pub struct SecretField {
    store: Arc<dyn SecretStore>,
    id: String,
    fields: Vec<String>,
}

impl std::fmt::Debug for SecretField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretField")
            .field("id", &self.id)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl SecretField {
    /// Field `field` of secret `id`.
    pub fn new(store: Arc<dyn SecretStore>, id: &str, field: &str) -> Self {
        Self::any_of(store, id, &[field])
    }

    /// The first of `fields` present in secret `id` (a secret whose key was renamed: `webhookUrl`,
    /// `webhook_url`).
    pub fn any_of(store: Arc<dyn SecretStore>, id: &str, fields: &[&str]) -> Self {
        Self {
            store,
            id: id.to_owned(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// The secret's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The value; `fresh` reads past the cache (after the upstream refused the cached value). A secret without
    /// any of the fields (or not as a string) is [`SecretsError::Malformed`] naming the fields, never a value.
    pub async fn read(&self, fresh: bool) -> Result<SecretString, SecretsError> {
        let value = if fresh {
            self.store.get_fresh(&self.id).await?.value
        } else {
            self.store.get_value(&self.id).await?
        };
        self.fields
            .iter()
            .find_map(|f| value.get(f).and_then(serde_json::Value::as_str))
            .map(|v| SecretString::from(v.to_owned()))
            .ok_or_else(|| SecretsError::Malformed {
                id: self.id.clone(),
                reason: format!("no string field {}", self.fields.join(" or ")),
            })
    }

    /// [`Self::read`] as a `'static` closure, the shape a client that re-reads its key takes
    /// (`spoke_client::KeySource`).
    pub fn reader(
        self,
    ) -> impl Fn(
        bool,
    ) -> BoxFuture<
        'static,
        Result<SecretString, Box<dyn std::error::Error + Send + Sync>>,
    > + Send
    + Sync
    + 'static {
        move |fresh| {
            let field = self.clone();
            Box::pin(async move { field.read(fresh).await.map_err(Into::into) })
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;
    use crate::MemorySecretStore;

    #[tokio::test]
    async fn the_first_present_field_is_read_and_a_missing_one_is_named() {
        let store = MemorySecretStore::with("s", json!({"webhook_url": "https://x/1", "n": 1}));
        let url = SecretField::any_of(Arc::new(store.clone()), "s", &["webhookUrl", "webhook_url"]);
        assert_eq!(
            url.read(false).await.unwrap().expose_secret(),
            "https://x/1"
        );
        let number = SecretField::new(Arc::new(store), "s", "n");
        let e = number.read(true).await.unwrap_err();
        assert!(
            matches!(e, SecretsError::Malformed { ref reason, .. } if reason.contains("field n"))
        );
        assert!(!format!("{number:?}").contains("https://x/1"));
    }
}
