//! `byods list`: data sources with their expiry as a table or JSON (never the `jwsToken`).

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::{Exit, Report, exit_for, fmt_time, open_session};
use crate::Deps;
use crate::session::data_source_expiry;
use crate::webex::{DataSource, JwsClaims};

/// The columns of `byods list`.
pub const LIST_COLUMNS: &[&str] = &[
    "ID",
    "STATUS",
    "AUDIENCE",
    "SUBJECT",
    "URL",
    "EXPIRES_AT",
    "EXPIRES_IN",
    "DUE",
];

/// One data source as a row: ids, fields, expiry, minutes left and whether it is inside `window`.
pub(super) fn row_for(
    ds: &DataSource,
    now: DateTime<Utc>,
    window: chrono::Duration,
    claims: bool,
) -> Value {
    let expires = data_source_expiry(ds);
    let minutes_left = expires.map(|e| (e - now).num_minutes());
    let mut row = json!({
        "id": ds.id,
        "status": ds.status,
        "audience": ds.audience,
        "subject": ds.subject,
        "url": ds.url,
        "tokenLifetimeMinutes": ds.token_lifetime_minutes.map(|m| m.round() as i64),
        "expiresAt": expires.map(|e| fmt_time(Some(e))),
        "minutesLeft": minutes_left,
        "due": minutes_left.is_none_or(|m| m <= window.num_minutes()),
    });
    if claims {
        let c = ds
            .jws_token
            .as_ref()
            .and_then(|t| JwsClaims::decode(t.expose_secret()));
        row["claims"] = c.map_or(Value::Null, |c| {
            json!({"aud": c.aud, "sub": c.sub, "iss": c.iss, "iat": c.iat, "exp": c.exp,
                   "com.cisco.datasource.url": c.url, "com.cisco.datasource.schema.uuid": c.schema_uuid,
                   "com.cisco.org.uuid": c.org_uuid})
        });
    }
    row
}

/// A plain-text table, columns padded to their widest cell.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(headers.iter().map(|h| (*h).to_owned()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn expires_in(minutes: &Value) -> String {
    minutes.as_i64().map_or_else(
        || "-".to_owned(),
        |m| format!("{}h{:02}m", m / 60, m.rem_euclid(60)),
    )
}

/// Lists the given ids, else the configured ones, else every data source of the service app.
pub(super) async fn list(
    deps: &Deps,
    ids: &[String],
    window: Option<i64>,
    claims: bool,
) -> Result<Report, Exit> {
    let session = open_session(deps).await?;
    session.keep_integration_alive().await?;
    let sources = if ids.is_empty() && deps.config.data_source_ids.is_empty() {
        session.list_data_sources().await?
    } else {
        let wanted = if ids.is_empty() {
            deps.config.data_source_ids.clone()
        } else {
            ids.to_vec()
        };
        let mut out = Vec::new();
        for id in wanted {
            out.push(session.get_data_source(&id).await?);
        }
        out
    };
    session.flush_pending().await;
    let now = deps.clock.now();
    let window = window.map_or(deps.config.extend_window, chrono::Duration::minutes);
    let rows: Vec<Value> = sources
        .iter()
        .map(|d| row_for(d, now, window, claims))
        .collect();
    let text = table(
        LIST_COLUMNS,
        &rows
            .iter()
            .map(|r| {
                vec![
                    cell(&r["id"]),
                    cell(&r["status"]),
                    cell(&r["audience"]),
                    cell(&r["subject"]),
                    cell(&r["url"]),
                    cell(&r["expiresAt"]),
                    expires_in(&r["minutesLeft"]),
                    if r["due"] == json!(true) {
                        "yes".to_owned()
                    } else {
                        "no".to_owned()
                    },
                ]
            })
            .collect::<Vec<_>>(),
    );
    let text = if claims {
        let extra: Vec<String> = rows
            .iter()
            .map(|r| format!("{}: {}", cell(&r["id"]), r["claims"]))
            .collect();
        format!("{text}\n\n{}", extra.join("\n"))
    } else {
        text
    };
    let code = exit_for(&session.failures(), 0);
    Ok((code, json!({"dataSources": rows}), text))
}
