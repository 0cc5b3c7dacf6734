// The stack's resources (infra/README.md): functions, HTTP API, queues, mapping, EventBridge, secrets, outputs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { FUNCTION_NAMES, QUEUE_MAPPING, queueMapping, stageName } from "../lib/stack";
import { asArray, logicalId, resourcesOfType, synth, type CfnTemplate } from "./helpers";

const s = synth();
const fnId = (fn: (typeof FUNCTION_NAMES)[number]) => logicalId(s.stack, s.stack.functions[fn]);
const fnProps = (fn: (typeof FUNCTION_NAMES)[number]) => s.json.Resources[fnId(fn)].Properties!;

// Expected values are written out here rather than read from the stack, so a change in the stack fails.
const TIMEOUTS = {
  "oncall-spoke": 60,
  "oncall-pagerduty": 60,
  "cls-webhook": 10,
  "cls-queue": 60,
  "cls-sweep": 600,
  "byods-extender": 120,
} as const;
const RESERVED = {
  "oncall-spoke": 1,
  "oncall-pagerduty": 1,
  "cls-webhook": undefined,
  "cls-queue": undefined,
  "cls-sweep": 1,
  "byods-extender": 1,
} as const;

describe("functions", () => {
  it("deploys exactly the six functions", () => {
    s.template.resourceCountIs("AWS::Lambda::Function", 6);
  });

  for (const fn of FUNCTION_NAMES) {
    it(`runs ${fn} as an arm64 provided.al2023 bootstrap with 256 MB and a ${TIMEOUTS[fn]} s timeout`, () => {
      const p = fnProps(fn);
      assert.equal(p.Runtime, "provided.al2023");
      assert.deepEqual(p.Architectures, ["arm64"]);
      assert.equal(p.Handler, "bootstrap");
      assert.equal(p.MemorySize, 256);
      assert.equal(p.Timeout, TIMEOUTS[fn]);
    });

    it(`logs ${fn} as JSON (application INFO, system WARN) into its own one-month log group`, () => {
      const p = fnProps(fn);
      assert.equal(p.LoggingConfig.LogFormat, "JSON");
      assert.equal(p.LoggingConfig.ApplicationLogLevel, "INFO");
      assert.equal(p.LoggingConfig.SystemLogLevel, "WARN");
      const groupId = p.LoggingConfig.LogGroup.Ref as string;
      const group = s.json.Resources[groupId];
      assert.equal(group.Type, "AWS::Logs::LogGroup");
      assert.equal(group.Properties!.RetentionInDays, 30);
    });

    it(`builds ${fn} from its own prebuilt asset folder, without zip files`, () => {
      const key = fnProps(fn).Code.S3Key as string;
      const staged = path.join(s.outdir, `asset.${key.replace(/\.zip$/, "")}`);
      assert.equal(readFileSync(path.join(staged, "bootstrap"), "utf8"), `${fn}\n`);
      assert.equal(existsSync(path.join(staged, "bootstrap.zip")), false);
    });

    it(`${RESERVED[fn] === undefined ? "does not reserve" : "reserves 1"} concurrency for ${fn}`, () => {
      assert.equal(fnProps(fn).ReservedConcurrentExecutions, RESERVED[fn]);
    });

    it(`leaves X-Ray off for ${fn} by default`, () => {
      assert.notEqual(fnProps(fn).TracingConfig?.Mode, "Active");
    });
  }

  it("gives every function a distinct log group", () => {
    const groups = FUNCTION_NAMES.map((fn) => fnProps(fn).LoggingConfig.LogGroup.Ref);
    assert.equal(new Set(groups).size, 6);
  });

  it("puts only secret ids, URLs, the stage, the org, the bus and the PagerDuty settings into the environment", () => {
    const queueRef = { Ref: logicalId(s.stack, s.stack.queue) };
    const expected: Record<string, Record<string, unknown>> = {
      "oncall-spoke": {
        ONCALL_SECRET_ID: "oncall-spoke",
        ONCALL_SPOKE_ORG: { Ref: "SpokeOrg" },
        SPOKE_BASE_URL: "https://api.askspoke.com/api/v1",
      },
      "oncall-pagerduty": {
        ONCALL_PD_SECRET_ID: "oncall-pagerduty",
        ONCALL_PD_TEAMS: "[]",
        ONCALL_EVENT_BUS_NAME: "oncall-handoff",
        PAGERDUTY_API_URL: "https://api.pagerduty.com",
        ONCALL_PD_INTERVAL_MINUTES: "5",
      },
      "byods-extender": {
        BYODS_SECRET_ID: "webex-byods-credentials",
        BYODS_SLACK_SECRET_ID: "byods/slack",
        WEBEX_API_BASE_URL: "https://webexapis.com/v1",
      },
    };
    // Every CLS function gets all six CLS secret ids (ids only; IAM and the resource policies decide access).
    const cls = {
      CLS_STAGE: "production",
      CLS_QUEUE_URL: queueRef,
      CLS_GITHUB_SECRET_ID: "cls/github",
      CLS_WEBHOOK_SECRET_ID: "cls/webhook",
      CLS_SLACK_SECRET_ID: "cls/slack",
      CLS_ALERTS_SECRET_ID: "cls/alerts",
      CLS_SPOKE_SECRET_ID: "cls/spoke",
      CLS_IDENTITY_SECRET_ID: "cls/identity",
      GITHUB_API_BASE_URL: "https://api.github.com",
      SPOKE_BASE_URL: "https://api.askspoke.com/api/v1",
      SLACK_API_BASE_URL: "https://slack.com/api",
      SLACK_RESPONSE_URL_PREFIX: "https://hooks.slack.com/",
    };
    for (const fn of ["cls-webhook", "cls-queue", "cls-sweep"]) expected[fn] = cls;
    for (const fn of FUNCTION_NAMES) {
      assert.deepEqual(fnProps(fn).Environment.Variables, expected[fn], fn);
    }
  });

  it("references secrets by name and never creates one with a value", () => {
    s.template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    s.template.resourceCountIs("AWS::SecretsManager::SecretVersion", 0);
  });
});

