// The `clsSweep` context flag (ADR 0011): off by default until `services/cls-sweep` exists, so a synth with the
// real artifacts of the four existing functions succeeds; on, the full design (the other test files) returns.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { FUNCTION_NAMES, SWEEP_SCHEDULE, type FunctionName } from "../lib/stack";
import { asArray, logicalId, resourcesOfType, synth, validationReport, WITH_SWEEP } from "./helpers";

const FOUR: FunctionName[] = ["oncall-spoke", "cls-webhook", "cls-queue", "byods-extender"];

// Assets for the four existing functions only, as `cargo xtask lambda-build` leaves them today.
const d = synth({ assets: FOUR });

/** (role logical id, action, resource) for every identity-policy statement in the template. */
function grants(): { role: string; action: string; resource: string }[] {
  const out: { role: string; action: string; resource: string }[] = [];
  for (const [, policy] of resourcesOfType(d.json, "AWS::IAM::Policy")) {
    for (const role of asArray(policy.Properties!.Roles) as { Ref: string }[]) {
      for (const st of policy.Properties!.PolicyDocument.Statement) {
        for (const action of asArray(st.Action as string | string[])) {
          for (const resource of asArray(st.Resource)) {
            out.push({ role: role.Ref, action, resource: JSON.stringify(resource) });
          }
        }
      }
    }
  }
  return out;
}

describe("without clsSweep (the default)", () => {
  it("deploys exactly oncall-spoke, cls-webhook, cls-queue and byods-extender", () => {
    assert.equal(d.stack.clsSweep, false);
    assert.deepEqual([...d.stack.deployed], FOUR);
    assert.deepEqual(Object.keys(d.stack.functions).sort(), [...FOUR].sort());
    d.template.resourceCountIs("AWS::Lambda::Function", 4);
    d.template.resourceCountIs("AWS::IAM::Role", 4);
  });

  it("packages each of the four functions from its own asset folder", () => {
    const staged = resourcesOfType(d.json, "AWS::Lambda::Function").map(([, f]) => {
      const key = (f.Properties!.Code.S3Key as string).replace(/\.zip$/, "");
      return readFileSync(path.join(d.outdir, `asset.${key}`, "bootstrap"), "utf8").trim();
    });
    assert.deepEqual(staged.sort(), [...FOUR].sort());
  });

  it("creates no resource of the sweep: no function, log group, schedule, policy or alarm", () => {
    const sweepIds = Object.keys(d.json.Resources).filter((id) => /clssweep/i.test(id));
    assert.deepEqual(sweepIds, []);
    const rules = resourcesOfType(d.json, "AWS::Events::Rule");
    assert.equal(rules.length, 2);
    assert.ok(!rules.some(([, r]) => r.Properties!.ScheduleExpression === SWEEP_SCHEDULE));
  });

  it("lets only cls-webhook send to the CLS queue and no role invoke a function", () => {
    const queueArn = JSON.stringify({ "Fn::GetAtt": [logicalId(d.stack, d.stack.queue), "Arn"] });
    const webhookFn = d.json.Resources[logicalId(d.stack, d.stack.functionOf("cls-webhook"))];
    const webhookRole = webhookFn.Properties!.Role["Fn::GetAtt"][0] as string;
    const senders = grants().filter((g) => g.action === "sqs:SendMessage" && g.resource === queueArn);
    assert.deepEqual(senders.map((g) => g.role), [webhookRole]);
    assert.deepEqual(grants().filter((g) => g.action.startsWith("lambda:")), []);
  });

  it("keeps every other alarm and drops the sweep's four (errors, throttles, brake, missing)", () => {
    const alarms = resourcesOfType(d.json, "AWS::CloudWatch::Alarm").map(([, r]) => r.Properties!);
    // 4 functions x 2, 2 DLQs, oldest age, 2 CLS metrics, 5 BYODS, 2 oncall.
    assert.equal(alarms.length, 8 + 2 + 1 + 2 + 5 + 2);
    const names = alarms.map((p) => p.AlarmName as string);
    assert.ok(!names.some((n) => n.includes("cls-sweep")), names.join(", "));
    assert.ok(!alarms.some((p) => p.MetricName === "SweepBrakeTripped" || Array.isArray(p.Metrics)));
    assert.ok(names.includes("ItAutomation-cls-enqueue-failed"));
    const topicRef = { Ref: logicalId(d.stack, d.stack.alarmTopic) };
    for (const p of alarms) assert.deepEqual(asArray(p.AlarmActions), [topicRef], p.AlarmName);
  });

  it("passes cdk-nag with the basic-execution acknowledgement on the four roles only", () => {
    const report = validationReport(d.outdir);
    assert.deepEqual(report.pluginReports.filter((r) => r.conclusion !== "success"), []);
    const roles = d.app.node
      .findAll()
      .filter((c) => c.node.metadata.some((m) => JSON.stringify(m.data ?? "").includes("AwsSolutions-IAM4")))
      .map((c) => c.node.path)
      .sort();
    assert.deepEqual(roles, [...FOUR].sort().map((fn) => `ItAutomation/${fn}/ServiceRole`));
  });

  it("refuses a lookup of cls-sweep, naming the flag", () => {
    assert.throws(() => d.stack.functionOf("cls-sweep"), /cls-sweep is not deployed.*clsSweep=true/);
  });

  it("synthesizes the same template with an explicit clsSweep=false", () => {
    const explicit = synth({ assets: FOUR, context: { clsSweep: "false" } });
    assert.deepEqual(explicit.json, d.json);
  });
});

describe("with clsSweep=true", () => {
  it("fails the synth when the cls-sweep asset is missing", () => {
    assert.throws(
      () => synth({ assets: FOUR, context: WITH_SWEEP }),
      /Cannot find asset|ENOENT|does not exist/,
    );
  });

  it("deploys all five functions in FUNCTION_NAMES order", () => {
    const w = synth({ context: { clsSweep: true } });
    assert.deepEqual([...w.stack.deployed], [...FUNCTION_NAMES]);
    w.template.resourceCountIs("AWS::Lambda::Function", 5);
  });

  it("rejects a clsSweep value that is not a boolean", () => {
    assert.throws(() => synth({ assets: FOUR, context: { clsSweep: "yes" } }), /clsSweep must be true or false/);
  });
});
