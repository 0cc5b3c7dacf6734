//! IT alerts (what each one means: `docs/operations/cls.md`): one Slack message per incident with stage,
//! component, kind, org, login, ticket link, delivery or command id, error class and message. Never secrets or
//! payloads.

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alert {
    /// `testing`, `staging`, `production`.
    pub stage: String,
    /// `cls-webhook`, `cls-queue`, …
    pub component: String,
    /// What happened, PascalCase (`EnqueueFailed`, `PermanentFailure`, `DuplicateTicketsFound`, …).
    pub kind: String,
    /// Org login, when known.
    pub org: Option<String>,
    /// Collaborator login, when known.
    pub login: Option<String>,
    /// Ticket link, when known.
    pub ticket: Option<String>,
    /// Delivery or command id.
    pub key: Option<String>,
    /// `Retryable` / `Permanent`, when an error caused it.
    pub error_class: Option<String>,
    /// A short description; never a payload, token or URL with credentials.
    pub message: String,
}

impl Alert {
    /// A new alert of `kind` from `component`.
    pub fn new(stage: &str, component: &str, kind: &str, message: impl Into<String>) -> Self {
        Self {
            stage: stage.to_owned(),
            component: component.to_owned(),
            kind: kind.to_owned(),
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets the org and collaborator.
    pub fn subject(mut self, org: &str, login: &str) -> Self {
        self.org = Some(org.to_owned());
        self.login = Some(login.to_owned());
        self
    }

    /// Sets the delivery or command id.
    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }

    /// Sets the ticket link.
    pub fn ticket(mut self, link: &str) -> Self {
        self.ticket = Some(link.to_owned());
        self
    }

    /// Sets the error class.
    pub fn class(mut self, class: &str) -> Self {
        self.error_class = Some(class.to_owned());
        self
    }

    /// The identity used to send repeated identical alerts once (kind, org, login, key, message).
    pub fn dedup_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.kind,
            self.org.as_deref().unwrap_or(""),
            self.login.as_deref().unwrap_or(""),
            self.key.as_deref().unwrap_or(""),
            self.message
        )
    }

    /// The plain-text message (Slack mrkdwn).
    pub fn text(&self) -> String {
        let mut text = format!(
            ":rotating_light: *CLS {}* [{}] {}: {}",
            self.kind, self.stage, self.component, self.message
        );
        let mut push = |label: &str, value: &Option<String>| {
            if let Some(v) = value {
                text.push_str(&format!("\n• {label}: {v}"));
            }
        };
        push("org", &self.org);
        push("collaborator", &self.login);
        push("ticket", &self.ticket);
        push("delivery/command", &self.key);
        push("error class", &self.error_class);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_names_stage_component_kind_and_ids() {
        let alert = Alert::new(
            "testing",
            "cls-webhook",
            "EnqueueFailed",
            "SendMessage failed",
        )
        .subject("acme", "octocat")
        .key("d-1")
        .class("Retryable");
        let text = alert.text();
        for part in [
            "EnqueueFailed",
            "[testing]",
            "cls-webhook",
            "org: acme",
            "collaborator: octocat",
            "d-1",
            "Retryable",
        ] {
            assert!(text.contains(part), "{part} missing in {text}");
        }
        assert!(!text.contains("ticket:"));
        assert_eq!(alert.dedup_key(), alert.clone().dedup_key());
    }
}
