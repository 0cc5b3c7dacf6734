//! Hand-written, tolerant models of the Spoke objects the services use (crate README, "Endpoints" and "Decoding").
//!
//! Response models ignore unknown fields, treat every field but the object id as optional, read the id from
//! `id` else `_id`, keep unknown enum values, and keep timestamps as strings. Write bodies (`NewRequest`,
//! `RequestPatch`, `TeamPatch`, `NewMessage`) use the documented names exactly and omit unset fields.

use serde::{Deserialize, Serialize};

use crate::lenient::{
    id_type, lenient_vec, object_id, opt_bool, opt_count, opt_object, opt_ref, opt_text, ref_vec,
    string_enum,
};

id_type!(
    /// A Spoke user id (24 hex characters).
    UserId
);
id_type!(
    /// A Spoke team id (24 hex characters).
    TeamId
);
id_type!(
    /// A Spoke request (ticket) id (24 hex characters).
    RequestId
);
id_type!(
    /// A Spoke tag id (24 hex characters).
    TagId
);
id_type!(
    /// A Spoke request type id (24 hex characters).
    RequestTypeId
);
id_type!(
    /// A form field id (a UUID).
    FieldId
);

string_enum!(
    /// Request status; `PENDING` and `LOCKED` appear in real traffic although the description omits them.
    RequestStatus {
        /// `OPEN`
        Open = "OPEN",
        /// `PENDING`
        Pending = "PENDING",
        /// `LOCKED`
        Locked = "LOCKED",
        /// `RESOLVED`
        Resolved = "RESOLVED",
        /// `AUTO_RESOLVED`
        AutoResolved = "AUTO_RESOLVED",
    }
);

impl RequestStatus {
    /// All five documented statuses, as "find existing ticket" searches send them.
    pub fn all() -> Vec<RequestStatus> {
        vec![
            Self::Open,
            Self::Pending,
            Self::Locked,
            Self::Resolved,
            Self::AutoResolved,
        ]
    }
}

string_enum!(
    /// Team delegation strategy.
    DelegationStrategy {
        /// `SPECIFIC_USER`: every new request goes to `specificUser`.
        SpecificUser = "SPECIFIC_USER",
        /// `ROUND_ROBIN`
        RoundRobin = "ROUND_ROBIN",
        /// `SMART_ASSIGNMENT`
        SmartAssignment = "SMART_ASSIGNMENT",
    }
);

string_enum!(
    /// Availability of a team agent.
    AgentStatus {
        /// `AVAILABLE`
        Available = "AVAILABLE",
        /// `AWAY`
        Away = "AWAY",
    }
);

string_enum!(
    /// Role of an agent within a team.
    TeamRole {
        /// `AGENT`
        Agent = "AGENT",
        /// `TEAM_ADMIN`
        TeamAdmin = "TEAM_ADMIN",
    }
);

string_enum!(
    /// Request privacy.
    PrivacyLevel {
        /// `private`
        Private = "private",
        /// `public`
        Public = "public",
    }
);

string_enum!(
    /// Who posted an update.
    ActorKind {
        /// `User`
        User = "User",
        /// `Team`
        Team = "Team",
    }
);

string_enum!(
    /// Form field type.
    FieldType {
        /// `TEXT`
        Text = "TEXT",
        /// `SELECT`
        Select = "SELECT",
    }
);

string_enum!(
    /// User status filter of `GET /users`.
    UserStatus {
        /// `ACTIVE`
        Active = "ACTIVE",
        /// `INVITED`
        Invited = "INVITED",
    }
);

string_enum!(
    /// The `filter` of `GET /requests` (semantics undocumented upstream; omitted unless configured).
    RequestFilter {
        /// `inbox` (server default)
        Inbox = "inbox",
        /// `unassigned`
        Unassigned = "unassigned",
        /// `sent`
        Sent = "sent",
    }
);

