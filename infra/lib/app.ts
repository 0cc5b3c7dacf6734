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

/** Creates the app with cdk-nag registered; `appProps` carries `outdir` and `context` in tests. */
export function buildApp(appProps: AppProps = {}, stackProps: InfraStackProps = {}): BuiltApp {
  const app = new App({ analyticsReporting: false, ...appProps });
  const stack = new InfraStack(app, STACK_NAME, {
    description: "IT automation: oncall-spoke, CLS (webhook, queue, sweep), byods-extender",
    ...stackProps,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
