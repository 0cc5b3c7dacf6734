//! The sample events of `events/` against the fakes' demo seeds, as `cargo xtask invoke` replays them.

use serde_json::Value;

use crate::support::{Options, spawn_with};

const FACILITIES: &str = "5cb65407f38ee4000743e946";
const FRANK: &str = "5f0c3a9e2b7d4c0012ab3406";

fn sample(name: &str) -> Value {
    let text = match name {
        "noop" => include_str!("../../events/handoff-noop.json"),
        "updates" => include_str!("../../events/handoff-updates.json"),
        "alerts" => include_str!("../../events/handoff-alerts.json"),
        _ => include_str!("../../events/spec-sample.json"),
    };
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_spec_sample_event_is_the_baseline_fixture() {
    let fixture: Value = serde_json::from_str(include_str!("../fixtures/baseline.json")).unwrap();
    assert_eq!(sample("spec"), fixture);
}

#[tokio::test]
async fn the_sample_events_make_no_change_one_change_and_one_alert_on_the_demo_seeds() {
    let stack = spawn_with(Options::demo()).await;
    let run = |name: &'static str| stack.invoke(sample(name));

    let noop = run("noop").await.unwrap();
    assert_eq!((noop.result, noop.reason), ("noop", "already_assigned"));
    let updated = run("updates").await.unwrap();
    assert_eq!(updated.result, "updated");
    assert_eq!(stack.team_delegation(FACILITIES)["specificUser"], FRANK);
    assert_eq!(run("updates").await.unwrap().result, "noop");
    assert_eq!(stack.patches().len(), 1);

    let alerted = run("alerts").await.unwrap();
    assert_eq!(
        (alerted.result, alerted.reason),
        ("permanent_error", "not_team_member")
    );
    assert_eq!(stack.slack.fake.messages("alerts_it").len(), 1);
    assert_eq!(stack.slack.fake.messages("it-team").len(), 1);
}
