// The alarms of infra/README.md and the services' READMEs, all wired to the one SNS topic.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Match } from "aws-cdk-lib/assertions";
import { FUNCTION_NAMES } from "../lib/stack";
import { asArray, logicalId, resourcesOfType, synth, type CfnResource } from "./helpers";

const s = synth();
const topicRef = { Ref: logicalId(s.stack, s.stack.alarmTopic) };
const alarms = resourcesOfType(s.json, "AWS::CloudWatch::Alarm").map(([, r]) => r.Properties!);

function single(pred: (p: Record<string, any>) => boolean, what: string): Record<string, any> {
  const found = alarms.filter(pred);
  assert.equal(found.length, 1, `expected one alarm for ${what}, found ${found.length}`);
  return found[0];
}

const dims = (p: Record<string, any>) =>
  Object.fromEntries(asArray(p.Dimensions as { Name: string; Value: unknown }[]).map((d) => [d.Name, d.Value]));

function metricAlarm(namespace: string, metricName: string, dimensions?: Record<string, unknown>) {
  return single(
    (p) =>
      p.Namespace === namespace &&
      p.MetricName === metricName &&
      (dimensions === undefined || JSON.stringify(dims(p)) === JSON.stringify(dimensions)),
    `${namespace}/${metricName} ${JSON.stringify(dimensions ?? {})}`,
  );
}

function assertAlarm(
  p: Record<string, any>,
  expected: { statistic: string; period: number; threshold: number; op: string; periods?: number; missing?: string },
) {
  assert.equal(p.Statistic, expected.statistic);
  assert.equal(p.Period, expected.period);
  assert.equal(p.Threshold, expected.threshold);
  assert.equal(p.ComparisonOperator, expected.op);
  assert.equal(p.EvaluationPeriods, expected.periods ?? 1);
  assert.equal(p.DatapointsToAlarm, expected.periods ?? 1);
  assert.equal(p.TreatMissingData, expected.missing ?? "notBreaching");
}

const GTE = "GreaterThanOrEqualToThreshold";
const LT = "LessThanThreshold";

describe("alarm topic", () => {
  it("sends every alarm to the SNS topic and nowhere else", () => {
    assert.ok(alarms.length > 0);
    for (const p of alarms) {
      assert.deepEqual(asArray(p.AlarmActions), [topicRef], p.AlarmDescription);
      assert.equal(p.ActionsEnabled ?? true, true);
    }
  });

  it("names every alarm after the stack, uniquely", () => {
    const names = alarms.map((p) => p.AlarmName as string);
    for (const n of names) assert.match(n, /^ItAutomation-[a-z0-9-]+$/);
    assert.equal(new Set(names).size, names.length);
  });

  it("subscribes the AlarmEmail parameter by e-mail", () => {
    s.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: { Ref: "AlarmEmail" },
      TopicArn: topicRef,
    });
  });

  it("refuses publishing without TLS and lets CloudWatch publish from this account", () => {
    s.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [topicRef],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
          }),
        ]),
      },
    });
  });
});

describe("function alarms", () => {
  for (const fn of FUNCTION_NAMES) {
    const fnRef = { Ref: logicalId(s.stack, s.stack.functions[fn]) };
    it(`alarms on any ${fn} error within 5 minutes`, () => {
      assertAlarm(metricAlarm("AWS/Lambda", "Errors", { FunctionName: fnRef }), {
        statistic: "Sum",
        period: 300,
        threshold: 1,
        op: GTE,
      });
    });

    const webhook = fn === "cls-webhook";
    it(`alarms on ${webhook ? "any throttle in 5 minutes" : "5 throttles in 15 minutes"} for ${fn}`, () => {
      assertAlarm(metricAlarm("AWS/Lambda", "Throttles", { FunctionName: fnRef }), {
        statistic: "Sum",
        period: webhook ? 300 : 900,
        threshold: webhook ? 1 : 5,
        op: GTE,
      });
    });
  }
});

describe("webhook API alarms", () => {
  const apiRef = { Ref: logicalId(s.stack, s.stack.httpApi) };

  it("alarms on any 5xx of the webhook API within 5 minutes", () => {
    assertAlarm(metricAlarm("AWS/ApiGateway", "5xx", { ApiId: apiRef }), {
      statistic: "Sum",
      period: 300,
      threshold: 1,
      op: GTE,
    });
  });

  it("alarms on a spike of 10 or more 4xx answers (429 throttling included) within 5 minutes", () => {
    assertAlarm(metricAlarm("AWS/ApiGateway", "4xx", { ApiId: apiRef }), {
      statistic: "Sum",
      period: 300,
      threshold: 10,
      op: GTE,
    });
  });
});

