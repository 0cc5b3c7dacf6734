//! CLS metrics (`docs/operations/cls.md`, "Alarms" and "Other signals"): namespace `CLS`, dimension `Stage`,
//! optional break-down dimensions that are also rolled up to `[Stage]`, the set the alarms watch.

use chrono::{DateTime, Utc};
use lambda_kit::metrics::{Emf, MetricSink};

/// The EMF line counting one `name` at `at`, with `dims` as break-down dimensions.
pub fn count_line(stage: &str, at: DateTime<Utc>, name: &str, dims: &[(&str, &str)]) -> String {
    count_n_line(stage, at, name, dims, 1)
}

/// The EMF line counting `n` of `name` at `at`, with `dims` as break-down dimensions.
pub fn count_n_line(
    stage: &str,
    at: DateTime<Utc>,
    name: &str,
    dims: &[(&str, &str)],
    n: u64,
) -> String {
    let mut emf = Emf::new("CLS").dimension("Stage", stage);
    for (k, v) in dims {
        emf = emf.dimension(k, v);
    }
    if !dims.is_empty() {
        emf = emf.rollup(&["Stage"]);
    }
    emf.count(name, n).to_line(at)
}

/// Writes [`count_line`] to `sink`.
pub fn emit_count(
    sink: &dyn MetricSink,
    stage: &str,
    at: DateTime<Utc>,
    name: &str,
    dims: &[(&str, &str)],
) {
    sink.write_line(&count_line(stage, at, name, dims));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_down_dimensions_are_rolled_up_to_the_stage() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let v: serde_json::Value = serde_json::from_str(&count_line(
            "prod",
            at,
            "PermanentFailure",
            &[("reason", "bad_envelope")],
        ))
        .unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Stage"], ["Stage", "reason"]])
        );
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CLS");
        assert_eq!(v["reason"], "bad_envelope");
        assert_eq!(v["PermanentFailure"], 1.0);

        let plain: serde_json::Value =
            serde_json::from_str(&count_line("prod", at, "EnqueueFailed", &[])).unwrap();
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Stage"]])
        );
    }
}
