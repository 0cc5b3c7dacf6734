//! How much work each group does, quick or full, and how long a group may take.

use std::time::Duration;

/// What a group needs besides the bench process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing.
    Nothing,
    /// The local stack.
    Stack,
    /// The release binaries.
    Release,
    /// The local stack and the release binaries.
    StackAndRelease,
}

/// Every group, in run order, with what it needs.
pub(crate) const GROUPS: &[(&str, Needs)] = &[
    ("crypto", Needs::Nothing),
    ("coldstart", Needs::StackAndRelease),
    ("warm_memory", Needs::StackAndRelease),
    ("webhook", Needs::StackAndRelease),
    ("drain", Needs::StackAndRelease),
    ("oncall", Needs::Stack),
    ("sweep", Needs::StackAndRelease),
    ("byods", Needs::StackAndRelease),
    ("memory", Needs::Nothing),
    ("artifacts", Needs::Release),
    ("build", Needs::Nothing),
];

/// The groups that need the local stack, in run order.
pub(crate) fn stack_groups() -> impl Iterator<Item = &'static str> {
    GROUPS
        .iter()
        .filter(|(_, needs)| matches!(needs, Needs::Stack | Needs::StackAndRelease))
        .map(|(name, _)| *name)
}

/// The groups that run the release binaries (built once per run).
pub(crate) fn release_groups() -> impl Iterator<Item = &'static str> {
    GROUPS
        .iter()
        .filter(|(_, needs)| matches!(needs, Needs::Release | Needs::StackAndRelease))
        .map(|(name, _)| *name)
}

/// Whether `name` is a group.
pub(crate) fn is_group(name: &str) -> bool {
    GROUPS.iter().any(|(group, _)| *group == name)
}

/// Every group's name, for messages.
pub(crate) fn group_names() -> String {
    GROUPS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One queue-mapping setting of the drain: SQS batch size and the number of concurrent `cls-queue`
/// executions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// Messages per batch (1..=10).
    pub(crate) batch: u8,
    /// Concurrent executions.
    pub(crate) concurrency: usize,
}

/// As the reports write it: `10 × 2` (batch × concurrent executions).
impl std::fmt::Display for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} × {}", self.batch, self.concurrency)
    }
}

/// How much work each group does.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// `--quick`.
    pub(crate) quick: bool,
    /// Iterations of each signature check.
    pub(crate) crypto: usize,
    /// Fresh processes per function for the cold start.
    pub(crate) cold_runs: usize,
    /// Warm invocations of one process per function for the memory growth.
    pub(crate) warm_invocations: usize,
    /// Webhook deliveries per concurrency level with the queue stub (the handler's own time).
    pub(crate) webhook: usize,
    /// Webhook deliveries per concurrency level with moto's queue (quick: concurrency 1 only).
    pub(crate) webhook_moto: usize,
    /// Member events in the drain.
    pub(crate) drain_events: usize,
    /// Distinct collaborators among them.
    pub(crate) drain_collaborators: usize,
    /// The mapping settings compared on a slice of the events (empty: only `drain_default`).
    pub(crate) drain_candidates: Vec<Mapping>,
    /// Events per candidate comparison.
    pub(crate) drain_candidate_events: usize,
    /// The rate limit's window (the budget per window is [`DRAIN_LIMIT_PER_MIN`] scaled to it): a minute,
    /// as Spoke's; ten seconds in the quick run, so that its short drain spans whole windows.
    pub(crate) drain_window_secs: u64,
    /// The candidates' rate-limit window (the same budget per minute): short enough that a candidate's drain
    /// spans several whole windows, over which its rate is measured.
    pub(crate) drain_candidate_window_secs: u64,
    /// Handoff invocations per path.
    pub(crate) oncall: usize,
    /// Open tickets in the sweep.
    pub(crate) sweep_tickets: usize,
    /// Of them due for expiry on the run date.
    pub(crate) sweep_due: usize,
    /// Data sources in the BYODS run.
    pub(crate) byods_sources: usize,
    /// BYODS runs.
    pub(crate) byods_runs: usize,
    /// `cargo build` repetitions per service (0: not measured).
    pub(crate) build: usize,
}

/// The drain's rate limit: requests per window per key on spoke-fake (Spoke's own budget is 6,000 a minute
/// per key; the bench scales it to 1,200 so that a few consumers reach it).
pub(crate) const DRAIN_LIMIT_PER_MIN: u32 = 1_200;
/// spoke-fake's added latency on every call during the drain.
pub(crate) const DRAIN_SPOKE_LATENCY: Duration = Duration::from_millis(50);
/// The stack's mapping defaults: `infra/lib/queue-mapping.json`, the file the CDK stack reads for cls-queue's
/// SQS event source (batch size and maximum concurrency).
pub(crate) fn stack_mapping() -> anyhow::Result<Mapping> {
    mapping_of(include_str!("../../../infra/lib/queue-mapping.json")).ok_or_else(|| {
        anyhow::anyhow!(
            "infra/lib/queue-mapping.json must hold integer batchSize and maxConcurrency"
        )
    })
}