describe("queue alarms", () => {
  /** Every queue used as a dead-letter queue, found from the template itself. */
  function deadLetterQueues(): string[] {
    const ids = new Set<string>();
    const collect = (arn: unknown) => {
      const id = (arn as { "Fn::GetAtt"?: [string, string] })?.["Fn::GetAtt"]?.[0];
      if (id) ids.add(id);
    };
    for (const [, r] of Object.entries(s.json.Resources) as [string, CfnResource][]) {
      if (r.Type === "AWS::SQS::Queue") collect(r.Properties?.RedrivePolicy?.deadLetterTargetArn);
      if (r.Type === "AWS::Lambda::Function") collect(r.Properties?.DeadLetterConfig?.TargetArn);
      if (r.Type === "AWS::Events::Rule") for (const t of asArray(r.Properties?.Targets)) collect(t.DeadLetterConfig?.Arn);
    }
    return [...ids];
  }

  it("finds the two dead-letter queues", () => {
    assert.deepEqual(
      deadLetterQueues().sort(),
      [logicalId(s.stack, s.stack.queueDlq), logicalId(s.stack, s.stack.handoffDlq)].sort(),
    );
  });

  it("alarms on the first visible message in every dead-letter queue", () => {
    for (const dlq of deadLetterQueues()) {
      const qName = { "Fn::GetAtt": [dlq, "QueueName"] };
      assertAlarm(metricAlarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: qName }), {
        statistic: "Maximum",
        period: 300,
        threshold: 1,
        op: GTE,
      });
    }
  });

  it("alarms when the oldest CLS message is 900 s old", () => {
    const qName = { "Fn::GetAtt": [logicalId(s.stack, s.stack.queue), "QueueName"] };
    assertAlarm(metricAlarm("AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: qName }), {
      statistic: "Maximum",
      period: 300,
      threshold: 900,
      op: GTE,
    });
  });
});

describe("service metric alarms", () => {
  for (const name of ["EnqueueFailed", "PermanentFailure", "SweepBrakeTripped"]) {
    it(`alarms on any CLS ${name} in the production stage`, () => {
      assertAlarm(metricAlarm("CLS", name, { Stage: "production" }), {
        statistic: "Sum",
        period: 300,
        threshold: 1,
        op: GTE,
      });
    });
  }

  it("alarms when the sweep emitted no SweepCompleted for 26 hours, missing data breaching (heartbeat)", () => {
    assertAlarm(metricAlarm("CLS", "SweepCompleted", { Stage: "production" }), {
      statistic: "Sum",
      period: 3600,
      threshold: 1,
      op: LT,
      periods: 26,
      missing: "breaching",
    });
  });

  const byods = { Service: "byods-extender" };
  for (const name of ["OAuthRefreshFailures", "SecretWriteFailures"]) {
    it(`alarms on any BYODS ${name} within 5 minutes`, () => {
      assertAlarm(metricAlarm("WebexBYODS", name, byods), { statistic: "Sum", period: 300, threshold: 1, op: GTE });
    });
  }

  it("warns when the BYODS integration refresh token has less than 14 days left", () => {
    assertAlarm(metricAlarm("WebexBYODS", "IntegrationRefreshTokenSecondsLeft", byods), {
      statistic: "Minimum",
      period: 3600,
      threshold: 1209600,
      op: LT,
    });
  });

  it("alarms when a BYODS data-source token has less than 60 minutes left", () => {
    assertAlarm(metricAlarm("WebexBYODS", "MinDataSourceTokenMinutesLeft", byods), {
      statistic: "Minimum",
      period: 3600,
      threshold: 60,
      op: LT,
    });
  });

  it("alarms on a missing BYODS heartbeat over 3 hours, missing data breaching", () => {
    assertAlarm(metricAlarm("WebexBYODS", "SweepSuccess", byods), {
      statistic: "Sum",
      period: 3600,
      threshold: 1,
      op: LT,
      periods: 3,
      missing: "breaching",
    });
  });

  it("alarms on oncall-spoke handoffs that failed permanently and on undelivered Slack alerts", () => {
    assertAlarm(metricAlarm("OncallSpoke", "Handoffs", { Result: "permanent_error" }), {
      statistic: "Sum",
      period: 300,
      threshold: 1,
      op: GTE,
    });
    assertAlarm(metricAlarm("OncallSpoke", "AlertFailures", {}), { statistic: "Sum", period: 300, threshold: 1, op: GTE });
  });

  it("keeps every alarm's evaluation range within CloudWatch's limits", () => {
    for (const p of alarms) {
      const period = p.Period as number;
      const range = period * p.EvaluationPeriods;
      assert.ok(range <= (period < 3600 ? 86400 : 604800), p.AlarmDescription);
    }
  });

  it("has exactly the alarms listed above", () => {
    // 6 functions x 2, 2 API, 2 DLQs, oldest age, 3 CLS metrics + sweep heartbeat, 5 BYODS, 2 oncall.
    assert.equal(alarms.length, 12 + 2 + 2 + 1 + 4 + 5 + 2);
  });
});