string_enum!(
    /// The `sort` of `GET /requests`.
    RequestSort {
        /// `updated` (server default)
        Updated = "updated",
        /// `updatedFirst`
        UpdatedFirst = "updatedFirst",
        /// `createdLast`
        CreatedLast = "createdLast",
        /// `createdFirst`
        CreatedFirst = "createdFirst",
        /// `slaAscending`
        SlaAscending = "slaAscending",
    }
);

/// E1 `GET /whoami`: the API key's user.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// The org slug.
    #[serde(default, deserialize_with = "opt_text")]
    pub org: Option<String>,
    /// The API user's id; the collaborator services use it as `actor.ref` (E12).
    #[serde(deserialize_with = "required_user")]
    pub user: UserId,
    /// Display name of the API user.
    #[serde(default, deserialize_with = "opt_text")]
    pub display_name: Option<String>,
    /// Org role (`MEMBER`, `ADMIN`, …).
    #[serde(default, deserialize_with = "opt_text")]
    pub role: Option<String>,
    /// User status.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
}

fn required_user<'de, D: serde::Deserializer<'de>>(d: D) -> Result<UserId, D::Error> {
    opt_ref::<D, UserId>(d)?.ok_or_else(|| serde::de::Error::custom("whoami without `user`"))
}

/// A user's membership of an org; Spoke sends objects, the description says strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Membership {
    /// The raw string when the membership came as a string.
    pub raw: Option<String>,
    /// Org slug.
    pub org: Option<String>,
    /// Membership status (`ACTIVE`, `INVITED`, …).
    pub status: Option<String>,
    /// Org role.
    pub role: Option<String>,
}

impl<'de> Deserialize<'de> for Membership {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Detail {
            #[serde(default, deserialize_with = "opt_text")]
            org: Option<String>,
            #[serde(default, deserialize_with = "opt_text")]
            status: Option<String>,
            #[serde(default, deserialize_with = "opt_text")]
            role: Option<String>,
        }
        let value = serde_json::Value::deserialize(d)?;
        Ok(match value {
            serde_json::Value::Object(_) => {
                let detail: Detail =
                    serde_json::from_value(value).map_err(serde::de::Error::custom)?;
                Self {
                    raw: None,
                    org: detail.org,
                    status: detail.status,
                    role: detail.role,
                }
            }
            serde_json::Value::String(raw) => Self {
                raw: Some(raw),
                ..Self::default()
            },
            other => Self {
                raw: Some(other.to_string()),
                ..Self::default()
            },
        })
    }
}

/// A Spoke user (E2, E3, E4; also the agents of a team).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user id (`id`, else `_id`).
    #[serde(flatten, deserialize_with = "object_id")]
    pub id: UserId,
    /// Display name.
    #[serde(default, deserialize_with = "opt_text")]
    pub display_name: Option<String>,
    /// E-mail address; compare case-insensitively.
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    /// Top-level status (documented, absent live; see `memberships`).
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// Org memberships, as strings or objects.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub memberships: Vec<Membership>,
    /// The profile object, kept as raw JSON.
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
    /// Creation time (ISO-8601 text).
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
}

impl User {
    /// A user known only by id (an agent entry that carried a bare id).
    pub fn with_id(id: UserId) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    /// True when the e-mail matches `address` case-insensitively (after trimming).
    pub fn has_email(&self, address: &str) -> bool {
        self.email
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(address.trim()))
    }

    /// The status: the top-level one, else the first membership's.
    pub fn effective_status(&self) -> Option<&str> {
        self.status
            .as_deref()
            .or_else(|| self.memberships.iter().find_map(|m| m.status.as_deref()))
    }
}

