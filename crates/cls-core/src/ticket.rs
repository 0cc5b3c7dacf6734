//! The ticket codec: the eight answered fields of the "Collaborator Access" request type (crate README, "The
//! ticket") and the `cls_state` JSON kept in one of them.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::dates::{format_date, parse_date};

/// Longest `cls_state` text written; the oldest deliveries are dropped first to stay below it.
pub const MAX_STATE_CHARS: usize = 2000;
/// How many applied delivery / command ids the state remembers (the oldest are dropped first).
pub const MAX_DELIVERIES: usize = 25;
/// The value of `collaborator_email` when no address is known.
pub const NO_EMAIL: &str = "n/a";
/// The value of `added_by` when the adder could not be resolved.
pub const UNKNOWN_ADDER: &str = "unknown";

/// The answered fields CLS writes, by their configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldKey {
    /// `expires_on`: Access expiration date.
    ExpiresOn,
    /// `github_login`: Collaborator GitHub username.
    GithubLogin,
    /// `github_user_id`: Collaborator GitHub user id (the matching key).
    GithubUserId,
    /// `github_org`: GitHub organisation.
    GithubOrg,
    /// `collaborator_email`: Collaborator email.
    CollaboratorEmail,
    /// `repositories`: Repositories and permissions.
    Repositories,
    /// `added_by`: Added by.
    AddedBy,
    /// `cls_state`: CLS state (do not edit).
    ClsState,
}

impl FieldKey {
    /// Every key, in the order of the README's table.
    pub const ALL: [Self; 8] = [
        Self::ExpiresOn,
        Self::GithubLogin,
        Self::GithubUserId,
        Self::GithubOrg,
        Self::CollaboratorEmail,
        Self::Repositories,
        Self::AddedBy,
        Self::ClsState,
    ];

    /// The key as used in the Spoke secret's `fields` object.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExpiresOn => "expires_on",
            Self::GithubLogin => "github_login",
            Self::GithubUserId => "github_user_id",
            Self::GithubOrg => "github_org",
            Self::CollaboratorEmail => "collaborator_email",
            Self::Repositories => "repositories",
            Self::AddedBy => "added_by",
            Self::ClsState => "cls_state",
        }
    }
}

/// Form field UUIDs per [`FieldKey`] (the `fields` object of the Spoke secret).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldIds(pub BTreeMap<String, String>);

impl FieldIds {
    /// The UUID configured for `key`.
    pub fn get(&self, key: FieldKey) -> Option<&str> {
        self.0
            .get(key.as_str())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The first key without a configured UUID, if any.
    pub fn first_missing(&self) -> Option<FieldKey> {
        FieldKey::ALL.into_iter().find(|k| self.get(*k).is_none())
    }
}

/// Whether the collaborator currently has access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Ticket open, collaborator has access.
    #[default]
    Granted,
    /// Ticket resolved, access removed.
    Removed,
}

/// Why access was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// Removed on GitHub by a person.
    Github,
    /// Removed by CLS at expiry.
    Expired,
    /// Removed by CLS for inactivity.
    Inactive,
    /// The collaborator became an org member.
    BecameMember,
}

/// Reminders already sent for one expiry date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notified {
    /// The expiry the reminders were for.
    #[serde(rename = "for")]
    pub for_date: NaiveDate,
    /// Thresholds (days before expiry) already sent.
    #[serde(default)]
    pub days: Vec<u32>,
}

/// One extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Who extended (Slack id or operator).
    pub by: String,
    /// When.
    pub on: NaiveDate,
    /// The new expiry.
    pub to: NaiveDate,
}

