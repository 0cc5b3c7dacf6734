//! The parts of PagerDuty's answers this service reads; everything else is ignored.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// A reference to a PagerDuty object (`*_reference`, or the object itself).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reference {
    /// The id.
    pub id: String,
    /// A short name.
    #[serde(default)]
    pub summary: Option<String>,
    /// The API URL.
    #[serde(rename = "self", default)]
    pub self_url: Option<String>,
    /// The web URL.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A user, in full with `include[]=users` (then `email` is normally set).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The id.
    pub id: String,
    /// A short name.
    #[serde(default)]
    pub summary: Option<String>,
    /// The full name.
    #[serde(default)]
    pub name: Option<String>,
    /// The e-mail address, when PagerDuty gives one.
    #[serde(default)]
    pub email: Option<String>,
    /// The API URL.
    #[serde(rename = "self", default)]
    pub self_url: Option<String>,
    /// The web URL.
    #[serde(default)]
    pub html_url: Option<String>,
}

impl User {
    /// The name for messages: the full name, else the summary, else the id.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.summary.as_deref())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.id)
    }

    /// The e-mail address when it looks like one (trimmed); `None` means the person cannot be named to Spoke.
    pub fn usable_email(&self) -> Option<&str> {
        self.email
            .as_deref()
            .map(str::trim)
            .filter(|e| e.contains('@') && !e.starts_with('@') && !e.ends_with('@'))
    }

    /// The user as a `user_reference`, as the handoff event carries it.
    pub fn reference_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": "user_reference",
            "summary": self.display_name(),
            "self": self.self_url,
            "html_url": self.html_url,
        })
    }
}

/// One on-call entry: who is on call for which policy, level and schedule, from `start` to `end` (both `None`
/// for a permanent on-call, a user named directly in the policy).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OnCall {
    /// The escalation policy.
    pub escalation_policy: Reference,
    /// The level, from 1.
    pub escalation_level: u32,
    /// The schedule, unless the user is named directly in the policy.
    #[serde(default)]
    pub schedule: Option<Reference>,
    /// Who.
    pub user: User,
    /// When this on-call began.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    /// When it ends.
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
}

impl OnCall {
    /// True when the entry covers instant `at`.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}

/// One page of `GET /oncalls`.
#[derive(Debug, Clone, Deserialize)]
pub struct OncallPage {
    /// The entries.
    pub oncalls: Vec<OnCall>,
    /// Whether another page follows.
    #[serde(default)]
    pub more: bool,
}