/// An agent entry of `Team.agentList`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamAgent {
    /// The agent user (an object, or a bare id in some responses).
    #[serde(default, deserialize_with = "agent_user")]
    pub user: Option<User>,
    /// `AVAILABLE` or `AWAY`.
    #[serde(default)]
    pub status: Option<AgentStatus>,
    /// `AGENT` or `TEAM_ADMIN`.
    #[serde(default)]
    pub team_role: Option<TeamRole>,
    /// When the agent joined (ISO-8601 text).
    #[serde(default, deserialize_with = "opt_text")]
    pub joined_at: Option<String>,
    /// When the agent was last assigned a request.
    #[serde(default, deserialize_with = "opt_text")]
    pub last_assigned_at: Option<String>,
}

impl TeamAgent {
    /// The agent's user id, when known.
    pub fn user_id(&self) -> Option<&UserId> {
        self.user.as_ref().map(|u| &u.id)
    }
}

fn agent_user<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<User>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        Some(serde_json::Value::String(id)) if !id.trim().is_empty() => {
            Some(User::with_id(UserId::new(id.trim())))
        }
        Some(value @ serde_json::Value::Object(_)) => serde_json::from_value(value).ok(),
        _ => None,
    })
}

/// `settings.delegation` of a team.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delegation {
    /// The strategy; may gain values.
    #[serde(default)]
    pub strategy: Option<DelegationStrategy>,
    /// The assignee under `SPECIFIC_USER`; absent under `ROUND_ROBIN`.
    #[serde(default, deserialize_with = "opt_ref")]
    pub specific_user: Option<UserId>,
    /// Users skipped by `ROUND_ROBIN`.
    #[serde(default, deserialize_with = "ref_vec")]
    pub excluded_users: Vec<UserId>,
}

/// `settings.flags` of a team.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct TeamFlags {
    /// The "auto-assign" switch; delegation happens only when it is on.
    #[serde(default, rename = "AUTO_DELEGATION", deserialize_with = "opt_bool")]
    pub auto_delegation: Option<bool>,
    /// Automatic privacy.
    #[serde(default, rename = "AUTO_PRIVACY", deserialize_with = "opt_bool")]
    pub auto_privacy: Option<bool>,
}

/// A team's settings.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TeamSettings {
    /// Delegation settings.
    #[serde(default, deserialize_with = "opt_object")]
    pub delegation: Option<Delegation>,
    /// Flags.
    #[serde(default, deserialize_with = "opt_object")]
    pub flags: Option<TeamFlags>,
}

/// A Spoke team (E5, E6, E7).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    /// The team id.
    #[serde(flatten, deserialize_with = "object_id")]
    pub id: TeamId,
    /// Display name; compare case-insensitively after trimming.
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    /// URL slug.
    #[serde(default, deserialize_with = "opt_text")]
    pub slug: Option<String>,
    /// `ACTIVE` or `CLOSED`, kept as text.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// Org slug.
    #[serde(default, deserialize_with = "opt_text")]
    pub org: Option<String>,
    /// Team page.
    #[serde(default, deserialize_with = "opt_text")]
    pub permalink: Option<String>,
    /// Owner user id.
    #[serde(default, deserialize_with = "opt_ref")]
    pub owner: Option<UserId>,
    /// Settings (delegation, flags).
    #[serde(default, deserialize_with = "opt_object")]
    pub settings: Option<TeamSettings>,
    /// Agents.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub agent_list: Vec<TeamAgent>,
    /// Last update (ISO-8601 text).
    #[serde(default, deserialize_with = "opt_text")]
    pub updated_at: Option<String>,
}

impl Team {
    /// The delegation settings, when present.
    pub fn delegation(&self) -> Option<&Delegation> {
        self.settings.as_ref()?.delegation.as_ref()
    }

    /// The `AUTO_DELEGATION` flag, when present.
    pub fn auto_delegation(&self) -> Option<bool> {
        self.settings.as_ref()?.flags.as_ref()?.auto_delegation
    }

    /// True when `user` is one of the team's agents.
    pub fn has_agent(&self, user: &UserId) -> bool {
        self.agent(user).is_some()
    }

