//! Lenient models of the webhook payloads CLS reads (GitHub's `member` and `ping` events), shared by `cls-webhook`
//! and the fakes. Every field that GitHub may omit is optional and unknown keys are ignored, so that
//! deciding what is "required" stays with the caller (services/cls-webhook/README.md).

use serde::{Deserialize, Serialize};

/// `X-GitHub-Event` header name.
pub const EVENT_HEADER: &str = "x-github-event";
/// `X-GitHub-Delivery` header name (a GUID, kept on manual redelivery).
pub const DELIVERY_HEADER: &str = "x-github-delivery";
/// `X-GitHub-Hook-Installation-Target-ID` header name (the App id for App deliveries).
pub const TARGET_ID_HEADER: &str = "x-github-hook-installation-target-id";

/// A `member` event: a collaborator was added to, changed on or removed from a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEvent {
    /// `added`, `edited` or `removed` (others are ignored by CLS).
    #[serde(default)]
    pub action: String,
    /// The collaborator.
    #[serde(default)]
    pub member: Option<Account>,
    /// Permission changes; every sub-object optional.
    #[serde(default)]
    pub changes: Option<MemberChanges>,
    /// The repository.
    #[serde(default)]
    pub repository: Option<Repository>,
    /// The organisation; absent for user-owned repositories.
    #[serde(default)]
    pub organization: Option<Organization>,
    /// Who triggered the event (for `added` on github.com usually the invitee).
    #[serde(default)]
    pub sender: Option<Account>,
    /// The App installation that received the event.
    #[serde(default)]
    pub installation: Option<Installation>,
}

impl MemberEvent {
    /// `changes.permission.to`: the legacy permission (`read`, `write`, `admin`).
    pub fn permission(&self) -> Option<&str> {
        self.changes.as_ref()?.permission.as_ref()?.to.as_deref()
    }

    /// `changes.role_name.to`: the full role name, including `maintain`, `triage` and custom roles.
    pub fn role_name(&self) -> Option<&str> {
        self.changes.as_ref()?.role_name.as_ref()?.to.as_deref()
    }

    /// For `edited`: `changes.old_permission.from`, else `changes.permission.from`.
    pub fn previous_permission(&self) -> Option<&str> {
        let changes = self.changes.as_ref()?;
        changes
            .old_permission
            .as_ref()
            .and_then(|c| c.from.as_deref())
            .or_else(|| changes.permission.as_ref().and_then(|c| c.from.as_deref()))
    }

    /// The permission shown in tickets: `role_name`, else `permission`, else `unknown`.
    pub fn shown_permission(&self) -> &str {
        self.role_name()
            .or_else(|| self.permission())
            .unwrap_or("unknown")
    }
}

/// The `changes` object of a `member` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberChanges {
    /// `permission.{from,to}`.
    #[serde(default)]
    pub permission: Option<Change>,
    /// `role_name.{from,to}`.
    #[serde(default)]
    pub role_name: Option<Change>,
    /// `old_permission.from` (edited).
    #[serde(default)]
    pub old_permission: Option<Change>,
}

/// One `{from, to}` change; either side may be missing or null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The old value.
    #[serde(default)]
    pub from: Option<String>,
    /// The new value.
    #[serde(default)]
    pub to: Option<String>,
}

/// A user or bot as it appears in webhook payloads (`member`, `sender`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Numeric id: the durable key (logins can change).
    #[serde(default)]
    pub id: Option<u64>,
    /// Login.
    #[serde(default)]
    pub login: Option<String>,
    /// `User`, `Bot`, `Organization`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Usually null.
    #[serde(default)]
    pub email: Option<String>,
}

/// The repository of a webhook payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// Numeric id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Short name (`widgets`).
    #[serde(default)]
    pub name: Option<String>,
    /// `owner/name`.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Whether the repository is private.
    #[serde(default)]
    pub private: Option<bool>,
    /// The owner account.
    #[serde(default)]
    pub owner: Option<Account>,
}

/// The organisation of a webhook payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Numeric id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Login (`acme`).
    #[serde(default)]
    pub login: Option<String>,
}

/// The App installation of a webhook payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    /// Installation id.
    #[serde(default)]
    pub id: Option<u64>,
}

/// A `ping` event, sent when a hook is created. Answered 200 and never enqueued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingEvent {
    /// A random GitHub aphorism.
    #[serde(default)]
    pub zen: Option<String>,
    /// The hook id.
    #[serde(default)]
    pub hook_id: Option<u64>,
    /// The hook.
    #[serde(default)]
    pub hook: Option<PingHook>,
}

impl PingEvent {
    /// `hook.app_id`, for App hooks.
    pub fn app_id(&self) -> Option<u64> {
        self.hook.as_ref()?.app_id
    }
}

/// The `hook` object of a `ping` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingHook {
    /// Hook id.
    #[serde(default)]
    pub id: Option<u64>,
    /// `App`, `Organization`, `Repository`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The App id for App hooks.
    #[serde(default)]
    pub app_id: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDED: &str = r#"{
      "action": "added",
      "member": {"login": "octocat", "id": 39652351, "type": "User", "email": null, "site_admin": false},
      "changes": {"permission": {"to": "write"}, "role_name": {"to": "maintain"}},
      "repository": {"id": 186853002, "name": "widgets", "full_name": "acme/widgets", "private": true,
                     "owner": {"login": "acme", "id": 38302899, "type": "Organization"}},
      "organization": {"login": "acme", "id": 38302899},
      "sender": {"login": "octocat", "id": 39652351, "type": "User"},
      "installation": {"id": 14988838}
    }"#;

    #[test]
    fn parses_the_trimmed_member_added_fixture() {
        let e: MemberEvent = serde_json::from_str(ADDED).unwrap();
        assert_eq!(e.action, "added");
        assert_eq!(e.member.as_ref().unwrap().id, Some(39652351));
        assert_eq!(
            e.organization.as_ref().unwrap().login.as_deref(),
            Some("acme")
        );
        assert_eq!(e.installation.as_ref().unwrap().id, Some(14988838));
        assert_eq!(e.permission(), Some("write"));
        assert_eq!(e.role_name(), Some("maintain"));
        assert_eq!(e.shown_permission(), "maintain");
        assert_eq!(e.previous_permission(), None);
    }

    #[test]
    fn tolerates_missing_and_null_changes() {
        let e: MemberEvent = serde_json::from_str(
            r#"{"action":"edited","changes":{"permission":null,"old_permission":{"from":"read"}},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(e.previous_permission(), Some("read"));
        assert_eq!(e.shown_permission(), "unknown");
        let e: MemberEvent = serde_json::from_str(
            r#"{"action":"edited","changes":{"permission":{"from":"write","to":"admin"}}}"#,
        )
        .unwrap();
        assert_eq!(e.previous_permission(), Some("write"));
        assert_eq!(e.shown_permission(), "admin");
        let e: MemberEvent = serde_json::from_str(r#"{"action":"removed"}"#).unwrap();
        assert!(e.organization.is_none());
    }

    #[test]
    fn parses_a_ping() {
        let p: PingEvent =
            serde_json::from_str(r#"{"zen":"Keep it logically awesome.","hook_id":1,"hook":{"type":"App","id":1,"app_id":102441}}"#)
                .unwrap();
        assert_eq!(p.app_id(), Some(102441));
        assert_eq!(p.hook_id, Some(1));
    }
}
