// The one stack of the suite (infra/README.md, docs/architecture.md): six Lambdas from prebuilt assets, the CLS HTTP API and FIFO
// queue, the on-call handoff bus, the EventBridge rules, least-privilege IAM with per-secret resource policies
// (ADR 0013), the alarms that page through one SNS topic and the operations dashboard. Every physical name
// derives from the stage, so two stages fit in one account (`stageName`).
import { readFileSync } from "node:fs";
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
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subs from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { operationsDashboard } from "./dashboard";
import { byodsMetric, clsMetric, oncallMetric } from "./metrics";

/** The six functions of the design; each name is also the asset folder under `lambdaAssetDir`. */
export const FUNCTION_NAMES = [
  "oncall-spoke",
  "oncall-pagerduty",
  "cls-webhook",
  "cls-queue",
  "cls-sweep",
  "byods-extender",
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * Everyone the secret table names: the six functions and `cls-admin`, the operator CLI, which runs under the
 * stack's `<stack>-cls-admin` role (assumed by operators; see docs/operations/deploy.md).
 */
export const SECRET_USERS = [...FUNCTION_NAMES, "cls-admin"] as const;
export type SecretUser = (typeof SECRET_USERS)[number];

/** The production stage; it keeps the bare names of the design (`cls-events.fifo`, `cls/github`, …). */
export const PRODUCTION = "production";

/**
 * A physical name for `base` in `stage`: the bare name in production, `<base>-<stage>` elsewhere (before a
 * `.fifo` suffix), so a second stage never collides with the first in the same account.
 */
export function stageName(base: string, stage: string): string {
  if (stage === PRODUCTION) return base;
  const fifo = base.endsWith(".fifo");
  const stem = fifo ? base.slice(0, -".fifo".length) : base;
  return `${stem}-${stage}${fifo ? ".fifo" : ""}`;
}

/** The stack name of a stage: `ItAutomation` in production, `ItAutomation-<stage>` elsewhere. */
export function stackNameFor(stage: string): string {
  return stageName("ItAutomation", stage);
}

/** Stage names: lower-case label, short enough for every derived name (IAM role names stop at 64). */
export function checkStage(stage: string): string {
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    throw new Error(`context stage must match ^[a-z][a-z0-9-]{0,19}$, got ${JSON.stringify(stage)}`);
  }
  return stage;
}

/** Logical secret roles and their Secrets Manager names in production (SECRETS layout of issue 10). */
export const DEFAULT_SECRET_NAMES = {
  oncall: "oncall-spoke",
  pagerDuty: "oncall-pagerduty",
  clsGithub: "cls/github",
  clsWebhook: "cls/webhook",
  clsSlack: "cls/slack",
  clsAlerts: "cls/alerts",
  clsSpoke: "cls/spoke",
  clsIdentity: "cls/identity",
  byods: "webex-byods-credentials",
  byodsSlack: "byods/slack",
} as const;
export type SecretRole = keyof typeof DEFAULT_SECRET_NAMES;
export type SecretNames = Record<SecretRole, string>;
export const SECRET_ROLES = Object.keys(DEFAULT_SECRET_NAMES) as SecretRole[];

/** Default secret name in a stage: the production name, prefixed with `<stage>/` in any other stage. */
export function defaultSecretName(role: SecretRole, stage: string): string {
  const base = DEFAULT_SECRET_NAMES[role];
  return stage === PRODUCTION ? base : `${stage}/${base}`;
}

/** Context key overriding the name of each secret, e.g. `-c clsGithubSecret=cls-prod/github`. */
export const SECRET_CONTEXT_KEYS: Record<SecretRole, string> = {
  oncall: "oncallSecret",
  pagerDuty: "pagerDutySecret",
  clsGithub: "clsGithubSecret",
  clsWebhook: "clsWebhookSecret",
  clsSlack: "clsSlackSecret",
  clsAlerts: "clsAlertsSecret",
  clsSpoke: "clsSpokeSecret",
  clsIdentity: "clsIdentitySecret",
  byods: "byodsSecret",
  byodsSlack: "byodsSlackSecret",
};

/** The environment variable that carries each CLS secret id (every CLS function gets all six, ids only). */
export const CLS_SECRET_ENV: Partial<Record<SecretRole, string>> = {
  clsGithub: "CLS_GITHUB_SECRET_ID",
  clsWebhook: "CLS_WEBHOOK_SECRET_ID",
  clsSlack: "CLS_SLACK_SECRET_ID",
  clsAlerts: "CLS_ALERTS_SECRET_ID",
  clsSpoke: "CLS_SPOKE_SECRET_ID",
  clsIdentity: "CLS_IDENTITY_SECRET_ID",
};