/// The `cls_state` answered field (crate README, "The ticket"). Unknown keys are ignored on read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClsState {
    /// Schema version, 1.
    #[serde(default = "one")]
    pub v: u32,
    /// The collaborator's GitHub user id.
    #[serde(default)]
    pub uid: Option<u64>,
    /// Access state.
    #[serde(default)]
    pub access: Access,
    /// Why access was removed.
    #[serde(default)]
    pub reason: Option<RemovalReason>,
    /// When access was (last) granted.
    #[serde(default)]
    pub granted_on: Option<NaiveDate>,
    /// The expiry; must agree with the visible field, which wins when a human edited it.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// Reminders sent for the current expiry.
    #[serde(default)]
    pub notified: Option<Notified>,
    /// Slack ids reminders went to.
    #[serde(default)]
    pub notify_slack_ids: Vec<String>,
    /// Latest activity recorded.
    #[serde(default)]
    pub last_activity: Option<NaiveDate>,
    /// The planned removal date an inactivity warning was sent for.
    #[serde(default)]
    pub inactivity_warned_for: Option<NaiveDate>,
    /// Extensions.
    #[serde(default)]
    pub ext: Vec<Extension>,
    /// Applied delivery / command ids, oldest first, at most [`MAX_DELIVERIES`].
    #[serde(default)]
    pub deliveries: Vec<String>,
    /// When access was removed (used for the re-add alert). Omitted when
    /// unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_on: Option<NaiveDate>,
}

fn one() -> u32 {
    1
}

impl Default for ClsState {
    fn default() -> Self {
        Self {
            v: 1,
            uid: None,
            access: Access::Granted,
            reason: None,
            granted_on: None,
            expires_on: None,
            notified: None,
            notify_slack_ids: Vec::new(),
            last_activity: None,
            inactivity_warned_for: None,
            ext: Vec::new(),
            deliveries: Vec::new(),
            removed_on: None,
        }
    }
}

impl ClsState {
    /// True when `id` was already applied to this ticket.
    pub fn has_applied(&self, id: &str) -> bool {
        self.deliveries.iter().any(|d| d == id)
    }

    /// Records `id` as applied, keeping the newest [`MAX_DELIVERIES`].
    pub fn record(&mut self, id: &str) {
        if !self.has_applied(id) {
            self.deliveries.push(id.to_owned());
        }
        let excess = self.deliveries.len().saturating_sub(MAX_DELIVERIES);
        self.deliveries.drain(..excess);
    }

    /// Compact JSON below [`MAX_STATE_CHARS`], dropping the oldest deliveries first.
    pub fn encode(&self) -> String {
        let mut state = self.clone();
        loop {
            let text = serde_json::to_string(&state).unwrap_or_default();
            if text.chars().count() <= MAX_STATE_CHARS || state.deliveries.is_empty() {
                return text;
            }
            state.deliveries.remove(0);
        }
    }

    /// Parses the field; `None` when it is absent or not a state object (a legacy or hand-edited ticket).
    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_str(text.trim()).ok()
    }
}

/// One line of the `repositories` field: `acme/widgets: write (added by alice 2026-05-12)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoGrant {
    /// `owner/name`.
    pub full_name: String,
    /// The permission shown (role name when known).
    pub permission: String,
    /// Who added (login or `unknown`).
    pub added_by: String,
    /// When.
    pub added_on: Option<NaiveDate>,
}

impl RepoGrant {
    /// The line as written to the field.
    pub fn to_line(&self) -> String {
        match self.added_on {
            Some(on) => format!(
                "{}: {} (added by {} {})",
                self.full_name,
                self.permission,
                self.added_by,
                format_date(on)
            ),
            None => format!(
                "{}: {} (added by {})",
                self.full_name, self.permission, self.added_by
            ),
        }
    }

    /// Parses one line leniently: a bare `owner/name` or `owner/name: perm` is accepted too.
    pub fn parse_line(line: &str) -> Option<Self> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        let (full_name, rest) = match line.split_once(':') {
            Some((name, rest)) => (name.trim(), rest.trim()),
            None => (line, ""),
        };
        if full_name.is_empty() {
            return None;
        }
        let (permission, added) = match rest.split_once("(added by ") {
            Some((perm, added)) => (perm.trim(), added.trim_end_matches(')').trim()),
            None => (rest, ""),
        };
        let (added_by, added_on) = match added.rsplit_once(' ') {
            Some((who, date)) if parse_date(date).is_some() => (who.trim(), parse_date(date)),
            _ => (added, None),
        };
        Some(Self {
            full_name: full_name.to_owned(),
            permission: if permission.is_empty() {
                "unknown".into()
            } else {
                permission.to_owned()
            },
            added_by: if added_by.is_empty() {
                UNKNOWN_ADDER.into()
            } else {
                added_by.to_owned()
            },
            added_on,
        })
    }
}