/// `candidates`, with `stack` added when it is not among them (and they are not empty): the drain reports
/// whether its pick is the stack's default, so the default is always measured.
pub(crate) fn with_stack_mapping(candidates: &[Mapping], stack: Mapping) -> Vec<Mapping> {
    let mut all = candidates.to_vec();
    if !all.is_empty() && !all.contains(&stack) {
        all.push(stack);
    }
    all
}

/// The mapping in a `queue-mapping.json` text, or `None` when either field is missing or not a count.
fn mapping_of(text: &str) -> Option<Mapping> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(Mapping {
        batch: u8::try_from(json.get("batchSize")?.as_u64()?).ok()?,
        concurrency: usize::try_from(json.get("maxConcurrency")?.as_u64()?).ok()?,
    })
}

impl Plan {
    pub(crate) fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                crypto: 100,
                cold_runs: 5,
                warm_invocations: 100,
                webhook: 200,
                webhook_moto: 40,
                drain_events: 200,
                drain_collaborators: 20,
                drain_candidates: Vec::new(),
                drain_candidate_events: 0,
                drain_window_secs: 10,
                drain_candidate_window_secs: 10,
                oncall: 50,
                sweep_tickets: 1_000,
                sweep_due: 20,
                byods_sources: 100,
                byods_runs: 1,
                build: 0,
            }
        } else {
            Self {
                quick,
                crypto: 300,
                cold_runs: 21,
                warm_invocations: 1_000,
                webhook: 2_000,
                webhook_moto: 300,
                drain_events: 2_000,
                drain_collaborators: 200,
                drain_candidates: vec![
                    Mapping {
                        batch: 10,
                        concurrency: 1,
                    },
                    Mapping {
                        batch: 10,
                        concurrency: 2,
                    },
                    Mapping {
                        batch: 5,
                        concurrency: 2,
                    },
                    Mapping {
                        batch: 10,
                        concurrency: 3,
                    },
                ],
                drain_candidate_events: 400,
                drain_window_secs: 60,
                drain_candidate_window_secs: 10,
                oncall: 300,
                sweep_tickets: 50_000,
                sweep_due: 1_000,
                byods_sources: 1_000,
                byods_runs: 3,
                build: 2,
            }
        }
    }

    /// The longest `group` may run before it is stopped and reported failed.
    pub(crate) fn timeout(&self, group: &str) -> Duration {
        let minutes = match (self.quick, group) {
            (true, _) => 1,
            (false, "drain") => 30,
            (false, "sweep" | "byods") => 15,
            // Seven processes × 1,010 invocations, one of them through SQS.
            (false, "warm_memory") => 10,
            (false, _) => 5,
        };
        Duration::from_secs(60 * minutes)
    }

    /// The `cargo xtask` command of this plan.
    pub(crate) fn command(&self) -> &'static str {
        if self.quick {
            "cargo xtask bench --quick"
        } else {
            "cargo xtask bench"
        }
    }

    /// The command that reruns one group only.
    pub(crate) fn group_command(&self, group: &str) -> String {
        let quick = if self.quick { " --quick" } else { "" };
        format!("cargo run -p bench --{quick} --only {group}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_mapping_is_read_from_the_file_the_stack_reads() {
        assert_eq!(
            mapping_of(r#"{"batchSize": 5, "maxConcurrency": 3}"#),
            Some(Mapping {
                batch: 5,
                concurrency: 3
            })
        );
        assert_eq!(mapping_of(r#"{"batchSize": 5}"#), None);
        assert_eq!(
            mapping_of(r#"{"batchSize": "5", "maxConcurrency": 3}"#),
            None
        );
        assert_eq!(
            mapping_of(r#"{"batchSize": 300, "maxConcurrency": 3}"#),
            None
        );
        assert_eq!(
            Mapping {
                batch: 10,
                concurrency: 2
            }
            .to_string(),
            "10 × 2"
        );
        let stack = stack_mapping().unwrap();
        assert!((1..=10).contains(&stack.batch) && stack.concurrency >= 2);
    }

    #[test]
    fn the_stack_mapping_is_always_among_the_candidates_compared() {
        let m = |batch, concurrency| Mapping { batch, concurrency };
        assert_eq!(
            with_stack_mapping(&[m(10, 1), m(10, 3)], m(5, 2)),
            [m(10, 1), m(10, 3), m(5, 2)]
        );
        assert_eq!(with_stack_mapping(&[m(5, 2)], m(5, 2)), [m(5, 2)]);
        assert!(with_stack_mapping(&[], m(5, 2)).is_empty());
    }
}