export type Access = "read" | "read-write";

/**
 * Which secret each function (and the cls-admin role) may read or write; everything not listed is "none".
 * IAM grants exactly this table, and each secret's resource policy denies the same actions to everyone else
 * (ADR 0013). cls-webhook faces the internet: it reads only the webhook/signing secrets and the alert URL.
 */
export const SECRET_ACCESS: Record<SecretUser, Partial<Record<SecretRole, Access>>> = {
  "oncall-spoke": { oncall: "read" },
  "oncall-pagerduty": { pagerDuty: "read" },
  "cls-webhook": { clsWebhook: "read", clsAlerts: "read" },
  "cls-queue": { clsGithub: "read", clsSlack: "read", clsAlerts: "read", clsSpoke: "read", clsIdentity: "read" },
  "cls-sweep": { clsGithub: "read", clsAlerts: "read", clsSpoke: "read" },
  "byods-extender": { byods: "read-write", byodsSlack: "read" },
  "cls-admin": { clsGithub: "read", clsSlack: "read", clsAlerts: "read", clsSpoke: "read", clsIdentity: "read" },
};

/** Value actions on a secret; the resource policies deny them to everyone but the table and break-glass. */
export const SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue"];
export const SECRET_WRITE_ACTIONS = [
  "secretsmanager:PutSecretValue",
  "secretsmanager:UpdateSecret",
  "secretsmanager:UpdateSecretVersionStage",
  "secretsmanager:RotateSecret",
];
/** Control actions: only break-glass and the CDK CloudFormation execution role (which owns the policy). */
export const SECRET_CONTROL_ACTIONS = [
  "secretsmanager:PutResourcePolicy",
  "secretsmanager:DeleteResourcePolicy",
  "secretsmanager:DeleteSecret",
];

/**
 * cls-queue's SQS event-source mapping: messages per batch and concurrent executions. The values live in
 * `queue-mapping.json` because `cargo xtask bench` reads the same file: its queue drain compares candidate
 * mappings against Spoke's rate limit and reports whether its pick is this default (docs/performance.md).
 */
export const QUEUE_MAPPING = queueMapping(readFileSync(path.join(__dirname, "queue-mapping.json"), "utf8"));

/** Parses and checks the mapping file: a batch of 1–10 messages (the FIFO limit), 2–1000 concurrent. */
export function queueMapping(text: string): { batchSize: number; maxConcurrency: number } {
  const { batchSize, maxConcurrency } = JSON.parse(text) as Record<string, unknown>;
  if (!Number.isInteger(batchSize) || (batchSize as number) < 1 || (batchSize as number) > 10) {
    throw new Error(`queue-mapping.json: batchSize must be an integer 1..10, got ${String(batchSize)}`);
  }
  if (!Number.isInteger(maxConcurrency) || (maxConcurrency as number) < 2 || (maxConcurrency as number) > 1000) {
    throw new Error(`queue-mapping.json: maxConcurrency must be an integer 2..1000, got ${String(maxConcurrency)}`);
  }
  return { batchSize: batchSize as number, maxConcurrency: maxConcurrency as number };
}

/** Break-glass role (context `breakGlassRole`, a role name in this account or a full ARN). */
export const DEFAULT_BREAK_GLASS_ROLE = "it-automation-break-glass";
/** The on-call system's publishing role (context `oncallPublisher`, a role name or a full ARN). */
export const DEFAULT_ONCALL_PUBLISHER = "oncall-handoff-publisher";
/** CDK bootstrap qualifier (context `@aws-cdk/core:bootstrapQualifier`, CDK's default). */
export const DEFAULT_BOOTSTRAP_QUALIFIER = "hnb659fds";

export const HANDOFF_SOURCE = "on-call/handoff";
export const HANDOFF_DETAIL_TYPE = "On-call Handoff Event";
export const SWEEP_SCHEDULE = "cron(0 16 * * ? *)";
export const BYODS_SCHEDULE = "cron(0 * * * ? *)";
/** How often oncall-pagerduty asks PagerDuty who is on call (context `pagerDutyIntervalMinutes`). */
export const DEFAULT_PAGERDUTY_INTERVAL_MINUTES = 5;
/** `ONCALL_PD_TEAMS` when context `pagerDutyTeams` is not set: no team mapped, so the schedule is disabled. */
export const DEFAULT_PAGERDUTY_TEAMS = "[]";

