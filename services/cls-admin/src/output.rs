//! What a command hands back to `main`: one JSON document (`--json`), a human table, and whether it
//! succeeded; plus the progress bars of long runs.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// The result of one command.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The JSON document printed with `--json`.
    pub document: Value,
    /// The human output (tables and a summary line).
    pub text: String,
    /// False when the command ran but something failed (exit code 1).
    pub ok: bool,
}

impl Outcome {
    /// A successful outcome.
    pub fn ok(document: Value, text: String) -> Self {
        Self {
            document,
            text,
            ok: true,
        }
    }

    /// The exit code: 0 or 1.
    pub fn exit_code(&self) -> u8 {
        if self.ok {
            crate::error::exit::OK
        } else {
            crate::error::exit::FAILED
        }
    }
}

/// A plain-text table with left-aligned columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are blank).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row, columns separated by two spaces.
    pub fn render(&self) -> String {
        let width = |i: usize| {
            self.rows
                .iter()
                .filter_map(|r| r.get(i))
                .chain(std::iter::once(&self.headers[i]))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let mut out = String::new();
        for cells in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let _ = write!(line, "{cell:<w$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Creates progress bars on stderr, or hidden ones when stdout is not a terminal or `--json` is set (so
/// scripts and tests see only the document).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars that never draw.
    pub fn hidden() -> Self {
        Self { visible: false }
    }

    /// Visible only when stdout is a terminal and `json` is false.
    pub fn for_terminal(json: bool) -> Self {
        Self {
            visible: !json && std::io::stdout().is_terminal(),
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A bar of `len` steps.
    pub fn bar(&self, len: u64, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len} ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_owned());
        bar
    }

    /// A spinner for work of unknown length (e.g. paging through tickets).
    pub fn spinner(&self, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        if self.visible {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        bar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_aligns_its_columns() {
        let mut t = Table::new(&["org", "login"]);
        t.row(vec!["acme".into(), "octocat".into()]);
        t.row(vec!["a".into()]);
        assert_eq!(t.render(), "org   login\nacme  octocat\na\n");
    }
}
