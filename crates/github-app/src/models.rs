//! Lenient REST response models (unknown keys ignored, optional fields defaulted).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Answer of the membership check `GET /orgs/{org}/members/{username}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// 204: an organisation member.
    Member,
    /// 404: not a member (an outside collaborator, or unknown).
    NotMember,
}

/// Outcome of `DELETE /orgs/{org}/outside_collaborators/{username}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalOutcome {
    /// 204: removed from every repository of the organisation.
    Removed,
    /// 404: already gone.
    AlreadyGone,
    /// 422: the user is an organisation member, so nothing was removed.
    IsOrgMember,
}

/// A user (`GET /user/{account_id}`, list items).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id.
    pub id: u64,
    /// Login.
    pub login: String,
    /// `User`, `Bot`, `Organization`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Public email, usually null.
    #[serde(default)]
    pub email: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Repository permission flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Read.
    #[serde(default)]
    pub pull: bool,
    /// Triage.
    #[serde(default)]
    pub triage: bool,
    /// Write.
    #[serde(default)]
    pub push: bool,
    /// Maintain.
    #[serde(default)]
    pub maintain: bool,
    /// Admin.
    #[serde(default)]
    pub admin: bool,
}

/// A repository (`GET /orgs/{org}/repos`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// Numeric id.
    pub id: u64,
    /// Short name.
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Private repository.
    #[serde(default)]
    pub private: bool,
    /// Archived repository.
    #[serde(default)]
    pub archived: bool,
}

/// A repository collaborator (`GET /repos/{owner}/{repo}/collaborators`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collaborator {
    /// Numeric id.
    pub id: u64,
    /// Login.
    pub login: String,
    /// Full role name (`read`, `triage`, `write`, `maintain`, `admin` or a custom role).
    #[serde(default)]
    pub role_name: Option<String>,
    /// Permission flags.
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

/// A pending repository invitation (`GET /repos/{owner}/{repo}/invitations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInvitation {
    /// Invitation id.
    pub id: u64,
    /// Who is invited (null for email invitations).
    #[serde(default)]
    pub invitee: Option<User>,
    /// Who invited.
    #[serde(default)]
    pub inviter: Option<User>,
    /// `read`, `triage`, `write`, `maintain`, `admin`.
    #[serde(default)]
    pub permissions: Option<String>,
    /// When the invitation was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Whether the invitation expired.
    #[serde(default)]
    pub expired: Option<bool>,
}

/// `GET /repos/{owner}/{repo}/collaborators/{username}/permission`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaboratorPermission {
    /// Legacy permission: `admin`, `write`, `read`, `none`.
    pub permission: String,
    /// Full role name.
    #[serde(default)]
    pub role_name: Option<String>,
    /// The user.
    #[serde(default)]
    pub user: Option<Collaborator>,
}

/// One audit-log event (`GET /orgs/{org}/audit-log`, Enterprise Cloud). Field names vary between event
/// kinds, so everything is optional and the rest is kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// `repository_invitation.create`, `repo.add_member`, `git.clone`, …
    #[serde(default)]
    pub action: Option<String>,
    /// Login of who acted.
    #[serde(default)]
    pub actor: Option<String>,
    /// Numeric id of who acted.
    #[serde(default)]
    pub actor_id: Option<u64>,
    /// Login of the affected user.
    #[serde(default)]
    pub user: Option<String>,
    /// Numeric id of the affected user.
    #[serde(default)]
    pub user_id: Option<u64>,
    /// Invitee login (invitation events).
    #[serde(default)]
    pub invitee: Option<String>,
    /// Inviter login (invitation events).
    #[serde(default)]
    pub inviter: Option<String>,
    /// `org/repo`.
    #[serde(default)]
    pub repo: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, rename = "@timestamp")]
    pub timestamp: Option<i64>,
    /// Epoch milliseconds (or RFC 3339 in some exports).
    #[serde(default)]
    pub created_at: Option<serde_json::Value>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AuditEvent {
    /// When the event happened: `@timestamp`, else `created_at` (epoch ms or RFC 3339).
    pub fn at(&self) -> Option<DateTime<Utc>> {
        if let Some(ms) = self.timestamp {
            return DateTime::from_timestamp_millis(ms);
        }
        match self.created_at.as_ref()? {
            serde_json::Value::Number(n) => DateTime::from_timestamp_millis(n.as_i64()?),
            serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            _ => None,
        }
    }
}

/// A webhook delivery of the App (`GET /app/hook/deliveries`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookDelivery {
    /// Delivery id (used to request a redelivery).
    pub id: u64,
    /// The `X-GitHub-Delivery` GUID.
    #[serde(default)]
    pub guid: String,
    /// When it was delivered.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Whether this was a redelivery.
    #[serde(default)]
    pub redelivery: bool,
    /// `OK` on success; anything else is a failure.
    #[serde(default)]
    pub status: String,
    /// HTTP status our endpoint answered.
    #[serde(default)]
    pub status_code: u16,
    /// Event name.
    #[serde(default)]
    pub event: String,
    /// Event action.
    #[serde(default)]
    pub action: Option<String>,
    /// Installation id.
    #[serde(default)]
    pub installation_id: Option<u64>,
}

impl HookDelivery {
    /// True when GitHub recorded the delivery as failed (status other than `OK`).
    pub fn is_failed(&self) -> bool {
        self.status != "OK"
    }
}
