// The operations dashboard, the page an operator opens first (docs/operations/runbook.md §6): the alarms, then
// on-call handoffs, CLS, BYODS and every function's errors and duration. Service metrics come from lib/metrics.ts;
// test/dashboard.test.ts checks each one against the EMF lines in the Rust sources.
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { byodsMetric, clsMetric, oncallMetric, pagerDutyMetric } from "./metrics";

export interface DashboardProps {
  readonly dashboardName: string;
  readonly stage: string;
  /** The functions, by name, in the order their lines are drawn. */
  readonly functions: Record<string, lambda.IFunction>;
  readonly queue: sqs.IQueue;
  readonly queueDlq: sqs.IQueue;
  readonly handoffDlq: sqs.IQueue;
  readonly alarms: cloudwatch.IAlarm[];
  /** oncall-pagerduty's polling interval (its runs per hour are 60 / interval); undefined while it does not poll. */
  readonly pagerDutyInterval?: Duration;
}

const FIVE_MINUTES = Duration.minutes(5);
const HOUR = Duration.hours(1);
const WIDTH = 24;

/** A line graph, `WIDTH / perRow` wide; counts are sums per 5 minutes unless a metric says otherwise. */
function graph(
  title: string,
  perRow: number,
  left: cloudwatch.IMetric[],
  extra: Partial<cloudwatch.GraphWidgetProps> = {},
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left,
    width: WIDTH / perRow,
    height: 6,
    legendPosition: cloudwatch.LegendPosition.BOTTOM,
    ...extra,
  });
}

/** A graph of counts (sums per 5 minutes unless a metric says otherwise). */
function counts(title: string, perRow: number, left: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return graph(title, perRow, left, { leftYAxis: { label: "count per 5 minutes", showUnits: false } });
}

function threshold(value: number, label: string): cloudwatch.HorizontalAnnotation {
  return { value, label, color: cloudwatch.Color.RED };
}

