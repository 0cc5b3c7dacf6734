// cdk-nag (AwsSolutions) runs on every synth: no open finding, only the acknowledgements platform.md §9
// allows, and an unacknowledged resource fails the synth.
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { IConstruct } from "constructs";
import { build, synth, validationReport, WITH_SWEEP } from "./helpers";

/** Synthesizes an app expected to fail, keeping the CDK's validation printout out of the test log. */
function expectSynthFailure(app: { synth(): unknown }): void {
  const quiet = (["error", "log", "warn"] as const).map((level) => mock.method(console, level, () => {}));
  try {
    assert.throws(() => app.synth(), /Validation failed/);
  } finally {
    for (const m of quiet) m.mock.restore();
  }
}

/** All acknowledgements recorded in the construct tree: [path, id, reason]. */
function acknowledgements(root: IConstruct): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) out.push([c.node.path, id, reason]);
    }
  }
  return out;
}

const BASIC_EXECUTION =
  "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/" +
  "AWSLambdaBasicExecutionRole]";

describe("cdk-nag", () => {
  // The full design, cls-sweep included; sweep-flag.test.ts runs cdk-nag on the default synth.
  const s = synth({ context: WITH_SWEEP });

  it("reports no open AwsSolutions finding for the stack", () => {
    const report = validationReport(s.outdir);
    const failures = report.pluginReports.filter((r) => r.conclusion !== "success");
    assert.deepEqual(failures, []);
  });

  it("acknowledges only the basic execution policy on the function roles and APIG4 on the two routes", () => {
    const acks = acknowledgements(s.app);
    const byId = new Map<string, string[]>();
    for (const [path, id] of acks) byId.set(id, [...(byId.get(id) ?? []), path]);
    assert.deepEqual([...byId.keys()].sort(), [BASIC_EXECUTION, "AwsSolutions::AwsSolutions-APIG4"].sort());
    assert.deepEqual(
      byId.get(BASIC_EXECUTION)!.sort(),
      ["byods-extender", "cls-queue", "cls-sweep", "cls-webhook", "oncall-spoke"].map((fn) => `ItAutomation/${fn}/ServiceRole`),
    );
    assert.deepEqual(byId.get("AwsSolutions::AwsSolutions-APIG4")!.sort(), [
      "ItAutomation/ClsHttpApi/POST--github--webhook",
      "ItAutomation/ClsHttpApi/POST--slack--interactions",
    ]);
  });

  it("gives every acknowledgement a written reason", () => {
    for (const [path, id, reason] of acknowledgements(s.app)) {
      assert.ok(reason.trim().length >= 40, `${path} ${id}: reason too short`);
    }
  });

  it("fails the synth on a resource nobody acknowledged and names it in validation-report.json", () => {
    const b = build({ context: WITH_SWEEP });
    new sqs.Queue(b.stack, "Unacknowledged");
    expectSynthFailure(b.app);
    const report = validationReport(b.outdir);
    const nag = report.pluginReports.find((r) => r.pluginName === "AwsSolutions");
    assert.ok(nag, "AwsSolutions report missing");
    assert.equal(nag.conclusion, "failure");
    const rules = nag.violations
      .filter((v) => v.violatingConstructs.some((c) => c.constructPath === "ItAutomation/Unacknowledged/Resource"))
      .map((v) => v.ruleName)
      .sort();
    assert.deepEqual(rules, ["AwsSolutions-SQS3", "AwsSolutions-SQS4"]);
    // Nothing else in the stack is reported.
    for (const v of nag.violations) {
      for (const c of v.violatingConstructs) assert.match(c.constructPath, /^ItAutomation\/Unacknowledged\//);
    }
  });

  it("fails the synth when a role carries a wildcard resource", () => {
    const b = build({ context: WITH_SWEEP });
    b.stack.functionOf("cls-queue").addToRolePolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: ["*"] }),
    );
    expectSynthFailure(b.app);
    const nag = validationReport(b.outdir).pluginReports.find((r) => r.pluginName === "AwsSolutions")!;
    assert.ok(nag.violations.some((v) => v.ruleName.startsWith("AwsSolutions-IAM5")));
  });

  it("with xray=true adds only the X-Ray Resource::* acknowledgement on the function roles", () => {
    const x = synth({ context: { ...WITH_SWEEP, xray: "true" } });
    const extra = acknowledgements(x.app).filter(
      ([, id]) => id !== BASIC_EXECUTION && id !== "AwsSolutions::AwsSolutions-APIG4",
    );
    assert.equal(extra.length, 5);
    for (const [path, id] of extra) {
      assert.equal(id, "AwsSolutions::AwsSolutions-IAM5[Resource::*]");
      assert.match(path, /^ItAutomation\/[a-z-]+\/ServiceRole$/);
    }
  });
});
