//! `doctor`: one line per check, `ok` or `FAIL`, non-zero exit on any FAIL. It checks what CLS needs to
//! work: every secret parses and validates, the queue is FIFO, and the Spoke request type, its eight fields
//! and the five tags exist, and, per configured org, that the GitHub App installation exists with the
//! permissions CLS needs.

use std::sync::Arc;

use cls_core::settings::{GithubSettings, IdentitySettings, SlackSettings, SpokeSettings};
use cls_core::ticket::FieldKey;
use cls_wiring::load_alert_settings;
use github_app::{AUDIT_LOG_READ, GithubApi, MEMBERS_WRITE};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde_json::json;
use spoke_client::{RequestTypeId, SpokeApi, TagId, TagQuery, TeamId};

use crate::deps::{self, Env};
use crate::error::AdminError;
use crate::output::{Outcome, Progress};

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `spoke tag needs_attention`.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found (never a secret value).
    pub detail: String,
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, name: impl Into<String>, result: Result<String, String>) -> bool {
        let ok = result.is_ok();
        self.0.push(Check {
            name: name.into(),
            ok,
            detail: result.unwrap_or_else(|e| e),
        });
        ok
    }
}

use lambda_kit::error::chain;

async fn secret_checks(
    env: &Env,
    checks: &mut Checks,
) -> (Option<GithubSettings>, Option<SpokeSettings>) {
    let store = env.secrets.as_ref();
    let config = env.config.as_ref();
    let github = deps::load_github(store, config).await;
    let github_ok = checks.push(
        format!("secret {} (github)", config.cls.secrets.github),
        github
            .as_ref()
            .map(|g| format!("{} orgs", g.orgs.len()))
            .map_err(|e| chain(e)),
    );
    let spoke = deps::load_spoke(store, config).await;
    let spoke_ok = checks.push(
        format!("secret {} (spoke)", config.cls.secrets.spoke),
        spoke
            .as_ref()
            .map(|_| "8 field ids and 5 tag ids present".to_owned())
            .map_err(|e| chain(e)),
    );
    let slack = match store.get_value(&config.cls.secrets.slack).await {
        Ok(value) => secrets::decode::<SlackSettings>(&config.cls.secrets.slack, &value)
            .map_err(|e| chain(&e)),
        Err(e) => Err(chain(&e)),
    };
    checks.push(
        format!("secret {} (slack)", config.cls.secrets.slack),
        match &slack {
            Ok(s)
                if s.bot_token
                    .as_ref()
                    .is_some_and(|t| !t.expose_secret().is_empty()) =>
            {
                Ok("bot_token present".to_owned())
            }
            Ok(_) => Err("bot_token is missing".to_owned()),
            Err(e) => Err(e.clone()),
        },
    );
    checks.push(
        format!("secret {} (alerts)", config.cls.secrets.alerts),
        alert_url_check(env).await,
    );
    let identity = deps::load_identity(store, config).await;
    checks.push(
        format!("secret {} (identity)", config.cls.secrets.identity),
        identity
            .as_ref()
            .map(|i: &IdentitySettings| {
                if i.is_http() {
                    "http source".to_owned()
                } else {
                    format!(
                        "static source, {} users (absent secret = empty)",
                        i.users.len()
                    )
                }
            })
            .map_err(|e| chain(e)),
    );
    (
        github.ok().filter(|_| github_ok),
        spoke.ok().filter(|_| spoke_ok),
    )
}

/// `cls/alerts` (or, while it does not exist, the old layout's `cls/slack` URL), validated by the shared loader.
async fn alert_url_check(env: &Env) -> Result<String, String> {
    let config = &env.config;
    load_alert_settings(
        env.secrets.as_ref(),
        &config.cls.secrets.alerts,
        &config.cls.secrets.slack,
    )
    .await
    .map(|_| "alert_webhook_url is an http(s) URL".to_owned())
    .map_err(|e| chain(&e))
}

async fn queue_check(env: &Env, checks: &mut Checks) {
    let result = match crate::queue::info(&env.sqs, &env.config.queue_url).await {
        Ok(info) if !info.fifo => Err("the queue is not FIFO".to_owned()),
        Ok(info) => match info.max_message_bytes {
            Some(max) if max < 262_144 => Err(format!(
                "MaximumMessageSize is {max} bytes (CLS sends up to 262144)"
            )),
            Some(max) => Ok(format!("FIFO, MaximumMessageSize {max} bytes")),
            None => Ok("FIFO".to_owned()),
        },
        Err(e) => Err(e.to_string()),
    };
    checks.push("queue CLS_QUEUE_URL", result);
}