export function operationsDashboard(scope: Construct, id: string, props: DashboardProps): cloudwatch.Dashboard {
  const { stage, functions } = props;
  const cls = (name: string, label: string, period = FIVE_MINUTES) => clsMetric(stage, name, { label, period });
  const pdRuns = props.pagerDutyInterval
    ? `${60 / props.pagerDutyInterval.toMinutes()} expected`
    : "schedule off: no team mapped";

  const dashboard = new cloudwatch.Dashboard(scope, id, {
    dashboardName: props.dashboardName,
    defaultInterval: Duration.days(1),
  });

  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: [
        `# IT automation — ${stage}`,
        "Alarms first (each one is explained in the runbook, docs/operations/runbook.md §3, by its name without " +
          "the stack prefix); then on-call handoffs, CLS, BYODS and every function's errors and duration. " +
          "Counts are sums per 5 minutes, heartbeats sums per hour; red lines are alarm thresholds.",
      ].join("\n\n"),
      width: WIDTH,
      height: 3,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: "Alarms",
      alarms: props.alarms,
      width: WIDTH,
      height: 6,
      sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
    }),
  );

  // On-call: what oncall-spoke did with each handoff, and what the PagerDuty source put on the bus.
  dashboard.addWidgets(
    counts(
      "Handoffs (oncall-spoke)",
      3,
      [
        oncallMetric("Handoffs", { Result: "updated" }, { label: "applied" }),
        oncallMetric("Handoffs", { Result: "noop" }, { label: "already right (noop)" }),
        oncallMetric("Handoffs", { Result: "skipped" }, { label: "skipped" }),
        oncallMetric("Handoffs", { Result: "dry_run" }, { label: "dry run" }),
        oncallMetric("Handoffs", { Result: "permanent_error" }, { label: "failed (permanent, alerted)" }),
        oncallMetric("Handoffs", { Result: "retryable_error" }, { label: "failed (retried)" }),
      ],
    ),
    counts(
      "PagerDuty source (oncall-pagerduty)",
      3,
      [
        pagerDutyMetric("HandoffsEmitted", { label: "handoffs emitted" }),
        pagerDutyMetric("ReconcileEmitted", { label: "daily reconcile emitted" }),
        pagerDutyMetric("UnknownUsers", { label: "unknown users" }),
        pagerDutyMetric("PagerDutyErrors", { label: "PagerDuty errors" }),
      ],
    ),
    counts(
      "oncall-spoke Slack alerts and Spoke retries",
      3,
      [
        oncallMetric("AlertsSent", undefined, { label: "alerts sent" }),
        oncallMetric("AlertFailures", undefined, { label: "alerts not delivered" }),
        oncallMetric("SpokeRetries", undefined, { label: "Spoke retries" }),
      ],
    ),
  );

  // CLS: deliveries in, tickets, reminders, extensions, removals.
  dashboard.addWidgets(
    counts(
      "CLS deliveries (cls-webhook)",
      4,
      [
        cls("WebhookReceived", "received"),
        cls("Enqueued", "enqueued"),
        cls("WebhookRejected", "rejected"),
        cls("EnqueueFailed", "enqueue failed"),
      ],
    ),
    counts(
      "CLS tickets",
      4,
      [
        cls("TicketCreated", "created"),
        cls("TicketUpdated", "updated"),
        cls("TicketReopened", "reopened"),
        cls("PermanentFailure", "record failed permanently"),
      ],
    ),
    counts(
      "CLS reminders",
      4,
      [cls("NotificationSent", "reminders sent"), cls("NotificationFallback", "sent to the fallback channel")],
    ),
    counts(
      "CLS extensions",
      4,
      [cls("ExtensionApplied", "applied"), cls("ExtensionDenied", "denied")],
    ),
  );
  dashboard.addWidgets(
    counts(
      "CLS removals",
      4,
      [
        cls("CollaboratorRemoved", "removed"),
        cls("RemovalAlreadyGone", "already gone"),
        cls("SweepBrakeTripped", "held by the sweep brake"),
      ],
    ),
    graph(
      "cls-events.fifo: age of the oldest message",
      4,
      [props.queue.metricApproximateAgeOfOldestMessage({ statistic: "Maximum", period: FIVE_MINUTES, label: "seconds" })],
      { leftYAxis: { min: 0, label: "seconds", showUnits: false }, leftAnnotations: [threshold(900, "alarm")] },
    ),
    graph(
      "Dead-letter queues: messages waiting",
      4,
      [
        props.queueDlq.metricApproximateNumberOfMessagesVisible({
          statistic: "Maximum",
          period: FIVE_MINUTES,
          label: "cls-events-dlq",
        }),
        props.handoffDlq.metricApproximateNumberOfMessagesVisible({
          statistic: "Maximum",
          period: FIVE_MINUTES,
          label: "oncall-spoke-dlq",
        }),
      ],
      { leftYAxis: { min: 0, showUnits: false }, leftAnnotations: [threshold(1, "alarm")] },
    ),
    graph(
      "Heartbeats (runs per hour)",
      4,
      [
        cls("SweepCompleted", "cls-sweep completed (daily)", HOUR),
        byodsMetric("SweepSuccess", { label: "byods-extender succeeded (hourly)", period: HOUR }),
        functions["oncall-pagerduty"].metricInvocations({
          statistic: "Sum",
          period: HOUR,
          label: `oncall-pagerduty runs (${pdRuns})`,
        }),
      ],
      { leftYAxis: { min: 0, showUnits: false } },
    ),
  );

  // BYODS: time left on the tokens (the lowest, and each data source), and what the hourly sweep did.
  dashboard.addWidgets(
    graph(
      "BYODS: minutes left on the data-source tokens",
      2,
      [
        byodsMetric("MinDataSourceTokenMinutesLeft", { statistic: "Minimum", period: HOUR, label: "lowest" }),
        new cloudwatch.MathExpression({
          expression:
            "SEARCH('{WebexBYODS,DataSourceId,Service} MetricName=\"DataSourceTokenMinutesLeft\" " +
            "Service=\"byods-extender\"', 'Minimum', 3600)",
          label: "",
          period: HOUR,
          usingMetrics: {},
        }),
      ],
      { leftYAxis: { min: 0, label: "minutes", showUnits: false }, leftAnnotations: [threshold(60, "alarm")] },
    ),
    counts(
      "BYODS sweeps",
      2,
      [
        byodsMetric("DataSourcesExtended", { label: "extended" }),
        byodsMetric("DataSourcesFailed", { label: "failed" }),
        byodsMetric("OAuthRefreshFailures", { label: "OAuth refresh failures" }),
        byodsMetric("SecretWriteFailures", { label: "secret write failures" }),
      ],
    ),
  );

  // Every function: errors and duration.
  const names = Object.keys(functions);
  dashboard.addWidgets(
    counts(
      "Function errors",
      2,
      names.map((fn) => functions[fn].metricErrors({ statistic: "Sum", period: FIVE_MINUTES, label: fn })),
    ),
    graph(
      "Function duration (maximum)",
      2,
      names.map((fn) => functions[fn].metricDuration({ statistic: "Maximum", period: FIVE_MINUTES, label: fn })),
      { leftYAxis: { min: 0, label: "milliseconds", showUnits: false } },
    ),
  );
  return dashboard;
}
