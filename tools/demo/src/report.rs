//! The summary table.

use std::fmt::Write as _;

/// One step of one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `platform`, `handoff`, `cls`, `byods`.
    pub flow: String,
    /// What the step does.
    pub step: String,
    /// Whether the step's expectation held.
    pub ok: bool,
    /// Ticket id, secret version, counts; or why it failed.
    pub evidence: String,
}

impl Row {
    /// A passed step.
    pub fn ok(flow: &str, step: &str, evidence: impl Into<String>) -> Self {
        Self {
            flow: flow.to_owned(),
            step: step.to_owned(),
            ok: true,
            evidence: evidence.into(),
        }
    }

    /// A failed step.
    pub fn failed(flow: &str, step: &str, why: impl Into<String>) -> Self {
        Self {
            flow: flow.to_owned(),
            step: step.to_owned(),
            ok: false,
            evidence: why.into(),
        }
    }

    /// `ok` with the value as evidence, or `failed` with the error chain.
    pub fn from_result(flow: &str, step: &str, result: anyhow::Result<String>) -> Self {
        match result {
            Ok(evidence) => Self::ok(flow, step, evidence),
            Err(error) => Self::failed(flow, step, format!("{error:#}")),
        }
    }
}

/// Records a step whose value the later steps need: pushes its row to `rows` and returns the value, or `None`
/// when the step failed (the flow then stops).
pub fn record<T>(
    rows: &mut Vec<Row>,
    flow: &str,
    step: &str,
    result: anyhow::Result<(T, String)>,
) -> Option<T> {
    match result {
        Ok((value, evidence)) => {
            rows.push(Row::ok(flow, step, evidence));
            Some(value)
        }
        Err(error) => {
            rows.push(Row::failed(flow, step, format!("{error:#}")));
            None
        }
    }
}

/// The rows as an aligned text table.
pub fn table(rows: &[Row]) -> String {
    let headers = ["flow", "step", "result", "evidence"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.flow.clone(),
                r.step.clone(),
                if r.ok { "ok" } else { "FAILED" }.to_owned(),
                r.evidence.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (i, cell) in row.iter().enumerate().take(3) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cols: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cols[0],
            cols[1],
            cols[2],
            cols[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
    };
    line(&mut out, headers);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, [&rule[0], &rule[1], &rule[2], "--------"]);
    for row in &cells {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

/// The commands that inspect the running stack.
pub fn inspection(endpoints: &std::collections::BTreeMap<String, String>) -> String {
    let get = |k: &str| endpoints.get(k).cloned().unwrap_or_default();
    let mut out = String::from("Inspect the stack:\n");
    let _ = writeln!(
        out,
        "  curl -s {}/state            # every fake's state",
        get("admin")
    );
    for fake in ["spoke", "slack", "github", "webex", "pagerduty"] {
        let control = get(&format!("{fake}_control"));
        if !control.is_empty() {
            let _ = writeln!(
                out,
                "  curl -s {control}/journal   # calls {fake}-fake received"
            );
        }
    }
    let _ = writeln!(
        out,
        "  open {}/moto-api/            # moto's dashboard",
        get("moto")
    );
    let _ = writeln!(
        out,
        "  cargo xtask invoke <function> <event.json|->   # with `cargo xtask up` running"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_and_marks_failures() {
        let rows = [
            Row::ok("platform", "a step", "v1"),
            Row::failed("cls", "a much longer step", "boom"),
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("flow      step"));
        assert!(lines[2].contains("ok"));
        assert!(lines[3].contains("FAILED") && lines[3].ends_with("boom"));
        assert_eq!(lines[2].find("v1"), lines[3].find("boom"));
    }
}