describe("CLS HTTP API", () => {
  it("routes exactly POST /github/webhook and POST /slack/interactions", () => {
    const keys = resourcesOfType(s.json, "AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties!.RouteKey);
    assert.deepEqual(keys.sort(), ["POST /github/webhook", "POST /slack/interactions"]);
  });

  it("sends both routes to cls-webhook with payload format 2.0", () => {
    const integrations = resourcesOfType(s.json, "AWS::ApiGatewayV2::Integration");
    assert.equal(integrations.length, 1);
    const [integrationId, integration] = integrations[0];
    assert.equal(integration.Properties!.IntegrationType, "AWS_PROXY");
    assert.equal(integration.Properties!.PayloadFormatVersion, "2.0");
    assert.deepEqual(integration.Properties!.IntegrationUri, { "Fn::GetAtt": [fnId("cls-webhook"), "Arn"] });
    for (const [, route] of resourcesOfType(s.json, "AWS::ApiGatewayV2::Route")) {
      assert.deepEqual(route.Properties!.Target, {
        "Fn::Join": ["", ["integrations/", { Ref: integrationId }]],
      });
    }
  });

  it("throttles the $default stage at burst 20, rate 10 and writes JSON access logs", () => {
    const stages = resourcesOfType(s.json, "AWS::ApiGatewayV2::Stage");
    assert.equal(stages.length, 1);
    const p = stages[0][1].Properties!;
    assert.equal(p.StageName, "$default");
    assert.equal(p.AutoDeploy, true);
    assert.deepEqual(p.DefaultRouteSettings, { ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10 });
    const format = JSON.parse(p.AccessLogSettings.Format as string);
    assert.equal(format.requestId, "$context.requestId");
    assert.equal(format.status, "$context.status");
    const dest = p.AccessLogSettings.DestinationArn["Fn::GetAtt"][0] as string;
    assert.equal(s.json.Resources[dest].Type, "AWS::Logs::LogGroup");
    assert.equal(s.json.Resources[dest].Properties!.RetentionInDays, 30);
  });

  it("keeps headers and bodies out of the access log format", () => {
    const p = resourcesOfType(s.json, "AWS::ApiGatewayV2::Stage")[0][1].Properties!;
    assert.doesNotMatch(p.AccessLogSettings.Format as string, /header|body|authorizer/i);
  });
});

describe("CLS queue", () => {
  const queueId = logicalId(s.stack, s.stack.queue);
  const dlqId = logicalId(s.stack, s.stack.queueDlq);

  it("is FIFO with explicit dedup ids, 360 s visibility, 14 days retention and SSE-SQS", () => {
    const p = s.json.Resources[queueId].Properties!;
    assert.equal(p.QueueName, "cls-events.fifo");
    assert.equal(p.FifoQueue, true);
    assert.notEqual(p.ContentBasedDeduplication, true);
    assert.equal(p.VisibilityTimeout, 360);
    assert.equal(p.MessageRetentionPeriod, 1209600);
    assert.equal(p.SqsManagedSseEnabled, true);
  });

  it("redrives to the FIFO DLQ after 5 receives", () => {
    const p = s.json.Resources[queueId].Properties!;
    assert.deepEqual(p.RedrivePolicy, {
      deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
      maxReceiveCount: 5,
    });
    const d = s.json.Resources[dlqId].Properties!;
    assert.equal(d.QueueName, "cls-events-dlq.fifo");
    assert.equal(d.FifoQueue, true);
    assert.equal(d.MessageRetentionPeriod, 1209600);
    assert.equal(d.SqsManagedSseEnabled, true);
  });

  it("denies every non-TLS request on every queue", () => {
    const queues = resourcesOfType(s.json, "AWS::SQS::Queue").map(([id]) => id);
    assert.equal(queues.length, 3);
    for (const q of queues) {
      s.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: q }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });

  it("feeds cls-queue in batches of 10 with partial failures and at most 2 concurrent pollers", () => {
    const mappings = resourcesOfType(s.json, "AWS::Lambda::EventSourceMapping");
    assert.equal(mappings.length, 1);
    const p = mappings[0][1].Properties!;
    assert.deepEqual(p.EventSourceArn, { "Fn::GetAtt": [queueId, "Arn"] });
    assert.deepEqual(p.FunctionName, { Ref: fnId("cls-queue") });
    assert.equal(p.BatchSize, 10);
    assert.deepEqual(p.FunctionResponseTypes, ["ReportBatchItemFailures"]);
    assert.deepEqual(p.ScalingConfig, { MaximumConcurrency: 2 });
  });

  it("takes the mapping from queue-mapping.json, the file the bench's drain reads, and rejects values SQS would", () => {
    assert.deepEqual(QUEUE_MAPPING, { batchSize: 10, maxConcurrency: 2 });
    assert.deepEqual(queueMapping('{"batchSize": 5, "maxConcurrency": 3}'), { batchSize: 5, maxConcurrency: 3 });
    assert.throws(() => queueMapping('{"batchSize": 11, "maxConcurrency": 2}'), /batchSize must be an integer 1..10/);
    assert.throws(() => queueMapping('{"batchSize": 10, "maxConcurrency": 1}'), /maxConcurrency must be/);
    assert.throws(() => queueMapping('{"batchSize": "10", "maxConcurrency": 2}'), /batchSize/);
  });
});

describe("EventBridge", () => {
  const handoffDlqId = logicalId(s.stack, s.stack.handoffDlq);
  const rules = resourcesOfType(s.json, "AWS::Events::Rule");

  it("has the handoff rule and the three schedules only", () => {
    assert.equal(rules.length, 4);
  });

  it("takes handoff events from the dedicated bus only, and schedules from the default bus", () => {
    const busId = logicalId(s.stack, s.stack.handoffBus);
    const [, handoff] = rules.find(([, r]) => r.Properties!.EventPattern)!;
    assert.deepEqual(handoff.Properties!.EventBusName, { Ref: busId });
    for (const [, r] of rules.filter(([, x]) => x.Properties!.ScheduleExpression)) {
      assert.equal(r.Properties!.EventBusName, undefined);
    }
    assert.equal(s.json.Resources[busId].Properties!.Name, "oncall-handoff");
  });

  it("lets only the on-call system's role and oncall-pagerduty put events on the handoff bus: an Allow and an explicit Deny", () => {
    const busId = logicalId(s.stack, s.stack.handoffBus);
    const pagerDutyRole = { "Fn::GetAtt": [logicalId(s.stack, s.stack.roles["oncall-pagerduty"]), "Arn"] };
    const publisher = {
      "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, ":role/oncall-handoff-publisher"]],
    };
    const busArn = {
      "Fn::Join": [
        "",
        ["arn:", { Ref: "AWS::Partition" }, ":events:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":event-bus/oncall-handoff"],
      ],
    };
    const policy = s.json.Resources[busId].Properties!.Policy;
    assert.deepEqual(policy.Statement, [
      {
        Sid: "AllowOnCallPublisher",
        Effect: "Allow",
        Principal: { AWS: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, ":root"]] } },
        Action: "events:PutEvents",
        Resource: busArn,
        Condition: { ArnLike: { "aws:PrincipalArn": publisher } },
      },
      {
        Sid: "DenyEveryoneElse",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "events:PutEvents",
        Resource: busArn,
        Condition: { ArnNotLike: { "aws:PrincipalArn": [publisher, pagerDutyRole] } },
      },
    ]);
    // No separate EventBusPolicy resources that could be deployed without the Deny.
    s.template.resourceCountIs("AWS::Events::EventBusPolicy", 0);
  });

  it("takes the on-call publisher from context, in another account too", () => {
    const o = synth({ context: { oncallPublisher: "arn:aws:iam::444455556666:role/on-call-prod" } });
    const bus = o.json.Resources[logicalId(o.stack, o.stack.handoffBus)].Properties!.Policy.Statement;
    assert.deepEqual(bus[0].Principal, {
      AWS: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::444455556666:root"]] },
    });
    assert.deepEqual(bus[0].Condition, { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::444455556666:role/on-call-prod" } });
    assert.deepEqual(bus[1].Condition.ArnNotLike["aws:PrincipalArn"][0], "arn:aws:iam::444455556666:role/on-call-prod");
  });

  it("sends handoff events to oncall-spoke with 2 retries and a DLQ for the target", () => {
    const [ruleId, rule] = rules.find(([, r]) => r.Properties!.EventPattern)!;
    assert.deepEqual(rule.Properties!.EventPattern, {
      source: ["on-call/handoff"],
      "detail-type": ["On-call Handoff Event"],
    });
    const targets = rule.Properties!.Targets;
    assert.equal(targets.length, 1);
    assert.deepEqual(targets[0].Arn, { "Fn::GetAtt": [fnId("oncall-spoke"), "Arn"] });
    assert.equal(targets[0].RetryPolicy.MaximumRetryAttempts, 2);
    assert.deepEqual(targets[0].DeadLetterConfig, { Arn: { "Fn::GetAtt": [handoffDlqId, "Arn"] } });
    // EventBridge may write to the DLQ only on behalf of this rule.
    s.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: handoffDlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sqs:SendMessage",
            Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [ruleId, "Arn"] } } },
          }),
        ]),
      },
    });
  });

  it("sends failed asynchronous oncall-spoke invocations to the same DLQ after 2 retries within an hour", () => {
    assert.deepEqual(fnProps("oncall-spoke").DeadLetterConfig, { TargetArn: { "Fn::GetAtt": [handoffDlqId, "Arn"] } });
    s.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fnId("oncall-spoke") },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  for (const [schedule, fn] of [
    ["cron(0 16 * * ? *)", "cls-sweep"],
    ["cron(0 * * * ? *)", "byods-extender"],
  ] as const) {
    it(`runs ${fn} on ${schedule} with 2 retries`, () => {
      const matching = rules.filter(([, r]) => r.Properties!.ScheduleExpression === schedule);
      assert.equal(matching.length, 1);
      const targets = matching[0][1].Properties!.Targets;
      assert.equal(targets.length, 1);
      assert.deepEqual(targets[0].Arn, { "Fn::GetAtt": [fnId(fn), "Arn"] });
      assert.equal(targets[0].RetryPolicy.MaximumRetryAttempts, 2);
    });
  }

  it("schedules oncall-pagerduty every 5 minutes, disabled while no team is mapped; a stale poll is dropped, not retried", () => {
    const matching = rules.filter(([, r]) => r.Properties!.ScheduleExpression === "rate(5 minutes)");
    assert.equal(matching.length, 1);
    assert.equal(matching[0][1].Properties!.State, "DISABLED");
    const targets = matching[0][1].Properties!.Targets;
    assert.equal(targets.length, 1);
    assert.deepEqual(targets[0].Arn, { "Fn::GetAtt": [fnId("oncall-pagerduty"), "Arn"] });
    assert.deepEqual(targets[0].RetryPolicy, { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 });
    assert.equal(matching[0][1].Properties!.EventBusName, undefined);
    // A failed run is not retried by Lambda either: the next scheduled run converges.
    s.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fnId("oncall-pagerduty") },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
  });

  it("lets each rule invoke only its own function", () => {
    for (const [ruleId, rule] of rules) {
      const target = rule.Properties!.Targets[0].Arn["Fn::GetAtt"][0];
      s.template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        Principal: "events.amazonaws.com",
        FunctionName: { "Fn::GetAtt": [target, "Arn"] },
        SourceArn: { "Fn::GetAtt": [ruleId, "Arn"] },
      });
    }
  });
});

