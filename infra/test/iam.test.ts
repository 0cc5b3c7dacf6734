// Least privilege in detail: which role may do what, on which resource.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FUNCTION_NAMES, type FunctionName } from "../lib/stack";
import { asArray, logicalId, resourcesOfType, synth, WITH_SWEEP, type Synth } from "./helpers";

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
}

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

function roleOf(s: Synth, fn: FunctionName): string {
  const fnProps = s.json.Resources[logicalId(s.stack, s.stack.functionOf(fn))].Properties!;
  return fnProps.Role["Fn::GetAtt"][0] as string;
}

/** (action, resource) pairs a function's role is allowed. */
function grants(s: Synth, fn: FunctionName): { action: string; resource: string }[] {
  const out: { action: string; resource: string }[] = [];
  for (const st of statementsByRole(s).get(roleOf(s, fn)) ?? []) {
    assert.equal(st.Effect, "Allow");
    for (const action of asArray(st.Action)) {
      for (const resource of asArray(st.Resource)) out.push({ action, resource: JSON.stringify(resource) });
    }
  }
  return out;
}

function secretArn(name: string): string {
  return JSON.stringify({
    "Fn::Join": [
      "",
      ["arn:", { Ref: "AWS::Partition" }, ":secretsmanager:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:secret:${name}-??????`],
    ],
  });
}

// The full design, cls-sweep included; sweep-flag.test.ts checks the grants without it.
const s = synth({ context: WITH_SWEEP });
const queueArn = JSON.stringify({ "Fn::GetAtt": [logicalId(s.stack, s.stack.queue), "Arn"] });

// Written out independently of the stack's own table so a widened grant fails here.
const EXPECTED_SECRET_READS: Record<FunctionName, string[]> = {
  "oncall-spoke": ["oncall-spoke"],
  "cls-webhook": ["cls/github", "cls/slack"],
  "cls-queue": ["cls/github", "cls/slack", "cls/spoke", "cls/identity"],
  "cls-sweep": ["cls/github", "cls/slack", "cls/spoke"],
  "byods-extender": ["webex-byods-credentials", "byods/slack"],
};

describe("IAM", () => {
  it("gives every function its own role", () => {
    const roles = FUNCTION_NAMES.map((fn) => roleOf(s, fn));
    assert.equal(new Set(roles).size, 5);
    s.template.resourceCountIs("AWS::IAM::Role", 5);
  });

  it("allows no wildcard action and no `*` resource anywhere", () => {
    for (const [roleId, statements] of statementsByRole(s)) {
      for (const st of statements) {
        for (const action of asArray(st.Action)) assert.doesNotMatch(action, /\*/, `${roleId}: ${action}`);
        for (const resource of asArray(st.Resource)) assert.notEqual(resource, "*", roleId);
      }
    }
  });

  it("attaches only the basic execution managed policy", () => {
    for (const [roleId, role] of resourcesOfType(s.json, "AWS::IAM::Role")) {
      const managed = asArray(role.Properties!.ManagedPolicyArns).map((arn) => JSON.stringify(arn));
      assert.equal(managed.length, 1, roleId);
      assert.match(managed[0], /service-role\/AWSLambdaBasicExecutionRole/, roleId);
    }
  });

  it("lets only Lambda assume the function roles", () => {
    for (const [roleId, role] of resourcesOfType(s.json, "AWS::IAM::Role")) {
      const statements = role.Properties!.AssumeRolePolicyDocument.Statement as Statement[];
      assert.deepEqual(statements.map((st) => st.Principal), [{ Service: "lambda.amazonaws.com" }], roleId);
    }
  });

  for (const fn of FUNCTION_NAMES) {
    it(`lets ${fn} read exactly ${EXPECTED_SECRET_READS[fn].join(", ")}`, () => {
      const reads = grants(s, fn)
        .filter((g) => g.action === "secretsmanager:GetSecretValue")
        .map((g) => g.resource)
        .sort();
      assert.deepEqual(reads, EXPECTED_SECRET_READS[fn].map(secretArn).sort());
    });
  }

  it("allows PutSecretValue to byods-extender only, on exactly its own secret", () => {
    for (const fn of FUNCTION_NAMES) {
      const puts = grants(s, fn).filter((g) => g.action === "secretsmanager:PutSecretValue");
      if (fn === "byods-extender") {
        assert.deepEqual(puts.map((g) => g.resource), [secretArn("webex-byods-credentials")]);
      } else {
        assert.deepEqual(puts, [], fn);
      }
    }
  });

  it("grants no Secrets Manager action besides GetSecretValue and byods' PutSecretValue", () => {
    for (const fn of FUNCTION_NAMES) {
      const actions = new Set(grants(s, fn).map((g) => g.action).filter((a) => a.startsWith("secretsmanager:")));
      actions.delete("secretsmanager:GetSecretValue");
      if (fn === "byods-extender") actions.delete("secretsmanager:PutSecretValue");
      assert.deepEqual([...actions], [], fn);
    }
  });

  it("lets only cls-webhook and cls-sweep send to the CLS queue", () => {
    for (const fn of FUNCTION_NAMES) {
      const sends = grants(s, fn).filter((g) => g.action === "sqs:SendMessage" && g.resource === queueArn);
      assert.equal(sends.length, fn === "cls-webhook" || fn === "cls-sweep" ? 1 : 0, fn);
    }
  });

  it("lets only cls-queue receive and delete CLS queue messages", () => {
    for (const fn of FUNCTION_NAMES) {
      const consume = grants(s, fn).filter(
        (g) => (g.action === "sqs:ReceiveMessage" || g.action === "sqs:DeleteMessage") && g.resource === queueArn,
      );
      assert.equal(consume.length, fn === "cls-queue" ? 2 : 0, fn);
    }
  });

  it("lets oncall-spoke write only to its own DLQ", () => {
    const handoffDlq = JSON.stringify({ "Fn::GetAtt": [logicalId(s.stack, s.stack.handoffDlq), "Arn"] });
    const sqsGrants = grants(s, "oncall-spoke").filter((g) => g.action.startsWith("sqs:"));
    assert.deepEqual(sqsGrants, [{ action: "sqs:SendMessage", resource: handoffDlq }]);
  });

  it("lets only cls-sweep invoke a function, and only itself", () => {
    const sweepArn = JSON.stringify({ "Fn::GetAtt": [logicalId(s.stack, s.stack.functionOf("cls-sweep")), "Arn"] });
    for (const fn of FUNCTION_NAMES) {
      const invokes = grants(s, fn).filter((g) => g.action.startsWith("lambda:"));
      assert.deepEqual(invokes, fn === "cls-sweep" ? [{ action: "lambda:InvokeFunction", resource: sweepArn }] : [], fn);
    }
  });

  it("grants each function nothing beyond the actions it needs", () => {
    const allowed: Record<FunctionName, string[]> = {
      "oncall-spoke": ["secretsmanager:GetSecretValue", "sqs:SendMessage"],
      "cls-webhook": ["secretsmanager:GetSecretValue", "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
      "cls-queue": [
        "secretsmanager:GetSecretValue",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
      ],
      "cls-sweep": [
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "lambda:InvokeFunction",
      ],
      "byods-extender": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
    };
    for (const fn of FUNCTION_NAMES) {
      const actions = [...new Set(grants(s, fn).map((g) => g.action))].sort();
      assert.deepEqual(actions, [...allowed[fn]].sort(), fn);
    }
  });

  it("follows secret name overrides from context in the grants", () => {
    const o = synth({ context: { ...WITH_SWEEP, byodsSecret: "webex/byods-prod", clsSpokeSecret: "cls-prod/spoke" } });
    const puts = grants(o, "byods-extender").filter((g) => g.action === "secretsmanager:PutSecretValue");
    assert.deepEqual(puts.map((g) => g.resource), [secretArn("webex/byods-prod")]);
    const queueReads = grants(o, "cls-queue").filter((g) => g.action === "secretsmanager:GetSecretValue");
    assert.ok(queueReads.some((g) => g.resource === secretArn("cls-prod/spoke")));
    assert.ok(!queueReads.some((g) => g.resource === secretArn("cls/spoke")));
  });
});
