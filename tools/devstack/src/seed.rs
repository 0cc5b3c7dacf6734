//! What the local stack seeds its fakes with: each fake's `fixtures/demo.json`, plus the CLS request type, its
//! eight form fields and five tags in spoke-fake, with the fixtures' fixed credentials (Spoke's and
//! PagerDuty's API keys among them) replaced by the run's dev-only ones ([`crate::stack::DevSecrets`]). The ids are test-only values; the CLS services learn them from
//! the `cls/spoke` secret the demo writes (services/cls-queue/README.md, "Secrets").

use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};

/// The GitHub organisation of the CLS flows (github-fake demo seed).
pub const ORG: &str = "acme";
/// The Spoke team that owns CLS tickets (the IT team of the spoke-fake demo seed).
pub const TEAM_ID: &str = "5cb65407f38ee4000743e945";
/// The CLS request type added to the spoke-fake demo seed.
pub const REQUEST_TYPE_ID: &str = "61b000000000000000000c15";
/// Default ticket owner (IT Admin in the spoke-fake demo seed).
pub const DEFAULT_OWNER: &str = "5f0c3a9e2b7d4c0012ab3410";
/// The CLS answered fields, in `cls_core::FieldKey::ALL` order (the keys of the `cls/spoke` secret's `fields`).
pub const FIELD_KEYS: [&str; 8] = [
    "expires_on",
    "github_login",
    "github_user_id",
    "github_org",
    "collaborator_email",
    "repositories",
    "added_by",
    "cls_state",
];
/// The CLS tags (the keys of the `cls/spoke` secret's `tags`).
pub const TAG_KEYS: [&str; 5] = [
    "access_granted",
    "access_removed",
    "expired",
    "inactive",
    "needs_attention",
];

/// The form-field uuid of the CLS field at `index` of [`FIELD_KEYS`].
pub fn field_uuid(index: usize) -> String {
    format!("00000000-0000-4000-8000-0000000c15{index:02}")
}

/// The Spoke id of the CLS tag `key`.
pub fn tag_id(key: &str) -> String {
    let index = TAG_KEYS.iter().position(|k| *k == key).unwrap_or(99);
    format!("63d0000000000000000c15{index:02}")
}

/// The spoke-fake demo seed plus what CLS needs: its request type with the eight answered fields and its
/// five tags. The seed's API key is replaced by `api_key` (same user); any further keys of the fixture get
/// `api_key` with a `-<n>` suffix, so no fixed key stays valid.
pub fn spoke_seed(api_key: &str) -> Result<Value> {
    let mut seed: Value =
        serde_json::from_str(spoke_fake::DEMO_SEED).context("spoke-fake demo seed")?;
    inject_api_keys(&mut seed, api_key, "spoke")?;
    let labels = [
        "Access expiration date",
        "Collaborator GitHub username",
        "Collaborator GitHub user id",
        "GitHub organisation",
        "Collaborator email",
        "Repositories and permissions",
        "Added by",
        "CLS state (do not edit)",
    ];
    let fields: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| json!({"uuid": field_uuid(i), "type": "TEXT", "label": label}))
        .collect();
    let tags: Vec<Value> = [
        "access granted",
        "access removed",
        "cls-expired",
        "cls-inactive",
        "cls-needs-attention",
    ]
    .iter()
    .zip(TAG_KEYS)
    .map(|(text, key)| json!({"id": tag_id(key), "text": text, "color": "grey"}))
    .collect();
    let request_types = seed["requestTypes"]
        .as_array_mut()
        .ok_or_else(|| anyhow!("the spoke seed has no requestTypes"))?;
    request_types.push(json!({
        "id": REQUEST_TYPE_ID,
        "title": "Collaborator Access",
        "team": TEAM_ID,
        "form": {"fields": fields},
    }));
    seed["tags"]
        .as_array_mut()
        .ok_or_else(|| anyhow!("the spoke seed has no tags"))?
        .extend(tags);
    Ok(seed)
}

