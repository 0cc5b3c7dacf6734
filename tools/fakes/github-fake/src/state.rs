//! The fake's state: the App, organisations, users, repositories, tokens and recorded deliveries, and the
//! changes the control API makes to it. The seed document and how a world is built from it are in `seed`.

mod seed;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use fake_kit::fingerprint;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) use seed::TEST_APP_PUBLIC_KEY_PEM;

/// Rank of an access level: `read` < `write` < `admin`; anything else (`none`) is 0.
pub(crate) fn access_rank(level: &str) -> u8 {
    match level {
        "read" => 1,
        "write" => 2,
        "admin" => 3,
        _ => 0,
    }
}

/// Checks that every value of a permission map is `read`, `write` or `admin`.
pub(crate) fn check_permissions(permissions: &BTreeMap<String, String>) -> Result<(), String> {
    match permissions.iter().find(|(_, v)| access_rank(v) == 0) {
        Some((k, v)) => Err(format!(
            "permission {k} has level {v:?}; expected read, write or admin"
        )),
        None => Ok(()),
    }
}

/// One user account.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) login: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) kind: String,
}

impl User {
    pub(crate) fn simple_json(&self) -> Value {
        json!({
            "login": self.login, "id": self.id, "node_id": format!("U_{}", self.id),
            "type": self.kind, "site_admin": false,
            "url": format!("https://api.github.com/users/{}", self.login),
        })
    }

    pub(crate) fn full_json(&self) -> Value {
        let mut v = self.simple_json();
        v["name"] = json!(self.name);
        v["email"] = json!(self.email);
        v
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Collaborator {
    pub(crate) user_id: u64,
    pub(crate) role_name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Invitation {
    pub(crate) id: u64,
    pub(crate) invitee: u64,
    pub(crate) inviter: Option<u64>,
    pub(crate) permissions: String,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) private: bool,
    pub(crate) archived: bool,
    pub(crate) collaborators: Vec<Collaborator>,
    pub(crate) invitations: Vec<Invitation>,
    /// Repository events (`GET /repos/{owner}/{repo}/events`), raw JSON.
    pub(crate) events: Vec<Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) login: String,
    pub(crate) id: u64,
    pub(crate) installation_id: u64,
    pub(crate) enterprise: bool,
    pub(crate) membership_hidden: bool,
    pub(crate) members: Vec<u64>,
    pub(crate) repos: Vec<Repo>,
    pub(crate) audit_log: Vec<Value>,
    /// The App installation's permissions, name → `read`/`write`/`admin`.
    pub(crate) permissions: BTreeMap<String, String>,
    /// When the installation was suspended (tokens answer 403), if it is.
    pub(crate) suspended_at: Option<DateTime<Utc>>,
    /// False once the App was uninstalled (tokens and installation lookups answer 404/401).
    pub(crate) installed: bool,
}

impl Org {
    /// Whether the installation grants `permission` at `level` or higher.
    pub(crate) fn grants(&self, permission: &str, level: &str) -> bool {
        self.permissions
            .get(permission)
            .is_some_and(|have| access_rank(have) >= access_rank(level))
    }

    /// The installation as `GET /app/installations/{id}` shows it.
    pub(crate) fn installation_json(&self, app: &App) -> Value {
        json!({
            "id": self.installation_id,
            "account": {"login": self.login, "id": self.id, "node_id": format!("O_{}", self.id),
                        "type": "Organization", "site_admin": false},
            "repository_selection": "all",
            "access_tokens_url": format!("https://api.github.com/app/installations/{}/access_tokens", self.installation_id),
            "repositories_url": "https://api.github.com/installation/repositories",
            "html_url": format!("https://github.com/organizations/{}/settings/installations/{}", self.login, self.installation_id),
            "app_id": app.id,
            "app_slug": app.slug,
            "target_id": self.id,
            "target_type": "Organization",
            "permissions": self.permissions,
            "events": ["member"],
            "created_at": "2026-01-05T09:00:00Z",
            "updated_at": "2026-01-05T09:00:00Z",
            "single_file_name": null,
            "has_multiple_single_files": false,
            "single_file_paths": [],
            "suspended_at": self.suspended_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "suspended_by": self.suspended_at.map(|_| json!({"login": "org-owner", "id": 1, "type": "User"})),
        })
    }