    /// The agent entry of `user`.
    pub fn agent(&self, user: &UserId) -> Option<&TeamAgent> {
        self.agent_list.iter().find(|a| a.user_id() == Some(user))
    }

    /// True when the name matches case-insensitively after trimming.
    pub fn has_name(&self, name: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
    }
}

/// The `field` of an answered field in a response.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnsweredFieldDef {
    /// The form field id.
    #[serde(default, deserialize_with = "opt_ref")]
    pub uuid: Option<FieldId>,
    /// Field type.
    #[serde(default, rename = "type")]
    pub field_type: Option<FieldType>,
    /// Field label.
    #[serde(default, deserialize_with = "opt_text")]
    pub label: Option<String>,
}

/// One answer of a request's form, in the response shape (`simpleValue` plus `field.uuid`, not the
/// `fieldId`/`value` that is sent; README, E10).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnsweredField {
    /// The answer item's own uuid; **not** the field id.
    #[serde(default, deserialize_with = "opt_text")]
    pub uuid: Option<String>,
    /// The answer.
    #[serde(default, deserialize_with = "opt_text")]
    pub simple_value: Option<String>,
    /// The form field answered.
    #[serde(default, deserialize_with = "opt_object")]
    pub field: Option<AnsweredFieldDef>,
    /// Who answered (an id or a user object upstream).
    #[serde(default, deserialize_with = "opt_ref")]
    pub owner: Option<UserId>,
    /// The request-shape field id, in case a server echoes what was sent.
    #[serde(default, deserialize_with = "opt_ref")]
    pub field_id: Option<FieldId>,
    /// The request-shape value, in case a server echoes what was sent.
    #[serde(default, deserialize_with = "opt_text")]
    pub value: Option<String>,
}

impl AnsweredField {
    /// The form field id this answer belongs to.
    pub fn field_id(&self) -> Option<&FieldId> {
        self.field
            .as_ref()
            .and_then(|f| f.uuid.as_ref())
            .or(self.field_id.as_ref())
    }

    /// The answer text.
    pub fn answer(&self) -> Option<&str> {
        self.simple_value.as_deref().or(self.value.as_deref())
    }

    /// The field label, when the response carries it.
    pub fn label(&self) -> Option<&str> {
        self.field.as_ref()?.label.as_deref()
    }
}

/// `requestTypeInfo` of a request in a response.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnsweredInfo {
    /// The answers.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub answered_fields: Vec<AnsweredField>,
}

/// A Spoke request, i.e. a ticket (E8–E11).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The request id.
    #[serde(flatten, deserialize_with = "object_id")]
    pub id: RequestId,
    /// Subject line.
    #[serde(default, deserialize_with = "opt_text")]
    pub subject: Option<String>,
    /// Body text.
    #[serde(default, deserialize_with = "opt_text")]
    pub body: Option<String>,
    /// Status; unknown values are kept.
    #[serde(default)]
    pub status: Option<RequestStatus>,
    /// Privacy.
    #[serde(default)]
    pub privacy_level: Option<PrivacyLevel>,
    /// Requester user id.
    #[serde(default, deserialize_with = "opt_ref")]
    pub requester: Option<UserId>,
    /// Owner (assignee) user id; absent when unassigned.
    #[serde(default, deserialize_with = "opt_ref")]
    pub owner: Option<UserId>,
    /// Team id.
    #[serde(default, deserialize_with = "opt_ref")]
    pub team: Option<TeamId>,
    /// Request type id (a string or an object upstream).
    #[serde(default, deserialize_with = "opt_ref")]
    pub request_type: Option<RequestTypeId>,
    /// Org slug.
    #[serde(default, deserialize_with = "opt_text")]
    pub org: Option<String>,
    /// Tag ids.
    #[serde(default, deserialize_with = "ref_vec")]
    pub tags: Vec<TagId>,
    /// Request page.
    #[serde(default, deserialize_with = "opt_text")]
    pub permalink: Option<String>,
    /// The request's e-mail address.
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    /// Creation time (ISO-8601 text).
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    /// Last update (ISO-8601 text).
    #[serde(default, deserialize_with = "opt_text")]
    pub updated_at: Option<String>,
    /// Last resolution (ISO-8601 text).
    #[serde(default, deserialize_with = "opt_text")]
    pub last_resolved_at: Option<String>,
    /// Form answers.
    #[serde(default, deserialize_with = "opt_object")]
    pub request_type_info: Option<AnsweredInfo>,
}

