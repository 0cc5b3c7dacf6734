// Shared test scaffolding: a temp root per test file (removed in `after()`), fake Lambda assets whose
// `bootstrap` holds the function name (identical files would collapse into one asset), and a synth helper
// that runs the real app builder, cdk-nag included.
import { after } from "node:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { buildApp, type BuiltApp } from "../lib/app";
import { FUNCTION_NAMES, type FunctionName, type InfraStackProps } from "../lib/stack";

const root = mkdtempSync(path.join(tmpdir(), "infra-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function freshDir(prefix: string): string {
  counter += 1;
  const dir = path.join(root, `${prefix}-${counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A directory with `<fn>/bootstrap` for each of `functions`, each file containing the function name. */
export function fakeAssets(functions: readonly FunctionName[] = FUNCTION_NAMES): string {
  const dir = freshDir("assets");
  for (const fn of functions) {
    mkdirSync(path.join(dir, fn));
    writeFileSync(path.join(dir, fn, "bootstrap"), `${fn}\n`);
    // cargo-lambda also leaves a zip beside the binary; the asset must exclude it.
    writeFileSync(path.join(dir, fn, "bootstrap.zip"), "stale zip");
  }
  return dir;
}

export interface Synth extends BuiltApp {
  readonly outdir: string;
  readonly template: Template;
  readonly json: CfnTemplate;
}

export interface CfnResource {
  Type: string;
  Metadata?: Record<string, any>;
  Properties?: Record<string, any>;
  DependsOn?: string | string[];
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, any>;
  Outputs?: Record<string, any>;
}

export interface BuildOptions {
  context?: Record<string, unknown>;
  stackProps?: InfraStackProps;
  /** Functions that get a fake asset; default all five (as `cargo xtask ci` writes them). */
  assets?: readonly FunctionName[];
}

/** Builds the app into its own outdir without synthesizing (to add constructs first). */
export function build(opts: BuildOptions = {}): BuiltApp & { outdir: string } {
  const outdir = freshDir("cdk.out");
  const built = buildApp(
    {
      outdir,
      context: { lambdaAssetDir: fakeAssets(opts.assets), ...opts.context },
    },
    opts.stackProps,
  );
  return { ...built, outdir };
}

/** Builds and synthesizes (cdk-nag runs and throws on any unacknowledged finding). */
export function synth(opts: BuildOptions = {}): Synth {
  const built = build(opts);
  const assembly = built.app.synth();
  const json = assembly.getStackByName(built.stack.stackName).template as CfnTemplate;
  return { ...built, template: Template.fromJSON(json), json };
}

/** The cloud assembly's validation report (written by every synth with validation plugins). */
export function validationReport(outdir: string): {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
} {
  return JSON.parse(readFileSync(path.join(outdir, "validation-report.json"), "utf8"));
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** Logical id of a construct's CloudFormation resource. */
export function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
