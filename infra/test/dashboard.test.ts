// The operations dashboard (docs/operations/runbook.md §6): what it shows, and that every service metric it or an
// alarm watches is one the Rust code emits (test/emitted-metrics.ts reads the EMF emitters from the sources).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FUNCTION_NAMES } from "../lib/stack";
import { notEmitted, readCatalogue, REPO_ROOT, type WatchedMetric } from "./emitted-metrics";
import { asArray, logicalId, resourcesOfType, synth, type CfnTemplate, type Synth } from "./helpers";

const s = synth();
const catalogue = readCatalogue();

/** A CloudFormation reference inside the body, written as `${Ref:Id}` or `${GetAtt:Id.Attr}`. */
function placeholder(token: Record<string, unknown>): string {
  if ("Ref" in token) return `\${Ref:${token.Ref as string}}`;
  if ("Fn::GetAtt" in token) return `\${GetAtt:${(token["Fn::GetAtt"] as string[]).join(".")}}`;
  throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(token)}`);
}

interface Widget {
  type: string;
  width: number;
  height: number;
  x: number;
  y: number;
  properties: Record<string, any>;
}

/** The one dashboard of a template: its name and its body, references replaced by placeholders. */
function dashboard(json: CfnTemplate): { name: string; widgets: Widget[] } {
  const found = resourcesOfType(json, "AWS::CloudWatch::Dashboard");
  assert.equal(found.length, 1, "one dashboard");
  const props = found[0][1].Properties!;
  const raw = props.DashboardBody;
  const text =
    typeof raw === "string"
      ? raw
      : (raw["Fn::Join"][1] as unknown[]).map((p) => (typeof p === "string" ? p : placeholder(p as Record<string, unknown>))).join("");
  return { name: props.DashboardName, widgets: JSON.parse(text).widgets };
}

/** A SEARCH expression's metric: `SEARCH('{NS,D1,D2} MetricName="M" D1="v"', …)`; open dimensions are null. */
function searched(expression: string, where: string): WatchedMetric | undefined {
  const m = /SEARCH\(\s*'\{([^}]*)\}\s*([^']*)'/.exec(expression);
  if (!m) return undefined;
  const [namespace, ...dims] = m[1].split(",").map((x) => x.trim());
  const terms = Object.fromEntries([...m[2].matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map((t) => [t[1], t[2]]));
  assert.ok(terms.MetricName, `${where}: a SEARCH without MetricName`);
  return {
    namespace,
    name: terms.MetricName,
    dimensions: Object.fromEntries(dims.map((d) => [d, terms[d] ?? null])),
    where,
  };
}

/** Every metric the dashboard draws, with its widget's title. */
function dashboardMetrics(widgets: Widget[]): WatchedMetric[] {
  const out: WatchedMetric[] = [];
  for (const w of widgets) {
    for (const entry of (w.properties.metrics ?? []) as unknown[][]) {
      const where = `widget "${w.properties.title}"`;
      const last = entry[entry.length - 1];
      const options = typeof last === "object" && last !== null ? (last as Record<string, unknown>) : undefined;
      if (options?.expression !== undefined) {
        const found = searched(options.expression as string, where);
        assert.ok(found, `${where}: only SEARCH expressions are drawn (${String(options.expression)})`);
        out.push(found);
        continue;
      }
      const plain = (options ? entry.slice(0, -1) : entry) as string[];
      assert.ok(!plain.includes("..."), `${where}: no shorthand entries`);
      assert.equal(plain.length % 2, 0, `${where}: ${JSON.stringify(entry)}`);
      const dimensions: Record<string, string> = {};
      for (let i = 2; i < plain.length; i += 2) dimensions[plain[i]] = plain[i + 1];
      out.push({ namespace: plain[0], name: plain[1], dimensions, where });
    }
  }
  return out;
}

/** Every metric an alarm watches. */
function alarmMetrics(json: CfnTemplate): WatchedMetric[] {
  return resourcesOfType(json, "AWS::CloudWatch::Alarm").map(([id, r]) => {
    const p = r.Properties!;
    const dims = asArray(p.Dimensions as { Name: string; Value: unknown }[]);
    return {
      namespace: p.Namespace,
      name: p.MetricName,
      dimensions: Object.fromEntries(dims.map((d) => [d.Name, typeof d.Value === "string" ? d.Value : JSON.stringify(d.Value)])),
      where: `alarm ${id}`,
    };
  });
}

const isAws = (m: WatchedMetric) => m.namespace.startsWith("AWS/");
const body = dashboard(s.json);
const drawn = dashboardMetrics(body.widgets);
/** The runtime value of the CLS `Stage` dimension: the stack's stage (CLS_STAGE). */
const runtimeValues = (x: Synth) => ({ Stage: x.stack.stage });
const pagerDutyLanded = ["src", "README.md"].some((f) => existsSync(path.join(REPO_ROOT, "services/oncall-pagerduty", f)));
const landed = (m: WatchedMetric) => pagerDutyLanded || m.namespace !== "OncallPagerDuty";

describe("the metrics the services emit (read from the Rust sources)", () => {
  it("reads every emission site: no Emf chain or metric wrapper call left unresolved", () => {
    assert.deepEqual(catalogue.unresolved, []);
  });

  it("finds the namespaces and dimension sets the READMEs document", () => {
    const has = (ns: string, name: string, dims: Record<string, string | null>) =>
      catalogue.metrics.some(
        (m) => m.namespace === ns && m.name === name && JSON.stringify(m.dimensions) === JSON.stringify(dims),
      );
    // CLS: every count under [Stage], break-downs also under [Stage, …] (cls-core's metrics).
    assert.ok(has("CLS", "TicketCreated", { Stage: null }));
    assert.ok(has("CLS", "PermanentFailure", { kind: null, reason: null, Stage: null }));
    assert.ok(has("CLS", "ExtensionApplied", { source: "slack", Stage: null }));
    assert.ok(has("CLS", "TicketReopened", { Stage: null }), "a metric name chosen by a match");
    assert.ok(has("CLS", "SweepDurationMs", { Stage: null }));
    assert.ok(has("OncallSpoke", "Handoffs", { Result: null }));
    assert.ok(has("OncallSpoke", "AlertFailures", {}));
    assert.ok(has("WebexBYODS", "DataSourceTokenMinutesLeft", { DataSourceId: null, Service: "byods-extender" }));
    const byods = catalogue.metrics.find((m) => m.namespace === "WebexBYODS")!;
    assert.equal(byods.namespaceEnv, "BYODS_METRICS_NAMESPACE");
    assert.ok(!has("CLS", "TicketCreated", {}), "no CLS metric without its Stage");
  });

  it("ignores comments, strings and test code, resolves consts, and reports what it cannot read", (t) => {
    const root = mkdtempSync(path.join(tmpdir(), "emitted-"));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const src = path.join(root, "services", "demo", "src");
    mkdirSync(src, { recursive: true });
    writeFileSync(
      path.join(src, "lib.rs"),
      [
        'const NS: &str = "Demo";',
        'pub const FUNCTION: &str = "demo";',
        "// Emf::new(NS).count(\"Commented\", 1);",
        "/* Emf::new(NS).count(\"Blocked\", 1); */",
        "fn run(deps: &Deps, n: u64) {",
        '    let s = "Emf::new(NS).count(\\"InAString\\", 1)";',
        '    Emf::new(NS).dimension("Function", crate::FUNCTION).dimension("Id", id).count("Runs", n).emit(sink, now);',
        "    Emf::new(namespace_from_somewhere()).count(\"Lost\", 1).emit(sink, now);",
        "}",
        "#[cfg(test)]",
        "mod tests {",
        '    fn t() { Emf::new(NS).count("InTest", 1); }',
        "}",
        "#[cfg(test)]",
        "mod more;",
      ].join("\n"),
    );
    writeFileSync(path.join(src, "more.rs"), 'fn t() { Emf::new("Demo").count("InTestFile", 1); }\n');
    const c = readCatalogue(root);
    assert.deepEqual(
      c.metrics.map((m) => [m.namespace, m.name, m.dimensions, m.at]),
      [["Demo", "Runs", { Function: "demo", Id: null }, "services/demo/src/lib.rs:7"]],
    );
    assert.equal(c.unresolved.length, 1);
    assert.match(c.unresolved[0], /^services\/demo\/src\/lib\.rs:8: namespace namespace_from_somewhere\(\)$/);
  });
});

describe("operations dashboard", () => {
  it("is the one dashboard, named after the stack (so after the stage)", () => {
    assert.equal(body.name, "ItAutomation");
    const staging = synth({ context: { stage: "staging" } });
    assert.equal(dashboard(staging.json).name, "ItAutomation-staging");
    const stages = dashboardMetrics(dashboard(staging.json).widgets).filter((m) => m.namespace === "CLS");
    assert.ok(stages.length > 10);
    for (const m of stages) assert.deepEqual(m.dimensions, { Stage: "staging" }, m.name);
    assert.deepEqual(notEmitted(stages, catalogue, runtimeValues(staging)), []);
  });

  it("shows only service metrics some service emits: same namespace, name and dimensions", () => {
    assert.deepEqual(notEmitted(drawn.filter((m) => !isAws(m) && landed(m)), catalogue, runtimeValues(s)), []);
  });

  it("shows only the oncall-pagerduty metrics its service emits (OncallPagerDuty)", {
    todo: pagerDutyLanded ? undefined : "services/oncall-pagerduty has not landed yet: nothing to check against",
  }, () => {
    const pd = drawn.filter((m) => m.namespace === "OncallPagerDuty");
    assert.equal(pd.length, 4);
    assert.deepEqual(notEmitted(pd, catalogue, runtimeValues(s)), []);
  });

  it("lets every alarm watch only service metrics some service emits", () => {
    const watched = alarmMetrics(s.json).filter((m) => !isAws(m));
    assert.ok(watched.length >= 11);
    assert.deepEqual(notEmitted(watched, catalogue, runtimeValues(s)), []);
  });

  it("fails the check for a misspelled name, a wrong namespace, a dimension value or set no service emits", () => {
    const ticket = drawn.find((m) => m.name === "TicketCreated")!;
    const handoff = drawn.find((m) => m.name === "Handoffs" && m.dimensions.Result === "updated")!;
    const byods = drawn.find((m) => m.name === "MinDataSourceTokenMinutesLeft")!;
    const wrong: WatchedMetric[] = [
      { ...ticket, name: "TicketsCreated" },
      { ...ticket, namespace: "Cls" },
      { ...ticket, dimensions: {} },
      { ...ticket, dimensions: { Stage: "production", Org: "acme" } },
      { ...ticket, dimensions: { Stage: "prod" } },
      { ...handoff, dimensions: { Result: "applied" } },
      { ...byods, dimensions: { Service: "byods" } },
    ];
    const problems = notEmitted(wrong, catalogue, runtimeValues(s));
    assert.equal(problems.length, wrong.length, problems.join("\n"));
    // And the real entries pass, so each failure above is the one change made.
    assert.deepEqual(notEmitted([ticket, handoff, byods], catalogue, runtimeValues(s)), []);
  });

  it("uses the namespace byods-extender writes: the stack does not rename it", () => {
    const envs = new Set(catalogue.metrics.flatMap((m) => (m.namespaceEnv ? [m.namespaceEnv] : [])));
    assert.ok(envs.size > 0);
    for (const [, fn] of resourcesOfType(s.json, "AWS::Lambda::Function")) {
      for (const env of envs) assert.equal(fn.Properties!.Environment?.Variables?.[env], undefined, env);
    }
  });

  it("draws AWS metrics only for this stack's own functions and queues", () => {
    const functionIds = new Set(FUNCTION_NAMES.map((fn) => logicalId(s.stack, s.stack.functions[fn])));
    const queueIds = new Set([s.stack.queue, s.stack.queueDlq, s.stack.handoffDlq].map((q) => logicalId(s.stack, q)));
    const allowed: Record<string, string[]> = {
      "AWS/Lambda": ["Duration", "Errors", "Invocations"],
      "AWS/SQS": ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"],
    };
    for (const m of drawn.filter(isAws)) {
      assert.ok(allowed[m.namespace]?.includes(m.name), `${m.where}: ${m.namespace}/${m.name}`);
      if (m.namespace === "AWS/Lambda") {
        const ref = /^\$\{Ref:(\w+)\}$/.exec(m.dimensions.FunctionName ?? "")?.[1];
        assert.ok(ref && functionIds.has(ref), `${m.where}: ${JSON.stringify(m.dimensions)}`);
      } else {
        const att = /^\$\{GetAtt:(\w+)\.QueueName\}$/.exec(m.dimensions.QueueName ?? "")?.[1];
        assert.ok(att && queueIds.has(att), `${m.where}: ${JSON.stringify(m.dimensions)}`);
      }
      assert.equal(Object.keys(m.dimensions).length, 1, m.where);
    }
  });

  const shows = (namespace: string, name: string, dimensions?: Record<string, string | null>) =>
    drawn.some(
      (m) =>
        m.namespace === namespace &&
        m.name === name &&
        (dimensions === undefined || JSON.stringify(m.dimensions) === JSON.stringify(dimensions)),
    );

  it("shows handoffs applied, skipped and failed, and what the PagerDuty source emitted", () => {
    for (const result of ["updated", "noop", "skipped", "permanent_error", "retryable_error"]) {
      assert.ok(shows("OncallSpoke", "Handoffs", { Result: result }), result);
    }
    for (const name of ["HandoffsEmitted", "ReconcileEmitted", "UnknownUsers", "PagerDutyErrors"]) {
      assert.ok(shows("OncallPagerDuty", name, { Function: "oncall-pagerduty" }), name);
    }
  });

  it("shows CLS deliveries, tickets created, reminders, extensions, removals and the sweep heartbeat", () => {
    for (const name of [
      "WebhookReceived",
      "Enqueued",
      "TicketCreated",
      "NotificationSent",
      "ExtensionApplied",
      "CollaboratorRemoved",
      "SweepCompleted",
    ]) {
      assert.ok(shows("CLS", name, { Stage: "production" }), name);
    }
  });

  it("shows the queue age and the depth of both dead-letter queues", () => {
    const queueName = (q: Parameters<typeof logicalId>[1]) => ({ QueueName: `\${GetAtt:${logicalId(s.stack, q)}.QueueName}` });
    assert.ok(shows("AWS/SQS", "ApproximateAgeOfOldestMessage", queueName(s.stack.queue)));
    assert.ok(shows("AWS/SQS", "ApproximateNumberOfMessagesVisible", queueName(s.stack.queueDlq)));
    assert.ok(shows("AWS/SQS", "ApproximateNumberOfMessagesVisible", queueName(s.stack.handoffDlq)));
  });

  it("shows the minutes left on the BYODS tokens: the lowest and each data source", () => {
    assert.ok(shows("WebexBYODS", "MinDataSourceTokenMinutesLeft", { Service: "byods-extender" }));
    assert.ok(shows("WebexBYODS", "DataSourceTokenMinutesLeft", { DataSourceId: null, Service: "byods-extender" }));
  });

  it("shows each function's errors and duration", () => {
    for (const fn of FUNCTION_NAMES) {
      const dims = { FunctionName: `\${Ref:${logicalId(s.stack, s.stack.functions[fn])}}` };
      assert.ok(shows("AWS/Lambda", "Errors", dims), `${fn} errors`);
      assert.ok(shows("AWS/Lambda", "Duration", dims), `${fn} duration`);
    }
  });

  it("opens with every alarm of the stack", () => {
    const alarmWidgets = body.widgets.filter((w) => w.type === "alarm");
    assert.equal(alarmWidgets.length, 1);
    assert.equal(alarmWidgets[0].y, Math.min(...body.widgets.filter((w) => w.type !== "text").map((w) => w.y)));
    const listed = (alarmWidgets[0].properties.alarms as string[]).map((a) => /^\$\{GetAtt:(\w+)\.Arn\}$/.exec(a)?.[1]);
    const alarms = resourcesOfType(s.json, "AWS::CloudWatch::Alarm").map(([id]) => id);
    assert.deepEqual([...listed].sort(), [...alarms].sort());
  });

  it("lays the widgets out in the 24-column grid without overlaps", () => {
    const cells = new Set<string>();
    for (const w of body.widgets) {
      assert.ok(w.x + w.width <= 24, JSON.stringify(w.properties.title));
      for (let x = w.x; x < w.x + w.width; x += 1) {
        for (let y = w.y; y < w.y + w.height; y += 1) {
          const cell = `${x},${y}`;
          assert.ok(!cells.has(cell), `overlap at ${cell}`);
          cells.add(cell);
        }
      }
    }
  });
});
