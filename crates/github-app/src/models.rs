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

/// Who acted in a repository event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    /// Account id.
    pub id: u64,
    /// Login.
    #[serde(default)]
    pub login: String,
}

/// One repository event (`GET /repos/{owner}/{repo}/events`: writes only, last 30 days / 300 events).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoEvent {
    /// `PushEvent`, `PullRequestEvent`, `IssueCommentEvent`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Who acted.
    #[serde(default)]
    pub actor: Option<EventActor>,
    /// When.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
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

/// An App permission level (`read` < `write` < `admin`), as GitHub spells them in an installation's
/// `permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionLevel {
    /// `read`.
    Read,
    /// `write` (includes read).
    Write,
    /// `admin` (includes write).
    Admin,
}

impl PermissionLevel {
    /// GitHub's spelling: `read`, `write`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Parses GitHub's spelling; anything else (e.g. `none`) is `None`.
    pub fn parse(level: &str) -> Option<Self> {
        match level {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl std::fmt::Display for PermissionLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A permission an App installation needs: GitHub's permission name and the lowest level that will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequiredPermission {
    /// GitHub's name in `permissions`, e.g. `members`, `organization_administration`.
    pub name: &'static str,
    /// The lowest sufficient level.
    pub level: PermissionLevel,
    /// What CLS uses it for (for `cls-admin doctor` and alerts).
    pub purpose: &'static str,
}

impl std::fmt::Display for RequiredPermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.level)
    }
}

/// Organisation permission "Members", read and write: `DELETE /orgs/{org}/outside_collaborators/{username}`
/// (removal at expiry). Write includes the read that the membership check needs.
pub const MEMBERS_WRITE: RequiredPermission = RequiredPermission {
    name: "members",
    level: PermissionLevel::Write,
    purpose: "remove outside collaborators at expiry",
};

/// Organisation permission "Members", read: `GET /orgs/{org}/members/{username}` and the outside collaborator
/// list.
pub const MEMBERS_READ: RequiredPermission = RequiredPermission {
    name: "members",
    level: PermissionLevel::Read,
    purpose: "tell organisation members from outside collaborators",
};

/// Organisation permission "Administration" (`organization_administration`), read: `GET /orgs/{org}/audit-log`
/// (who added a collaborator; activity for the inactivity rule).
pub const AUDIT_LOG_READ: RequiredPermission = RequiredPermission {
    name: "organization_administration",
    level: PermissionLevel::Read,
    purpose: "read the organisation audit log (adder, inactivity)",
};

/// Repository permission "Administration", read: repository invitations (`cls-admin backfill`).
pub const REPO_ADMINISTRATION_READ: RequiredPermission = RequiredPermission {
    name: "administration",
    level: PermissionLevel::Read,
    purpose: "list repository invitations (backfill)",
};

/// An App installation (`GET /orgs/{org}/installation`, `GET /app/installations/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    /// Installation id.
    pub id: u64,
    /// The App's id.
    #[serde(default)]
    pub app_id: Option<u64>,
    /// The App's slug.
    #[serde(default)]
    pub app_slug: Option<String>,
    /// The organisation (or user) it is installed on.
    #[serde(default)]
    pub account: Option<User>,
    /// `Organization` or `User`.
    #[serde(default)]
    pub target_type: Option<String>,
    /// Permission name → level (`read`, `write`, `admin`), as GitHub reports it.
    #[serde(default)]
    pub permissions: std::collections::BTreeMap<String, String>,
    /// Subscribed webhook events.
    #[serde(default)]
    pub events: Vec<String>,
    /// `all` or `selected`.
    #[serde(default)]
    pub repository_selection: Option<String>,
    /// When the installation was suspended; `None` when it is active.
    #[serde(default)]
    pub suspended_at: Option<DateTime<Utc>>,
}

impl Installation {
    /// The level granted for `name`, if any.
    pub fn permission(&self, name: &str) -> Option<PermissionLevel> {
        self.permissions
            .get(name)
            .and_then(|l| PermissionLevel::parse(l))
    }

    /// Whether the installation grants `required` (its level or higher).
    pub fn grants(&self, required: &RequiredPermission) -> bool {
        self.permission(required.name)
            .is_some_and(|have| have >= required.level)
    }

    /// The permissions of `required` this installation lacks (empty when it has them all).
    pub fn missing(&self, required: &[RequiredPermission]) -> Vec<RequiredPermission> {
        required
            .iter()
            .filter(|r| !self.grants(r))
            .copied()
            .collect()
    }

    /// Whether the installation is suspended (its tokens are refused).
    pub fn is_suspended(&self) -> bool {
        self.suspended_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(permissions: &[(&str, &str)]) -> Installation {
        Installation {
            permissions: permissions
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Installation::default()
        }
    }

    #[test]
    fn a_higher_level_satisfies_a_lower_requirement() {
        let admin = installation(&[
            ("members", "admin"),
            ("organization_administration", "write"),
        ]);
        assert!(
            admin
                .missing(&[MEMBERS_WRITE, MEMBERS_READ, AUDIT_LOG_READ])
                .is_empty()
        );
        let read = installation(&[("members", "read")]);
        assert_eq!(
            read.missing(&[MEMBERS_WRITE, MEMBERS_READ, AUDIT_LOG_READ]),
            vec![MEMBERS_WRITE, AUDIT_LOG_READ]
        );
        let odd = installation(&[("members", "none")]);
        assert!(!odd.grants(&MEMBERS_READ));
    }

    #[test]
    fn an_installation_parses_githubs_shape() {
        let json = serde_json::json!({
            "id": 1, "app_id": 2, "account": {"login": "acme", "id": 3, "type": "Organization"},
            "target_type": "Organization", "permissions": {"members": "write", "metadata": "read"},
            "events": ["member"], "repository_selection": "all", "suspended_at": null,
            "access_tokens_url": "https://api.github.com/app/installations/1/access_tokens"
        });
        let parsed: Installation = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.permission("members"), Some(PermissionLevel::Write));
        assert_eq!(parsed.permission("issues"), None);
        assert!(!parsed.is_suspended());
        assert_eq!(MEMBERS_WRITE.to_string(), "members: write");
    }
}
