//! The reminder buttons: the two `action_id`s and the button `value`, JSON
//! `{"t":"<ticket id>","o":<org id>,"ol":"<org login>","u":<user id>,"ul":"<login>","e":"<expires_on>"}`.
//! `cls-queue` encodes it into the reminder, `cls-webhook` decodes it from the click; both use this one
//! definition. The value only identifies the ticket: it is never trusted for authorisation (the clicker is
//! checked by `cls-queue`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::envelope::{AccountRef, OrgRef};

/// `action_id` of the "Extend 90 days" button.
pub const EXTEND_ACTION_ID: &str = "cls_extend";
/// `action_id` of the "Let it expire" button.
pub const LET_EXPIRE_ACTION_ID: &str = "cls_let_expire";
/// Slack's limit on a button `value`.
pub const MAX_VALUE_CHARS: usize = 2000;

/// Which reminder button was clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ButtonAction {
    /// `cls_extend`.
    Extend,
    /// `cls_let_expire`.
    LetExpire,
}

impl ButtonAction {
    /// The button's `action_id`.
    pub fn action_id(self) -> &'static str {
        match self {
            Self::Extend => EXTEND_ACTION_ID,
            Self::LetExpire => LET_EXPIRE_ACTION_ID,
        }
    }

    /// The action of an `action_id`, `None` for any other button.
    pub fn from_action_id(action_id: &str) -> Option<Self> {
        match action_id {
            EXTEND_ACTION_ID => Some(Self::Extend),
            LET_EXPIRE_ACTION_ID => Some(Self::LetExpire),
            _ => None,
        }
    }

    /// The `action` of a `slack_action` envelope: `extend` or `let_expire`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extend => "extend",
            Self::LetExpire => "let_expire",
        }
    }

    /// The action named by a `slack_action` envelope's `action`.
    pub fn parse(action: &str) -> Option<Self> {
        match action {
            "extend" => Some(Self::Extend),
            "let_expire" => Some(Self::LetExpire),
            _ => None,
        }
    }
}

/// A button `value` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ButtonValueError {
    /// Longer than Slack allows.
    #[error("button value is longer than {MAX_VALUE_CHARS} characters")]
    TooLong,
    /// Not the JSON shape, or a field is empty. Never carries the value.
    #[error("button value is not a CLS button value: {reason}")]
    Invalid {
        /// What is wrong (field names only).
        reason: &'static str,
    },
}

/// The button `value` of a reminder: which ticket, collaborator and expiry the reminder was about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonValue {
    /// Spoke request id (`t`).
    #[serde(rename = "t")]
    pub ticket_id: String,
    /// GitHub org id (`o`).
    #[serde(rename = "o")]
    pub org_id: u64,
    /// GitHub org login (`ol`).
    #[serde(rename = "ol")]
    pub org_login: String,
    /// Collaborator's GitHub user id (`u`).
    #[serde(rename = "u")]
    pub user_id: u64,
    /// Collaborator's login (`ul`).
    #[serde(rename = "ul")]
    pub user_login: String,
    /// The expiry the reminder showed (`e`, `YYYY-MM-DD`); a different current expiry makes a click stale.
    #[serde(rename = "e")]
    pub expires_on: NaiveDate,
}

impl ButtonValue {
    /// The JSON `value` for the button; refuses values over Slack's 2,000 characters.
    pub fn encode(&self) -> Result<String, ButtonValueError> {
        // A struct of strings, integers and a date always serialises.
        let text = serde_json::to_string(self).unwrap_or_default();
        if text.chars().count() > MAX_VALUE_CHARS {
            return Err(ButtonValueError::TooLong);
        }
        Ok(text)
    }

    /// Parses a clicked button's `value`.
    pub fn decode(value: &str) -> Result<Self, ButtonValueError> {
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(ButtonValueError::TooLong);
        }
        let parsed: Self = serde_json::from_str(value).map_err(|_| ButtonValueError::Invalid {
            reason: "not the {t,o,ol,u,ul,e} JSON object",
        })?;
        if parsed.ticket_id.trim().is_empty() {
            return Err(ButtonValueError::Invalid {
                reason: "t is empty",
            });
        }
        if parsed.org_login.trim().is_empty() {
            return Err(ButtonValueError::Invalid {
                reason: "ol is empty",
            });
        }
        if parsed.user_login.trim().is_empty() {
            return Err(ButtonValueError::Invalid {
                reason: "ul is empty",
            });
        }
        Ok(parsed)
    }

    /// The organisation of the envelope.
    pub fn org(&self) -> OrgRef {
        OrgRef {
            id: self.org_id,
            login: self.org_login.clone(),
        }
    }

    /// The collaborator of the envelope.
    pub fn collaborator(&self) -> AccountRef {
        AccountRef {
            id: self.user_id,
            login: self.user_login.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value() -> ButtonValue {
        ButtonValue {
            ticket_id: "5f0c1a2b3c4d5e6f7a8b9c0d".into(),
            org_id: 38302899,
            org_login: "acme".into(),
            user_id: 39652351,
            user_login: "octocat".into(),
            expires_on: NaiveDate::from_ymd_opt(2027, 5, 12).unwrap(),
        }
    }

    #[test]
    fn encodes_the_documented_value_and_decodes_it_back() {
        let text = value().encode().unwrap();
        assert_eq!(
            text,
            r#"{"t":"5f0c1a2b3c4d5e6f7a8b9c0d","o":38302899,"ol":"acme","u":39652351,"ul":"octocat","e":"2027-05-12"}"#
        );
        assert_eq!(ButtonValue::decode(&text).unwrap(), value());
        assert_eq!(
            value().org(),
            OrgRef {
                id: 38302899,
                login: "acme".into()
            }
        );
        assert_eq!(value().collaborator().id, 39652351);
    }

    #[test]
    fn refuses_values_that_are_not_a_cls_button() {
        for bad in [
            "",
            "extend",
            r#"{"t":"x"}"#,
            r#"{"t":"","o":1,"ol":"a","u":2,"ul":"b","e":"2027-05-12"}"#,
            r#"{"t":"x","o":1,"ol":"a","u":2,"ul":"b","e":"12/05/2027"}"#,
            r#"{"t":"x","o":-1,"ol":"a","u":2,"ul":"b","e":"2027-05-12"}"#,
        ] {
            assert!(ButtonValue::decode(bad).is_err(), "{bad}");
        }
        let long = format!(r#"{{"t":"{}"}}"#, "x".repeat(MAX_VALUE_CHARS));
        assert_eq!(ButtonValue::decode(&long), Err(ButtonValueError::TooLong));
        let mut huge = value();
        huge.ticket_id = "x".repeat(MAX_VALUE_CHARS);
        assert_eq!(huge.encode(), Err(ButtonValueError::TooLong));
    }

    #[test]
    fn action_ids_map_to_envelope_actions_and_back() {
        for action in [ButtonAction::Extend, ButtonAction::LetExpire] {
            assert_eq!(
                ButtonAction::from_action_id(action.action_id()),
                Some(action)
            );
            assert_eq!(ButtonAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(ButtonAction::from_action_id("cls_other"), None);
        assert_eq!(ButtonAction::Extend.as_str(), "extend");
    }
}
