//! The queue message envelope, schema version 1 (crate README, "Queue messages").
//!
//! Every producer (webhook, sweep, Slack interactions, CLI) writes one JSON object with `v`, `kind`,
//! `enqueued_at`, `org`, `collaborator` and one kind-specific object named after the kind.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The schema version this crate reads and writes.
pub const ENVELOPE_VERSION: u64 = 1;

/// The largest body the producers send (anything over 256 KiB is refused, far below the queue's own limit).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A GitHub organisation: numeric id (the durable key) and login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    /// `organization.id`.
    pub id: u64,
    /// `organization.login`.
    pub login: String,
}

/// A GitHub account: numeric id (the durable key; logins can change) and login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    /// Account id.
    pub id: u64,
    /// Account login at the time of the event.
    pub login: String,
}

/// The FIFO message group of one collaborator in one organisation: `gh-{org_id}-{user_id}` (numeric ids,
/// because logins change; crate README, "Queue messages").
pub fn message_group_id(org_id: u64, user_id: u64) -> String {
    format!("gh-{org_id}-{user_id}")
}

/// `slack-{sha256 hex of "{user_id}:{message_ts}:{action_ts}"}` truncated to 64 characters.
pub fn slack_dedup_id(user_id: &str, message_ts: &str, action_ts: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{user_id}:{message_ts}:{action_ts}"));
    let mut id = format!("slack-{}", hex::encode(digest));
    id.truncate(64);
    id
}

/// The kinds this crate knows. Unknown kinds are refused by [`Envelope::parse`] as retryable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A GitHub `member` webhook delivery.
    MemberEvent,
    /// A sweep finding.
    Review,
    /// A Slack button click.
    SlackAction,
    /// A collaborator adopted by `cls-admin backfill`.
    Import,
    /// An operator's extension from `cls-admin extend`.
    AdminExtend,
}

impl Kind {
    /// The wire name, also the key of the kind-specific object.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MemberEvent => "member_event",
            Self::Review => "review",
            Self::SlackAction => "slack_action",
            Self::Import => "import",
            Self::AdminExtend => "admin_extend",
        }
    }

    fn from_wire(name: &str) -> Option<Self> {
        [
            Self::MemberEvent,
            Self::Review,
            Self::SlackAction,
            Self::Import,
            Self::AdminExtend,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `member` webhook actions CLS handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberAction {
    /// A repository invitation was accepted (or an org member was given direct access).
    Added,
    /// The permission changed.
    Edited,
    /// Access to the repository was removed.
    Removed,
}

impl MemberAction {
    /// `added`, `edited`, `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Edited => "edited",
            Self::Removed => "removed",
        }
    }

    /// Parses a webhook `action`; `None` for actions CLS ignores.
    pub fn parse(action: &str) -> Option<Self> {
        match action {
            "added" => Some(Self::Added),
            "edited" => Some(Self::Edited),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }
}

/// The repository of a `member` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRef {
    /// `repository.id`.
    pub id: u64,
    /// `repository.full_name`, e.g. `acme/widgets`.
    pub full_name: String,
    /// `repository.private`, when GitHub sent it.
    #[serde(default)]
    pub private: Option<bool>,
}

/// The `sender` of a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderRef {
    /// `sender.id`.
    pub id: u64,
    /// `sender.login`.
    pub login: String,
    /// `sender.type` (`User`, `Bot`, `Organization`).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// The trimmed `member` delivery (kind `member_event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEventMsg {
    /// `X-GitHub-Delivery`: the SQS deduplication id and the entry of the ticket's delivery log.
    pub delivery_id: String,
    /// Always `member`.
    pub event: String,
    /// The action.
    pub action: MemberAction,
    /// `installation.id`, when present.
    #[serde(default)]
    pub installation_id: Option<u64>,
    /// The repository.
    pub repository: RepositoryRef,
    /// The sender, when present.
    #[serde(default)]
    pub sender: Option<SenderRef>,
    /// `changes.permission.to`.
    #[serde(default)]
    pub permission: Option<String>,
    /// `changes.role_name.to`.
    #[serde(default)]
    pub role_name: Option<String>,
    /// `changes.old_permission.from`, else `changes.permission.from` (edited).
    #[serde(default)]
    pub previous_permission: Option<String>,
    /// `member.email` when GitHub sent one (usually null). Omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_email: Option<String>,
}

