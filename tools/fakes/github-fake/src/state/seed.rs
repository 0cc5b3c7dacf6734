//! The seed document (`fixtures/*.json`) and the world built from it: users by login, collaborators and
//! invitations resolved to user ids, installation permissions checked.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use fake_kit::fingerprint;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

use super::{App, Collaborator, Invitation, Org, Repo, User, World, check_permissions};

/// The public half of the committed test-only App key.
pub(crate) const TEST_APP_PUBLIC_KEY_PEM: &str =
    include_str!("../../fixtures/test-app-key.pub.pem");

/// Seed document (`fixtures/*.json`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Seed {
    pub(crate) app: SeedApp,
    #[serde(default)]
    pub(crate) users: Vec<SeedUser>,
    #[serde(default)]
    pub(crate) orgs: Vec<SeedOrg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedApp {
    pub(crate) id: u64,
    #[serde(default = "default_slug")]
    pub(crate) slug: String,
    pub(crate) webhook_secret: String,
    /// PEM of the App's public key; the committed test key when absent.
    #[serde(default)]
    pub(crate) public_key_pem: Option<String>,
    /// Installation token lifetime (GitHub: 1 hour).
    #[serde(default = "default_token_ttl")]
    pub(crate) token_ttl_secs: i64,
}

fn default_slug() -> String {
    "cls-fake".to_owned()
}
fn default_token_ttl() -> i64 {
    3600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedUser {
    pub(crate) login: String,
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default = "default_user_type", rename = "type")]
    pub(crate) kind: String,
}

fn default_user_type() -> String {
    "User".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedOrg {
    pub(crate) login: String,
    pub(crate) id: u64,
    pub(crate) installation_id: u64,
    /// Enterprise Cloud: the audit-log API answers; otherwise it is 404.
    #[serde(default)]
    pub(crate) enterprise: bool,
    /// The membership check answers 302 (the App cannot see membership).
    #[serde(default)]
    pub(crate) membership_hidden: bool,
    #[serde(default)]
    pub(crate) members: Vec<String>,
    #[serde(default)]
    pub(crate) repos: Vec<SeedRepo>,
    #[serde(default)]
    pub(crate) audit_log: Vec<Value>,
    /// The App installation's permissions (`{"members": "write", …}`); [`default_permissions`] when absent.
    #[serde(default)]
    pub(crate) permissions: Option<BTreeMap<String, String>>,
    /// The installation is suspended: tokens are refused with 403.
    #[serde(default)]
    pub(crate) suspended: bool,
}

/// What a fresh installation may do unless the seed says otherwise: everything CLS needs (removal, membership,
/// audit log, repository metadata and invitations).
pub(crate) fn default_permissions() -> BTreeMap<String, String> {
    [
        ("members", "write"),
        ("organization_administration", "read"),
        ("metadata", "read"),
        ("administration", "read"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedRepo {
    pub(crate) name: String,
    pub(crate) id: u64,
    #[serde(default = "yes")]
    pub(crate) private: bool,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) collaborators: Vec<SeedCollaborator>,
    #[serde(default)]
    pub(crate) invitations: Vec<SeedInvitation>,
    /// Repository events (`type`, `actor` {`id`, `login`}, `created_at`, …).
    #[serde(default)]
    pub(crate) events: Vec<Value>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedCollaborator {
    pub(crate) login: String,
    #[serde(default = "default_role")]
    pub(crate) role_name: String,
}

fn default_role() -> String {
    "write".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedInvitation {
    pub(crate) id: u64,
    pub(crate) invitee: String,
    #[serde(default)]
    pub(crate) inviter: Option<String>,
    #[serde(default = "default_role")]
    pub(crate) permissions: String,
    #[serde(default)]
    pub(crate) created_at: Option<DateTime<Utc>>,
}

impl World {
    pub(crate) fn from_seed(seed: &Value) -> Result<Self, String> {
        let seed: Seed =
            serde_json::from_value(seed.clone()).map_err(|e| format!("invalid seed: {e}"))?;
        let pem = seed
            .app
            .public_key_pem
            .as_deref()
            .unwrap_or(TEST_APP_PUBLIC_KEY_PEM);
        let key = DecodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("invalid app.public_key_pem: {e}"))?;
        let mut users = BTreeMap::new();
        for u in &seed.users {
            if users
                .values()
                .any(|x: &User| x.login.eq_ignore_ascii_case(&u.login))
            {
                return Err(format!("duplicate user login {}", u.login));
            }
            let user = User {
                id: u.id,
                login: u.login.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                kind: u.kind.clone(),
            };
            if users.insert(u.id, user).is_some() {
                return Err(format!("duplicate user id {}", u.id));
            }
        }
        let find = |login: &str| -> Result<u64, String> {
            users
                .values()
                .find(|u: &&User| u.login.eq_ignore_ascii_case(login))
                .map(|u| u.id)
                .ok_or_else(|| format!("unknown user {login} (add it to \"users\")"))
        };
        let mut orgs = Vec::new();
        for o in &seed.orgs {
            let members = o
                .members
                .iter()
                .map(|m| find(m))
                .collect::<Result<Vec<_>, _>>()?;
            let mut repos = Vec::new();
            for r in &o.repos {
                let collaborators = r
                    .collaborators
                    .iter()
                    .map(|c| {
                        Ok(Collaborator {
                            user_id: find(&c.login)?,
                            role_name: c.role_name.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let invitations = r
                    .invitations
                    .iter()
                    .map(|i| {
                        Ok(Invitation {
                            id: i.id,
                            invitee: find(&i.invitee)?,
                            inviter: i.inviter.as_deref().map(find).transpose()?,
                            permissions: i.permissions.clone(),
                            created_at: i.created_at.unwrap_or(DateTime::UNIX_EPOCH),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                repos.push(Repo {
                    id: r.id,
                    name: r.name.clone(),
                    private: r.private,
                    archived: r.archived,
                    collaborators,
                    invitations,
                    events: r.events.clone(),
                });
            }
            let permissions = o.permissions.clone().unwrap_or_else(default_permissions);
            check_permissions(&permissions).map_err(|e| format!("org {}: {e}", o.login))?;
            orgs.push(Org {
                login: o.login.clone(),
                permissions,
                suspended_at: o.suspended.then_some(DateTime::UNIX_EPOCH),
                installed: true,
                id: o.id,
                installation_id: o.installation_id,
                enterprise: o.enterprise,
                membership_hidden: o.membership_hidden,
                members,
                repos,
                audit_log: o.audit_log.clone(),
            });
        }
        Ok(Self {
            app: App {
                id: seed.app.id,
                slug: seed.app.slug,
                key_fingerprint: fingerprint(pem),
                webhook_secret: seed.app.webhook_secret,
                key,
                token_ttl_secs: seed.app.token_ttl_secs,
            },
            users,
            orgs,
            tokens: HashMap::new(),
            deliveries: Vec::new(),
            tokens_issued: 0,
            next_id: 90_000_000,
        })
    }
}