/** Production base URLs; the code has the same defaults, set here to be visible. */
const SPOKE_BASE_URL = "https://api.askspoke.com/api/v1";
const SLACK_API_BASE_URL = "https://slack.com/api";
const SLACK_RESPONSE_URL_PREFIX = "https://hooks.slack.com/";
const GITHUB_API_BASE_URL = "https://api.github.com";
const WEBEX_API_BASE_URL = "https://webexapis.com/v1";
const PAGERDUTY_API_URL = "https://api.pagerduty.com";

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
  "oncall-pagerduty": {
    timeout: Duration.seconds(60),
    // One run at a time: two overlapping polls would both see the same shift change.
    reserved: 1,
    description: "PagerDuty on-call -> On-call Handoff Events on the handoff bus",
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
  /** Stage (`CLS_STAGE`, metric dimension `Stage`, every physical name). Context `stage`; default `production`. */
  readonly stage?: string;
  /** Secret name overrides; context keys in `SECRET_CONTEXT_KEYS`. */
  readonly secretNames?: Partial<SecretNames>;
  /** Break-glass role name or ARN. Context `breakGlassRole`; default `it-automation-break-glass`. */
  readonly breakGlassRole?: string;
  /** The on-call system's publishing role name or ARN. Context `oncallPublisher`. */
  readonly oncallPublisher?: string;
  /** oncall-pagerduty's polling interval in minutes (schedule and `ONCALL_PD_INTERVAL_MINUTES`). Context `pagerDutyIntervalMinutes`; default 5. */
  readonly pagerDutyIntervalMinutes?: number;
  /**
   * `ONCALL_PD_TEAMS`: the PagerDuty → team mapping, a JSON array as text or value. Context `pagerDutyTeams`;
   * default `[]`, which leaves the schedule disabled (the function needs at least one team).
   */
  readonly pagerDutyTeams?: unknown;
  /** `ONCALL_PD_RECONCILE_HOUR_UTC` (0–23); unset = the function's default. Context `pagerDutyReconcileHourUtc`. */
  readonly pagerDutyReconcileHourUtc?: number;
  /** `ONCALL_PD_SECRET_TTL_SECS`; unset = the function's default. Context `pagerDutySecretTtlSecs`. */
  readonly pagerDutySecretTtlSecs?: number;
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

/** An integer in `[min, max]` from a prop or a context value (`-c key=5` arrives as a string). */
function intSetting(scope: Construct, key: string, prop: number | undefined, min: number, max: number): number | undefined {
  const raw: unknown = prop ?? scope.node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === "") return undefined;
  const value = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The PagerDuty team mapping as compact JSON: an array of objects, given as a value (cdk.json) or as JSON text
 * (`-c pagerDutyTeams='[…]'`). The fields of each mapping are oncall-pagerduty's to check (its `Config`, at
 * the cold start), so the stack and the service cannot disagree about them.
 */
function teamsSetting(scope: Construct, prop: unknown): string {
  const raw: unknown = prop ?? scope.node.tryGetContext("pagerDutyTeams");
  if (raw === undefined || raw === null || raw === "") return DEFAULT_PAGERDUTY_TEAMS;
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error("pagerDutyTeams must be JSON (an array of team mappings)");
    }
  }
  if (!Array.isArray(value) || value.some((m) => typeof m !== "object" || m === null || Array.isArray(m))) {
    throw new Error("pagerDutyTeams must be a JSON array of team mappings (objects)");
  }
  return JSON.stringify(value);
}