impl MemberEventMsg {
    /// The permission shown in tickets: `role_name`, else `permission`, else `unknown`
    /// (`role_name` is set for custom and `maintain`/`triage` roles, where `permission` is coarser).
    pub fn shown_permission(&self) -> &str {
        self.role_name
            .as_deref()
            .or(self.permission.as_deref())
            .filter(|p| !p.is_empty())
            .unwrap_or("unknown")
    }

    /// The previous permission of an `edited` event, or `unknown`.
    pub fn shown_previous_permission(&self) -> &str {
        self.previous_permission
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("unknown")
    }
}

/// A sweep finding (kind `review`): the consumer re-reads the ticket and recomputes
/// [`crate::review::review`]; the sweep's verdict is only a pre-filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewMsg {
    /// Spoke request id.
    pub ticket_id: String,
    /// The sweep's run date.
    pub run_date: NaiveDate,
    /// Latest activity seen, if any.
    #[serde(default)]
    pub last_activity: Option<NaiveDate>,
    /// Where the activity came from.
    #[serde(default)]
    pub activity_source: Option<String>,
}

/// A Slack button click (kind `slack_action`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackActionMsg {
    /// `extend` or `let_expire`.
    pub action: String,
    /// Spoke request id from the button value.
    pub ticket_id: String,
    /// The expiry the reminder showed; a different current expiry makes the click stale.
    pub expected_expiry: NaiveDate,
    /// Who clicked.
    pub slack_user_id: String,
    /// Their display name.
    #[serde(default)]
    pub slack_user_name: Option<String>,
    /// Channel of the reminder.
    pub channel_id: String,
    /// Timestamp of the reminder message.
    pub message_ts: String,
    /// Slack's `response_url` (a credential-like URL: never printed).
    pub response_url: String,
}

impl fmt::Debug for SlackActionMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackActionMsg")
            .field("action", &self.action)
            .field("ticket_id", &self.ticket_id)
            .field("expected_expiry", &self.expected_expiry)
            .field("slack_user_id", &self.slack_user_id)
            .field("channel_id", &self.channel_id)
            .field("message_ts", &self.message_ts)
            .field("response_url", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Where an imported collaborator came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    /// `backfill --from-github`.
    GithubApi,
    /// `backfill --csv`.
    Csv,
    /// `backfill --audit-csv`.
    AuditCsv,
}

impl ImportSource {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubApi => "github_api",
            Self::Csv => "csv",
            Self::AuditCsv => "audit_csv",
        }
    }
}

/// One repository of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRepo {
    /// `acme/widgets`.
    pub full_name: String,
    /// The permission or role name, e.g. `write`.
    pub permission: String,
}

/// A collaborator adopted by `cls-admin backfill` (kind `import`; services/cls-admin/README.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMsg {
    /// The command's id (see [`command_dedup_id`]): the SQS deduplication id and the entry of the
    /// ticket's delivery log, so a re-run changes nothing.
    pub command_id: String,
    /// Where the collaborator was found.
    pub source: ImportSource,
    /// Repositories and permissions.
    #[serde(default)]
    pub repositories: Vec<ImportRepo>,
    /// Who added them (GitHub login), when known.
    #[serde(default)]
    pub added_by: Option<String>,
    /// When they were added, when known.
    #[serde(default)]
    pub added_at: Option<NaiveDate>,
    /// An explicit expiry, when given.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
}

/// An operator's extension (kind `admin_extend`; `cls-admin extend`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminExtendMsg {
    /// The command's id (see [`command_dedup_id`]).
    pub command_id: String,
    /// The new expiry.
    pub until: NaiveDate,
    /// Why (shown in the ticket message).
    #[serde(default)]
    pub reason: Option<String>,
    /// Who ran the command (named in the ticket message).
    pub operator: String,
}

/// `{command}-{org_id}-{user_id}-{first 16 hex of sha256(arguments)}`: the deduplication id of
/// a `cls-admin` command, stable across re-runs with the same arguments.
pub fn command_dedup_id(command: &str, org_id: u64, user_id: u64, arguments: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(arguments.as_bytes()));
    format!("{command}-{org_id}-{user_id}-{}", &digest[..16])
}

/// The kind-specific part of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `member_event`.
    MemberEvent(MemberEventMsg),
    /// `review`.
    Review(ReviewMsg),
    /// `slack_action`.
    SlackAction(SlackActionMsg),
    /// `import`.
    Import(ImportMsg),
    /// `admin_extend`.
    AdminExtend(AdminExtendMsg),
}

