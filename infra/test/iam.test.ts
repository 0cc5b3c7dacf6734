// Least privilege in detail: which role may do what, on which resource; the secret access table (issue 10) is
// asserted from the synthesized template, both from the identity side (IAM) and from the resource side (each
// secret's resource policy).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FUNCTION_NAMES, type FunctionName } from "../lib/stack";
import { asArray, logicalId, resourcesOfType, synth, type Synth } from "./helpers";

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

type User = FunctionName | "cls-admin";
const USERS: User[] = [...FUNCTION_NAMES, "cls-admin"];

/** Every identity-policy statement attached to a role, keyed by role logical id. */
function statementsByRole(s: Synth): Map<string, Statement[]> {
  const byRole = new Map<string, Statement[]>();
  const add = (roleRef: unknown, statements: Statement[]) => {
    const roleId = (roleRef as { Ref: string }).Ref;
    byRole.set(roleId, [...(byRole.get(roleId) ?? []), ...statements]);
  };
  for (const [, policy] of resourcesOfType(s.json, "AWS::IAM::Policy")) {
    for (const role of asArray(policy.Properties!.Roles)) add(role, policy.Properties!.PolicyDocument.Statement);
  }
  for (const [roleId, role] of resourcesOfType(s.json, "AWS::IAM::Role")) {
    for (const inline of asArray(role.Properties!.Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
      add({ Ref: roleId }, inline.PolicyDocument.Statement);
    }
  }
  return byRole;
}

function roleOf(s: Synth, user: User): string {
  if (user === "cls-admin") return logicalId(s.stack, s.stack.clsAdminRole);
  const fnProps = s.json.Resources[logicalId(s.stack, s.stack.functions[user])].Properties!;
  return fnProps.Role["Fn::GetAtt"][0] as string;
}

/** (action, resource) pairs a role is allowed. */
function grants(s: Synth, user: User): { action: string; resource: string }[] {
  const out: { action: string; resource: string }[] = [];
  for (const st of statementsByRole(s).get(roleOf(s, user)) ?? []) {
    assert.equal(st.Effect, "Allow");
    for (const action of asArray(st.Action)) {
      for (const resource of asArray(st.Resource)) out.push({ action, resource: JSON.stringify(resource) });
    }
  }
  return out;
}

/** The `arn:…:secret:<name>-??????` reference the stack must use for a secret name. */
function secretArn(name: string): string {
  return JSON.stringify({
    "Fn::Join": [
      "",
      ["arn:", { Ref: "AWS::Partition" }, ":secretsmanager:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:secret:${name}-??????`],
    ],
  });
}

const s = synth();
const queueArn = JSON.stringify({ "Fn::GetAtt": [logicalId(s.stack, s.stack.queue), "Arn"] });

// THE table (docs/decisions/0013): who may read (r), read and write (rw) or nothing (-) of each secret. Written
// out independently of the stack's SECRET_ACCESS, so any widened or narrowed grant fails here.
const SECRETS = [
  "oncall-spoke",
  "oncall-pagerduty",
  "cls/github",
  "cls/webhook",
  "cls/slack",
  "cls/alerts",
  "cls/spoke",
  "cls/identity",
  "webex-byods-credentials",
  "byods/slack",
] as const;
type Cell = "r" | "rw" | "-";
// prettier-ignore
const TABLE: Record<User, Cell[]> = {
  //                   oncall pagerduty cls/github webhook slack alerts spoke identity byods byods/slack
  "oncall-spoke":     ["r",   "-",      "-",       "-",    "-",  "-",   "-",  "-",     "-",  "-"],
  "oncall-pagerduty": ["-",   "r",      "-",       "-",    "-",  "-",   "-",  "-",     "-",  "-"],
  "cls-webhook":      ["-",   "-",      "-",       "r",    "-",  "r",   "-",  "-",     "-",  "-"],
  "cls-queue":        ["-",   "-",      "r",       "-",    "r",  "r",   "r",  "r",     "-",  "-"],
  "cls-sweep":        ["-",   "-",      "r",       "-",    "-",  "r",   "r",  "-",     "-",  "-"],
  "byods-extender":   ["-",   "-",      "-",       "-",    "-",  "-",   "-",  "-",     "rw", "r"],
  "cls-admin":        ["-",   "-",      "r",       "-",    "r",  "r",   "r",  "r",     "-",  "-"],
};

/** What the identity policies of `user`'s role allow on `secret`: r, rw or -. */
function identityCell(user: User, secret: string): Cell {
  const arn = secretArn(secret);
  const actions = new Set(grants(s, user).filter((g) => g.resource === arn).map((g) => g.action));
  const read = actions.delete("secretsmanager:GetSecretValue");
  const write = actions.delete("secretsmanager:PutSecretValue");
  assert.deepEqual([...actions], [], `${user} has unexpected actions on ${secret}`);
  if (write) assert.ok(read, `${user} may write ${secret} without reading it`);
  return write ? "rw" : read ? "r" : "-";
}

/** The resource policy of the secret named `secret` (found by its SecretId). */
function secretPolicy(secret: string): Statement[] {
  const found = resourcesOfType(s.json, "AWS::SecretsManager::ResourcePolicy").filter(
    ([, r]) => r.Properties!.SecretId === secret,
  );
  assert.equal(found.length, 1, `one resource policy for ${secret}`);
  assert.equal(found[0][1].Properties!.BlockPublicPolicy, true);
  return found[0][1].Properties!.ResourcePolicy.Statement as Statement[];
}

const roleArnRef = (user: User) => JSON.stringify({ "Fn::GetAtt": [roleOf(s, user), "Arn"] });
const accountRoleArn = (name: string) =>
  JSON.stringify({
    "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, `:role/${name}`]],
  });
const BREAK_GLASS = accountRoleArn("it-automation-break-glass");
const CFN_EXEC = JSON.stringify({
  "Fn::Join": [
    "",
    [
      "arn:",
      { Ref: "AWS::Partition" },
      ":iam::",
      { Ref: "AWS::AccountId" },
      ":role/cdk-hnb659fds-cfn-exec-role-",
      { Ref: "AWS::AccountId" },
      "-",
      { Ref: "AWS::Region" },
    ],
  ],
});

/** The principals a Deny statement exempts (its ArnNotLike aws:PrincipalArn list), as JSON strings. */
function exempted(st: Statement): string[] {
  assert.equal(st.Effect, "Deny");
  assert.deepEqual(st.Principal, { AWS: "*" });
  assert.equal(st.Resource, "*");
  assert.deepEqual(Object.keys(st.Condition ?? {}), ["ArnNotLike"]);
  assert.deepEqual(Object.keys(st.Condition!.ArnNotLike), ["aws:PrincipalArn"]);
  return asArray(st.Condition!.ArnNotLike["aws:PrincipalArn"]).map((a) => JSON.stringify(a)).sort();
}

describe("secret access table (function x secret -> read / read-write / none)", () => {
  it("grants each role exactly its row through IAM, and nothing on any other secret", () => {
    const actual = {} as Record<User, Cell[]>;
    for (const user of USERS) actual[user] = SECRETS.map((secret) => identityCell(user, secret));
    assert.deepEqual(actual, TABLE);
  });

  it("grants Secrets Manager actions on no resource outside the table (no wildcard secret ARNs)", () => {
    const known = new Set(SECRETS.map(secretArn));
    for (const [roleId, statements] of statementsByRole(s)) {
      for (const st of statements) {
        const sm = asArray(st.Action).filter((a) => a.startsWith("secretsmanager:"));
        if (sm.length === 0) continue;
        for (const r of asArray(st.Resource)) {
          const res = JSON.stringify(r);
          assert.ok(known.has(res), `${roleId}: ${sm.join(",")} on ${res}`);
          assert.doesNotMatch(res, /\*/, roleId);
        }
      }
    }
  });

  for (const [i, secret] of SECRETS.entries()) {
    const readers = USERS.filter((u) => TABLE[u][i] !== "-");
    const writers = USERS.filter((u) => TABLE[u][i] === "rw");
    it(`${secret}: the resource policy denies reading to all but ${readers.join(", ")} and break-glass`, () => {
      const st = secretPolicy(secret).find((x) => x.Sid === "DenyReadExceptUsers")!;
      assert.deepEqual(asArray(st.Action), ["secretsmanager:GetSecretValue"]);
      assert.deepEqual(exempted(st), [...readers.map(roleArnRef), BREAK_GLASS].sort());
    });

    it(`${secret}: the resource policy denies changing the value to all but ${[...writers, "break-glass"].join(", ")}`, () => {
      const st = secretPolicy(secret).find((x) => x.Sid === "DenyWriteExceptWriters")!;
      assert.deepEqual(asArray(st.Action).sort(), [
        "secretsmanager:PutSecretValue",
        "secretsmanager:RotateSecret",
        "secretsmanager:UpdateSecret",
        "secretsmanager:UpdateSecretVersionStage",
      ]);
      assert.deepEqual(exempted(st), [...writers.map(roleArnRef), BREAK_GLASS].sort());
    });

    it(`${secret}: only break-glass and the CDK execution role may change its policy or delete it`, () => {
      const statements = secretPolicy(secret);
      assert.equal(statements.length, 3);
      const st = statements.find((x) => x.Sid === "DenyPolicyChangeExceptDeployer")!;
      assert.deepEqual(asArray(st.Action).sort(), [
        "secretsmanager:DeleteResourcePolicy",
        "secretsmanager:DeleteSecret",
        "secretsmanager:PutResourcePolicy",
      ]);
      assert.deepEqual(exempted(st), [BREAK_GLASS, CFN_EXEC].sort());
      // Deny-only: the policy never grants anything by itself.
      for (const x of statements) assert.equal(x.Effect, "Deny");
    });
  }

  it("puts a resource policy on every secret of the table and on nothing else", () => {
    const ids = resourcesOfType(s.json, "AWS::SecretsManager::ResourcePolicy").map(([, r]) => r.Properties!.SecretId);
    assert.deepEqual(ids.sort(), [...SECRETS].sort());
  });

  it("takes the break-glass role and the bootstrap qualifier from context", () => {
    const o = synth({
      context: {
        breakGlassRole: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*",
        "@aws-cdk/core:bootstrapQualifier": "itauto",
      },
    });
    const policy = resourcesOfType(o.json, "AWS::SecretsManager::ResourcePolicy")[0][1].Properties!.ResourcePolicy;
    const text = JSON.stringify(policy);
    assert.match(text, /AWSReservedSSO_Admin_\*/);
    assert.doesNotMatch(text, /it-automation-break-glass/);
    assert.match(text, /role\/cdk-itauto-cfn-exec-role-/);
  });

  it("follows secret name overrides from context in the grants and the policies", () => {
    const o = synth({ context: { byodsSecret: "webex/byods-prod", clsWebhookSecret: "cls-prod/webhook" } });
    const byodsRole = o.json.Resources[logicalId(o.stack, o.stack.functions["byods-extender"])].Properties!.Role;
    const puts = [...statementsByRole(o).get(byodsRole["Fn::GetAtt"][0])!]
      .filter((st) => asArray(st.Action).includes("secretsmanager:PutSecretValue"))
      .flatMap((st) => asArray(st.Resource).map((r) => JSON.stringify(r)));
    assert.deepEqual(puts, [secretArn("webex/byods-prod")]);
    const ids = resourcesOfType(o.json, "AWS::SecretsManager::ResourcePolicy").map(([, r]) => r.Properties!.SecretId);
    assert.ok(ids.includes("cls-prod/webhook"));
    assert.ok(!ids.includes("cls/webhook"));
  });
});

describe("IAM", () => {
  it("gives every function its own role, plus the cls-admin role", () => {
    const roles = FUNCTION_NAMES.map((fn) => roleOf(s, fn));
    assert.equal(new Set(roles).size, 6);
    s.template.resourceCountIs("AWS::IAM::Role", 7);
  });

  it("allows no wildcard action and no `*` resource anywhere", () => {
    for (const [roleId, statements] of statementsByRole(s)) {
      for (const st of statements) {
        for (const action of asArray(st.Action)) assert.doesNotMatch(action, /\*/, `${roleId}: ${action}`);
        for (const resource of asArray(st.Resource)) assert.notEqual(resource, "*", roleId);
      }
    }
  });

  it("attaches no managed policy to any role (no AWSLambdaBasicExecutionRole)", () => {
    for (const [roleId, role] of resourcesOfType(s.json, "AWS::IAM::Role")) {
      assert.equal(role.Properties!.ManagedPolicyArns, undefined, roleId);
    }
    assert.doesNotMatch(JSON.stringify(s.json), /AWSLambdaBasicExecutionRole/);
  });

  it("lets each function write logs only to its own log group, and create no log group", () => {
    for (const fn of FUNCTION_NAMES) {
      const logGrants = grants(s, fn).filter((g) => g.action.startsWith("logs:"));
      const own = JSON.stringify({ "Fn::GetAtt": [logicalId(s.stack, s.stack.logGroups[fn]), "Arn"] });
      assert.deepEqual(
        logGrants.sort((a, b) => a.action.localeCompare(b.action)),
        [
          { action: "logs:CreateLogStream", resource: own },
          { action: "logs:PutLogEvents", resource: own },
        ],
        fn,
      );
      const fnProps = s.json.Resources[logicalId(s.stack, s.stack.functions[fn])].Properties!;
      assert.deepEqual(fnProps.LoggingConfig.LogGroup, { Ref: logicalId(s.stack, s.stack.logGroups[fn]) }, fn);
    }
  });

  it("lets only Lambda assume the function roles, and only this account's principals the cls-admin role", () => {
    const admin = logicalId(s.stack, s.stack.clsAdminRole);
    for (const [roleId, role] of resourcesOfType(s.json, "AWS::IAM::Role")) {
      const statements = role.Properties!.AssumeRolePolicyDocument.Statement as Statement[];
      if (roleId === admin) {
        assert.deepEqual(statements.map((st) => st.Principal), [
          { AWS: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, ":root"]] } },
        ]);
        assert.equal(role.Properties!.RoleName, "ItAutomation-cls-admin");
        assert.equal(role.Properties!.MaxSessionDuration, 3600);
      } else {
        assert.deepEqual(statements.map((st) => st.Principal), [{ Service: "lambda.amazonaws.com" }], roleId);
      }
    }
  });

  it("lets only cls-webhook, cls-sweep and cls-admin send to the CLS queue", () => {
    for (const user of USERS) {
      const sends = grants(s, user).filter((g) => g.action === "sqs:SendMessage" && g.resource === queueArn);
      assert.equal(sends.length, ["cls-webhook", "cls-sweep", "cls-admin"].includes(user) ? 1 : 0, user);
    }
  });

  it("lets only cls-queue receive and delete CLS queue messages", () => {
    for (const user of USERS) {
      const consume = grants(s, user).filter(
        (g) => (g.action === "sqs:ReceiveMessage" || g.action === "sqs:DeleteMessage") && g.resource === queueArn,
      );
      assert.equal(consume.length, user === "cls-queue" ? 2 : 0, user);
    }
  });

  it("lets oncall-spoke write only to its own DLQ", () => {
    const handoffDlq = JSON.stringify({ "Fn::GetAtt": [logicalId(s.stack, s.stack.handoffDlq), "Arn"] });
    const sqsGrants = grants(s, "oncall-spoke").filter((g) => g.action.startsWith("sqs:"));
    assert.deepEqual(sqsGrants, [{ action: "sqs:SendMessage", resource: handoffDlq }]);
  });

  it("lets only oncall-pagerduty put events, and only on the handoff bus (by its constructed ARN)", () => {
    const busArn = JSON.stringify({
      "Fn::Join": [
        "",
        ["arn:", { Ref: "AWS::Partition" }, ":events:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":event-bus/oncall-handoff"],
      ],
    });
    for (const user of USERS) {
      const puts = grants(s, user).filter((g) => g.action.startsWith("events:"));
      assert.deepEqual(puts, user === "oncall-pagerduty" ? [{ action: "events:PutEvents", resource: busArn }] : [], user);
    }
  });

  it("lets cls-sweep invoke only itself (by its constructed name, no cycle) and cls-admin run the sweep", () => {
    const sweepArn = JSON.stringify({
      "Fn::Join": [
        "",
        ["arn:", { Ref: "AWS::Partition" }, ":lambda:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":function:ItAutomation-cls-sweep"],
      ],
    });
    const sweepProps = s.json.Resources[logicalId(s.stack, s.stack.functions["cls-sweep"])].Properties!;
    assert.equal(sweepProps.FunctionName, "ItAutomation-cls-sweep");
    for (const user of USERS) {
      const invokes = grants(s, user).filter((g) => g.action.startsWith("lambda:"));
      const expected = user === "cls-sweep" || user === "cls-admin" ? [{ action: "lambda:InvokeFunction", resource: sweepArn }] : [];
      assert.deepEqual(invokes, expected, user);
    }
  });

  it("grants each role nothing beyond the actions it needs", () => {
    const logs = ["logs:CreateLogStream", "logs:PutLogEvents"];
    const allowed: Record<User, string[]> = {
      "oncall-spoke": [...logs, "secretsmanager:GetSecretValue", "sqs:SendMessage"],
      "oncall-pagerduty": [...logs, "secretsmanager:GetSecretValue", "events:PutEvents"],
      "cls-webhook": [...logs, "secretsmanager:GetSecretValue", "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
      "cls-queue": [
        ...logs,
        "secretsmanager:GetSecretValue",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
      ],
      "cls-sweep": [
        ...logs,
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "lambda:InvokeFunction",
      ],
      "byods-extender": [...logs, "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
      "cls-admin": ["secretsmanager:GetSecretValue", "sqs:SendMessage", "lambda:InvokeFunction"],
    };
    for (const user of USERS) {
      const actions = [...new Set(grants(s, user).map((g) => g.action))].sort();
      assert.deepEqual(actions, [...allowed[user]].sort(), user);
    }
  });
});
