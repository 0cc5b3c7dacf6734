// cdk-nag (AwsSolutions) runs on every synth: no open finding, only the acknowledgements docs/decisions/0010
// allows, and an unacknowledged resource fails the synth.
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { IConstruct } from "constructs";
import { build, synth, validationReport } from "./helpers";

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

describe("cdk-nag", () => {
  const s = synth();

  it("reports no open AwsSolutions finding for the stack", () => {
    const report = validationReport(s.outdir);
    const failures = report.pluginReports.filter((r) => r.conclusion !== "success");
    assert.deepEqual(failures, []);
  });

  it("acknowledges only APIG4 on the two routes (no IAM4: no managed policy is attached anywhere)", () => {
    const acks = acknowledgements(s.app);
    const byId = new Map<string, string[]>();
    for (const [path, id] of acks) byId.set(id, [...(byId.get(id) ?? []), path]);
    assert.deepEqual([...byId.keys()], ["AwsSolutions::AwsSolutions-APIG4"]);
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
    const b = build();
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
    const b = build();
    b.stack.functions["cls-queue"].addToRolePolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: ["*"] }),
    );
    expectSynthFailure(b.app);
    const nag = validationReport(b.outdir).pluginReports.find((r) => r.pluginName === "AwsSolutions")!;
    assert.ok(nag.violations.some((v) => v.ruleName.startsWith("AwsSolutions-IAM5")));
  });

  it("with xray=true adds only the X-Ray Resource::* acknowledgement on the function roles", () => {
    const x = synth({ context: { xray: "true" } });
    const extra = acknowledgements(x.app).filter(([, id]) => id !== "AwsSolutions::AwsSolutions-APIG4");
    assert.equal(extra.length, 6);
    for (const [path, id] of extra) {
      assert.equal(id, "AwsSolutions::AwsSolutions-IAM5[Resource::*]");
      assert.match(path, /^ItAutomation\/[a-z-]+-role$/);
    }
  });
});
