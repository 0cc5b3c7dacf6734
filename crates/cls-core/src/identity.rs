//! The identity directory: GitHub login → e-mail and employee flag. Used for the adder's e-mail
//! (ticket owner), the collaborator's e-mail and the employee skip.

use futures::future::BoxFuture;

use crate::settings::{IdentityEntry, IdentitySettings};

/// The directory could not answer (network, 5xx, bad answer): retry later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identity directory unavailable: {reason}")]
pub struct IdentityError {
    /// What failed (no URL, no token).
    pub reason: String,
}

/// Looks people up by GitHub login. `Ok(None)` = unknown person.
pub trait IdentityDirectory: Send + Sync {
    /// The entry for `login`.
    fn lookup<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFuture<'a, Result<Option<IdentityEntry>, IdentityError>>;
}

/// The `static` source: the `users` map of the identity secret (case-insensitive logins).
#[derive(Debug, Clone, Default)]
pub struct StaticDirectory {
    settings: IdentitySettings,
}

impl StaticDirectory {
    /// A directory over the secret's `users`.
    pub fn new(settings: IdentitySettings) -> Self {
        Self { settings }
    }
}

impl IdentityDirectory for StaticDirectory {
    fn lookup<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFuture<'a, Result<Option<IdentityEntry>, IdentityError>> {
        let found = self.settings.lookup(login).cloned();
        Box::pin(async move { Ok(found) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_static_directory_answers_from_the_secret() {
        let settings: IdentitySettings = serde_json::from_value(serde_json::json!({
            "users": {"Alice": {"email": "alice@example.com", "employee": true}}
        }))
        .unwrap();
        let dir = StaticDirectory::new(settings);
        assert_eq!(
            dir.lookup("alice").await.unwrap().unwrap().email.as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(dir.lookup("bob").await.unwrap(), None);
    }
}
