// The one stack of the suite (platform.md §9): five Lambdas from prebuilt assets, the CLS HTTP API and FIFO
// queue, the EventBridge rules, least-privilege IAM and the alarms that page through one SNS topic.
// `cls-sweep` and everything only it uses are behind the `clsSweep` context flag (ADR 0011).
import * as path from "node:path";
import {
  ArnFormat,
  CfnOutput,
  CfnParameter,
  Duration,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subs from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/** The five functions of the design; each name is also the asset folder under `lambdaAssetDir`. */
export const FUNCTION_NAMES = [
  "oncall-spoke",
  "cls-webhook",
  "cls-queue",
  "cls-sweep",
  "byods-extender",
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * The functions a synth deploys. `cls-sweep` (with its schedule, queue grant, self-invoke policy and alarms)
 * only with `clsSweep` on: its crate does not exist yet, so there is no asset to package (ADR 0011).
 */
export function deployedFunctions(clsSweep: boolean): FunctionName[] {
  return FUNCTION_NAMES.filter((fn) => clsSweep || fn !== "cls-sweep");
}

/** Logical secret roles and the Secrets Manager names used when no context override is given. */
export const DEFAULT_SECRET_NAMES = {
  oncall: "oncall-spoke",
  clsGithub: "cls/github",
  clsSlack: "cls/slack",
  clsSpoke: "cls/spoke",
  clsIdentity: "cls/identity",
  byods: "webex-byods-credentials",
  byodsSlack: "byods/slack",
} as const;
export type SecretRole = keyof typeof DEFAULT_SECRET_NAMES;
export type SecretNames = Record<SecretRole, string>;

/** Context key overriding the name of each secret, e.g. `-c clsGithubSecret=cls-prod/github`. */
export const SECRET_CONTEXT_KEYS: Record<SecretRole, string> = {
  oncall: "oncallSecret",
  clsGithub: "clsGithubSecret",
  clsSlack: "clsSlackSecret",
  clsSpoke: "clsSpokeSecret",
  clsIdentity: "clsIdentitySecret",
  byods: "byodsSecret",
  byodsSlack: "byodsSlackSecret",
};

/** Which secrets each function may read (service specs: oncall-spoke §3, cls §2/§11, byods §4/§7). */
export const SECRET_READERS: Record<FunctionName, readonly SecretRole[]> = {
  "oncall-spoke": ["oncall"],
  // Verifies GitHub and Slack signatures and alerts on enqueue failures; never calls GitHub or Spoke.
  "cls-webhook": ["clsGithub", "clsSlack"],
  // The single writer: tickets (Spoke), membership (GitHub), DMs (Slack), adder/employee lookup (identity).
  "cls-queue": ["clsGithub", "clsSlack", "clsSpoke", "clsIdentity"],
  // Reads tickets (Spoke) and the audit log (GitHub), posts the summary (Slack alert webhook).
  "cls-sweep": ["clsGithub", "clsSlack", "clsSpoke"],
  "byods-extender": ["byods", "byodsSlack"],
};

/** The AWS-managed policy every function role carries (log writes only). */
export const BASIC_EXECUTION_POLICY =
  "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

export const HANDOFF_SOURCE = "on-call/handoff";
export const HANDOFF_DETAIL_TYPE = "On-call Handoff Event";
export const SWEEP_SCHEDULE = "cron(0 16 * * ? *)";
export const BYODS_SCHEDULE = "cron(0 * * * ? *)";

/** Production base URLs (platform.md §5); the code has the same defaults, set here to be visible. */
const SPOKE_BASE_URL = "https://api.askspoke.com/api/v1";
const SLACK_API_BASE_URL = "https://slack.com/api";
const SLACK_RESPONSE_URL_PREFIX = "https://hooks.slack.com/";
const GITHUB_API_BASE_URL = "https://api.github.com";
const WEBEX_API_BASE_URL = "https://webexapis.com/v1";

interface FunctionSpec {
  timeout: Duration;
  /** Reserved concurrency when reservations are enabled; `undefined` = unreserved. */
  reserved?: number;
  description: string;
}

const FUNCTION_SPECS: Record<FunctionName, FunctionSpec> = {
  "oncall-spoke": {
    timeout: Duration.seconds(60),
    reserved: 1,
    description: "On-call handoff -> Spoke team delegation",
  },
  "cls-webhook": {
    timeout: Duration.seconds(10),
    description: "CLS: verify GitHub/Slack signatures, trim, enqueue",
  },
  "cls-queue": {
    timeout: Duration.seconds(60),
    description: "CLS: single writer of Spoke tickets, GitHub membership, Slack DMs",
  },
  "cls-sweep": {
    timeout: Duration.seconds(600),
    reserved: 1,
    description: "CLS: daily read-only ticket scan, enqueues review messages",
  },
  "byods-extender": {
    timeout: Duration.seconds(120),
    reserved: 1,
    description: "BYODS: refresh Webex tokens, extend data sources",
  },
};

export interface InfraStackProps extends StackProps {
  /** Folder holding `<fn>/bootstrap` for each function. Context `lambdaAssetDir`; default `../target/lambda`. */
  readonly lambdaAssetDir?: string;
  /** Reserve concurrency 1 for the singletons. Context `reserveConcurrency`; default true. */
  readonly reserveConcurrency?: boolean;
  /** Active X-Ray tracing. Context `xray`; default false. */
  readonly xray?: boolean;
  /** CLS stage (`CLS_STAGE`, metric dimension `Stage`). Context `stage`; default `production`. */
  readonly stage?: string;
  /** Secret name overrides; context keys in `SECRET_CONTEXT_KEYS`. */
  readonly secretNames?: Partial<SecretNames>;
  /**
   * Deploy `cls-sweep` and its schedule, grants and alarms. Context `clsSweep`; default false until
   * `services/cls-sweep` exists (ADR 0011).
   */
  readonly clsSweep?: boolean;
}

/** Reads a boolean context value that may arrive as a string from `-c key=false`. */
function boolContext(scope: Construct, key: string): boolean | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw === "boolean") return raw;
  const text = String(raw).trim().toLowerCase();
  if (text === "true") return true;
  if (text === "false") return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

function stringContext(scope: Construct, key: string): string | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === "") return undefined;
  return String(raw);
}

