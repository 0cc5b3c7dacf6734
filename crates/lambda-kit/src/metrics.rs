//! CloudWatch Embedded Metric Format: one JSON object per stdout line, which CloudWatch Logs turns into metrics.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// Where EMF lines go.
pub trait MetricSink: Send + Sync {
    /// Writes one complete EMF line.
    fn write_line(&self, line: &str);
}

/// Production sink: stdout, one line per metric object, outside the tracing pipeline.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutSink;

impl MetricSink for StdoutSink {
    #[allow(clippy::print_stdout)]
    fn write_line(&self, line: &str) {
        println!("{line}");
    }
}

/// Test sink: keeps every line.
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    lines: Arc<Mutex<Vec<String>>>,
}

impl MemorySink {
    /// All lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The sum of the metric `name` over every line written.
    pub fn total(&self, name: &str) -> f64 {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get(name).and_then(Value::as_f64))
            .sum()
    }
}

impl MetricSink for MemorySink {
    fn write_line(&self, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line.to_owned());
    }
}

/// Unit of an EMF metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
    /// No unit.
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Seconds => "Seconds",
            Self::Milliseconds => "Milliseconds",
            Self::None => "None",
        }
    }
}

/// Builder for one EMF object: a namespace, dimension values and metric values.
#[derive(Debug, Clone)]
pub struct Emf {
    namespace: String,
    dimensions: Vec<(String, String)>,
    extra_sets: Vec<Vec<String>>,
    metrics: Vec<(String, Unit, f64)>,
}

impl Emf {
    /// A new object in `namespace` (e.g. `"CLS"`).
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            dimensions: Vec::new(),
            extra_sets: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Adds a dimension (e.g. `Stage` = `production`).
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Also publishes the metrics under a coarser dimension set (a subset of the dimensions' names), e.g.
    /// `["Stage"]` so that an alarm on `Stage` alone sees values that carry more dimensions. The value still
    /// counts once per set.
    pub fn rollup(mut self, names: &[&str]) -> Self {
        self.extra_sets
            .push(names.iter().map(|n| (*n).to_owned()).collect());
        self
    }

    /// Adds a count metric.
    pub fn count(self, name: &str, value: u64) -> Self {
        #[allow(clippy::cast_precision_loss)]
        self.metric(name, Unit::Count, value as f64)
    }

    /// Adds a metric with an explicit unit.
    pub fn metric(mut self, name: &str, unit: Unit, value: f64) -> Self {
        self.metrics.push((name.to_owned(), unit, value));
        self
    }

    /// True when no metric was added.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The EMF JSON line for instant `at`.
    pub fn to_line(&self, at: DateTime<Utc>) -> String {
        let mut root = Map::new();
        let dims: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let mut sets: Vec<Vec<&str>> = self
            .extra_sets
            .iter()
            .map(|set| set.iter().map(String::as_str).collect())
            .collect();
        sets.push(dims);
        let defs: Vec<Value> = self
            .metrics
            .iter()
            .map(|(n, u, _)| json!({"Name": n, "Unit": u.as_str()}))
            .collect();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": sets, "Metrics": defs}]
            }),
        );
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        Value::Object(root).to_string()
    }

    /// Writes the line to `sink` unless no metric was added.
    pub fn emit(&self, sink: &dyn MetricSink, at: DateTime<Utc>) {
        if !self.is_empty() {
            sink.write_line(&self.to_line(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;

    #[test]
    fn an_emf_line_declares_its_metrics_and_dimensions() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let line = Emf::new("CLS")
            .dimension("Stage", "production")
            .count("EnqueueFailed", 1)
            .to_line(at);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_767_225_600_000i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CLS");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Stage"
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "EnqueueFailed"
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Count"
        );
        assert_eq!(v["Stage"], "production");
        assert_eq!(v["EnqueueFailed"], 1.0);
    }

    #[test]
    fn a_rollup_adds_a_coarser_dimension_set() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let line = Emf::new("CLS")
            .dimension("Stage", "production")
            .dimension("kind", "member_event")
            .rollup(&["Stage"])
            .count("PermanentFailure", 1)
            .to_line(at);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stage"], ["Stage", "kind"]])
        );
        assert_eq!(v["kind"], "member_event");
        assert_eq!(v["PermanentFailure"], 1.0);
    }

    #[test]
    fn the_memory_sink_sums_a_metric_across_lines() {
        let sink = MemorySink::default();
        let at = crate::SystemClock.now();
        Emf::new("X").count("Done", 2).emit(&sink, at);
        Emf::new("X").count("Done", 3).emit(&sink, at);
        Emf::new("X").emit(&sink, at);
        assert_eq!(sink.lines().len(), 2);
        assert!((sink.total("Done") - 5.0).abs() < f64::EPSILON);
    }
}
