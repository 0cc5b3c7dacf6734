// Builds the CDK app: the one stack plus cdk-nag's AwsSolutions pack, shared by bin/infra.ts and the tests so
// both synthesize exactly the same thing.
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { InfraStack, type InfraStackProps } from "./stack";

export const STACK_NAME = "ItAutomation";

export interface BuiltApp {
  readonly app: App;
  readonly stack: InfraStack;
}

/** A boolean from the app's context props or from the CLI context (`CDK_CONTEXT_JSON`), default false. */
function contextFlag(appProps: AppProps, key: string): boolean {
  let raw: unknown = appProps.context?.[key];
  if (raw === undefined && process.env.CDK_CONTEXT_JSON) {
    raw = (JSON.parse(process.env.CDK_CONTEXT_JSON) as Record<string, unknown>)[key];
  }
  return raw === true || raw === "true";
}

/** Creates the app with cdk-nag registered; `appProps` carries `outdir` and `context` in tests. */
export function buildApp(appProps: AppProps = {}, stackProps: InfraStackProps = {}): BuiltApp {
  const app = new App({
    analyticsReporting: false,
    // CDK's built-in CloudFormation schema validation compiles a 9 MB wasm engine on every synth (~10 s on
    // two cores). cfn-lint checks the same template in CI and in the deploy workflow, in ~3 s; `-c
    // cfnValidate=true` turns the built-in check back on.
    builtinCloudFormationValidation: contextFlag(appProps, "cfnValidate"),
    ...appProps,
  });
  const stack = new InfraStack(app, STACK_NAME, {
    description: "IT automation: oncall-spoke, CLS, byods-extender",
    ...stackProps,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