export class InfraStack extends Stack {
  /** The deployed functions only (see `deployed`); `functionOf` for a checked lookup. */
  readonly functions: Partial<Record<FunctionName, lambda.Function>>;
  /** Whether `cls-sweep` and its resources are part of this synth (context `clsSweep`). */
  readonly clsSweep: boolean;
  /** The functions this synth deploys, in `FUNCTION_NAMES` order. */
  readonly deployed: readonly FunctionName[];
  readonly queue: sqs.Queue;
  readonly queueDlq: sqs.Queue;
  readonly handoffDlq: sqs.Queue;
  readonly alarmTopic: sns.Topic;
  readonly httpApi: apigw.HttpApi;
  readonly secretNames: SecretNames;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: InfraStackProps = {}) {
    super(scope, id, props);

    const assetDir = path.resolve(
      props.lambdaAssetDir ?? stringContext(this, "lambdaAssetDir") ?? "../target/lambda",
    );
    const reserve = props.reserveConcurrency ?? boolContext(this, "reserveConcurrency") ?? true;
    const xray = props.xray ?? boolContext(this, "xray") ?? false;
    const stage = props.stage ?? stringContext(this, "stage") ?? "production";
    this.clsSweep = props.clsSweep ?? boolContext(this, "clsSweep") ?? false;
    this.deployed = deployedFunctions(this.clsSweep);
    const secretNames = {} as SecretNames;
    for (const role of Object.keys(DEFAULT_SECRET_NAMES) as SecretRole[]) {
      secretNames[role] =
        props.secretNames?.[role] ??
        stringContext(this, SECRET_CONTEXT_KEYS[role]) ??
        DEFAULT_SECRET_NAMES[role];
    }
    this.secretNames = secretNames;

    const alarmEmail = new CfnParameter(this, "AlarmEmail", {
      type: "String",
      description: "E-mail address subscribed to the alarm topic (confirm the subscription mail once).",
      allowedPattern: "^[^@\\s]+@[^@\\s]+$",
      constraintDescription: "must be an e-mail address",
    });
    const spokeOrg = new CfnParameter(this, "SpokeOrg", {
      type: "String",
      description: "Spoke org subdomain for team links (ONCALL_SPOKE_ORG), e.g. example for example.askspoke.com.",
      allowedPattern: "^[a-z0-9][a-z0-9-]*$",
      constraintDescription: "must be a lower-case subdomain label",
    });

    // ---- Alarm topic ------------------------------------------------------------------------------------
    // No KMS key: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key (checkov skip
    // CKV_AWS_26 in .checkov.yaml); the messages hold alarm names only.
    this.alarmTopic = new sns.Topic(this, "AlarmTopic", {
      displayName: "IT automation alarms",
      enforceSSL: true,
    });
    // enforceSSL creates a topic policy that replaces the default one, so CloudWatch needs an explicit grant.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowCloudWatchAlarms",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": this.account },
        },
      }),
    );
    this.alarmTopic.addSubscription(new subs.EmailSubscription(alarmEmail.valueAsString));

    // ---- Queues -----------------------------------------------------------------------------------------
    this.queueDlq = new sqs.Queue(this, "ClsEventsDlq", {
      queueName: "cls-events-dlq.fifo",
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, "ClsEvents", {
      queueName: "cls-events.fifo",
      fifo: true,
      // Every sender sets an explicit MessageDeduplicationId (cls.md §3.1).
      contentBasedDeduplication: false,
      visibilityTimeout: Duration.seconds(360),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.queueDlq, maxReceiveCount: 5 },
    });
    // Failed handoff deliveries: the oncall-spoke async-invoke DLQ and the EventBridge target DLQ
    // (oncall-spoke.md §5.2), kept for replay.
    this.handoffDlq = new sqs.Queue(this, "HandoffDlq", {
      queueName: "oncall-spoke-dlq",
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    // ---- Functions --------------------------------------------------------------------------------------
    const secretArn = (role: SecretRole): string =>
      // Name references resolve to `<name>-??????` (Secrets Manager appends a random 6-character suffix).
      this.formatArn({
        service: "secretsmanager",
        resource: "secret",
        resourceName: `${secretNames[role]}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });

    const baseEnv = (fn: FunctionName): Record<string, string> => {
      if (fn === "oncall-spoke") {
        return {
          ONCALL_SECRET_ID: secretNames.oncall,
          ONCALL_SPOKE_ORG: spokeOrg.valueAsString,
          SPOKE_BASE_URL,
        };
      }
      if (fn === "byods-extender") {
        return {
          BYODS_SECRET_ID: secretNames.byods,
          BYODS_SLACK_SECRET_ID: secretNames.byodsSlack,
          WEBEX_API_BASE_URL,
        };
      }
      // CLS binaries share one Config shape; ids of secrets a function may not read are harmless, IAM is the
      // boundary (SECRET_READERS).
      return {
        CLS_STAGE: stage,
        CLS_QUEUE_URL: this.queue.queueUrl,
        CLS_GITHUB_SECRET_ID: secretNames.clsGithub,
        CLS_SLACK_SECRET_ID: secretNames.clsSlack,
        CLS_SPOKE_SECRET_ID: secretNames.clsSpoke,
        CLS_IDENTITY_SECRET_ID: secretNames.clsIdentity,
        GITHUB_API_BASE_URL,
        SPOKE_BASE_URL,
        SLACK_API_BASE_URL,
        SLACK_RESPONSE_URL_PREFIX,
      };
    };

    const functions: Partial<Record<FunctionName, lambda.Function>> = {};
    for (const fn of this.deployed) {
      const spec = FUNCTION_SPECS[fn];
      const logGroup = new logs.LogGroup(this, `${fn}-logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
      });
      const f = new lambda.Function(this, fn, {
        description: spec.description,
        code: lambda.Code.fromAsset(path.join(assetDir, fn), { exclude: ["*.zip"] }),
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: "bootstrap",
        memorySize: 256,
        timeout: spec.timeout,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        tracing: xray ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
        reservedConcurrentExecutions: reserve ? spec.reserved : undefined,
        environment: baseEnv(fn),
        ...(fn === "oncall-spoke"
          ? {
              // Asynchronous invoke: 2 retries within an hour, then the DLQ (oncall-spoke.md §5.2).
              deadLetterQueue: this.handoffDlq,
              retryAttempts: 2,
              maxEventAge: Duration.hours(1),
            }
          : {}),
      });
      const role = f.role as iam.Role;
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM4[Policy::${BASIC_EXECUTION_POLICY}]`,
        reason:
          "The AWS-managed basic execution policy only allows CloudWatch Logs writes (CreateLogGroup, " +
          "CreateLogStream, PutLogEvents); nothing else is attached.",
      });
      // Secrets: GetSecretValue only, on exactly the secrets this service reads, referenced by name. The ARN
      // ends in `-??????` (cdk-nag's IAM5 flags only `*`, so no acknowledgement is needed for it).
      for (const roleName of SECRET_READERS[fn]) {
        const arn = secretArn(roleName);
        f.addToRolePolicy(
          new iam.PolicyStatement({
            sid: `Read${roleName[0].toUpperCase()}${roleName.slice(1)}Secret`,
            actions: ["secretsmanager:GetSecretValue"],
            resources: [arn],
          }),
        );
      }
      if (xray) {
        // X-Ray segment upload has no resource-level permissions; only present with `-c xray=true`.
        Validations.of(role).acknowledge({
          id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
          reason:
            "xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions " +
            "(opt-in with -c xray=true).",
        });
      }
      functions[fn] = f;
    }
    this.functions = functions;

    // byods-extender writes rotated tokens back to its own secret. Added explicitly: `grantWrite` would also
    // allow UpdateSecret (which can change the KMS key and description).
    this.functionOf("byods-extender").addToRolePolicy(
      new iam.PolicyStatement({
        sid: "WriteByodsSecret",
        actions: ["secretsmanager:PutSecretValue"],
        resources: [secretArn("byods")],
      }),
    );

    // ---- CLS: queue producers, consumer, sweep ----------------------------------------------------------
    this.queue.grantSendMessages(this.functionOf("cls-webhook"));
    const sweep = this.clsSweep ? this.functionOf("cls-sweep") : undefined;
    if (sweep) this.queue.grantSendMessages(sweep);
    this.functionOf("cls-queue").addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );
    // The sweep re-invokes itself for continuations (cls.md §8.1). A separate policy (not the role's default
    // policy, which the function depends on) avoids a dependency cycle.
    if (sweep) {
      new iam.Policy(this, "cls-sweep-self-invoke", {
        roles: [sweep.role as iam.Role],
        statements: [
          new iam.PolicyStatement({
            actions: ["lambda:InvokeFunction"],
            resources: [sweep.functionArn],
          }),
        ],
      });
    }

    // ---- HTTP API -------------------------------------------------------------------------------------
    this.httpApi = new apigw.HttpApi(this, "ClsHttpApi", {
      description: "CLS webhooks: GitHub App deliveries and Slack interactions (HMAC verified in cls-webhook)",
      createDefaultStage: false,
    });
    const webhookIntegration = new HttpLambdaIntegration("ClsWebhook", this.functionOf("cls-webhook"), {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    const routes = [
      ...this.httpApi.addRoutes({
        path: "/github/webhook",
        methods: [apigw.HttpMethod.POST],
        integration: webhookIntegration,
      }),
      ...this.httpApi.addRoutes({
        path: "/slack/interactions",
        methods: [apigw.HttpMethod.POST],
        integration: webhookIntegration,
      }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: "AwsSolutions::AwsSolutions-APIG4",
        reason:
          "GitHub and Slack cannot send IAM or JWT credentials; cls-webhook verifies their HMAC " +
          "signatures over the raw body before parsing.",
      });
    }
    const accessLogs = new logs.LogGroup(this, "ClsHttpApiAccessLogs", {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    new apigw.HttpStage(this, "ClsHttpApiDefaultStage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      throttle: { burstLimit: 20, rateLimit: 10 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        // Ids, status and timings only: no headers, bodies or query strings.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            requestTime: "$context.requestTime",
            routeKey: "$context.routeKey",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            integrationStatus: "$context.integrationStatus",
            integrationLatency: "$context.integrationLatency",
            responseLatency: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
            sourceIp: "$context.identity.sourceIp",
          }),
        ),
      },
    });

    // ---- EventBridge ------------------------------------------------------------------------------------
    new events.Rule(this, "HandoffRule", {
      description: "On-call handoff events -> oncall-spoke",
      eventPattern: { source: [HANDOFF_SOURCE], detailType: [HANDOFF_DETAIL_TYPE] },
      targets: [
        new targets.LambdaFunction(this.functionOf("oncall-spoke"), {
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.handoffDlq,
        }),
      ],
    });
    if (sweep) {
      new events.Rule(this, "ClsSweepSchedule", {
        description: "Daily CLS expiry sweep",
        schedule: events.Schedule.expression(SWEEP_SCHEDULE),
        targets: [new targets.LambdaFunction(sweep, { retryAttempts: 2 })],
      });
    }
    new events.Rule(this, "ByodsSchedule", {
      description: "Hourly BYODS token refresh and data-source extension",
      schedule: events.Schedule.expression(BYODS_SCHEDULE),
      targets: [new targets.LambdaFunction(this.functionOf("byods-extender"), { retryAttempts: 2 })],
    });

    // ---- Alarms -----------------------------------------------------------------------------------------
    const alarmAction = new cwActions.SnsAction(this.alarmTopic);
    const addAlarm = (
      id: string,
      description: string,
      metric: cloudwatch.IMetric,
      opts: {
        threshold: number;
        comparison?: cloudwatch.ComparisonOperator;
        evaluationPeriods?: number;
        missing?: cloudwatch.TreatMissingData;
      },
    ): cloudwatch.Alarm => {
      const evaluationPeriods = opts.evaluationPeriods ?? 1;
      const alarm = new cloudwatch.Alarm(this, id, {
        // Readable names in the notification mails; the runbook (docs/operations/deploy.md) uses them.
        alarmName: `${this.stackName}-${id}`,
        alarmDescription: description,
        metric,
        threshold: opts.threshold,
        comparisonOperator:
          opts.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
        treatMissingData: opts.missing ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(alarmAction);
      this.alarms.push(alarm);
      return alarm;
    };
    const fiveMin = Duration.minutes(5);

    for (const fn of this.deployed) {
      const f = this.functionOf(fn);
      addAlarm(
        `${fn}-errors`,
        `${fn}: at least one failed invocation in 5 minutes`,
        f.metricErrors({ period: fiveMin, statistic: "Sum" }),
        { threshold: 1 },
      );
      const webhook = fn === "cls-webhook";
      addAlarm(
        `${fn}-throttles`,
        webhook
          ? `${fn}: throttled requests in 5 minutes (GitHub/Slack deliveries rejected)`
          : `${fn}: at least 5 throttled invocations in 15 minutes`,
        f.metricThrottles({ period: webhook ? fiveMin : Duration.minutes(15), statistic: "Sum" }),
        { threshold: webhook ? 1 : 5 },
      );
    }

    // Every DLQ pages on its first message.
    const dlqs: [string, sqs.Queue][] = [
      ["cls-events-dlq", this.queueDlq],
      ["oncall-spoke-dlq", this.handoffDlq],
    ];
    for (const [name, q] of dlqs) {
      addAlarm(
        `${name}-depth`,
        `${name}: messages waiting in the dead-letter queue`,
        q.metricApproximateNumberOfMessagesVisible({ period: fiveMin, statistic: "Maximum" }),
        { threshold: 1 },
      );
    }
    addAlarm(
      "cls-events-oldest-message",
      "cls-events.fifo: a message has waited 15 minutes or more (consumer stuck or failing)",
      this.queue.metricApproximateAgeOfOldestMessage({ period: fiveMin, statistic: "Maximum" }),
      { threshold: 900 },
    );

    // CLS EMF metrics (cls.md §12): namespace CLS, dimension Stage.
    const clsMetric = (metricName: string, period = fiveMin) =>
      new cloudwatch.Metric({
        namespace: "CLS",
        metricName,
        dimensionsMap: { Stage: stage },
        statistic: "Sum",
        period,
      });
    addAlarm(
      "cls-enqueue-failed",
      this.clsSweep
        ? "CLS: cls-webhook or cls-sweep could not enqueue a message"
        : "CLS: cls-webhook could not enqueue a message",
      clsMetric("EnqueueFailed"),
      { threshold: 1 },
    );
    addAlarm(
      "cls-permanent-failure",
      "CLS: a message failed permanently and was acknowledged (IT alert sent)",
      clsMetric("PermanentFailure"),
      { threshold: 1 },
    );
    const hour = Duration.hours(1);
    if (sweep) {
      addAlarm(
        "cls-sweep-brake",
        "CLS: the sweep safety brake held back removals",
        clsMetric("SweepBrakeTripped"),
        { threshold: 1 },
      );
      // No successful sweep in 26 hours: hourly (invocations - errors) of cls-sweep below 1 for 26 hours.
      const sweepOk = new cloudwatch.MathExpression({
        expression: "FILL(invocations, 0) - FILL(errors, 0)",
        usingMetrics: {
          invocations: sweep.metricInvocations({ period: hour, statistic: "Sum" }),
          errors: sweep.metricErrors({ period: hour, statistic: "Sum" }),
        },
        period: hour,
        label: "successful cls-sweep invocations",
      });
      addAlarm("cls-sweep-missing", "CLS: no successful sweep in 26 hours", sweepOk, {
        threshold: 1,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 26,
        missing: cloudwatch.TreatMissingData.BREACHING,
      });
    }

    // BYODS EMF metrics (byods.md §7): namespace WebexBYODS, dimension Service=byods-extender.
    const byodsMetric = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: "WebexBYODS",
        metricName,
        dimensionsMap: { Service: "byods-extender" },
        statistic,
        period,
      });
    addAlarm(
      "byods-reauth-required",
      "BYODS: OAuth refresh failed; re-authorisation may be required",
      byodsMetric("OAuthRefreshFailures", "Sum", fiveMin),
      { threshold: 1 },
    );
    addAlarm(
      "byods-secret-write",
      "BYODS: rotated tokens could not be written to Secrets Manager",
      byodsMetric("SecretWriteFailures", "Sum", fiveMin),
      { threshold: 1 },
    );
    addAlarm(
      "byods-refresh-token-expiry",
      "BYODS: the integration refresh token expires within 14 days (early warning)",
      byodsMetric("IntegrationRefreshTokenSecondsLeft", "Minimum", hour),
      { threshold: 1209600, comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD },
    );
    addAlarm(
      "byods-source-expiring",
      "BYODS: a data-source token has less than 60 minutes left",
      byodsMetric("MinDataSourceTokenMinutesLeft", "Minimum", hour),
      { threshold: 60, comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD },
    );
    addAlarm("byods-heartbeat", "BYODS: no successful sweep in 3 hours", byodsMetric("SweepSuccess", "Sum", hour), {
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      missing: cloudwatch.TreatMissingData.BREACHING,
    });

    // oncall-spoke EMF metrics (oncall-spoke.md §7): namespace OncallSpoke.
    addAlarm(
      "oncall-permanent-error",
      "oncall-spoke: a handoff could not be applied (team and IT were alerted in Slack)",
      new cloudwatch.Metric({
        namespace: "OncallSpoke",
        metricName: "Handoffs",
        dimensionsMap: { Result: "permanent_error" },
        statistic: "Sum",
        period: fiveMin,
      }),
      { threshold: 1 },
    );
    addAlarm(
      "oncall-alert-failures",
      "oncall-spoke: a Slack alert could not be delivered",
      new cloudwatch.Metric({
        namespace: "OncallSpoke",
        metricName: "AlertFailures",
        statistic: "Sum",
        period: fiveMin,
      }),
      { threshold: 1 },
    );

    // ---- Outputs ----------------------------------------------------------------------------------------
    new CfnOutput(this, "GithubWebhookUrl", {
      description: "GitHub App webhook URL",
      value: `${this.httpApi.apiEndpoint}/github/webhook`,
    });
    new CfnOutput(this, "SlackInteractionsUrl", {
      description: "Slack app interactivity request URL",
      value: `${this.httpApi.apiEndpoint}/slack/interactions`,
    });
    new CfnOutput(this, "ClsQueueUrl", { description: "cls-events.fifo URL", value: this.queue.queueUrl });
    new CfnOutput(this, "AlarmTopicArn", {
      description: "SNS topic for alarms",
      value: this.alarmTopic.topicArn,
    });
  }

  /** The deployed function `fn`; throws for `cls-sweep` when `clsSweep` is off. */
  functionOf(fn: FunctionName): lambda.Function {
    const f = this.functions[fn];
    if (!f) throw new Error(`${fn} is not deployed in this synth (cls-sweep needs -c clsSweep=true, ADR 0011)`);
    return f;
  }
}