impl Payload {
    /// The kind of this payload.
    pub fn kind(&self) -> Kind {
        match self {
            Self::MemberEvent(_) => Kind::MemberEvent,
            Self::Review(_) => Kind::Review,
            Self::SlackAction(_) => Kind::SlackAction,
            Self::Import(_) => Kind::Import,
            Self::AdminExtend(_) => Kind::AdminExtend,
        }
    }
}

/// One queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// When the producer received the event; the date of "today + 1 year" comes from here, not from
    /// processing time, so retries do not shift it.
    pub enqueued_at: DateTime<Utc>,
    /// The organisation.
    pub org: OrgRef,
    /// The collaborator.
    pub collaborator: AccountRef,
    /// The kind-specific object.
    pub payload: Payload,
}

/// Why a queue body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not JSON at all: permanent.
    #[error("queue message body is not JSON")]
    NotJson,
    /// JSON, but not a valid envelope: permanent.
    #[error("queue message is not a valid envelope: {reason}")]
    Malformed {
        /// What is wrong (field names only, never values).
        reason: String,
    },
    /// A schema version this build does not understand: retryable, so that a newer build can take it.
    #[error("unsupported envelope version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u64,
    },
    /// A kind this build does not understand: retryable.
    #[error("unknown envelope kind {kind:?}")]
    UnknownKind {
        /// The kind found (at most 40 characters).
        kind: String,
    },
}

impl EnvelopeError {
    /// Unknown versions and kinds are retried (then dead-lettered) so that they can be redriven after a
    /// deployment that understands them; malformed bodies are permanent (crate README, "Queue messages").
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::UnsupportedVersion { .. } | Self::UnknownKind { .. }
        )
    }

    /// A short stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotJson => "not_json",
            Self::Malformed { .. } => "malformed_envelope",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::UnknownKind { .. } => "unknown_kind",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u64,
    kind: String,
    enqueued_at: DateTime<Utc>,
    org: OrgRef,
    collaborator: AccountRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_event: Option<MemberEventMsg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    review: Option<ReviewMsg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slack_action: Option<SlackActionMsg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    import: Option<ImportMsg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    admin_extend: Option<AdminExtendMsg>,
}

impl Envelope {
    /// A `member_event` envelope.
    pub fn member_event(
        enqueued_at: DateTime<Utc>,
        org: OrgRef,
        collaborator: AccountRef,
        event: MemberEventMsg,
    ) -> Self {
        Self {
            enqueued_at,
            org,
            collaborator,
            payload: Payload::MemberEvent(event),
        }
    }

    /// The kind of this envelope.
    pub fn kind(&self) -> Kind {
        self.payload.kind()
    }

    /// `gh-{org.id}-{collaborator.id}`.
    pub fn group_id(&self) -> String {
        message_group_id(self.org.id, self.collaborator.id)
    }