    /// Each outside collaborator with the repositories they can reach and their role there.
    pub(crate) fn outside_collaborator_access(&self, world: &World) -> Vec<Value> {
        self.outside_collaborators()
            .into_iter()
            .map(|id| {
                let repos: Vec<Value> = self
                    .repos
                    .iter()
                    .filter_map(|r| {
                        let c = r.collaborators.iter().find(|c| c.user_id == id)?;
                        Some(json!({"repo": r.name, "full_name": format!("{}/{}", self.login, r.name),
                                    "role_name": c.role_name, "permission": legacy_permission(&c.role_name)}))
                    })
                    .collect();
                json!({"login": world.login(id), "id": id, "repos": repos})
            })
            .collect()
    }

    pub(crate) fn is_member(&self, user_id: u64) -> bool {
        self.members.contains(&user_id)
    }

    pub(crate) fn repo(&self, name: &str) -> Option<&Repo> {
        self.repos
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn repo_mut(&mut self, name: &str) -> Option<&mut Repo> {
        self.repos
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// Users with direct access to some repository who are not members, by id.
    pub(crate) fn outside_collaborators(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .repos
            .iter()
            .flat_map(|r| r.collaborators.iter().map(|c| c.user_id))
            .filter(|id| !self.is_member(*id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub(crate) fn json(&self) -> Value {
        json!({"login": self.login, "id": self.id, "node_id": format!("O_{}", self.id),
               "url": format!("https://api.github.com/orgs/{}", self.login)})
    }

    pub(crate) fn repo_json(&self, repo: &Repo) -> Value {
        json!({
            "id": repo.id, "node_id": format!("R_{}", repo.id), "name": repo.name,
            "full_name": format!("{}/{}", self.login, repo.name), "private": repo.private,
            "archived": repo.archived, "visibility": if repo.private { "private" } else { "public" },
            "owner": {"login": self.login, "id": self.id, "type": "Organization"},
        })
    }
}

/// An issued installation token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) installation_id: u64,
    pub(crate) expires_at: DateTime<Utc>,
    /// What the token was minted with (the installation's permissions, or the subset asked for).
    pub(crate) permissions: BTreeMap<String, String>,
}

impl Token {
    /// Whether the token carries `permission` at `level` or higher.
    pub(crate) fn grants(&self, permission: &str, level: &str) -> bool {
        self.permissions
            .get(permission)
            .is_some_and(|have| access_rank(have) >= access_rank(level))
    }
}

/// A webhook delivery the fake sent (for `GET /app/hook/deliveries` and redelivery).
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) id: u64,
    pub(crate) guid: String,
    pub(crate) url: String,
    pub(crate) event: String,
    pub(crate) action: Option<String>,
    pub(crate) installation_id: Option<u64>,
    pub(crate) body: Vec<u8>,
    pub(crate) delivered_at: DateTime<Utc>,
    pub(crate) redelivery: bool,
    pub(crate) status_code: u16,
}

impl Delivery {
    pub(crate) fn json(&self) -> Value {
        let status = if (200..300).contains(&self.status_code) {
            "OK".to_owned()
        } else if self.status_code == 0 {
            "Failed to connect to host".to_owned()
        } else {
            format!("Invalid HTTP Response: {}", self.status_code)
        };
        json!({
            "id": self.id, "guid": self.guid, "delivered_at": self.delivered_at.to_rfc3339(),
            "redelivery": self.redelivery, "duration": 0.1, "status": status,
            "status_code": self.status_code, "event": self.event, "action": self.action,
            "installation_id": self.installation_id, "repository_id": null,
        })
    }
}

/// The App.
pub(crate) struct App {
    pub(crate) id: u64,
    pub(crate) slug: String,
    pub(crate) webhook_secret: String,
    pub(crate) key: DecodingKey,
    pub(crate) key_fingerprint: String,
    pub(crate) token_ttl_secs: i64,
}

/// The whole mutable state.
pub(crate) struct World {
    pub(crate) app: App,
    pub(crate) users: BTreeMap<u64, User>,
    pub(crate) orgs: Vec<Org>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) tokens_issued: u64,
    pub(crate) next_id: u64,
}

/// Legacy permission of a role: `admin`, `write` (write, maintain), `read` (read, triage, custom).
pub(crate) fn legacy_permission(role: &str) -> &'static str {
    match role {
        "admin" => "admin",
        "write" | "maintain" | "push" => "write",
        _ => "read",
    }
}

/// Permission flags of a role.
pub(crate) fn permission_flags(role: &str) -> Value {
    let level = match role {
        "admin" => 5,
        "maintain" => 4,
        "write" | "push" => 3,
        "triage" => 2,
        _ => 1,
    };
    json!({"pull": level >= 1, "triage": level >= 2, "push": level >= 3, "maintain": level >= 4, "admin": level >= 5})
}

impl World {
    pub(crate) fn org(&self, login: &str) -> Option<&Org> {
        self.orgs
            .iter()
            .find(|o| o.login.eq_ignore_ascii_case(login))
    }