describe("parameters and outputs", () => {
  it("takes the alarm e-mail and the Spoke org as parameters", () => {
    assert.equal(s.json.Parameters!.AlarmEmail.Type, "String");
    assert.equal(s.json.Parameters!.SpokeOrg.Type, "String");
  });

  it("outputs the webhook URL, the interactions URL, the queue URL and the topic ARN", () => {
    const outputs = s.json.Outputs!;
    assert.deepEqual(
      Object.keys(outputs).sort(),
      [
        "AlarmTopicArn",
        "ClsAdminRoleArn",
        "ClsQueueUrl",
        "ClsSweepFunctionName",
        "GithubWebhookUrl",
        "HandoffBusArn",
        "OperationsDashboardUrl",
        "SlackInteractionsUrl",
      ],
    );
    assert.match(JSON.stringify(outputs.GithubWebhookUrl.Value), /\/github\/webhook"/);
    assert.match(JSON.stringify(outputs.SlackInteractionsUrl.Value), /\/slack\/interactions"/);
    assert.deepEqual(outputs.ClsQueueUrl.Value, { Ref: logicalId(s.stack, s.stack.queue) });
    assert.deepEqual(outputs.AlarmTopicArn.Value, { Ref: logicalId(s.stack, s.stack.alarmTopic) });
  });
});

describe("context switches", () => {
  // String values, as `cdk synth -c key=value` passes them.
  const v = synth({
    context: {
      reserveConcurrency: "false",
      xray: "true",
      stage: "staging",
      clsGithubSecret: "cls-staging/github",
      byodsSecret: "byods-staging",
    },
  });
  const props = (fn: (typeof FUNCTION_NAMES)[number]) =>
    v.json.Resources[logicalId(v.stack, v.stack.functions[fn])].Properties!;

  it("reserves no concurrency when reserveConcurrency=false (new accounts)", () => {
    for (const fn of FUNCTION_NAMES) assert.equal(props(fn).ReservedConcurrentExecutions, undefined, fn);
  });

  it("enables active X-Ray tracing with xray=true", () => {
    for (const fn of FUNCTION_NAMES) assert.deepEqual(props(fn).TracingConfig, { Mode: "Active" }, fn);
  });

  it("uses the overridden secret names and stage in the environment", () => {
    assert.equal(props("cls-queue").Environment.Variables.CLS_GITHUB_SECRET_ID, "cls-staging/github");
    assert.equal(props("cls-queue").Environment.Variables.CLS_STAGE, "staging");
    assert.equal(props("byods-extender").Environment.Variables.BYODS_SECRET_ID, "byods-staging");
    // Untouched names take the stage's default: `<stage>/<production name>`.
    assert.equal(props("cls-queue").Environment.Variables.CLS_SLACK_SECRET_ID, "staging/cls/slack");
    assert.equal(props("cls-queue").Environment.Variables.CLS_WEBHOOK_SECRET_ID, "staging/cls/webhook");
  });

  it("rejects a reserveConcurrency value that is not a boolean", () => {
    assert.throws(() => synth({ context: { reserveConcurrency: "maybe" } }), /reserveConcurrency must be true or false/);
  });

  it("finds no asset when lambdaAssetDir points at an empty folder", () => {
    assert.throws(() => synth({ stackProps: { lambdaAssetDir: path.join(s.outdir, "missing") } }), /Cannot find asset|ENOENT|does not exist/);
  });

  it("collects every alarm action into the topic even with all switches changed", () => {
    for (const [, alarm] of resourcesOfType(v.json, "AWS::CloudWatch::Alarm")) {
      assert.deepEqual(asArray(alarm.Properties!.AlarmActions), [{ Ref: logicalId(v.stack, v.stack.alarmTopic) }]);
    }
  });
});

/** Every explicit physical name in a template, as "<type> <name>" (secrets by their SecretId). */
function physicalNames(json: CfnTemplate): string[] {
  const nameKeys = [
    "QueueName",
    "FunctionName",
    "RoleName",
    "TopicName",
    "AlarmName",
    "Name",
    "LogGroupName",
    "SecretId",
    "DashboardName",
  ];
  const out: string[] = [];
  for (const r of Object.values(json.Resources)) {
    // References to other resources (Ref/GetAtt) are not names.
    if (r.Type === "AWS::Lambda::Permission" || r.Type === "AWS::Lambda::EventSourceMapping") continue;
    if (r.Type === "AWS::Lambda::EventInvokeConfig" || r.Type === "AWS::Events::Rule") continue;
    for (const key of nameKeys) {
      const v = r.Properties?.[key];
      if (v !== undefined) out.push(`${r.Type} ${JSON.stringify(v)}`);
    }
  }
  return out.sort();
}

describe("stages", () => {
  const prod = s;
  const staging = synth({ context: { stage: "staging" } });
  const testing = synth({ context: { stage: "testing" } });

  it("names the stack after the stage (production keeps ItAutomation)", () => {
    assert.equal(prod.stack.stackName, "ItAutomation");
    assert.equal(staging.stack.stackName, "ItAutomation-staging");
    assert.equal(testing.stack.stackName, "ItAutomation-testing");
  });

  it("derives every name from the stage, so stages never collide in one account", () => {
    const all = [prod, staging, testing].map((x) => physicalNames(x.json));
    assert.ok(all[0].length >= 40, `only ${all[0].length} names found`);
    const seen = new Map<string, string>();
    for (const [i, names] of all.entries()) {
      for (const n of names) {
        assert.ok(!seen.has(n), `${n} appears in two stages (${seen.get(n)} and ${i})`);
        seen.set(n, String(i));
      }
    }
    // Names that are not set explicitly are generated by CloudFormation from the (stage-derived) stack name.
    assert.ok(all[1].includes('AWS::SQS::Queue "cls-events-staging.fifo"'));
    assert.ok(all[1].includes('AWS::SQS::Queue "cls-events-dlq-staging.fifo"'));
    assert.ok(all[1].includes('AWS::SQS::Queue "oncall-spoke-dlq-staging"'));
    assert.ok(all[1].includes('AWS::Events::EventBus "oncall-handoff-staging"'));
    assert.ok(all[1].includes('AWS::Lambda::Function "ItAutomation-staging-cls-sweep"'));
    assert.ok(all[1].includes('AWS::IAM::Role "ItAutomation-staging-cls-admin"'));
    assert.ok(all[1].includes('AWS::SecretsManager::ResourcePolicy "staging/cls/github"'));
    assert.ok(all[1].includes('AWS::SecretsManager::ResourcePolicy "staging/oncall-pagerduty"'));
    assert.ok(all[1].includes('AWS::CloudWatch::Dashboard "ItAutomation-staging"'));
    assert.ok(all[0].includes('AWS::SQS::Queue "cls-events.fifo"'));
  });

  it("uses the stage in CLS_STAGE and in the Stage dimension of the CLS alarms", () => {
    const fn = staging.json.Resources[logicalId(staging.stack, staging.stack.functions["cls-sweep"])].Properties!;
    assert.equal(fn.Environment.Variables.CLS_STAGE, "staging");
    const cls = resourcesOfType(staging.json, "AWS::CloudWatch::Alarm").filter(([, a]) => a.Properties!.Namespace === "CLS");
    assert.equal(cls.length, 4);
    for (const [, a] of cls) assert.deepEqual(a.Properties!.Dimensions, [{ Name: "Stage", Value: "staging" }]);
  });

  it("derives names with stageName: bare in production, -<stage> before .fifo elsewhere", () => {
    assert.equal(stageName("cls-events.fifo", "production"), "cls-events.fifo");
    assert.equal(stageName("cls-events.fifo", "dev"), "cls-events-dev.fifo");
    assert.equal(stageName("oncall-handoff", "dev"), "oncall-handoff-dev");
  });

  it("refuses a stage that cannot be part of a name", () => {
    assert.throws(() => synth({ context: { stage: "Prod_1" } }), /context stage must match/);
    assert.throws(() => synth({ context: { stage: "a-very-long-stage-name-x" } }), /context stage must match/);
  });
});

describe("cls-sweep is always deployed (clsSweep retired, ADR 0011 superseded)", () => {
  it("deploys cls-sweep without any flag, with its daily schedule and 600 s timeout", () => {
    const p = fnProps("cls-sweep");
    assert.equal(p.Timeout, 600);
    const rules = resourcesOfType(s.json, "AWS::Events::Rule").filter(
      ([, r]) => r.Properties!.ScheduleExpression === "cron(0 16 * * ? *)",
    );
    assert.equal(rules.length, 1);
  });

  it("still accepts the retired clsSweep=true (older command lines) and fails loudly on clsSweep=false", () => {
    const t = synth({ context: { clsSweep: "true" } });
    t.template.resourceCountIs("AWS::Lambda::Function", 6);
    assert.throws(() => synth({ context: { clsSweep: "false" } }), /clsSweep is retired/);
  });

  it("needs the cls-sweep asset like every other function", () => {
    assert.throws(
      () => synth({ assets: ["oncall-spoke", "oncall-pagerduty", "cls-webhook", "cls-queue", "byods-extender"] }),
      /Cannot find asset|ENOENT|does not exist/,
    );
  });
});

describe("oncall-pagerduty settings (context or props)", () => {
  const pd = (x: ReturnType<typeof synth>) => x.json.Resources[logicalId(x.stack, x.stack.functions["oncall-pagerduty"])].Properties!;
  // The shape services/oncall-pagerduty reads; the stack passes it through and checks only that it is an array.
  const teams = [{ escalation_policy_id: "PEPIT01", team: "it", spoke_team: "IT", slack_channel: "#it-team" }];
  const rule = (x: ReturnType<typeof synth>) => {
    const found = resourcesOfType(x.json, "AWS::Events::Rule").filter(([, r]) => r.Properties!.ScheduleExpression?.startsWith("rate("));
    assert.equal(found.length, 1);
    return found[0][1].Properties!;
  };

  it("takes the interval, the teams, the reconcile hour and the secret TTL from context strings", () => {
    const c = synth({
      context: {
        pagerDutyIntervalMinutes: "10",
        pagerDutyTeams: JSON.stringify(teams, null, 2),
        pagerDutyReconcileHourUtc: "6",
        pagerDutySecretTtlSecs: "600",
        pagerDutySecret: "pagerduty/read-only",
      },
    });
    const env = pd(c).Environment.Variables;
    assert.equal(env.ONCALL_PD_INTERVAL_MINUTES, "10");
    assert.equal(env.ONCALL_PD_TEAMS, JSON.stringify(teams));
    assert.equal(env.ONCALL_PD_RECONCILE_HOUR_UTC, "6");
    assert.equal(env.ONCALL_PD_SECRET_TTL_SECS, "600");
    assert.equal(env.ONCALL_PD_SECRET_ID, "pagerduty/read-only");
    assert.equal(rule(c).ScheduleExpression, "rate(10 minutes)");
    assert.equal(rule(c).State, "ENABLED");
    assert.equal(rule(c).Targets[0].RetryPolicy.MaximumEventAgeInSeconds, 600);
  });

  it("takes the teams as a JSON value (cdk.json) or a prop, and a one-minute interval", () => {
    const c = synth({ context: { pagerDutyTeams: teams }, stackProps: { pagerDutyIntervalMinutes: 1 } });
    assert.equal(pd(c).Environment.Variables.ONCALL_PD_TEAMS, JSON.stringify(teams));
    assert.equal(rule(c).ScheduleExpression, "rate(1 minute)");
    assert.equal(rule(c).State, "ENABLED");
    const p = synth({ stackProps: { pagerDutyTeams: teams } });
    assert.equal(pd(p).Environment.Variables.ONCALL_PD_TEAMS, JSON.stringify(teams));
    assert.equal(rule(p).State, "ENABLED");
  });

  it("keeps the schedule off for an empty mapping", () => {
    const e = synth({ context: { pagerDutyTeams: "[]" } });
    assert.equal(pd(e).Environment.Variables.ONCALL_PD_TEAMS, "[]");
    assert.equal(rule(e).State, "DISABLED");
  });

  it("refuses teams that are not a JSON array of objects, and out-of-range numbers", () => {
    assert.throws(() => synth({ context: { pagerDutyTeams: "[{" } }), /pagerDutyTeams must be JSON/);
    assert.throws(() => synth({ context: { pagerDutyTeams: "42" } }), /pagerDutyTeams must be a JSON array of team mappings/);
    assert.throws(() => synth({ context: { pagerDutyTeams: '{"PEPIT01": "it"}' } }), /must be a JSON array/);
    assert.throws(() => synth({ context: { pagerDutyTeams: '["PEPIT01"]' } }), /must be a JSON array/);
    assert.throws(() => synth({ context: { pagerDutyIntervalMinutes: "0" } }), /pagerDutyIntervalMinutes must be an integer from 1 to 60/);
    assert.throws(() => synth({ context: { pagerDutyIntervalMinutes: "2.5" } }), /pagerDutyIntervalMinutes must be an integer/);
    assert.throws(() => synth({ context: { pagerDutyReconcileHourUtc: "24" } }), /pagerDutyReconcileHourUtc must be an integer from 0 to 23/);
  });
});
