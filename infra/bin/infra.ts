#!/usr/bin/env node
// Entry point of `cdk synth` / `cdk deploy` (cdk.json: `npx tsx bin/infra.ts`).
import { buildApp } from "../lib/app";

buildApp().app.synth();