impl Request {
    /// The answer given for form field `field`.
    pub fn answer(&self, field: &FieldId) -> Option<&str> {
        self.answers()
            .find(|a| a.field_id() == Some(field))
            .and_then(AnsweredField::answer)
    }

    /// The answer whose field label matches `label` case-insensitively.
    pub fn answer_by_label(&self, label: &str) -> Option<&str> {
        self.answers()
            .find(|a| {
                a.label()
                    .is_some_and(|l| l.trim().eq_ignore_ascii_case(label.trim()))
            })
            .and_then(AnsweredField::answer)
    }

    /// All answers.
    pub fn answers(&self) -> impl Iterator<Item = &AnsweredField> {
        self.request_type_info
            .iter()
            .flat_map(|info| info.answered_fields.iter())
    }

    /// True when the request carries tag `tag`.
    pub fn has_tag(&self, tag: &TagId) -> bool {
        self.tags.contains(tag)
    }
}

/// Choices of a `SELECT` field.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SelectChoices {
    /// The choices.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub choices: Vec<String>,
}

/// A field of a request type's form.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct FormField {
    /// The field id (UUID).
    #[serde(default, deserialize_with = "opt_ref")]
    pub uuid: Option<FieldId>,
    /// `TEXT` or `SELECT`.
    #[serde(default, rename = "type")]
    pub field_type: Option<FieldType>,
    /// Label shown to users.
    #[serde(default, deserialize_with = "opt_text")]
    pub label: Option<String>,
    /// Choices of a `SELECT` field.
    #[serde(default, deserialize_with = "opt_object")]
    pub select: Option<SelectChoices>,
}

/// A request type's form.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Form {
    /// Fields in display order.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub fields: Vec<FormField>,
}

/// A request type (E15, E16).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestType {
    /// The request type id.
    #[serde(flatten, deserialize_with = "object_id")]
    pub id: RequestTypeId,
    /// Title.
    #[serde(default, deserialize_with = "opt_text")]
    pub title: Option<String>,
    /// Owning team.
    #[serde(default, deserialize_with = "opt_ref")]
    pub team: Option<TeamId>,
    /// `ACTIVE` or `TOMBSTONE`, kept as text.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// Description.
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
    /// The form.
    #[serde(default, deserialize_with = "opt_object")]
    pub form: Option<Form>,
}

impl RequestType {
    /// The form field whose label matches `label` exactly but case-insensitively (after trimming).
    pub fn field_by_label(&self, label: &str) -> Option<&FormField> {
        self.form.as_ref()?.fields.iter().find(|f| {
            f.label
                .as_deref()
                .is_some_and(|l| l.trim().eq_ignore_ascii_case(label.trim()))
        })
    }
}

/// A request tag (E17).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Tag {
    /// The tag id.
    #[serde(flatten, deserialize_with = "object_id")]
    pub id: TagId,
    /// The label.
    #[serde(default, deserialize_with = "opt_text")]
    pub text: Option<String>,
    /// Colour.
    #[serde(default, deserialize_with = "opt_text")]
    pub color: Option<String>,
    /// `ACTIVE` or `TOMBSTONE`, kept as text.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
}

/// The actor of an update (response shape; `kind` may be `null`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Actor {
    /// `User`, `Team`, or unset.
    #[serde(default)]
    pub kind: Option<ActorKind>,
    /// The user or team id.
    #[serde(default, rename = "ref", deserialize_with = "opt_text")]
    pub reference: Option<String>,
}

