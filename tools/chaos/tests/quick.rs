//! The chaos suite at the CI scale (`Scale::quick`): all six scenarios on real stacks (needs
//! `.venv/bin/moto_server`), three runs at once so the test stays within a minute or two. The full run is
//! `cargo xtask chaos`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chaos::{Options, SCENARIOS, Scale, run};

/// The report's fields that docs/reliability.md's table shows.
const FIELDS: [&str; 7] = [
    "events_in",
    "processed",
    "dead_lettered",
    "lost",
    "duplicate_tickets",
    "duplicate_messages",
    "leaked_secrets",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_scenario_passes_at_the_quick_scale_and_is_reported() {
    let dir = std::env::temp_dir().join(format!("chaos-quick-{}", std::process::id()));
    let groups: [&[&str]; 3] = [
        &["faults"],
        &["redelivery", "secrets"],
        &["slack_down", "kill", "sweep"],
    ];
    let runs = groups.iter().enumerate().map(|(i, names)| {
        let options = Options {
            scale: Scale::quick(),
            only: names.iter().map(|n| (*n).to_owned()).collect(),
            report: dir.join(format!("report-{i}.json")),
        };
        async move {
            let lines = std::sync::Mutex::new(Vec::new());
            let report = run(&options, |line| lines.lock().unwrap().push(line.to_owned()))
                .await
                .unwrap();
            (options, report, lines.into_inner().unwrap())
        }
    });
    let finished = futures::future::join_all(runs).await;
    let verdicts: Vec<&String> = finished.iter().flat_map(|(_, _, lines)| lines).collect();
    assert!(
        finished.iter().all(|(_, report, _)| report.passed()),
        "{verdicts:#?}"
    );
    let mut seen = Vec::new();
    for (options, _, lines) in &finished {
        assert_eq!(
            lines.len(),
            options.only.len(),
            "one verdict line each: {lines:?}"
        );
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&options.report).unwrap()).unwrap();
        let scenarios = written["scenarios"].as_array().unwrap();
        assert_eq!(scenarios.len(), options.only.len());
        for (scenario, name) in scenarios.iter().zip(&options.only) {
            assert_eq!(scenario["name"], name.as_str());
            assert_eq!(scenario["verdict"], "pass", "{scenario}");
            assert!(
                scenario["events_in"].as_u64().unwrap() > 0,
                "{name}: nothing went in"
            );
            for field in FIELDS {
                assert!(scenario[field].as_u64().is_some(), "{name}: no {field}");
            }
            seen.push(name.clone());
        }
    }
    seen.sort();
    let mut all: Vec<String> = SCENARIOS.iter().map(|s| (*s).to_owned()).collect();
    all.sort();
    assert_eq!(seen, all, "every scenario ran");
    let _ = std::fs::remove_dir_all(&dir);
}