    pub(crate) fn org_mut(&mut self, login: &str) -> Option<&mut Org> {
        self.orgs
            .iter_mut()
            .find(|o| o.login.eq_ignore_ascii_case(login))
    }

    pub(crate) fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    /// Finds a user by login, creating one with a fresh id when unknown.
    pub(crate) fn ensure_user(&mut self, login: &str) -> u64 {
        if let Some(u) = self.user_by_login(login) {
            return u.id;
        }
        let id = self.fresh_id();
        self.users.insert(
            id,
            User {
                id,
                login: login.to_owned(),
                name: None,
                email: None,
                kind: "User".to_owned(),
            },
        );
        id
    }

    pub(crate) fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn login(&self, id: u64) -> String {
        self.users
            .get(&id)
            .map(|u| u.login.clone())
            .unwrap_or_default()
    }

    /// The state as JSON, tokens and secrets reduced to fingerprints.
    pub(crate) fn state_json(&self) -> Value {
        let orgs: Vec<Value> = self
            .orgs
            .iter()
            .map(|o| {
                let repos: Vec<Value> = o
                    .repos
                    .iter()
                    .map(|r| {
                        json!({
                            "name": r.name, "id": r.id, "private": r.private, "archived": r.archived,
                            "collaborators": r.collaborators.iter().map(|c| json!({
                                "login": self.login(c.user_id), "id": c.user_id, "role_name": c.role_name,
                            })).collect::<Vec<_>>(),
                            "invitations": r.invitations.iter().map(|i| json!({
                                "id": i.id, "invitee": self.login(i.invitee),
                                "inviter": i.inviter.map(|x| self.login(x)), "permissions": i.permissions,
                                "created_at": i.created_at.to_rfc3339(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                json!({
                    "login": o.login, "id": o.id, "installation_id": o.installation_id,
                    "enterprise": o.enterprise, "membership_hidden": o.membership_hidden,
                    "members": o.members.iter().map(|m| self.login(*m)).collect::<Vec<_>>(),
                    "outside_collaborators": o.outside_collaborators().iter().map(|m| self.login(*m)).collect::<Vec<_>>(),
                    "outside_collaborator_access": o.outside_collaborator_access(self),
                    "installation": {
                        "id": o.installation_id, "installed": o.installed, "permissions": o.permissions,
                        "suspended": o.suspended_at.is_some(),
                    },
                    "repos": repos,
                    "audit_log_events": o.audit_log.len(),
                })
            })
            .collect();
        let mut tokens: Vec<Value> = self
            .tokens
            .iter()
            .map(|(t, info)| {
                json!({"fingerprint": fingerprint(t), "installation_id": info.installation_id,
                       "expires_at": info.expires_at.to_rfc3339(), "permissions": info.permissions})
            })
            .collect();
        tokens.sort_by_key(|t| t["expires_at"].as_str().unwrap_or_default().to_owned());
        json!({
            "app": {"id": self.app.id, "slug": self.app.slug, "webhook_secret": "[REDACTED]",
                    "public_key_fingerprint": self.app.key_fingerprint,
                    "token_ttl_secs": self.app.token_ttl_secs},
            "users": self.users.values().map(User::full_json).collect::<Vec<_>>(),
            "orgs": orgs,
            "tokens": tokens,
            "tokens_issued": self.tokens_issued,
            "deliveries": self.deliveries.iter().map(Delivery::json).collect::<Vec<_>>(),
        })
    }
}

/// Organisation switches settable through the control API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgSettings {
    #[serde(default)]
    pub(crate) membership_hidden: Option<bool>,
    #[serde(default)]
    pub(crate) enterprise: Option<bool>,
    /// Permission changes: each key set to `read`/`write`/`admin`, or removed with `"none"` or `null`.
    #[serde(default)]
    pub(crate) permissions: Option<BTreeMap<String, Option<String>>>,
    /// Suspend (`true`) or unsuspend the installation.
    #[serde(default)]
    pub(crate) suspended: Option<bool>,
    /// Uninstall (`false`) or reinstall the App.
    #[serde(default)]
    pub(crate) installed: Option<bool>,
}

impl World {
    /// Adds (`member = true`) or removes `login` from `org`'s members.
    pub(crate) fn set_member(
        &mut self,
        org: &str,
        login: &str,
        member: bool,
    ) -> Result<(), String> {
        if self.org(org).is_none() {
            return Err(format!("unknown org {org}"));
        }
        let id = self.ensure_user(login);
        let org = self
            .org_mut(org)
            .ok_or_else(|| format!("unknown org {org}"))?;
        org.members.retain(|m| *m != id);
        if member {
            org.members.push(id);
        }
        Ok(())
    }

    pub(crate) fn apply_settings(
        &mut self,
        org: &str,
        settings: &OrgSettings,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let org = self
            .org_mut(org)
            .ok_or_else(|| format!("unknown org {org}"))?;
        if let Some(changes) = &settings.permissions {
            let mut permissions = org.permissions.clone();
            for (name, level) in changes {
                match level.as_deref() {
                    None | Some("none") => {
                        permissions.remove(name);
                    }
                    Some(level) => {
                        permissions.insert(name.clone(), level.to_owned());
                    }
                }
            }
            check_permissions(&permissions)?;
            org.permissions = permissions;
        }
        if let Some(suspended) = settings.suspended {
            org.suspended_at = match (suspended, org.suspended_at) {
                (true, Some(since)) => Some(since),
                (true, None) => Some(now),
                (false, _) => None,
            };
        }
        if let Some(installed) = settings.installed {
            org.installed = installed;
        }
        if let Some(hidden) = settings.membership_hidden {
            org.membership_hidden = hidden;
        }
        if let Some(enterprise) = settings.enterprise {
            org.enterprise = enterprise;
        }
        if settings.installed == Some(false) {
            // Uninstalling revokes the installation's tokens.
            let installation_id = org.installation_id;
            self.tokens
                .retain(|_, t| t.installation_id != installation_id);
        }
        Ok(())
    }

    pub(crate) fn add_repo_events(
        &mut self,
        org: &str,
        repo: &str,
        events: Vec<Value>,
    ) -> Result<(), String> {
        let org = self
            .org_mut(org)
            .ok_or_else(|| format!("unknown org {org}"))?;
        let repo = org
            .repos
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(repo))
            .ok_or_else(|| format!("unknown repository {repo}"))?;
        repo.events.extend(events);
        Ok(())
    }

    pub(crate) fn add_audit_events(&mut self, org: &str, events: Vec<Value>) -> Result<(), String> {
        let org = self
            .org_mut(org)
            .ok_or_else(|| format!("unknown org {org}"))?;
        org.audit_log.extend(events);
        Ok(())
    }
}