/// The text of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageText {
    /// Plain text; the only supported content.
    #[serde(default, deserialize_with = "opt_text")]
    pub text: Option<String>,
}

/// The content of an update.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageContent {
    /// The message.
    #[serde(default, deserialize_with = "opt_object")]
    pub message: Option<MessageText>,
}

/// The answer of E12: the posted update.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Update {
    /// Who posted it.
    #[serde(default, deserialize_with = "opt_object")]
    pub actor: Option<Actor>,
    /// What was posted.
    #[serde(default, deserialize_with = "opt_object")]
    pub content: Option<MessageContent>,
}

impl Update {
    /// The message text.
    pub fn text(&self) -> Option<&str> {
        self.content.as_ref()?.message.as_ref()?.text.as_deref()
    }
}

/// One page of a list endpoint: `{results, total, start, limit}`, any number possibly missing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page<T> {
    /// The decoded items (items without an id are skipped and logged).
    pub results: Vec<T>,
    /// How many items the server sent, including skipped ones; the next `start` advances by this.
    pub received: u64,
    /// `total`, when present.
    pub total: Option<u64>,
    /// `start`, when present.
    pub start: Option<u64>,
    /// The effective `limit`, when present (`/tags` sends `count`, the number returned, instead).
    pub limit: Option<u64>,
}

/// The raw list envelope.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Envelope {
    #[serde(default)]
    pub(crate) results: Option<Vec<serde_json::Value>>,
    #[serde(default, deserialize_with = "opt_count")]
    pub(crate) total: Option<u64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub(crate) start: Option<u64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub(crate) limit: Option<u64>,
}

/// Objects that carry an id; used for de-duplication across pages.
pub trait Identified {
    /// The id as text.
    fn id_str(&self) -> &str;
}

macro_rules! identified {
    ($($t:ty),+) => {$(
        impl Identified for $t {
            fn id_str(&self) -> &str {
                self.id.as_str()
            }
        }
    )+};
}
identified!(User, Team, Request, RequestType, Tag);

// ---------------------------------------------------------------- write bodies

/// One answer in the request shape: `fieldId` + string `value` (dates as `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The form field id.
    pub field_id: FieldId,
    /// The answer.
    pub value: String,
}

/// `requestTypeInfo` in the request shape.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerSet {
    /// The answers.
    pub answered_fields: Vec<Answer>,
}

/// E9 body (AddRequest). `subject` and `requester` are required; a non-admin key may only name itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRequest {
    /// Subject line.
    pub subject: String,
    /// Longer description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Requester (the API user for non-admin keys).
    pub requester: UserId,
    /// Assignee; left out means "delegate by the team's settings".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// Team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// Privacy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    /// Request type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<RequestTypeId>,
    /// Form answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type_info: Option<AnswerSet>,
}