/// The answered fields of one ticket, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketFields {
    /// Visible expiry (wins over `state.expires_on`).
    pub expires_on: Option<NaiveDate>,
    /// Current GitHub login.
    pub github_login: Option<String>,
    /// GitHub user id: the matching key.
    pub github_user_id: Option<u64>,
    /// Org login.
    pub github_org: Option<String>,
    /// E-mail, or `n/a`.
    pub collaborator_email: Option<String>,
    /// Repository grants, sorted by repository.
    pub repositories: Vec<RepoGrant>,
    /// Primary adder login, or `unknown`.
    pub added_by: Option<String>,
    /// The machine state; default for legacy tickets.
    pub state: ClsState,
    /// True when `cls_state` was present and parsed.
    pub has_state: bool,
}

impl TicketFields {
    /// Decodes from answered values keyed by form field UUID. Blank values count as absent; a visible expiry
    /// that a human edited corrects the state's copy.
    pub fn decode(answers: &HashMap<String, String>, ids: &FieldIds) -> Self {
        let get = |key: FieldKey| {
            ids.get(key)
                .and_then(|id| answers.get(id))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let state = get(FieldKey::ClsState).and_then(ClsState::decode);
        let has_state = state.is_some();
        let mut state = state.unwrap_or_default();
        let expires_on = get(FieldKey::ExpiresOn)
            .and_then(parse_date)
            .or(state.expires_on);
        state.expires_on = expires_on;
        let github_user_id = get(FieldKey::GithubUserId)
            .and_then(|v| v.parse().ok())
            .or(state.uid);
        let mut repositories: Vec<RepoGrant> = get(FieldKey::Repositories)
            .map(|text| text.lines().filter_map(RepoGrant::parse_line).collect())
            .unwrap_or_default();
        repositories.sort_by_key(|g| g.full_name.to_lowercase());
        Self {
            expires_on,
            github_login: get(FieldKey::GithubLogin).map(str::to_owned),
            github_user_id,
            github_org: get(FieldKey::GithubOrg).map(str::to_owned),
            collaborator_email: get(FieldKey::CollaboratorEmail).map(str::to_owned),
            repositories,
            added_by: get(FieldKey::AddedBy).map(str::to_owned),
            state,
            has_state,
        }
    }

    /// The complete set of answers `(field UUID, value)`, every key present (every write sends all eight,
    /// because Spoke does not document whether a PATCH merges answers). Keys without a configured UUID are
    /// skipped; configuration validation prevents that.
    pub fn encode(&self, ids: &FieldIds) -> Vec<(String, String)> {
        let mut state = self.state.clone();
        state.expires_on = self.expires_on;
        state.uid = self.github_user_id.or(state.uid);
        let mut repos = self.repositories.clone();
        repos.sort_by_key(|g| g.full_name.to_lowercase());
        let value = |key: FieldKey| -> String {
            match key {
                FieldKey::ExpiresOn => self.expires_on.map(format_date).unwrap_or_default(),
                FieldKey::GithubLogin => self.github_login.clone().unwrap_or_default(),
                FieldKey::GithubUserId => self
                    .github_user_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                FieldKey::GithubOrg => self.github_org.clone().unwrap_or_default(),
                FieldKey::CollaboratorEmail => self
                    .collaborator_email
                    .clone()
                    .unwrap_or_else(|| NO_EMAIL.to_owned()),
                FieldKey::Repositories => repos
                    .iter()
                    .map(RepoGrant::to_line)
                    .collect::<Vec<_>>()
                    .join("\n"),
                FieldKey::AddedBy => self
                    .added_by
                    .clone()
                    .unwrap_or_else(|| UNKNOWN_ADDER.to_owned()),
                FieldKey::ClsState => state.encode(),
            }
        };
        FieldKey::ALL
            .into_iter()
            .filter_map(|key| ids.get(key).map(|id| (id.to_owned(), value(key))))
            .collect()
    }

    /// True when the ticket belongs to GitHub user `user_id` in org `org`: the user id
    /// matches and the org matches case-insensitively. A legacy ticket without those fields matches by login
    /// (case-insensitive) when `org` is the configured `legacy_org`.
    pub fn matches(&self, user_id: u64, login: &str, org: &str, legacy_org: Option<&str>) -> bool {
        match (self.github_user_id, self.github_org.as_deref()) {
            (Some(uid), Some(o)) => uid == user_id && o.eq_ignore_ascii_case(org),
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => {
                legacy_org.is_some_and(|l| l.eq_ignore_ascii_case(org))
                    && self
                        .github_login
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case(login))
            }
        }
    }