async fn spoke_checks(spoke: &dyn SpokeApi, settings: &SpokeSettings, checks: &mut Checks) {
    if !checks.push(
        "spoke api key",
        spoke
            .whoami()
            .await
            .map(|w| format!("service user {}", w.user.as_str()))
            .map_err(|e| chain(&e)),
    ) {
        return;
    }
    checks.push(
        "spoke team",
        match spoke.get_team(&TeamId::new(&settings.team_id)).await {
            Ok(Some(t)) => Ok(t.name.clone().unwrap_or_else(|| settings.team_id.clone())),
            Ok(None) => Err(format!("team {} not found", settings.team_id)),
            Err(e) => Err(chain(&e)),
        },
    );
    let request_type = spoke
        .get_request_type(&RequestTypeId::new(&settings.request_type_id))
        .await;
    let request_type = match request_type {
        Ok(Some(rt)) => {
            checks.push(
                "spoke request type",
                Ok(rt
                    .title
                    .clone()
                    .unwrap_or_else(|| settings.request_type_id.clone())),
            );
            Some(rt)
        }
        Ok(None) => {
            checks.push(
                "spoke request type",
                Err(format!(
                    "request type {} not found",
                    settings.request_type_id
                )),
            );
            None
        }
        Err(e) => {
            checks.push("spoke request type", Err(chain(&e)));
            None
        }
    };
    if let Some(rt) = request_type {
        let form: Vec<_> = rt
            .form
            .as_ref()
            .map(|f| f.fields.clone())
            .unwrap_or_default();
        for key in FieldKey::ALL {
            let uuid = settings.fields.get(key).unwrap_or("");
            let field = form
                .iter()
                .find(|f| f.uuid.as_ref().is_some_and(|u| u.as_str() == uuid));
            checks.push(
                format!("spoke field {}", key.as_str()),
                field
                    .map(|f| format!("\"{}\"", f.label.clone().unwrap_or_default()))
                    .ok_or_else(|| format!("field {uuid} is not in the request type's form")),
            );
        }
    }
    let tags = spoke.all_tags(&TagQuery::default()).await;
    let wanted = [
        ("access_granted", &settings.tags.access_granted),
        ("access_removed", &settings.tags.access_removed),
        ("expired", &settings.tags.expired),
        ("inactive", &settings.tags.inactive),
        ("needs_attention", &settings.tags.needs_attention),
    ];
    for (key, id) in wanted {
        let result = match &tags {
            Ok(tags) => tags
                .iter()
                .find(|t| t.id == TagId::new(id.as_str()))
                .filter(|t| {
                    !t.status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("TOMBSTONE"))
                })
                .map(|t| format!("\"{}\"", t.text.clone().unwrap_or_default()))
                .ok_or_else(|| format!("tag {id} does not exist")),
            Err(e) => Err(chain(e)),
        };
        checks.push(format!("spoke tag {key}"), result);
    }
}

/// Runs every check. Never fails as a whole: every failure is a `FAIL` line.
pub async fn run(env: &Env, progress: &Progress) -> Result<Outcome, AdminError> {
    let bar = progress.spinner("checking");
    let mut checks = Checks::default();
    let (github, spoke) = secret_checks(env, &mut checks).await;
    bar.inc(1);
    queue_check(env, &mut checks).await;
    bar.inc(1);
    if let Some(settings) = &spoke {
        match deps::clients(&env.config, &env.platform).spoke(settings.api_key.clone()) {
            Ok(client) => spoke_checks(client.as_ref(), settings, &mut checks).await,
            Err(e) => {
                checks.push("spoke client", Err(chain(&e)));
            }
        }
    }
    bar.inc(1);
    if let Some(settings) = &github {
        github_checks(env, settings, &mut checks).await;
    }
    bar.finish_and_clear();
    let failed = checks.0.iter().filter(|c| !c.ok).count();
    let mut text = String::new();
    for c in &checks.0 {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        text.push_str(&format!("{mark} {}: {}\n", c.name, c.detail));
    }
    text.push_str(&format!(
        "doctor: {} checks, {failed} failed\n",
        checks.0.len()
    ));
    Ok(Outcome {
        document: json!({"command": "doctor", "checks": checks.0, "failed": failed}),
        text,
        ok: failed == 0,
    })
}

/// Per configured org: the App installation exists, is the configured one, is not suspended, and grants
/// Members: write (removal at expiry) and, where the org's `activity_source` is `audit_log` (the default),
/// organization administration: read (the audit log).
async fn github_checks(env: &Env, settings: &GithubSettings, checks: &mut Checks) {
    let client: Arc<dyn GithubApi> =
        match deps::clients(&env.config, &env.platform).github(settings) {
            Ok(c) => c,
            Err(e) => {
                checks.push("github client", Err(chain(&e)));
                return;
            }
        };
    for org in &settings.orgs {
        let installation = match client.installation(&org.org).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                checks.push(
                    format!("github {} installation", org.org),
                    Err(format!(
                        "App {} is not installed on {}",
                        org.app_id, org.org
                    )),
                );
                continue;
            }
            Err(e) => {
                checks.push(format!("github {} installation", org.org), Err(chain(&e)));
                continue;
            }
        };
        let state = if installation.is_suspended() {
            Err(format!("installation {} is suspended", installation.id))
        } else if installation.id != org.installation_id {
            Err(format!(
                "installed as {}, but the secret names installation_id {}",
                installation.id, org.installation_id
            ))
        } else {
            Ok(format!("installation {}", installation.id))
        };
        checks.push(format!("github {} installation", org.org), state);
        let audit_log = org
            .activity_source
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("audit_log"));
        let mut needed = vec![MEMBERS_WRITE];
        if audit_log {
            needed.push(AUDIT_LOG_READ);
        }
        for required in needed {
            let have = installation
                .permissions
                .get(required.name)
                .map_or("none", String::as_str);
            checks.push(
                format!("github {} permission {required}", org.org),
                if installation.grants(&required) {
                    Ok(format!("{have} ({})", required.purpose))
                } else {
                    Err(format!("has {have}; needed to {}", required.purpose))
                },
            );
        }
    }
}
