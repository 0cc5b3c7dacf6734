// The one-time deploy access shipped in infra/bootstrap/ (docs/operations/deploy.md §1, ADR 0014): the OIDC
// deploy role's trust policy names the repository, the environment and the ref; it may only assume the CDK
// deploy and publishing roles; and the CloudFormation execution policy given to `cdk bootstrap` covers every
// resource the stack creates (production and another stage) without granting data access or wildcards.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { asArray, synth, type CfnTemplate, type Synth } from "./helpers";

const dir = path.join(__dirname, "..", "bootstrap");
const load = (file: string) => JSON.parse(readFileSync(path.join(dir, file), "utf8"));

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: Record<string, unknown>;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** IAM wildcard match: `*` any run of characters, `?` exactly one. */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(value);
}

/** Whether `policy` allows `action` on `arn` with the given condition context (ArnLike/StringEquals only). */
function allows(policy: { Statement: Statement[] }, action: string, arn: string, ctx: Record<string, string> = {}): boolean {
  return policy.Statement.some((st) => {
    if (st.Effect !== "Allow") return false;
    if (!asArray(st.Action).some((a) => globMatch(a.toLowerCase(), action.toLowerCase()))) return false;
    if (!asArray(st.Resource).some((r) => globMatch(r, arn))) return false;
    for (const [op, clauses] of Object.entries(st.Condition ?? {})) {
      for (const [key, want] of Object.entries(clauses)) {
        const have = ctx[key];
        if (have === undefined) return false;
        const ok = asArray(want).some((w) => (op === "StringEquals" ? w === have : globMatch(w, have)));
        if (!ok) return false;
      }
    }
    return true;
  });
}

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

/**
 * The (action, ARN, condition context) triples CloudFormation needs for each resource of a template, with the
 * names CloudFormation generates (`<stack>-<logicalId>-<suffix>`) where the template sets none.
 */