    /// The id that makes this message unique: the delivery id of a member event, the ticket and run date of
    /// a review, a hash of the click of a Slack action.
    pub fn dedup_id(&self) -> String {
        match &self.payload {
            Payload::MemberEvent(m) => m.delivery_id.clone(),
            Payload::Review(r) => format!(
                "review-{}-{}",
                r.ticket_id,
                crate::dates::format_date(r.run_date)
            ),
            // The webhook knows the click's `action_ts` and uses [`slack_dedup_id`] directly; this fallback
            // keys on what the message carries.
            Payload::SlackAction(s) => {
                slack_dedup_id(&s.slack_user_id, &s.message_ts, &s.ticket_id)
            }
            Payload::Import(m) => m.command_id.clone(),
            Payload::AdminExtend(m) => m.command_id.clone(),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        let mut wire = Wire {
            v: ENVELOPE_VERSION,
            kind: self.kind().as_str().to_owned(),
            enqueued_at: self.enqueued_at,
            org: self.org.clone(),
            collaborator: self.collaborator.clone(),
            member_event: None,
            review: None,
            slack_action: None,
            import: None,
            admin_extend: None,
        };
        match &self.payload {
            Payload::MemberEvent(m) => wire.member_event = Some(m.clone()),
            Payload::Review(r) => wire.review = Some(r.clone()),
            Payload::SlackAction(s) => wire.slack_action = Some(s.clone()),
            Payload::Import(m) => wire.import = Some(m.clone()),
            Payload::AdminExtend(m) => wire.admin_extend = Some(m.clone()),
        }
        // Serialising plain structs with string keys cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses a queue body, classifying what is wrong with it.
    pub fn parse(body: &str) -> Result<Self, EnvelopeError> {
        let value: Value = serde_json::from_str(body).map_err(|_| EnvelopeError::NotJson)?;
        let malformed = |reason: &str| EnvelopeError::Malformed {
            reason: reason.to_owned(),
        };
        let obj = value
            .as_object()
            .ok_or_else(|| malformed("not an object"))?;
        let version = obj
            .get("v")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("v missing"))?;
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion { version });
        }
        let kind_name = obj
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("kind missing"))?;
        let kind = Kind::from_wire(kind_name).ok_or_else(|| EnvelopeError::UnknownKind {
            kind: kind_name.chars().take(40).collect(),
        })?;
        let wire: Wire = serde_json::from_value(value).map_err(|e| EnvelopeError::Malformed {
            // serde's message names the field and the expected type, never the value.
            reason: format!(
                "line {} column {}: {}",
                e.line(),
                e.column(),
                classify_serde(&e)
            ),
        })?;
        let missing = || malformed(&format!("{} object missing", kind.as_str()));
        let payload = match kind {
            Kind::MemberEvent => Payload::MemberEvent(wire.member_event.ok_or_else(missing)?),
            Kind::Review => Payload::Review(wire.review.ok_or_else(missing)?),
            Kind::SlackAction => Payload::SlackAction(wire.slack_action.ok_or_else(missing)?),
            Kind::Import => Payload::Import(wire.import.ok_or_else(missing)?),
            Kind::AdminExtend => Payload::AdminExtend(wire.admin_extend.ok_or_else(missing)?),
        };
        Ok(Self {
            enqueued_at: wire.enqueued_at,
            org: wire.org,
            collaborator: wire.collaborator,
            payload,
        })
    }
}

