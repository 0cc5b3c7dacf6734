//! Test totals read from the runners' closing lines.

/// Passed and failed test counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
}

impl Totals {
    pub(crate) fn add(&mut self, other: Totals) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// How many of `ci`'s steps passed, failed, or did not run (`ci` stops at the first failure).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepCounts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) not_run: u64,
}

/// `ci`'s last line: tests and steps counted apart, so a failed step that is no test (a missing tool, a lint)
/// never reads as a failed test and a red run never reads as green.
pub(crate) fn closing_line(tests: Totals, steps: StepCounts) -> String {
    let mut line = format!(
        "ci: {} tests passed, {} failed; steps: {} passed, {} failed",
        tests.passed, tests.failed, steps.passed, steps.failed
    );
    if steps.not_run > 0 {
        line.push_str(&format!(", {} not run", steps.not_run));
    }
    line
}

/// A test step whose tests ran and some failed: the error carries the counts so that the summary still reports
/// them (the step counts as failed, its tests as passed and failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TestsFailed(pub(crate) Totals);

impl std::fmt::Display for TestsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} test(s) failed, {} passed",
            self.0.failed, self.0.passed
        )
    }
}

impl std::error::Error for TestsFailed {}

/// The test counts a step's result carries: its totals when it passed, the [`TestsFailed`] counts when its
/// tests failed, nothing otherwise.
pub(crate) fn step_tests(result: &anyhow::Result<Option<Totals>>) -> Option<Totals> {
    match result {
        Ok(totals) => *totals,
        Err(error) => error.downcast_ref::<TestsFailed>().map(|t| t.0),
    }
}

/// Reads one line of `cargo test` output: `test result: ok. 12 passed; 0 failed; 1 ignored; ...`.
pub(crate) fn cargo_line(line: &str) -> Option<Totals> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut totals = Totals::default();
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(number), Some(label)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "passed" => totals.passed = number,
            "failed" => totals.failed = number,
            _ => {}
        }
    }
    Some(totals)
}

/// Reads the closing summary of node's test runner, in TAP (`# pass 5`) or spec (`ℹ pass 5`) form.
/// Returns the kind (`pass`/`fail`) and the number.
pub(crate) fn node_line(line: &str) -> Option<(&'static str, u64)> {
    let rest = line
        .trim()
        .strip_prefix('#')
        .or_else(|| line.trim().strip_prefix('ℹ'))?
        .trim();
    let (label, number) = rest.split_once(' ')?;
    let number = number.trim().parse::<u64>().ok()?;
    match label {
        "pass" => Some(("pass", number)),
        "fail" => Some(("fail", number)),
        _ => None,
    }
}

/// Sums node's `pass`/`fail` summary lines over a whole output.
pub(crate) fn node_output(output: &str) -> Option<Totals> {
    let mut totals = Totals::default();
    let mut seen = false;
    for line in output.lines() {
        match node_line(line) {
            Some(("pass", n)) => {
                totals.passed = n;
                seen = true;
            }
            Some(("fail", n)) => {
                totals.failed = n;
                seen = true;
            }
            _ => {}
        }
    }
    seen.then_some(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_passing_cargo_result_line() {
        let t = cargo_line(
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        );
        assert_eq!(
            t,
            Some(Totals {
                passed: 12,
                failed: 0
            })
        );
    }

    #[test]
    fn reads_a_failing_cargo_result_line() {
        let t = cargo_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        assert_eq!(
            t,
            Some(Totals {
                passed: 3,
                failed: 2
            })
        );
    }

    #[test]
    fn ignores_lines_that_are_not_cargo_results() {
        assert_eq!(cargo_line("test it::works ... ok"), None);
        assert_eq!(cargo_line("running 3 tests"), None);
    }

    #[test]
    fn reads_node_tap_and_spec_summaries() {
        let tap = "# tests 7\n# suites 2\n# pass 6\n# fail 1\n# cancelled 0\n";
        assert_eq!(
            node_output(tap),
            Some(Totals {
                passed: 6,
                failed: 1
            })
        );
        let spec = "ℹ tests 4\nℹ pass 4\nℹ fail 0\nℹ duration_ms 812.3\n";
        assert_eq!(
            node_output(spec),
            Some(Totals {
                passed: 4,
                failed: 0
            })
        );
    }

    #[test]
    fn reports_no_totals_when_node_printed_no_summary() {
        assert_eq!(node_output("> tsc --noEmit\n"), None);
    }

    #[test]
    fn closing_line_counts_a_failed_step_apart_from_the_tests() {
        let line = closing_line(
            Totals {
                passed: 605,
                failed: 0,
            },
            StepCounts {
                passed: 4,
                failed: 1,
                not_run: 8,
            },
        );
        assert_eq!(
            line,
            "ci: 605 tests passed, 0 failed; steps: 4 passed, 1 failed, 8 not run"
        );
    }

    #[test]
    fn a_failed_test_step_still_reports_its_counts() {
        let totals = Totals {
            passed: 804,
            failed: 2,
        };
        let failed: anyhow::Result<Option<Totals>> = Err(anyhow::Error::new(TestsFailed(totals))
            .context("`cargo test --workspace` failed (exit status: 101)"));
        assert_eq!(step_tests(&failed), Some(totals));
        let other: anyhow::Result<Option<Totals>> = Err(anyhow::anyhow!("clippy failed"));
        assert_eq!(step_tests(&other), None);
        assert_eq!(step_tests(&Ok(Some(totals))), Some(totals));
    }

    #[test]
    fn closing_line_of_a_green_run_has_no_not_run_part() {
        let line = closing_line(
            Totals {
                passed: 719,
                failed: 0,
            },
            StepCounts {
                passed: 13,
                failed: 0,
                not_run: 0,
            },
        );
        assert_eq!(
            line,
            "ci: 719 tests passed, 0 failed; steps: 13 passed, 0 failed"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn adds_totals() {
        let mut t = Totals {
            passed: 1,
            failed: 0,
        };
        t.add(Totals {
            passed: 2,
            failed: 3,
        });
        assert_eq!(
            t,
            Totals {
                passed: 3,
                failed: 3
            }
        );
    }
}