export class InfraStack extends Stack {
  readonly functions: Record<FunctionName, lambda.Function>;
  /** Each function's own log group (the only log group its role may write to). */
  readonly logGroups: Record<FunctionName, logs.LogGroup>;
  /** Each function's execution role (no managed policy attached). */
  readonly roles: Record<FunctionName, iam.Role>;
  /** The role operators assume to run `cls-admin` (`<stack>-cls-admin`). */
  readonly clsAdminRole: iam.Role;
  readonly stage: string;
  readonly queue: sqs.Queue;
  readonly queueDlq: sqs.Queue;
  readonly handoffDlq: sqs.Queue;
  readonly handoffBus: events.EventBus;
  readonly alarmTopic: sns.Topic;
  readonly httpApi: apigw.HttpApi;
  readonly secretNames: SecretNames;
  /** The secret resource policies, by secret role (only secrets somebody uses get one). */
  readonly secretPolicies: Partial<Record<SecretRole, secretsmanager.CfnResourcePolicy>>;
  /** ARN (or ARN pattern) of the break-glass role exempted by every secret policy. */
  readonly breakGlassRoleArn: string;
  /** ARN (or ARN pattern) of the only principal allowed to put events on the handoff bus. */
  readonly oncallPublisherArn: string;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The operations dashboard (`<stack>`), the page an operator opens first (docs/operations/runbook.md §6). */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: InfraStackProps = {}) {
    super(scope, id, props);

    const assetDir = path.resolve(
      props.lambdaAssetDir ?? stringContext(this, "lambdaAssetDir") ?? "../target/lambda",
    );
    const reserve = props.reserveConcurrency ?? boolContext(this, "reserveConcurrency") ?? true;
    const xray = props.xray ?? boolContext(this, "xray") ?? false;
    const stage = checkStage(props.stage ?? stringContext(this, "stage") ?? PRODUCTION);
    this.stage = stage;
    // `clsSweep` is retired (ADR 0011, superseded): cls-sweep is always deployed. `true` is still accepted so
    // older command lines keep working; `false` would silently have removed the expiry control, so it fails.
    if (boolContext(this, "clsSweep") === false) {
      throw new Error("context clsSweep is retired: cls-sweep is always deployed (ADR 0011 is superseded)");
    }
    const named = (base: string) => stageName(base, stage);
    const secretNames = {} as SecretNames;
    for (const role of SECRET_ROLES) {
      secretNames[role] =
        props.secretNames?.[role] ?? stringContext(this, SECRET_CONTEXT_KEYS[role]) ?? defaultSecretName(role, stage);
    }
    this.secretNames = secretNames;
    const roleArn = (nameOrArn: string) =>
      nameOrArn.startsWith("arn:")
        ? nameOrArn
        : this.formatArn({ service: "iam", region: "", resource: "role", resourceName: nameOrArn });
    this.breakGlassRoleArn = roleArn(
      props.breakGlassRole ?? stringContext(this, "breakGlassRole") ?? DEFAULT_BREAK_GLASS_ROLE,
    );
    this.oncallPublisherArn = roleArn(
      props.oncallPublisher ?? stringContext(this, "oncallPublisher") ?? DEFAULT_ONCALL_PUBLISHER,
    );
    // At most 60: oncall-pagerduty's default look-back (ONCALL_PD_LOOKBACK_MINUTES, 60) must cover one interval.
    const pdInterval =
      intSetting(this, "pagerDutyIntervalMinutes", props.pagerDutyIntervalMinutes, 1, 60) ??
      DEFAULT_PAGERDUTY_INTERVAL_MINUTES;
    const pdTeams = teamsSetting(this, props.pagerDutyTeams);
    // With no team mapped the function would refuse its cold start on every run: the schedule stays off.
    const pdPolling = pdTeams !== DEFAULT_PAGERDUTY_TEAMS;
    const pdReconcileHour = intSetting(this, "pagerDutyReconcileHourUtc", props.pagerDutyReconcileHourUtc, 0, 23);
    const pdSecretTtl = intSetting(this, "pagerDutySecretTtlSecs", props.pagerDutySecretTtlSecs, 0, 86400);
    const qualifier = stringContext(this, "@aws-cdk/core:bootstrapQualifier") ?? DEFAULT_BOOTSTRAP_QUALIFIER;
    const cfnExecRoleArn = this.formatArn({
      service: "iam",
      region: "",
      resource: "role",
      resourceName: `cdk-${qualifier}-cfn-exec-role-${this.account}-${this.region}`,
    });

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
      topicName: `${this.stackName}-alarms`,
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
      queueName: named("cls-events-dlq.fifo"),
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, "ClsEvents", {
      queueName: named("cls-events.fifo"),
      fifo: true,
      // Every sender sets an explicit MessageDeduplicationId (services/cls-queue/README.md).
      contentBasedDeduplication: false,
      visibilityTimeout: Duration.seconds(360),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.queueDlq, maxReceiveCount: 5 },
    });
    // Failed handoff deliveries: the oncall-spoke async-invoke DLQ and the EventBridge target DLQ
    // (services/oncall-spoke/README.md), kept for replay.
    this.handoffDlq = new sqs.Queue(this, "HandoffDlq", {
      queueName: named("oncall-spoke-dlq"),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    // The handoff bus (created with its policy below): named and addressed by a constructed ARN, so that
    // oncall-pagerduty's grant and the bus policy naming its role form no dependency cycle.
    const busName = named("oncall-handoff");
    const busArn = this.formatArn({ service: "events", resource: "event-bus", resourceName: busName });

    // ---- Functions --------------------------------------------------------------------------------------
    const secretArn = (role: SecretRole): string =>
      // Name references resolve to `<name>-??????` (Secrets Manager appends a random 6-character suffix).
      this.formatArn({
        service: "secretsmanager",
        resource: "secret",
        resourceName: `${secretNames[role]}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    // cls-sweep has a fixed name so its self-invoke grant can name it without referring to the function
    // (the function depends on its role's policy; a reference back would be a dependency cycle).
    const sweepName = `${this.stackName}-cls-sweep`;
    const sweepArn = this.formatArn({
      service: "lambda",
      resource: "function",
      resourceName: sweepName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const clsSecretEnv: Record<string, string> = {};
    for (const [role, variable] of Object.entries(CLS_SECRET_ENV) as [SecretRole, string][]) {
      clsSecretEnv[variable] = secretNames[role];
    }
    const baseEnv = (fn: FunctionName): Record<string, string> => {
      if (fn === "oncall-spoke") {
        return {
          ONCALL_SECRET_ID: secretNames.oncall,
          ONCALL_SPOKE_ORG: spokeOrg.valueAsString,
          SPOKE_BASE_URL,
        };
      }
      if (fn === "oncall-pagerduty") {
        return {
          ONCALL_PD_SECRET_ID: secretNames.pagerDuty,
          ONCALL_PD_TEAMS: pdTeams,
          ONCALL_EVENT_BUS_NAME: busName,
          PAGERDUTY_API_URL,
          ONCALL_PD_INTERVAL_MINUTES: String(pdInterval),
          ...(pdReconcileHour === undefined ? {} : { ONCALL_PD_RECONCILE_HOUR_UTC: String(pdReconcileHour) }),
          ...(pdSecretTtl === undefined ? {} : { ONCALL_PD_SECRET_TTL_SECS: String(pdSecretTtl) }),
        };
      }
      if (fn === "byods-extender") {
        return {
          BYODS_SECRET_ID: secretNames.byods,
          BYODS_SLACK_SECRET_ID: secretNames.byodsSlack,
          WEBEX_API_BASE_URL,
        };
      }
      // The CLS binaries share one Config shape and the one-release fallback to the old layout needs the old
      // ids, so each gets all six ids; IAM and the secrets' resource policies decide what each may read.
      return {
        CLS_STAGE: stage,
        CLS_QUEUE_URL: this.queue.queueUrl,
        ...clsSecretEnv,
        GITHUB_API_BASE_URL,
        SPOKE_BASE_URL,
        SLACK_API_BASE_URL,
        SLACK_RESPONSE_URL_PREFIX,
      };
    };

    const functions = {} as Record<FunctionName, lambda.Function>;
    const logGroups = {} as Record<FunctionName, logs.LogGroup>;
    const roles = {} as Record<FunctionName, iam.Role>;
    const sidOf = (role: SecretRole) => `${role[0].toUpperCase()}${role.slice(1)}`;
    /** Identity grants for one row of SECRET_ACCESS. */
    const grantSecrets = (user: SecretUser, principal: iam.IGrantable) => {
      for (const [role, access] of Object.entries(SECRET_ACCESS[user]) as [SecretRole, Access][]) {
        principal.grantPrincipal.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: `Read${sidOf(role)}Secret`,
            actions: SECRET_READ_ACTIONS,
            resources: [secretArn(role)],
          }),
        );
        if (access === "read-write") {
          // Only PutSecretValue: `grantWrite` would also allow UpdateSecret (KMS key, description).
          principal.grantPrincipal.addToPrincipalPolicy(
            new iam.PolicyStatement({
              sid: `Write${sidOf(role)}Secret`,
              actions: ["secretsmanager:PutSecretValue"],
              resources: [secretArn(role)],
            }),
          );
        }
      }
    };

    for (const fn of FUNCTION_NAMES) {
      const spec = FUNCTION_SPECS[fn];
      const logGroup = new logs.LogGroup(this, `${fn}-logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
      });
      // An explicit role without AWSLambdaBasicExecutionRole: log writes go to this function's group only.
      const role = new iam.Role(this, `${fn}-role`, {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        description: `Execution role of ${fn} (${stage})`,
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "WriteOwnLogGroup",
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [logGroup.logGroupArn],
        }),
      );
      const f = new lambda.Function(this, fn, {
        ...(fn === "cls-sweep" ? { functionName: sweepName } : {}),
        description: spec.description,
        code: lambda.Code.fromAsset(path.join(assetDir, fn), { exclude: ["*.zip"] }),
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: "bootstrap",
        memorySize: 256,
        timeout: spec.timeout,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        tracing: xray ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
        reservedConcurrentExecutions: reserve ? spec.reserved : undefined,
        environment: baseEnv(fn),
        ...(fn === "oncall-spoke"
          ? {
              // Asynchronous invoke: 2 retries within an hour, then the DLQ (services/oncall-spoke/README.md).
              deadLetterQueue: this.handoffDlq,
              retryAttempts: 2,
              maxEventAge: Duration.hours(1),
            }
          : {}),
        ...(fn === "oncall-pagerduty"
          ? {
              // A failed poll is not retried: the next scheduled run reads the current rota and converges.
              retryAttempts: 0,
              maxEventAge: Duration.minutes(pdInterval),
            }
          : {}),
      });
      grantSecrets(fn, f);
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
      logGroups[fn] = logGroup;
      roles[fn] = role;
    }
    this.functions = functions;
    this.logGroups = logGroups;
    this.roles = roles;

    // ---- CLS: queue producers, consumer, sweep ----------------------------------------------------------
    this.queue.grantSendMessages(functions["cls-webhook"]);
    const sweep = functions["cls-sweep"];
    this.queue.grantSendMessages(sweep);
    functions["cls-queue"].addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: QUEUE_MAPPING.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: QUEUE_MAPPING.maxConcurrency,
      }),
    );
    // Continuations (services/cls-sweep/README.md): the sweep invokes itself, named by its constructed ARN.
    sweep.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "InvokeItselfForContinuations",
        actions: ["lambda:InvokeFunction"],
        resources: [sweepArn],
      }),
    );

    // ---- oncall-pagerduty: puts handoff events on the one handoff bus -----------------------------------
    functions["oncall-pagerduty"].addToRolePolicy(
      new iam.PolicyStatement({ sid: "PutHandoffEvents", actions: ["events:PutEvents"], resources: [busArn] }),
    );

    // ---- cls-admin: the operator CLI's role -------------------------------------------------------------
    // Assumable by principals of this account whose own policy allows sts:AssumeRole on it; it may read the
    // secrets of its SECRET_ACCESS row, enqueue (every mutating command goes through the queue, docs/operations/cls.md)
    // and run the sweep Lambda (`cls-admin sweep`).
    this.clsAdminRole = new iam.Role(this, "ClsAdminRole", {
      roleName: `${this.stackName}-cls-admin`,
      assumedBy: new iam.AccountRootPrincipal(),
      description: `Operators running cls-admin against the ${stage} stage`,
      maxSessionDuration: Duration.hours(1),
    });
    grantSecrets("cls-admin", this.clsAdminRole);
    this.clsAdminRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "EnqueueClsMessages",
        actions: ["sqs:SendMessage"],
        resources: [this.queue.queueArn],
      }),
    );
    this.clsAdminRole.addToPolicy(
      new iam.PolicyStatement({ sid: "RunTheSweep", actions: ["lambda:InvokeFunction"], resources: [sweepArn] }),
    );

    // ---- Secret resource policies (ADR 0013) ------------------------------------------------------------
    // Secrets are created by the operator (values never pass through CDK); the stack owns their policies.
    // Deny-only, keyed on aws:PrincipalArn (which is the role ARN for assumed-role sessions): reading the value
    // is denied to everyone but its readers and break-glass, changing it to everyone but its writers and
    // break-glass, changing or removing the policy (or the secret) to everyone but break-glass and the CDK
    // CloudFormation execution role, which has to update this policy on deploys.
    const principalArnOf: Record<SecretUser, string> = {
      ...(Object.fromEntries(FUNCTION_NAMES.map((fn) => [fn, roles[fn].roleArn])) as Record<FunctionName, string>),
      "cls-admin": this.clsAdminRole.roleArn,
    };
    const secretPolicies: Partial<Record<SecretRole, secretsmanager.CfnResourcePolicy>> = {};
    for (const role of SECRET_ROLES) {
      const users = SECRET_USERS.filter((u) => SECRET_ACCESS[u][role] !== undefined);
      if (users.length === 0) continue;
      const writers = users.filter((u) => SECRET_ACCESS[u][role] === "read-write");
      const denyUnless = (sid: string, actions: string[], allowed: string[]) =>
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions,
          resources: ["*"],
          conditions: { ArnNotLike: { "aws:PrincipalArn": allowed } },
        });
      const document = new iam.PolicyDocument({
        statements: [
          denyUnless("DenyReadExceptUsers", SECRET_READ_ACTIONS, [
            ...users.map((u) => principalArnOf[u]),
            this.breakGlassRoleArn,
          ]),
          denyUnless("DenyWriteExceptWriters", SECRET_WRITE_ACTIONS, [
            ...writers.map((u) => principalArnOf[u]),
            this.breakGlassRoleArn,
          ]),
          denyUnless("DenyPolicyChangeExceptDeployer", SECRET_CONTROL_ACTIONS, [
            cfnExecRoleArn,
            this.breakGlassRoleArn,
          ]),
        ],
      });
      secretPolicies[role] = new secretsmanager.CfnResourcePolicy(this, `${sidOf(role)}SecretPolicy`, {
        secretId: secretNames[role],
        blockPublicPolicy: true,
        resourcePolicy: document,
      });
    }
    this.secretPolicies = secretPolicies;

    // ---- HTTP API -------------------------------------------------------------------------------------
    this.httpApi = new apigw.HttpApi(this, "ClsHttpApi", {
      apiName: `${this.stackName}-cls`,
      description: "CLS webhooks: GitHub App deliveries and Slack interactions (HMAC verified in cls-webhook)",
      createDefaultStage: false,
    });
    const webhookIntegration = new HttpLambdaIntegration("ClsWebhook", functions["cls-webhook"], {
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
    // Handoff events arrive on a dedicated bus that only the on-call system's role and oncall-pagerduty may
    // put events on: an Allow for the on-call system (needed when it lives in another account; oncall-pagerduty
    // is allowed by its own role's policy) and an explicit Deny for every other principal (an Allow alone
    // restricts nobody in this account, whose IAM policies may allow events:PutEvents).
    this.handoffBus = new events.EventBus(this, "HandoffBus", { eventBusName: busName });
    const publishers = [this.oncallPublisherArn, roles["oncall-pagerduty"].roleArn];
    const publisherAccount = this.oncallPublisherArn.startsWith("arn:")
      ? this.oncallPublisherArn.split(":")[4] || this.account
      : this.account;
    // One policy document on the bus itself (AWS::Events::EventBus Policy) rather than one EventBusPolicy
    // resource per statement, so the Allow and the Deny are always deployed together.
    (this.handoffBus.node.defaultChild as events.CfnEventBus).policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: "AllowOnCallPublisher",
          principals: [new iam.AccountPrincipal(publisherAccount)],
          actions: ["events:PutEvents"],
          resources: [busArn],
          conditions: { ArnLike: { "aws:PrincipalArn": this.oncallPublisherArn } },
        }),
        new iam.PolicyStatement({
          sid: "DenyEveryoneElse",
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ["events:PutEvents"],
          resources: [busArn],
          conditions: { ArnNotLike: { "aws:PrincipalArn": publishers } },
        }),
      ],
    });
    new events.Rule(this, "HandoffRule", {
      description: "On-call handoff events -> oncall-spoke",
      eventBus: this.handoffBus,
      eventPattern: { source: [HANDOFF_SOURCE], detailType: [HANDOFF_DETAIL_TYPE] },
      targets: [
        new targets.LambdaFunction(functions["oncall-spoke"], {
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.handoffDlq,
        }),
      ],
    });
    new events.Rule(this, "ClsSweepSchedule", {
      description: "Daily CLS expiry sweep",
      schedule: events.Schedule.expression(SWEEP_SCHEDULE),
      targets: [new targets.LambdaFunction(sweep, { retryAttempts: 2 })],
    });
    new events.Rule(this, "ByodsSchedule", {
      description: "Hourly BYODS token refresh and data-source extension",
      schedule: events.Schedule.expression(BYODS_SCHEDULE),
      targets: [new targets.LambdaFunction(functions["byods-extender"], { retryAttempts: 2 })],
    });
    new events.Rule(this, "PagerDutySchedule", {
      description: pdPolling
        ? `PagerDuty on-call poll every ${pdInterval} minutes -> handoff events`
        : "PagerDuty on-call poll: disabled until context pagerDutyTeams maps a team",
      enabled: pdPolling,
      schedule: events.Schedule.rate(Duration.minutes(pdInterval)),
      targets: [
        new targets.LambdaFunction(functions["oncall-pagerduty"], {
          retryAttempts: 2,
          // A poll older than one interval is superseded by the next one.
          maxEventAge: Duration.minutes(pdInterval),
        }),
      ],
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
    const hour = Duration.hours(1);

    for (const fn of FUNCTION_NAMES) {
      const f = functions[fn];
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

    // The webhook API: GitHub does not retry a failed delivery, so any 5xx may be a lost `member` event.
    addAlarm(
      "cls-api-5xx",
      "CLS API: at least one 5xx answer in 5 minutes (GitHub does not retry; redeliver from the App)",
      this.httpApi.metricServerError({ period: fiveMin, statistic: "Sum" }),
      { threshold: 1 },
    );
    // 4xx includes 429 (stage throttling), 401 (bad signature, e.g. a half-rotated secret) and 413.
    addAlarm(
      "cls-api-4xx-spike",
      "CLS API: 10 or more 4xx answers (429 throttling, 401 signatures) in 5 minutes",
      this.httpApi.metricClientError({ period: fiveMin, statistic: "Sum" }),
      { threshold: 10 },
    );

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

    // The services' EMF metrics (lib/metrics.ts; test/dashboard.test.ts checks them against the Rust sources).
    addAlarm(
      "cls-enqueue-failed",
      "CLS: cls-webhook or cls-sweep could not enqueue a message",
      clsMetric(stage, "EnqueueFailed"),
      { threshold: 1 },
    );
    addAlarm(
      "cls-permanent-failure",
      "CLS: a message failed permanently and was acknowledged (IT alert sent)",
      clsMetric(stage, "PermanentFailure"),
      { threshold: 1 },
    );
    addAlarm(
      "cls-sweep-brake",
      "CLS: the sweep safety brake held back removals",
      clsMetric(stage, "SweepBrakeTripped"),
      { threshold: 1 },
    );
    // Heartbeat: the sweep emits SweepCompleted once per finished run; no run in 26 hours (missing = breaching).
    addAlarm(
      "cls-sweep-missing",
      "CLS: no completed sweep in 26 hours",
      clsMetric(stage, "SweepCompleted", { period: hour }),
      {
        threshold: 1,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 26,
        missing: cloudwatch.TreatMissingData.BREACHING,
      },
    );

    addAlarm(
      "byods-reauth-required",
      "BYODS: OAuth refresh failed; re-authorisation may be required",
      byodsMetric("OAuthRefreshFailures"),
      { threshold: 1 },
    );
    addAlarm(
      "byods-secret-write",
      "BYODS: rotated tokens could not be written to Secrets Manager",
      byodsMetric("SecretWriteFailures"),
      { threshold: 1 },
    );
    addAlarm(
      "byods-refresh-token-expiry",
      "BYODS: the integration refresh token expires within 14 days (early warning)",
      byodsMetric("IntegrationRefreshTokenSecondsLeft", { statistic: "Minimum", period: hour }),
      { threshold: 1209600, comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD },
    );
    addAlarm(
      "byods-source-expiring",
      "BYODS: a data-source token has less than 60 minutes left",
      byodsMetric("MinDataSourceTokenMinutesLeft", { statistic: "Minimum", period: hour }),
      { threshold: 60, comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD },
    );
    addAlarm(
      "byods-heartbeat",
      "BYODS: no successful sweep in 3 hours",
      byodsMetric("SweepSuccess", { period: hour }),
      {
        threshold: 1,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        missing: cloudwatch.TreatMissingData.BREACHING,
      },
    );

    addAlarm(
      "oncall-permanent-error",
      "oncall-spoke: a handoff could not be applied (team and IT were alerted in Slack)",
      oncallMetric("Handoffs", { Result: "permanent_error" }),
      { threshold: 1 },
    );
    addAlarm(
      "oncall-alert-failures",
      "oncall-spoke: a Slack alert could not be delivered",
      oncallMetric("AlertFailures", undefined),
      { threshold: 1 },
    );

    // ---- Dashboard --------------------------------------------------------------------------------------
    this.dashboard = operationsDashboard(this, "OperationsDashboard", {
      dashboardName: this.stackName,
      stage,
      functions,
      queue: this.queue,
      queueDlq: this.queueDlq,
      handoffDlq: this.handoffDlq,
      alarms: this.alarms,
      pagerDutyInterval: pdPolling ? Duration.minutes(pdInterval) : undefined,
    });

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
    new CfnOutput(this, "HandoffBusArn", {
      description: "Event bus the on-call system puts handoff events on",
      value: this.handoffBus.eventBusArn,
    });
    new CfnOutput(this, "ClsAdminRoleArn", {
      description: "Role operators assume to run cls-admin",
      value: this.clsAdminRole.roleArn,
    });
    new CfnOutput(this, "ClsSweepFunctionName", { description: "cls-sweep function name", value: sweepName });
    new CfnOutput(this, "OperationsDashboardUrl", {
      description: "The operations dashboard in the CloudWatch console",
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.stackName}`,
    });
  }
}