/// The github-fake demo seed with the App's webhook secret replaced by `webhook_secret`.
pub fn github_seed(webhook_secret: &str) -> Result<Value> {
    let mut seed: Value =
        serde_json::from_str(github_fake::DEMO_SEED).context("github-fake demo seed")?;
    let app = seed
        .get_mut("app")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| anyhow!("the github-fake demo seed has no app"))?;
    app.insert("webhook_secret".to_owned(), json!(webhook_secret));
    Ok(seed)
}

/// The pagerduty-fake demo seed with its API keys replaced by `api_key` (the first) and `api_key-<n>`.
pub fn pagerduty_seed(api_key: &str) -> Result<Value> {
    let mut seed: Value =
        serde_json::from_str(pagerduty_fake::DEMO_SEED).context("pagerduty-fake demo seed")?;
    inject_api_keys(&mut seed, api_key, "pagerduty")?;
    Ok(seed)
}

/// Replaces the `key` of every `apiKeys` entry of `fake`'s seed: the first by `api_key`, the others by
/// `api_key-<n>`, so no fixed key of a fixture stays valid.
fn inject_api_keys(seed: &mut Value, api_key: &str, fake: &str) -> Result<()> {
    let keys = seed["apiKeys"]
        .as_array_mut()
        .filter(|keys| !keys.is_empty())
        .ok_or_else(|| anyhow!("the {fake} seed has no apiKeys"))?;
    for (index, key) in keys.iter_mut().enumerate() {
        let value = if index == 0 {
            api_key.to_owned()
        } else {
            format!("{api_key}-{index}")
        };
        key.as_object_mut()
            .ok_or_else(|| anyhow!("a {fake} seed apiKeys entry is not an object"))?
            .insert("key".to_owned(), Value::String(value));
    }
    Ok(())
}

/// True when a spoke-fake ticket carries the CLS tag `key` (`access_granted`, `expired`, …).
pub fn has_tag(ticket: &Value, key: &str) -> bool {
    let id = tag_id(key);
    ticket["tags"].as_array().is_some_and(|tags| {
        tags.iter()
            .any(|t| t == &Value::String(id.clone()) || t["id"] == id.as_str())
    })
}

/// The answer of the CLS field `key` (`expires_on`, …) on a spoke-fake ticket.
pub fn answer_of(ticket: &Value, key: &str) -> Option<String> {
    let uuid = field_uuid(FIELD_KEYS.iter().position(|k| *k == key)?);
    let fields = ticket
        .get("requestTypeInfo")?
        .get("answeredFields")?
        .as_array()?;
    fields
        .iter()
        .find(|f| f["field"]["uuid"] == uuid.as_str())
        .and_then(|f| f["simpleValue"].as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spoke_seed_holds_only_the_injected_key_and_the_cls_request_type() {
        let seed = spoke_seed("dev-key-1").unwrap();
        let keys: Vec<&str> = seed["apiKeys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["key"].as_str())
            .collect();
        assert_eq!(keys.first().copied(), Some("dev-key-1"));
        assert!(keys.iter().all(|k| k.starts_with("dev-key-1")), "{keys:?}");
        let cls = seed["requestTypes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == REQUEST_TYPE_ID)
            .unwrap();
        assert_eq!(cls["form"]["fields"].as_array().unwrap().len(), 8);
        assert_eq!(cls["team"], TEAM_ID);
        let tags = seed["tags"].to_string();
        assert!(TAG_KEYS.iter().all(|k| tags.contains(&tag_id(k))), "{tags}");
    }

    #[test]
    fn reads_tags_and_answers_back_by_key() {
        let ticket = json!({
            "tags": [tag_id("expired"), {"id": tag_id("access_removed")}],
            "requestTypeInfo": {"answeredFields": [
                {"field": {"uuid": field_uuid(0)}, "simpleValue": "2027-01-10"}
            ]}
        });
        assert!(has_tag(&ticket, "expired") && has_tag(&ticket, "access_removed"));
        assert!(!has_tag(&ticket, "access_granted"));
        assert_eq!(
            answer_of(&ticket, "expires_on").as_deref(),
            Some("2027-01-10")
        );
        assert_eq!(answer_of(&ticket, "github_login"), None);
    }
}
