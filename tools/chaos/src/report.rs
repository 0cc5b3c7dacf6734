//! One result per scenario, its one-line verdict and `target/chaos/report.json`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// What one scenario measured. Every count comes from the stand-ins' state or journal and from moto, never
/// from what the handlers say about themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// The scenario's name (`faults`, `redelivery`, …).
    pub name: String,
    /// `pass` or `fail`.
    pub verdict: String,
    /// Events put into the system (webhook deliveries, invocations, tickets due).
    pub events_in: u64,
    /// Events whose effect is visible in the stand-ins' state.
    pub processed: u64,
    /// Events in the dead-letter queue (moto) at the end.
    pub dead_lettered: u64,
    /// Events neither processed nor dead-lettered.
    pub lost: u64,
    /// Tickets beyond one per collaborator.
    pub duplicate_tickets: u64,
    /// Messages (Spoke ticket messages, Slack alerts, GitHub removals) beyond one per effect.
    pub duplicate_messages: u64,
    /// Log lines, errors or outputs holding a seeded secret or an `Authorization` header.
    pub leaked_secrets: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Scenario-specific counts (faults injected, redeliveries, retries, …).
    pub details: BTreeMap<String, u64>,
    /// Why the verdict is `fail`, one entry per broken invariant.
    pub failures: Vec<String>,
}

impl ScenarioResult {
    /// An empty result for `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Records a detail count.
    pub fn detail(&mut self, key: &str, value: u64) {
        self.details.insert(key.to_owned(), value);
    }

    /// Records a broken invariant unless `ok`.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(what());
        }
    }

    /// Applies the invariants every scenario shares (nothing lost, nothing twice, nothing leaked) and sets the
    /// verdict.
    pub fn finish(mut self) -> Self {
        let shared = [
            ("lost", self.lost),
            ("duplicate_tickets", self.duplicate_tickets),
            ("duplicate_messages", self.duplicate_messages),
            ("leaked_secrets", self.leaked_secrets),
        ];
        for (name, value) in shared {
            self.check(value == 0, || format!("{name} = {value}"));
        }
        self.verdict = if self.failures.is_empty() {
            "pass"
        } else {
            "fail"
        }
        .to_owned();
        self
    }

    /// Marks the scenario failed because it could not run to the end.
    pub fn aborted(name: &str, error: &anyhow::Error, seconds: f64) -> Self {
        Self {
            name: name.to_owned(),
            verdict: "fail".to_owned(),
            seconds,
            failures: vec![format!("did not complete: {error:#}")],
            ..Self::default()
        }
    }

    /// True when the verdict is `pass`.
    pub fn passed(&self) -> bool {
        self.verdict == "pass"
    }

    /// The one-line verdict.
    pub fn line(&self) -> String {
        let mut line = format!(
            "chaos {:<14} {}  in={} processed={} dlq={} lost={} dup_tickets={} dup_messages={} leaks={} ({:.0} s)",
            self.name,
            self.verdict.to_uppercase(),
            self.events_in,
            self.processed,
            self.dead_lettered,
            self.lost,
            self.duplicate_tickets,
            self.duplicate_messages,
            self.leaked_secrets,
            self.seconds
        );
        if !self.failures.is_empty() {
            line.push_str(" — ");
            line.push_str(&self.failures.join("; "));
        }
        line
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scale the run used.
    pub scale: crate::Scale,
    /// One entry per scenario, in run order.
    pub scenarios: Vec<ScenarioResult>,
}

impl Report {
    /// True when every scenario passed.
    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(ScenarioResult::passed)
    }

    /// Writes the report as pretty JSON to `path`, creating its directory.
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_event_or_a_leak_fails_the_scenario() {
        let clean = ScenarioResult::new("x").finish();
        assert!(clean.passed());
        let mut lost = ScenarioResult::new("x");
        lost.lost = 1;
        let lost = lost.finish();
        assert!(!lost.passed());
        assert!(lost.line().contains("lost = 1"), "{}", lost.line());
        let mut leaked = ScenarioResult::new("x");
        leaked.leaked_secrets = 2;
        assert!(!leaked.finish().passed());
    }
}