impl NewRequest {
    /// A request with a subject, filed by `requester`.
    pub fn new(subject: impl Into<String>, requester: UserId) -> Self {
        Self {
            subject: subject.into(),
            requester,
            ..Self::default()
        }
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the owner.
    pub fn owner(mut self, owner: UserId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Sets the team.
    pub fn team(mut self, team: TeamId) -> Self {
        self.team = Some(team);
        self
    }

    /// Sets the privacy level.
    pub fn privacy(mut self, level: PrivacyLevel) -> Self {
        self.privacy_level = Some(level);
        self
    }

    /// Sets the request type.
    pub fn request_type(mut self, request_type: RequestTypeId) -> Self {
        self.request_type = Some(request_type);
        self
    }

    /// Adds an answer.
    pub fn answer(mut self, field: FieldId, value: impl Into<String>) -> Self {
        self.request_type_info
            .get_or_insert_with(AnswerSet::default)
            .answered_fields
            .push(Answer {
                field_id: field,
                value: value.into(),
            });
        self
    }
}

/// E11 body; every field optional, unset fields are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPatch {
    /// New status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestStatus>,
    /// New owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// New subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// New team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// New privacy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    /// Answers to set (merged by field id upstream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type_info: Option<AnswerSet>,
}

impl RequestPatch {
    /// A patch that only changes the status.
    pub fn status(status: RequestStatus) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Adds an answer to set.
    pub fn answer(mut self, field: FieldId, value: impl Into<String>) -> Self {
        self.request_type_info
            .get_or_insert_with(AnswerSet::default)
            .answered_fields
            .push(Answer {
                field_id: field,
                value: value.into(),
            });
        self
    }
}

/// `settings.delegation` in an E7 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DelegationPatch {
    /// The strategy.
    pub strategy: DelegationStrategy,
    /// The assignee; only for `SPECIFIC_USER`. Spelt `specificUser` on the wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specific_user: Option<UserId>,
    /// Excluded users; only for `ROUND_ROBIN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_users: Option<Vec<UserId>>,
}

/// `settings.flags` in an E7 body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FlagsPatch {
    /// `AUTO_DELEGATION`.
    #[serde(rename = "AUTO_DELEGATION", skip_serializing_if = "Option::is_none")]
    pub auto_delegation: Option<bool>,
}

/// `settings` in an E7 body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TeamSettingsPatch {
    /// Delegation change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegation: Option<DelegationPatch>,
    /// Flag changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<FlagsPatch>,
}

/// E7 body: `{"settings": {...}}` with only the keys to change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TeamPatch {
    /// The settings to change.
    pub settings: TeamSettingsPatch,
}

impl TeamPatch {
    /// `{"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": <user>}}}` — the on-call
    /// assignment.
    pub fn assign_specific_user(user: UserId) -> Self {
        Self {
            settings: TeamSettingsPatch {
                delegation: Some(DelegationPatch {
                    strategy: DelegationStrategy::SpecificUser,
                    specific_user: Some(user),
                    excluded_users: None,
                }),
                flags: None,
            },
        }
    }
}

/// The actor of an E12 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorRef {
    /// `User` or `Team`.
    pub kind: ActorKind,
    /// For `User`, the API user's id (from E1).
    #[serde(rename = "ref")]
    pub reference: String,
}

/// E12 body: a plain-text message on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMessage {
    /// Who posts.
    pub actor: ActorRef,
    /// What is posted.
    pub content: MessageContent,
}

