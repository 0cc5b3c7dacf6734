//! The two files `backfill` reads (README, "Commands"): `--csv` (one row per collaborator) and `--audit-csv`
//! (an audit-log export, replayed in time order to the access still held at its end). Every bad row is a
//! [`RowProblem`] with its line number; a missing column fails the whole file.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::error::AdminError;

/// A row the command could not use, with its 1-based line number in the file (0 for the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Line in the file.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

pub(super) fn problem(line: u64, message: impl Into<String>) -> RowProblem {
    RowProblem {
        line,
        message: message.into(),
    }
}

/// One repository named in a CSV row: `widgets`, `acme/widgets` or either with `:permission`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRepo {
    /// `org/name`.
    pub full_name: String,
    /// The permission, when the row gave one.
    pub permission: Option<String>,
}

/// A valid row of `--csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// Line in the file.
    pub line: u64,
    /// GitHub login.
    pub login: String,
    /// Display name (informational).
    pub name: String,
    /// Repositories.
    pub repositories: Vec<CsvRepo>,
    /// Who added them.
    pub added_by: Option<String>,
    /// When.
    pub added_at: Option<NaiveDate>,
    /// Explicit expiry.
    pub expires_on: Option<NaiveDate>,
}

/// A CSV file read: column index by lower-case header, records with their line numbers, unreadable rows.
type CsvFile = (
    HashMap<String, usize>,
    Vec<(u64, csv::StringRecord)>,
    Vec<RowProblem>,
);

/// Reads a CSV file's headers (trimmed, lower-case) and records; a broken record is a problem with its line.
fn read_csv(text: &str, required: &[&str], any_of: &[&str]) -> Result<CsvFile, AdminError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| AdminError::Usage(format!("CSV header is unreadable: {e}")))?
        .clone();
    let columns: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_lowercase(), i))
        .collect();
    if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
        return Err(AdminError::Usage(format!(
            "CSV header lacks the column `{missing}` (expected {})",
            required.join(",")
        )));
    }
    if !any_of.is_empty() && !any_of.iter().any(|c| columns.contains_key(*c)) {
        return Err(AdminError::Usage(format!(
            "CSV header lacks a time column (one of {})",
            any_of.join(", ")
        )));
    }
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(i as u64 + 2, |p| p.line());
                if r.iter().all(str::is_empty) {
                    continue;
                }
                records.push((line, r));
            }
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                problems.push(problem(line, format!("unreadable row: {e}")));
            }
        }
    }
    Ok((columns, records, problems))
}

fn cell<'r>(
    columns: &HashMap<String, usize>,
    record: &'r csv::StringRecord,
    name: &str,
) -> &'r str {
    columns
        .get(name)
        .and_then(|i| record.get(*i))
        .unwrap_or("")
        .trim()
}

fn optional_date(line: u64, column: &str, raw: &str) -> Result<Option<NaiveDate>, RowProblem> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse_when(raw)
        .map(|t| Some(t.date_naive()))
        .ok_or_else(|| problem(line, format!("{column} `{raw}` is not a date (YYYY-MM-DD)")))
}

