// The services' own EMF metrics, as the alarms and the operations dashboard address them. Namespaces, names and
// dimensions are those the Rust code writes (docs/operations/runbook.md §6 lists them); test/dashboard.test.ts
// reads the Rust sources and fails when any metric used here is not one a service emits.
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";

/** Statistic, period and label of one metric on a graph or alarm. */
export interface MetricShape {
  readonly statistic?: string;
  readonly period?: Duration;
  readonly label?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

function metric(
  namespace: string,
  metricName: string,
  dimensionsMap: Record<string, string> | undefined,
  shape: MetricShape,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace,
    metricName,
    dimensionsMap,
    statistic: shape.statistic ?? "Sum",
    period: shape.period ?? FIVE_MINUTES,
    label: shape.label,
  });
}

/** CLS (cls-core's `metrics`): namespace `CLS`, dimension `Stage`; every break-down is rolled up to `[Stage]`. */
export function clsMetric(stage: string, name: string, shape: MetricShape = {}): cloudwatch.Metric {
  return metric("CLS", name, { Stage: stage }, shape);
}

/** byods-extender: namespace `WebexBYODS` (its default `BYODS_METRICS_NAMESPACE`), `Service=byods-extender`. */
export function byodsMetric(name: string, shape: MetricShape = {}): cloudwatch.Metric {
  return metric("WebexBYODS", name, { Service: "byods-extender" }, shape);
}

/** oncall-spoke: namespace `OncallSpoke`; `Handoffs` has the dimension `Result`, its other counts none. */
export function oncallMetric(
  name: string,
  dimensions: Record<string, string> | undefined,
  shape: MetricShape = {},
): cloudwatch.Metric {
  return metric("OncallSpoke", name, dimensions, shape);
}

/** oncall-pagerduty: namespace `OncallPagerDuty`, dimension `Function=oncall-pagerduty`. */
export function pagerDutyMetric(name: string, shape: MetricShape = {}): cloudwatch.Metric {
  return metric("OncallPagerDuty", name, { Function: "oncall-pagerduty" }, shape);
}