impl NewMessage {
    /// A message posted as user `actor` (must be the API user, from [`WhoAmI::user`]).
    pub fn from_user(actor: &UserId, text: impl Into<String>) -> Self {
        Self {
            actor: ActorRef {
                kind: ActorKind::User,
                reference: actor.as_str().to_owned(),
            },
            content: MessageContent {
                message: Some(MessageText {
                    text: Some(text.into()),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_from_id_else_underscore_id() {
        let u: User = serde_json::from_value(json!({"_id": "a1"})).unwrap();
        assert_eq!(u.id.as_str(), "a1");
        let u: User = serde_json::from_value(json!({"_id": "a1", "id": "b2"})).unwrap();
        assert_eq!(u.id.as_str(), "b2");
        let u: User = serde_json::from_value(json!({"id": "", "_id": "c3"})).unwrap();
        assert_eq!(u.id.as_str(), "c3");
        assert!(serde_json::from_value::<User>(json!({"email": "x@example.com"})).is_err());
    }

    #[test]
    fn unknown_enum_values_are_kept_verbatim() {
        let r: Request =
            serde_json::from_value(json!({"id": "r", "status": "ARCHIVED", "privacyLevel": 3}))
                .unwrap();
        assert_eq!(r.status, Some(RequestStatus::Unknown("ARCHIVED".into())));
        assert_eq!(r.privacy_level, Some(PrivacyLevel::Unknown("3".into())));
        let r: Request = serde_json::from_value(json!({"id": "r", "status": "LOCKED"})).unwrap();
        assert_eq!(r.status, Some(RequestStatus::Locked));
    }

    #[test]
    fn empty_string_references_mean_unset_and_objects_reduce_to_ids() {
        let r: Request = serde_json::from_value(json!({
            "id": "r", "owner": "", "team": null, "requestType": {"_id": "rt1", "title": "x"},
            "tags": ["t1", {"_id": "t2"}, "", null]
        }))
        .unwrap();
        assert_eq!(r.owner, None);
        assert_eq!(r.team, None);
        assert_eq!(r.request_type, Some(RequestTypeId::new("rt1")));
        assert_eq!(r.tags, vec![TagId::new("t1"), TagId::new("t2")]);
    }

    #[test]
    fn memberships_decode_as_strings_or_objects() {
        let u: User = serde_json::from_value(json!({
            "id": "u", "memberships": ["org1", {"org": "example", "status": "ACTIVE", "role": "MEMBER"}]
        }))
        .unwrap();
        assert_eq!(u.memberships[0].raw.as_deref(), Some("org1"));
        assert_eq!(u.memberships[1].org.as_deref(), Some("example"));
        assert_eq!(u.effective_status(), Some("ACTIVE"));
    }

    #[test]
    fn agent_users_decode_as_objects_or_bare_ids() {
        let t: Team = serde_json::from_value(json!({
            "_id": "t", "agentList": [
                {"user": "u1", "status": "AWAY"},
                {"user": {"_id": "u2", "email": "b@example.com"}, "teamRole": "OWNER"}
            ],
            "settings": {"delegation": {"strategy": "ROUND_ROBIN"}, "flags": {"AUTO_DELEGATION": "true"}}
        }))
        .unwrap();
        assert!(t.has_agent(&UserId::new("u1")));
        assert!(t.has_agent(&UserId::new("u2")));
        assert_eq!(
            t.agent_list[1].team_role,
            Some(TeamRole::Unknown("OWNER".into()))
        );
        assert_eq!(t.delegation().unwrap().specific_user, None);
        assert_eq!(t.auto_delegation(), Some(true));
    }

    #[test]
    fn answers_are_read_from_the_response_shape() {
        let r: Request = serde_json::from_value(json!({
            "id": "r",
            "requestTypeInfo": {"answeredFields": [
                {"uuid": "item-1", "simpleValue": "2026-08-22",
                 "field": {"uuid": "f-exp", "type": "TEXT", "label": "Expiration date"},
                 "owner": {"_id": "u1", "displayName": "x"}}
            ]}
        }))
        .unwrap();
        assert_eq!(r.answer(&FieldId::new("f-exp")), Some("2026-08-22"));
        assert_eq!(r.answer(&FieldId::new("item-1")), None);
        assert_eq!(r.answer_by_label("expiration DATE"), Some("2026-08-22"));
    }

    #[test]
    fn write_bodies_use_the_documented_names_and_omit_unset_fields() {
        let patch = TeamPatch::assign_specific_user(UserId::new("u1"));
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": "u1"}}})
        );
        let new = NewRequest::new("s", UserId::new("me")).answer(FieldId::new("f"), "v");
        assert_eq!(
            serde_json::to_value(&new).unwrap(),
            json!({"subject": "s", "requester": "me",
                   "requestTypeInfo": {"answeredFields": [{"fieldId": "f", "value": "v"}]}})
        );
        let msg = NewMessage::from_user(&UserId::new("me"), "hi");
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"actor": {"kind": "User", "ref": "me"}, "content": {"message": {"text": "hi"}}})
        );
        assert_eq!(
            serde_json::to_value(RequestPatch::status(RequestStatus::Resolved)).unwrap(),
            json!({"status": "RESOLVED"})
        );
    }
}
