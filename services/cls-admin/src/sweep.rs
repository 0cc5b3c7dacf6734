//! `sweep [--dry-run] [--allow-removals N]`: the daily sweep run in the operator's process with the `cls-sweep` library
//! (README, "Commands"; `services/cls-sweep/README.md`): the same scan, decision, brake and `review` messages as the
//! Lambda, every continuation inline. `--allow-removals N` confirms removals the safety brake held.

use std::sync::Arc;

use cls_core::dates::format_date;
use cls_sweep::SweepEvent;
use serde_json::json;

use crate::deps::Env;
use crate::error::AdminError;
use crate::output::{Outcome, Table};

/// Runs the sweep once, to completion. Without `--dry-run` the sweep's own `CLS_DRY_RUN` applies.
pub async fn run(
    env: &Env,
    dry_run: bool,
    allow_removals: Option<usize>,
) -> Result<Outcome, AdminError> {
    let lookup = Arc::clone(&env.lookup);
    let config = cls_sweep::Config::from_lookup(move |name| lookup(name))?;
    let stage = config.cls.stage.clone();
    // Built as the Lambda builds it, over the operator's platform; every continuation runs inline.
    let deps = cls_sweep::Deps::new(config, &env.platform).await?;
    let event = SweepEvent {
        dry_run: dry_run.then_some(true),
        allow_removals,
        ..SweepEvent::default()
    };
    let reports = cls_sweep::run_to_completion(event, &deps).await?;
    let mut table = Table::new(&[
        "run_date", "part", "scanned", "due", "enqueued", "brake", "skipped",
    ]);
    let mut text = String::new();
    for r in &reports {
        table.row(vec![
            format_date(r.run_date),
            r.continuation.to_string(),
            r.scanned.to_string(),
            r.due
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.enqueued.to_string(),
            if r.brake_tripped {
                format!("held {}", r.held_removals.len())
            } else {
                String::new()
            },
            r.skipped.len().to_string(),
        ]);
    }
    text.push_str(&table.render());
    for r in &reports {
        for s in &r.skipped {
            text.push_str(&format!("skipped {}: {}\n", s.ticket, s.reason));
        }
        if r.brake_tripped {
            text.push_str(&format!(
                "the safety brake held {} removals ({}); after checking them, confirm with: cls-admin sweep --allow-removals {}\n",
                r.held_removals.len(),
                r.held_removals.join(", "),
                r.held_removals.len()
            ));
        }
    }
    if let Some(last) = reports.last() {
        text.push_str(&last.summary_line(&stage));
        text.push('\n');
    }
    Ok(Outcome::ok(
        json!({"command": "sweep", "dry_run": dry_run, "allow_removals": allow_removals, "reports": reports}),
        text,
    ))
}
