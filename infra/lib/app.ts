// Builds the CDK app: the one stack plus cdk-nag's AwsSolutions pack, shared by bin/infra.ts and the tests so
// both synthesize exactly the same thing.
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { checkStage, InfraStack, PRODUCTION, stackNameFor, type InfraStackProps } from "./stack";

/** The production stack's name; another stage's stack is `ItAutomation-<stage>` (`stackNameFor`). */
export const STACK_NAME = stackNameFor(PRODUCTION);

export interface BuiltApp {
  readonly app: App;
  readonly stack: InfraStack;
}

/** A context value from the app's props or from the CLI context (`CDK_CONTEXT_JSON`). */
function contextValue(appProps: AppProps, key: string): unknown {
  let raw: unknown = appProps.context?.[key];
  if (raw === undefined && process.env.CDK_CONTEXT_JSON) {
    raw = (JSON.parse(process.env.CDK_CONTEXT_JSON) as Record<string, unknown>)[key];
  }
  return raw;
}

/** Creates the app with cdk-nag registered; `appProps` carries `outdir` and `context` in tests. */
export function buildApp(appProps: AppProps = {}, stackProps: InfraStackProps = {}): BuiltApp {
  const cfnValidate = contextValue(appProps, "cfnValidate");
  const app = new App({
    analyticsReporting: false,
    // CDK's built-in CloudFormation schema validation compiles a 9 MB wasm engine on every synth (~10 s on
    // two cores). cfn-lint checks the same template in CI and in the deploy workflow, in ~3 s; `-c
    // cfnValidate=true` turns the built-in check back on.
    builtinCloudFormationValidation: cfnValidate === true || cfnValidate === "true",
    ...appProps,
  });
  // The stage names the stack, so two stages deploy side by side in one account.
  const rawStage = stackProps.stage ?? contextValue(appProps, "stage");
  const stage = checkStage(rawStage === undefined || rawStage === "" ? PRODUCTION : String(rawStage));
  const stack = new InfraStack(app, stackNameFor(stage), {
    description: `IT automation: oncall-spoke, oncall-pagerduty, CLS, byods-extender (stage ${stage})`,
    ...stackProps,
    stage,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