/// A time as GitHub's exports write it: epoch milliseconds, RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or a date.
pub fn parse_when(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(ms) = raw.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    cls_core::dates::parse_date(raw).and_then(|d| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
}

/// `acme/widgets` for `widgets` or `acme/widgets` in org `acme`; another org's repository is refused.
fn repo_in_org(org: &str, raw: &str) -> Result<String, String> {
    match raw.split_once('/') {
        None if !raw.is_empty() => Ok(format!("{org}/{raw}")),
        Some((owner, name)) if owner.eq_ignore_ascii_case(org) && !name.is_empty() => {
            Ok(format!("{org}/{name}"))
        }
        _ => Err(format!("repository `{raw}` is not in {org}")),
    }
}

/// Parses `--csv` (README, "Commands"): header `login,name,repositories[,added_by,added_at,expires_on]`,
/// repositories separated by spaces or `;`, each `name`, `org/name`, optionally `:permission`. Returns the
/// valid rows and a problem per bad row (with its line number); a missing column fails the whole file.
pub fn parse_csv(org: &str, text: &str) -> Result<(Vec<CsvRow>, Vec<RowProblem>), AdminError> {
    let (columns, records, mut problems) = read_csv(text, &["login", "name", "repositories"], &[])?;
    let mut rows: Vec<CsvRow> = Vec::new();
    for (line, record) in records {
        let get = |name: &str| cell(&columns, &record, name);
        let login = get("login");
        if login.is_empty() {
            problems.push(problem(line, "login is empty"));
            continue;
        }
        if let Some(first) = rows.iter().find(|r| r.login.eq_ignore_ascii_case(login)) {
            problems.push(problem(
                line,
                format!("{login} is listed twice (first on line {})", first.line),
            ));
            continue;
        }
        let mut repositories = Vec::new();
        let mut bad = None;
        for entry in get("repositories")
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            let (name, permission) = match entry.split_once(':') {
                Some((n, p)) if !p.is_empty() => (n, Some(p.to_lowercase())),
                Some((n, _)) => (n, None),
                None => (entry, None),
            };
            match repo_in_org(org, name) {
                Ok(full_name) => repositories.push(CsvRepo {
                    full_name,
                    permission,
                }),
                Err(e) => bad = Some(e),
            }
        }
        if let Some(e) = bad {
            problems.push(problem(line, e));
            continue;
        }
        if repositories.is_empty() {
            problems.push(problem(line, "repositories is empty"));
            continue;
        }
        let dates = optional_date(line, "added_at", get("added_at"))
            .and_then(|a| Ok((a, optional_date(line, "expires_on", get("expires_on"))?)));
        let (added_at, expires_on) = match dates {
            Ok(d) => d,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let added_by = Some(get("added_by"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        rows.push(CsvRow {
            line,
            login: login.to_owned(),
            name: get("name").to_owned(),
            repositories,
            added_by,
            added_at,
            expires_on,
        });
    }
    Ok((rows, problems))
}

/// The audit-log actions the export replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// `repo.add_member`.
    Add,
    /// `repo.update_member`.
    Update,
    /// `repo.remove_member`.
    Remove,
}

/// A valid row of `--audit-csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Line in the file.
    pub line: u64,
    /// What happened.
    pub action: AuditAction,
    /// Who did it.
    pub actor: String,
    /// The collaborator.
    pub user: String,
    /// `org/name`.
    pub repo: String,
    /// The permission, when the export has a `permission` column.
    pub permission: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Parses `--audit-csv` (README, "Commands"): rows with `action` ∈ `repo.add_member`, `repo.update_member`,
/// `repo.remove_member` and `actor`, `user`, `repo`, `created_at`/`@timestamp` (optional `permission`).
/// Other actions are ignored (counted); rows missing a value are problems with their line number. The rows
/// come back in time order (file order for equal times).
pub fn parse_audit_csv(
    org: &str,
    text: &str,
) -> Result<(Vec<AuditRow>, Vec<RowProblem>, usize), AdminError> {
    let (columns, records, mut problems) = read_csv(
        text,
        &["action", "actor", "user", "repo"],
        &["created_at", "@timestamp"],
    )?;
    let mut rows = Vec::new();
    let mut ignored = 0;
    for (line, record) in records {
        let get = |name: &str| cell(&columns, &record, name);
        let action = match get("action") {
            "repo.add_member" => AuditAction::Add,
            "repo.update_member" => AuditAction::Update,
            "repo.remove_member" => AuditAction::Remove,
            _ => {
                ignored += 1;
                continue;
            }
        };
        let missing = ["actor", "user", "repo"]
            .into_iter()
            .find(|c| get(c).is_empty());
        if let Some(column) = missing {
            problems.push(problem(line, format!("{column} is empty")));
            continue;
        }
        let when = Some(get("@timestamp"))
            .filter(|s| !s.is_empty())
            .or(Some(get("created_at")).filter(|s| !s.is_empty()));
        let Some(at) = when.and_then(parse_when) else {
            problems.push(problem(
                line,
                format!("time `{}` is missing or unreadable", when.unwrap_or("")),
            ));
            continue;
        };
        let repo = match repo_in_org(org, get("repo")) {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(line, e));
                continue;
            }
        };
        rows.push(AuditRow {
            line,
            action,
            actor: get("actor").to_owned(),
            user: get("user").to_owned(),
            repo,
            permission: Some(get("permission"))
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            at,
        });
    }
    rows.sort_by_key(|r| (r.at, r.line));
    Ok((rows, problems, ignored))
}

/// What an audit replay leaves for one collaborator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The login as the export spells it.
    pub login: String,
    /// Repository → (permission, adder, added at), for the access still held at the end of the export.
    pub repositories: BTreeMap<String, (Option<String>, String, DateTime<Utc>)>,
}