function needs(s: Synth): { type: string; action: string; arn: string; ctx?: Record<string, string> }[] {
  const json: CfnTemplate = s.json;
  const stack = s.stack.stackName;
  const generated = (logicalId: string) => `${stack}-${logicalId}-AbC123XyZ`.slice(0, 64);
  const nameOf = (logicalId: string): string => {
    const r = json.Resources[logicalId];
    const p = r.Properties ?? {};
    return (p.FunctionName ?? p.RoleName ?? p.QueueName ?? p.TopicName ?? p.Name ?? generated(logicalId)) as string;
  };
  const refId = (v: unknown): string => {
    const o = v as { Ref?: string; "Fn::GetAtt"?: [string, string] };
    const id = o?.Ref ?? o?.["Fn::GetAtt"]?.[0];
    assert.ok(id && json.Resources[id], `not a reference: ${JSON.stringify(v)}`);
    return id;
  };
  const fnArn = (id: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${nameOf(id)}`;
  const roleArn = (id: string) => `arn:aws:iam::${ACCOUNT}:role/${nameOf(id)}`;
  const queueArn = (id: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${nameOf(id)}`;
  const topicArn = (id: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:${nameOf(id)}`;
  const out: { type: string; action: string; arn: string; ctx?: Record<string, string> }[] = [];
  const need = (type: string, actions: string[], arn: string, ctx?: Record<string, string>) => {
    for (const action of actions) out.push({ type, action, arn, ctx });
  };
  for (const [id, r] of Object.entries(json.Resources)) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case "AWS::Lambda::Function":
        need(r.Type, ["lambda:CreateFunction", "lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:TagResource"], fnArn(id));
        if (p.ReservedConcurrentExecutions !== undefined) need(r.Type, ["lambda:PutFunctionConcurrency"], fnArn(id));
        need(r.Type, ["iam:PassRole"], roleArn(refId(p.Role)), { "iam:PassedToService": "lambda.amazonaws.com" });
        need(r.Type, ["s3:GetObject"], `arn:aws:s3:::cdk-hnb659fds-assets-${ACCOUNT}-${REGION}/${p.Code.S3Key}`);
        break;
      case "AWS::Lambda::Permission":
        need(r.Type, ["lambda:AddPermission", "lambda:RemovePermission"], fnArn(refId(p.FunctionName)));
        break;
      case "AWS::Lambda::EventInvokeConfig":
        need(r.Type, ["lambda:PutFunctionEventInvokeConfig"], fnArn(refId(p.FunctionName)));
        break;
      case "AWS::Lambda::EventSourceMapping":
        need(r.Type, ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"], "*", {
          "lambda:FunctionArn": fnArn(refId(p.FunctionName)),
        });
        need(r.Type, ["lambda:GetEventSourceMapping"], `arn:aws:lambda:${REGION}:${ACCOUNT}:event-source-mapping:1234`);
        break;
      case "AWS::IAM::Role":
        need(r.Type, ["iam:CreateRole", "iam:GetRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:DeleteRole"], roleArn(id));
        break;
      case "AWS::IAM::Policy":
        for (const role of asArray(p.Roles)) need(r.Type, ["iam:PutRolePolicy", "iam:DeleteRolePolicy"], roleArn(refId(role)));
        break;
      case "AWS::SQS::Queue":
        assert.ok(p.QueueName, `${id}: queues carry explicit, stage-derived names`);
        need(r.Type, ["sqs:CreateQueue", "sqs:SetQueueAttributes", "sqs:GetQueueAttributes", "sqs:DeleteQueue"], queueArn(id));
        break;
      case "AWS::SQS::QueuePolicy":
        for (const q of asArray(p.Queues)) need(r.Type, ["sqs:SetQueueAttributes"], queueArn(refId(q)));
        break;
      case "AWS::SNS::Topic":
        need(r.Type, ["sns:CreateTopic", "sns:GetTopicAttributes", "sns:DeleteTopic"], topicArn(id));
        break;
      case "AWS::SNS::TopicPolicy":
        for (const t of asArray(p.Topics)) need(r.Type, ["sns:SetTopicAttributes"], topicArn(refId(t)));
        break;
      case "AWS::SNS::Subscription":
        need(r.Type, ["sns:Subscribe", "sns:Unsubscribe"], topicArn(refId(p.TopicArn)));
        break;
      case "AWS::Logs::LogGroup":
        need(r.Type, ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"], `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${generated(id)}`);
        break;
      case "AWS::ApiGatewayV2::Api":
        need(r.Type, ["apigateway:POST"], `arn:aws:apigateway:${REGION}::/apis`);
        break;
      case "AWS::ApiGatewayV2::Integration":
      case "AWS::ApiGatewayV2::Route":
        need(r.Type, ["apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"], `arn:aws:apigateway:${REGION}::/apis/abc123/x`);
        break;
      case "AWS::ApiGatewayV2::Stage":
        need(r.Type, ["apigateway:POST", "apigateway:PATCH"], `arn:aws:apigateway:${REGION}::/apis/abc123/stages`);
        need(r.Type, ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"], "*");
        break;
      case "AWS::Events::EventBus":
        need(r.Type, ["events:CreateEventBus", "events:PutPermission", "events:DeleteEventBus"], `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${p.Name}`);
        break;
      case "AWS::Events::Rule": {
        const bus = p.EventBusName ? `${nameOf(refId(p.EventBusName))}/` : "";
        need(r.Type, ["events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule"], `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus}${generated(id)}`);
        break;
      }
      case "AWS::CloudWatch::Alarm":
        need(r.Type, ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"], `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${p.AlarmName}`);
        break;
      case "AWS::CloudWatch::Dashboard":
        need(r.Type, ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"], `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${p.DashboardName}`);
        break;
      case "AWS::SecretsManager::ResourcePolicy":
        need(r.Type, ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"], `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${p.SecretId}-AbCdEf`);
        break;
      default:
        assert.fail(`${id}: ${r.Type} is not covered; add its actions to infra/bootstrap/cfn-execution-policy.json and here`);
    }
  }
  return out;
}

describe("GitHub OIDC deploy role (infra/bootstrap)", () => {
  const trust = load("deploy-role-trust.json") as { Statement: Statement[] };
  const claim = load("oidc-sub-claim.json") as { use_default: boolean; include_claim_keys: string[] };

  it("customizes the repository's OIDC subject to repo, context and ref", () => {
    assert.deepEqual(claim, { use_default: false, include_claim_keys: ["repo", "context", "ref"] });
  });

  it("trusts exactly the subject GitHub issues to the production environment job on refs/heads/main", () => {
    // The subject GitHub builds from the template: each claim as key:value, joined by ':'; `context` of an
    // environment job is `environment:<name>`.
    const value: Record<string, string> = {
      repo: "repo:OWNER/REPO",
      context: "environment:production",
      ref: "ref:refs/heads/main",
    };
    const sub = claim.include_claim_keys.map((k) => value[k]).join(":");
    assert.equal(trust.Statement.length, 1);
    const st = trust.Statement[0];
    assert.equal(st.Effect, "Allow");
    assert.deepEqual(st.Principal, {
      Federated: "arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com",
    });
    assert.deepEqual(asArray(st.Action).sort(), ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]);
    // Exact match only: no StringLike, no wildcard anywhere in the conditions.
    assert.deepEqual(st.Condition, {
      StringEquals: {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": sub,
      },
    });
    assert.equal(sub, "repo:OWNER/REPO:environment:production:ref:refs/heads/main");
  });

  it("lets the deploy role assume only the CDK deploy and file-publishing roles", () => {
    const perms = load("deploy-role-permissions.json") as { Statement: Statement[] };
    assert.equal(perms.Statement.length, 1);
    assert.deepEqual(asArray(perms.Statement[0].Action), ["sts:AssumeRole"]);
    assert.deepEqual(asArray(perms.Statement[0].Resource).sort(), [
      "arn:aws:iam::ACCOUNT:role/cdk-hnb659fds-deploy-role-ACCOUNT-REGION",
      "arn:aws:iam::ACCOUNT:role/cdk-hnb659fds-file-publishing-role-ACCOUNT-REGION",
    ]);
  });
});

describe("CloudFormation execution policy for cdk bootstrap (infra/bootstrap/cfn-execution-policy.json)", () => {
  const policy = load("cfn-execution-policy.json") as { Statement: Statement[] };

  it("allows no wildcard action and no service-wide action", () => {
    for (const st of policy.Statement) {
      assert.equal(st.Effect, "Allow", st.Sid);
      for (const a of asArray(st.Action)) assert.doesNotMatch(a, /\*/, `${st.Sid}: ${a}`);
    }
  });

  it("uses Resource * only for actions without resource-level permissions or under a condition", () => {
    const star = new Set([
      "lambda:GetEventSourceMapping",
      "lambda:ListEventSourceMappings",
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]);
    for (const st of policy.Statement) {
      if (!asArray(st.Resource).includes("*")) continue;
      if (st.Condition) continue;
      for (const a of asArray(st.Action)) assert.ok(star.has(a), `${st.Sid}: ${a} on *`);
    }
  });

  it("grants no access to data: no secret values, queue messages, invocations, users or managed policies", () => {
    for (const action of [
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecret",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
      "sqs:PurgeQueue",
      "lambda:InvokeFunction",
      "events:PutEvents",
      "iam:AttachRolePolicy",
      "iam:CreateUser",
      "iam:CreatePolicy",
      "sts:AssumeRole",
      "kms:Decrypt",
    ]) {
      assert.equal(allows(policy, action, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cls/github-AbCdEf"), false, action);
      assert.equal(allows(policy, action, "*"), false, action);
      assert.ok(!policy.Statement.some((st) => asArray(st.Action).includes(action)), action);
    }
  });

  it("does not reach resources of other stacks (names outside the stack's prefixes)", () => {
    assert.equal(allows(policy, "lambda:UpdateFunctionCode", `arn:aws:lambda:${REGION}:${ACCOUNT}:function:payroll`), false);
    assert.equal(allows(policy, "iam:PutRolePolicy", `arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`), false);
    assert.equal(
      allows(policy, "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/ItAutomation-x`, { "iam:PassedToService": "ec2.amazonaws.com" }),
      false,
    );
  });

  for (const stage of ["production", "staging"]) {
    it(`covers every resource of the ${stage} template`, () => {
      const s = synth({ context: { stage } });
      const missing = needs(s)
        .filter((n) => !allows(policy, n.action, n.arn, n.ctx))
        .map((n) => `${n.type}: ${n.action} on ${n.arn}`);
      assert.deepEqual([...new Set(missing)], []);
    });
  }
});

describe("the documented bootstrap", () => {
  const deployMd = readFileSync(path.join(__dirname, "..", "..", "docs", "operations", "deploy.md"), "utf8");

  it("bootstraps with the shipped execution policy instead of AdministratorAccess", () => {
    assert.match(deployMd, /--policy-document file:\/\/infra\/bootstrap\/cfn-execution-policy\.json/);
    assert.match(
      deployMd,
      /cdk bootstrap aws:\/\/ACCOUNT\/REGION[^\n]*\\\n\s*--cloudformation-execution-policies "arn:aws:iam::ACCOUNT:policy\/it-automation-cfn-exec"/,
    );
    assert.doesNotMatch(deployMd, /--cloudformation-execution-policies[^\n]*AdministratorAccess/);
  });

  it("applies the subject-claim template and creates the role from the shipped files", () => {
    assert.match(deployMd, /actions\/oidc\/customization\/sub --input infra\/bootstrap\/oidc-sub-claim\.json/);
    assert.match(deployMd, /infra\/bootstrap\/deploy-role-trust\.json/);
    assert.match(deployMd, /infra\/bootstrap\/deploy-role-permissions\.json/);
  });
});