    /// Inserts or replaces the grant for `grant.full_name` (case-insensitive), keeping the list sorted.
    pub fn upsert_repo(&mut self, grant: RepoGrant) {
        self.repositories
            .retain(|g| !g.full_name.eq_ignore_ascii_case(&grant.full_name));
        self.repositories.push(grant);
        self.repositories
            .sort_by_key(|g| g.full_name.to_lowercase());
    }

    /// Removes the grant for `full_name`; true when one was present.
    pub fn remove_repo(&mut self, full_name: &str) -> bool {
        let before = self.repositories.len();
        self.repositories
            .retain(|g| !g.full_name.eq_ignore_ascii_case(full_name));
        before != self.repositories.len()
    }

    /// The grant for `full_name`, if present.
    pub fn repo(&self, full_name: &str) -> Option<&RepoGrant> {
        self.repositories
            .iter()
            .find(|g| g.full_name.eq_ignore_ascii_case(full_name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn ids() -> FieldIds {
        FieldIds(
            FieldKey::ALL
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str().to_owned(), format!("uuid-{i}")))
                .collect(),
        )
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn a_repository_line_round_trips() {
        let line = "acme/widgets: write (added by alice 2026-05-12)";
        let grant = RepoGrant::parse_line(line).unwrap();
        assert_eq!(grant.full_name, "acme/widgets");
        assert_eq!(grant.permission, "write");
        assert_eq!(grant.added_by, "alice");
        assert_eq!(grant.added_on, Some(d("2026-05-12")));
        assert_eq!(grant.to_line(), line);
    }

    #[test]
    fn legacy_repository_lines_are_read_leniently() {
        let g = RepoGrant::parse_line("acme/old").unwrap();
        assert_eq!(
            (g.permission.as_str(), g.added_by.as_str(), g.added_on),
            ("unknown", "unknown", None)
        );
        let g = RepoGrant::parse_line("acme/x: admin").unwrap();
        assert_eq!(g.permission, "admin");
        assert!(RepoGrant::parse_line("   ").is_none());
    }

    #[test]
    fn the_state_round_trips_and_reads_the_spec_example() {
        let example = r#"{"v":1,"uid":39652351,"access":"granted","reason":null,"granted_on":"2026-05-12",
 "expires_on":"2027-05-12","notified":{"for":"2027-05-12","days":[21]},"notify_slack_ids":["U024BE7LH"],
 "last_activity":"2026-06-01","inactivity_warned_for":null,
 "ext":[{"by":"U024BE7LH","on":"2027-04-22","to":"2027-08-10"}],
 "deliveries":["72d3162e-cc78-11e3-81ab-4c9367dc0958"]}"#;
        let state = ClsState::decode(example).unwrap();
        assert_eq!(state.uid, Some(39_652_351));
        assert_eq!(state.notified.as_ref().unwrap().days, vec![21]);
        assert_eq!(state.ext[0].to, d("2027-08-10"));
        assert_eq!(ClsState::decode(&state.encode()).unwrap(), state);
        assert!(ClsState::decode("not json").is_none());
    }

    #[test]
    fn the_state_keeps_the_newest_25_deliveries_and_stays_under_2000_characters() {
        let mut state = ClsState::default();
        for i in 0..40 {
            state.record(&format!("{i:08}-0000-0000-0000-000000000000"));
        }
        assert_eq!(state.deliveries.len(), MAX_DELIVERIES);
        assert!(state.has_applied("00000039-0000-0000-0000-000000000000"));
        assert!(!state.has_applied("00000014-0000-0000-0000-000000000000"));
        state.notify_slack_ids = (0..60).map(|i| format!("U{i:010}")).collect();
        let text = state.encode();
        assert!(text.chars().count() <= MAX_STATE_CHARS);
        let back = ClsState::decode(&text).unwrap();
        assert!(back.deliveries.len() < MAX_DELIVERIES);
        assert!(
            back.has_applied("00000039-0000-0000-0000-000000000000"),
            "newest kept"
        );
    }

    #[test]
    fn fields_encode_all_eight_answers_and_decode_back() {
        let mut fields = TicketFields {
            expires_on: Some(d("2027-05-12")),
            github_login: Some("octocat".into()),
            github_user_id: Some(39_652_351),
            github_org: Some("acme".into()),
            collaborator_email: None,
            repositories: vec![],
            added_by: None,
            state: ClsState::default(),
            has_state: true,
        };
        fields.upsert_repo(
            RepoGrant::parse_line("acme/widgets: write (added by alice 2026-05-12)").unwrap(),
        );
        fields.upsert_repo(
            RepoGrant::parse_line("acme/Apps: read (added by bob 2026-05-13)").unwrap(),
        );
        let answers = fields.encode(&ids());
        assert_eq!(answers.len(), 8);
        let map: HashMap<String, String> = answers.into_iter().collect();
        assert_eq!(map["uuid-0"], "2027-05-12");
        assert_eq!(map["uuid-2"], "39652351");
        assert_eq!(map["uuid-4"], "n/a");
        assert_eq!(
            map["uuid-5"],
            "acme/Apps: read (added by bob 2026-05-13)\nacme/widgets: write (added by alice 2026-05-12)"
        );
        assert_eq!(map["uuid-6"], "unknown");
        let back = TicketFields::decode(&map, &ids());
        assert_eq!(back.state.expires_on, Some(d("2027-05-12")));
        assert_eq!(back.state.uid, Some(39_652_351));
        assert_eq!(back.repositories, fields.repositories);
        assert_eq!(back.github_login.as_deref(), Some("octocat"));
    }

    #[test]
    fn a_human_edit_of_the_visible_expiry_wins_over_the_state() {
        let state = ClsState {
            expires_on: Some(d("2027-05-12")),
            ..ClsState::default()
        };
        let map = HashMap::from([
            ("uuid-0".to_owned(), "2027-09-01".to_owned()),
            ("uuid-7".to_owned(), state.encode()),
        ]);
        let fields = TicketFields::decode(&map, &ids());
        assert_eq!(fields.expires_on, Some(d("2027-09-01")));
        assert_eq!(fields.state.expires_on, Some(d("2027-09-01")));
    }

    #[test]
    fn matching_needs_the_exact_user_id_and_org_or_a_legacy_login() {
        let t = TicketFields {
            github_user_id: Some(7),
            github_org: Some("Acme".into()),
            github_login: Some("octocat".into()),
            ..TicketFields::default()
        };
        assert!(t.matches(7, "renamed", "acme", None));
        assert!(!t.matches(8, "octocat", "acme", None));
        assert!(!t.matches(7, "octocat", "other", None));
        let legacy = TicketFields {
            github_login: Some("OctoCat".into()),
            ..TicketFields::default()
        };
        assert!(legacy.matches(7, "octocat", "acme", Some("acme")));
        assert!(!legacy.matches(7, "octocat", "acme", None));
        assert!(!legacy.matches(7, "octocat2", "acme", Some("acme")));
        assert!(!legacy.matches(7, "octocat", "other", Some("acme")));
    }

    #[test]
    fn a_missing_field_id_is_named() {
        let mut ids = ids();
        assert_eq!(ids.first_missing(), None);
        ids.0.remove("repositories");
        assert_eq!(ids.first_missing(), Some(FieldKey::Repositories));
    }
}