fn classify_serde(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // Messages look like "missing field `org`" or "invalid type: string \"x\", expected u64"; keep the part
    // before any quoted value.
    text.split('"')
        .next()
        .unwrap_or("invalid")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Envelope {
        Envelope::member_event(
            DateTime::parse_from_rfc3339("2026-05-12T14:03:11Z")
                .unwrap()
                .with_timezone(&Utc),
            OrgRef {
                id: 38_302_899,
                login: "acme".into(),
            },
            AccountRef {
                id: 39_652_351,
                login: "octocat".into(),
            },
            MemberEventMsg {
                delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                event: "member".into(),
                action: MemberAction::Added,
                installation_id: Some(14_988_838),
                repository: RepositoryRef {
                    id: 186_853_002,
                    full_name: "acme/widgets".into(),
                    private: Some(true),
                },
                sender: Some(SenderRef {
                    id: 39_652_351,
                    login: "octocat".into(),
                    kind: Some("User".into()),
                }),
                permission: Some("write".into()),
                role_name: Some("maintain".into()),
                previous_permission: None,
                member_email: None,
            },
        )
    }

    #[test]
    fn a_member_event_serialises_to_the_spec_example() {
        let json: Value = serde_json::from_str(&sample().to_json()).unwrap();
        let expected: Value = serde_json::from_str(
            r#"{"v":1,"kind":"member_event","enqueued_at":"2026-05-12T14:03:11Z",
            "org":{"id":38302899,"login":"acme"},"collaborator":{"id":39652351,"login":"octocat"},
            "member_event":{"delivery_id":"72d3162e-cc78-11e3-81ab-4c9367dc0958","event":"member","action":"added",
            "installation_id":14988838,"repository":{"id":186853002,"full_name":"acme/widgets","private":true},
            "sender":{"id":39652351,"login":"octocat","type":"User"},"permission":"write","role_name":"maintain",
            "previous_permission":null}}"#,
        )
        .unwrap();
        assert_eq!(json, expected);
    }

    #[test]
    fn an_envelope_round_trips() {
        let env = sample();
        assert_eq!(Envelope::parse(&env.to_json()).unwrap(), env);
        assert_eq!(env.group_id(), "gh-38302899-39652351");
        assert_eq!(env.dedup_id(), "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    }

    #[test]
    fn a_body_that_is_not_json_is_a_permanent_failure() {
        let err = Envelope::parse("hello").unwrap_err();
        assert_eq!(err, EnvelopeError::NotJson);
        assert!(!err.is_retryable());
    }

    #[test]
    fn unknown_versions_and_kinds_are_retryable() {
        let mut v: Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["v"] = 2.into();
        let err = Envelope::parse(&v.to_string()).unwrap_err();
        assert_eq!(err, EnvelopeError::UnsupportedVersion { version: 2 });
        assert!(err.is_retryable());
        v["v"] = 1.into();
        v["kind"] = "transfer".into();
        let err = Envelope::parse(&v.to_string()).unwrap_err();
        assert!(matches!(err, EnvelopeError::UnknownKind { .. }));
        assert!(err.is_retryable());
    }

    #[test]
    fn a_json_body_missing_required_fields_is_permanent_and_does_not_echo_values() {
        let mut v: Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["org"]["id"] = "secret-looking-value".into();
        let err = Envelope::parse(&v.to_string()).unwrap_err();
        assert!(!err.is_retryable());
        assert!(!err.to_string().contains("secret-looking-value"), "{err}");
        let mut v: Value = serde_json::from_str(&sample().to_json()).unwrap();
        v.as_object_mut().unwrap().remove("member_event");
        assert!(matches!(
            Envelope::parse(&v.to_string()).unwrap_err(),
            EnvelopeError::Malformed { .. }
        ));
    }

    #[test]
    fn review_and_slack_action_kinds_are_carried() {
        let mut env = sample();
        env.payload = Payload::Review(ReviewMsg {
            ticket_id: "62c000000000000000000042".into(),
            run_date: NaiveDate::from_ymd_opt(2027, 4, 21).unwrap(),
            last_activity: None,
            activity_source: Some("audit_log".into()),
        });
        assert_eq!(Envelope::parse(&env.to_json()).unwrap(), env);
        assert_eq!(env.dedup_id(), "review-62c000000000000000000042-2027-04-21");
        env.payload = Payload::SlackAction(SlackActionMsg {
            action: "extend".into(),
            ticket_id: "t".into(),
            expected_expiry: NaiveDate::from_ymd_opt(2027, 5, 12).unwrap(),
            slack_user_id: "U1".into(),
            slack_user_name: None,
            channel_id: "C1".into(),
            message_ts: "1.2".into(),
            response_url: "https://hooks.slack.com/actions/secret".into(),
        });
        assert_eq!(Envelope::parse(&env.to_json()).unwrap(), env);
        assert!(env.dedup_id().len() <= 64);
        assert!(!format!("{env:?}").contains("hooks.slack.com"));
    }

    #[test]
    fn import_and_admin_extend_kinds_are_carried_and_keyed_by_their_command_id() {
        let mut env = sample();
        let id = command_dedup_id("import", 38_302_899, 39_652_351, "--from-github");
        assert!(id.starts_with("import-38302899-39652351-"));
        assert_eq!(id.len(), "import-38302899-39652351-".len() + 16);
        assert_eq!(
            id,
            command_dedup_id("import", 38_302_899, 39_652_351, "--from-github")
        );
        assert_ne!(
            id,
            command_dedup_id("import", 38_302_899, 39_652_351, "--csv a.csv")
        );
        env.payload = Payload::Import(ImportMsg {
            command_id: id.clone(),
            source: ImportSource::Csv,
            repositories: vec![ImportRepo {
                full_name: "acme/widgets".into(),
                permission: "write".into(),
            }],
            added_by: Some("alice".into()),
            added_at: NaiveDate::from_ymd_opt(2026, 1, 5),
            expires_on: None,
        });
        let json: Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(json["kind"], "import");
        assert_eq!(json["import"]["source"], "csv");
        assert_eq!(Envelope::parse(&env.to_json()).unwrap(), env);
        assert_eq!(env.dedup_id(), id);
        env.payload = Payload::AdminExtend(AdminExtendMsg {
            command_id: "extend-1-2-0123456789abcdef".into(),
            until: NaiveDate::from_ymd_opt(2027, 9, 1).unwrap(),
            reason: Some("contract renewed".into()),
            operator: "it-admin".into(),
        });
        assert_eq!(Envelope::parse(&env.to_json()).unwrap(), env);
        assert_eq!(env.kind(), Kind::AdminExtend);
        assert_eq!(env.dedup_id(), "extend-1-2-0123456789abcdef");
    }

    #[test]
    fn the_shown_permission_prefers_the_role_name() {
        let Payload::MemberEvent(mut m) = sample().payload else {
            unreachable!()
        };
        assert_eq!(m.shown_permission(), "maintain");
        m.role_name = None;
        assert_eq!(m.shown_permission(), "write");
        m.permission = None;
        assert_eq!(m.shown_permission(), "unknown");
        assert_eq!(m.shown_previous_permission(), "unknown");
    }
}