/// Replays audit rows (already in time order) per collaborator: an add grants, an update changes the
/// permission (granting when the add is older than the export), a remove takes the repository away.
pub fn replay(rows: &[AuditRow]) -> Vec<Replayed> {
    let mut users: BTreeMap<String, Replayed> = BTreeMap::new();
    for row in rows {
        let entry = users
            .entry(row.user.to_lowercase())
            .or_insert_with(|| Replayed {
                login: row.user.clone(),
                repositories: BTreeMap::new(),
            });
        let key = row.repo.to_lowercase();
        match row.action {
            AuditAction::Add => {
                entry
                    .repositories
                    .insert(key, (row.permission.clone(), row.actor.clone(), row.at));
            }
            AuditAction::Update => {
                let grant = entry
                    .repositories
                    .entry(key)
                    .or_insert_with(|| (None, row.actor.clone(), row.at));
                if row.permission.is_some() {
                    grant.0 = row.permission.clone();
                }
            }
            AuditAction::Remove => {
                entry.repositories.remove(&key);
            }
        }
    }
    users.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_csv_columns_are_parsed() {
        let text = "login,name,repositories,added_by,added_at,expires_on\n\
            octocat,The Octocat,widgets acme/gadgets:write,alice,2026-01-05,\n\
            hubot,Hubot,widgets;gadgets,,,2027-03-01\n";
        let (rows, problems) = parse_csv("acme", text).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].login, "octocat");
        assert_eq!(
            rows[0].repositories,
            vec![
                CsvRepo {
                    full_name: "acme/widgets".into(),
                    permission: None
                },
                CsvRepo {
                    full_name: "acme/gadgets".into(),
                    permission: Some("write".into())
                },
            ]
        );
        assert_eq!(rows[0].added_by.as_deref(), Some("alice"));
        assert_eq!(rows[0].added_at, NaiveDate::from_ymd_opt(2026, 1, 5));
        assert_eq!(rows[1].repositories.len(), 2);
        assert_eq!(rows[1].expires_on, NaiveDate::from_ymd_opt(2027, 3, 1));
        assert_eq!(rows[1].added_by, None);
    }

    #[test]
    fn bad_csv_rows_are_reported_with_their_line_numbers() {
        let text = "login,name,repositories,added_at\n\
            ,Nobody,widgets,\n\
            octocat,O,other/widgets,\n\
            hubot,H,widgets,05/01/2026\n\
            dup,D,,\n\
            ok,Ok,widgets,2026-02-01\n\
            OK,Again,widgets,\n";
        let (rows, problems) = parse_csv("acme", text).unwrap();
        assert_eq!(rows.len(), 1);
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 7]);
        assert!(problems[1].message.contains("not in acme"));
        assert!(problems[2].message.contains("added_at"));
        assert!(problems[4].message.contains("first on line 6"));
    }

    #[test]
    fn a_csv_without_a_required_column_is_refused_naming_it() {
        let err = parse_csv("acme", "login,name\nocto,O\n").unwrap_err();
        assert!(err.to_string().contains("repositories"), "{err}");
    }

    #[test]
    fn the_audit_export_is_replayed_in_time_order() {
        let text = "@timestamp,action,actor,user,repo,permission\n\
            1767225600000,repo.remove_member,alice,hubot,acme/widgets,\n\
            1764547200000,repo.add_member,alice,hubot,acme/widgets,write\n\
            1764633600000,repo.add_member,bob,octocat,acme/widgets,read\n\
            1764720000000,repo.update_member,carol,octocat,acme/widgets,admin\n\
            1764806400000,repo.add_member,dave,octocat,acme/gadgets,write\n\
            1764806400000,git.clone,octocat,octocat,acme/gadgets,\n\
            1764806400000,repo.add_member,,octocat,acme/gadgets,\n\
            nonsense,repo.add_member,x,octocat,acme/gadgets,\n";
        let (rows, problems, ignored) = parse_audit_csv("acme", text).unwrap();
        assert_eq!(ignored, 1);
        assert_eq!(
            problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![8, 9]
        );
        assert_eq!(rows.first().map(|r| r.line), Some(3), "sorted by time");
        let replayed = replay(&rows);
        let hubot = replayed.iter().find(|r| r.login == "hubot").unwrap();
        assert!(hubot.repositories.is_empty(), "removed at the end");
        let octocat = replayed.iter().find(|r| r.login == "octocat").unwrap();
        let widgets = &octocat.repositories["acme/widgets"];
        assert_eq!(widgets.0.as_deref(), Some("admin"));
        assert_eq!(widgets.1, "bob", "the adder stays the one who added");
        assert_eq!(octocat.repositories.len(), 2);
    }

    #[test]
    fn audit_times_are_read_in_the_export_formats() {
        let want = DateTime::parse_from_rfc3339("2026-05-12T14:03:11Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_when("1778594591000"), Some(want));
        assert_eq!(parse_when("2026-05-12T14:03:11Z"), Some(want));
        assert_eq!(parse_when("2026-05-12 14:03:11"), Some(want));
        assert_eq!(
            parse_when("2026-05-12").map(|t| t.date_naive()),
            Some(want.date_naive())
        );
        assert_eq!(parse_when("yesterday"), None);
    }
}
