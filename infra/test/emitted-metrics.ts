// The EMF metrics the Rust services emit, read from their sources (services/*/src, crates/*/src, test code left
// out), so that test/dashboard.test.ts can check every metric the stack watches against the code itself.
//
// Two idioms write metrics in this workspace (crates/lambda-kit/src/metrics.rs, crates/cls-core/src/metrics.rs):
// - an `Emf::new(namespace)` chain of `.dimension(name, value)`, `.rollup(&[names])`, `.count(name, n)` and
//   `.metric(name, unit, v)`, possibly continued through its variable (`emf = emf.metric(…)`);
// - a wrapper: a function whose metric name (and break-down dimensions) are parameters and that ends in such a
//   chain, directly or through other wrappers (`cls_core::metrics::count_n_line` → `emit_count` → each CLS
//   service's `Deps::count`); its call sites (`deps.count("TicketCreated", &[("kind", kind)])`) name the metrics.
// Namespaces may be literals, `const`s or a config field with an environment override and a default. An
// emission site this reader cannot resolve is reported in `unresolved`, never guessed.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import {
  allStringLiterals,
  blankComments,
  chainAt,
  enclosingFn,
  functions,
  lineOf,
  literalMask,
  matching,
  splitArgs,
  stringLiteral,
  withoutTests,
  type Call,
  type FnDef,
} from "./rust-source";

/** The repository root (this file is infra/test/emitted-metrics.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** One metric as CloudWatch stores it: namespace, name and one dimension set. */
export interface EmittedMetric {
  readonly namespace: string;
  /** The environment variable that renames the namespace, when the code reads one. */
  readonly namespaceEnv?: string;
  readonly name: string;
  /** Dimension name → its fixed value, or null when the code computes it at run time. */
  readonly dimensions: Record<string, string | null>;
  readonly crate: string;
  /** `path:line` of the code that emits it. */
  readonly at: string;
}

export interface Catalogue {
  readonly metrics: EmittedMetric[];
  /** Emission sites that could not be read (`path:line: why`); a complete catalogue has none. */
  readonly unresolved: string[];
  /** Every string literal in each crate's non-test code (the candidates for values computed at run time). */
  readonly literals: Map<string, Set<string>>;
}

interface SourceFile {
  readonly crate: string;
  readonly rel: string;
  readonly code: string;
  /** 1 inside string and char literals: a match there is text, not code. */
  readonly inLiteral: Uint8Array;
  readonly fns: FnDef[];
}

interface Namespace {
  readonly value: string;
  readonly env?: string;
}

type Dims = [string, string | null][];

/** A function that emits a metric whose name (and maybe break-down dimensions) its caller passes. */
interface Wrapper {
  readonly crate: string;
  readonly name: string;
  readonly method: boolean;
  readonly nameIndex: number;
  readonly dimsIndex?: number;
  readonly namespace: Namespace;
  readonly base: Dims;
  readonly rollups: string[][];
}

function rustFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...rustFiles(full));
    else if (entry.endsWith(".rs")) out.push(full);
  }
  return out;
}

/** The non-test code of every crate under `services/` and `crates/`. */
function loadSources(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const testFiles = new Set<string>();
  for (const group of ["services", "crates"]) {
    const groupDir = path.join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const crate of readdirSync(groupDir).sort()) {
      const src = path.join(groupDir, crate, "src");
      if (!existsSync(src)) continue;
      for (const file of rustFiles(src)) {
        const { code, testModules } = withoutTests(blankComments(readFileSync(file, "utf8")));
        // `#[cfg(test)] mod x;` in a/b.rs is a/b/x.rs (or a/x.rs beside lib.rs, main.rs, mod.rs).
        const base = path.basename(file, ".rs");
        const dir = ["lib", "main", "mod"].includes(base) ? path.dirname(file) : file.slice(0, -".rs".length);
        for (const m of testModules) {
          testFiles.add(path.join(dir, `${m}.rs`));
          testFiles.add(path.join(dir, m, "mod.rs"));
        }
        files.push({ crate, rel: path.relative(root, file), code, inLiteral: literalMask(code), fns: functions(code) });
      }
    }
  }
  return files.filter((f) => !testFiles.has(path.join(root, f.rel)));
}

/** The string literals of a `&["a", "b"]` argument. */
function literalList(arg: string): string[] | undefined {
  const m = /^&\s*\[(.*)\]$/s.exec(arg.trim());
  if (!m) return undefined;
  const items = m[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  const values = items.map(stringLiteral);
  return values.every((v): v is string => v !== undefined) ? values : undefined;
}

/** `&[("k", v), …]` as dimensions (names literal; values literal or computed), undefined if not that shape. */
function dimsArg(arg: string): Dims | undefined {
  const text = arg.trim().replace(/^&\s*/, "");
  if (!text.startsWith("[") || matching(text, 0) !== text.length - 1) return undefined;
  const out: Dims = [];
  for (const item of splitArgs(text, 0, text.length - 1)) {
    if (!item.startsWith("(") || matching(item, 0) !== item.length - 1) return undefined;
    const [k, v, ...rest] = splitArgs(item, 0, item.length - 1);
    const key = stringLiteral(k ?? "");
    if (key === undefined || v === undefined || rest.length > 0) return undefined;
    out.push([key, stringLiteral(v) ?? null]);
  }
  return out;
}

/** The right-hand side of the last `let` binding `ident` before `at` in `fn`, and `ident`'s tuple position. */
function binding(file: SourceFile, fn: FnDef, at: number, ident: string): { rhs: string; index: number } | undefined {
  const re = /\blet\s+(?:\(([^)]*)\)|(?:mut\s+)?(\w+))\s*(?::[^=;]*)?=(?!=)/g;
  re.lastIndex = fn.bodyStart;
  let found: { rhs: string; index: number } | undefined;
  for (let m = re.exec(file.code); m && m.index < at; m = re.exec(file.code)) {
    if (file.inLiteral[m.index]) continue;
    const names = m[1] !== undefined ? m[1].split(",").map((s) => s.trim().replace(/^mut\s+/, "")) : [m[2]];
    const index = names.indexOf(ident);
    if (index < 0) continue;
    let end = m.index + m[0].length;
    while (end < file.code.length && file.code[end] !== ";") {
      end = "([{".includes(file.code[end]) ? matching(file.code, end) + 1 : end + 1;
    }
    found = { rhs: file.code.slice(m.index + m[0].length, end).trim(), index };
  }
  return found;
}

/** The metric names an identifier can hold: the literals of its `let` (or of each `match` arm's tuple slot). */
function namesOf(file: SourceFile, fn: FnDef, at: number, ident: string): string[] | undefined {
  const bound = binding(file, fn, at, ident);
  if (!bound) return undefined;
  const direct = stringLiteral(bound.rhs);
  if (direct !== undefined && bound.index === 0) return [direct];
  const out: string[] = [];
  const arm = /=>\s*/g;
  for (let m = arm.exec(bound.rhs); m; m = arm.exec(bound.rhs)) {
    const start = m.index + m[0].length;
    let value: string | undefined;
    if (bound.rhs[start] === "(") {
      const close = matching(bound.rhs, start);
      value = stringLiteral(splitArgs(bound.rhs, start, close)[bound.index] ?? "");
    } else if (bound.index === 0) {
      value = stringLiteral(/^"(?:[^"\\]|\\.)*"/.exec(bound.rhs.slice(start))?.[0] ?? "");
    }
    if (value === undefined) return undefined;
    out.push(value);
  }
  return out.length > 0 ? out : undefined;
}

/** The value of `const NAME: &str = "…";` in the crate. */
function constValue(name: string, crate: SourceFile[]): string | undefined {
  const re = new RegExp(`\\bconst\\s+${name}\\s*:\\s*&(?:'static\\s+)?str\\s*=\\s*("(?:[^"\\\\]|\\\\.)*")\\s*;`);
  for (const f of crate) {
    const m = re.exec(f.code);
    if (m && !f.inLiteral[m.index]) return stringLiteral(m[1]);
  }
  return undefined;
}

/** A dimension value: a literal or a `const` is fixed; anything else is computed at run time (null). */
function dimensionValue(expr: string, crate: SourceFile[]): string | null {
  const text = expr.trim().replace(/^&\s*/, "");
  const literal = stringLiteral(text);
  if (literal !== undefined) return literal;
  const path = /^(?:(?:crate|self|super|\w+)::)*([A-Z][A-Z0-9_]*)$/.exec(text);
  return (path && constValue(path[1], crate)) ?? null;
}

/** Resolves a namespace expression: a literal, a `const`, a local `let`, or a config field with its default. */
function namespaceOf(expr: string, file: SourceFile, fn: FnDef | undefined, at: number, crate: SourceFile[]): Namespace | undefined {
  const text = expr.trim().replace(/^&\s*/, "");
  const literal = stringLiteral(text);
  if (literal !== undefined) return { value: literal };
  const constant = /^(?:(?:crate|self|super|\w+)::)*([A-Z][A-Z0-9_]*)$/.exec(text);
  if (constant) {
    const value = constValue(constant[1], crate);
    return value === undefined ? undefined : { value };
  }
  if (/^[a-z_]\w*$/.test(text) && fn) {
    const bound = binding(file, fn, at, text);
    return bound && bound.index === 0 ? namespaceOf(bound.rhs, file, fn, at, crate) : undefined;
  }
  const field = /\.(\w+)(?:\.as_str\(\)|\.as_ref\(\)|\.clone\(\))?$/.exec(text)?.[1];
  if (field) {
    for (const f of crate) {
      const m = new RegExp(
        `\\b${field}\\s*:\\s*\\w+\\s*\\.optional\\(\\s*"(\\w+)"\\s*\\)\\s*\\.unwrap_or(?:_else)?\\(\\s*(?:\\|\\|\\s*)?("(?:[^"\\\\]|\\\\.)*")`,
      ).exec(f.code);
      if (m) return { value: stringLiteral(m[2])!, env: m[1] };
    }
  }
  return undefined;
}

/** Every metric of one dimension set: the full set, and each roll-up (a subset of its names). */
function expand(ns: Namespace, names: string[], dims: Dims, rollups: string[][], crate: string, at: string): EmittedMetric[] {
  const sets = [dims, ...rollups.map((r) => dims.filter(([k]) => r.includes(k)))];
  const seen = new Set<string>();
  const out: EmittedMetric[] = [];
  for (const name of names) {
    for (const set of sets) {
      const dimensions = Object.fromEntries([...set].sort(([a], [b]) => a.localeCompare(b)));
      const key = JSON.stringify([name, dimensions]);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ namespace: ns.value, ...(ns.env ? { namespaceEnv: ns.env } : {}), name, dimensions, crate, at });
    }
  }
  return out;
}

/**
 * The metrics a service's README promises while its crate has no `src/` yet (the contract lands first): the
 * paragraph naming "namespace `N`", its dimensions written `D`=`v` (or `D=v`), and every other back-quoted
 * CamelCase word in it as a metric name.
 */
function readmeContracts(root: string): EmittedMetric[] {
  const out: EmittedMetric[] = [];
  const services = path.join(root, "services");
  if (!existsSync(services)) return out;
  for (const crate of readdirSync(services).sort()) {
    const readme = path.join(services, crate, "README.md");
    if (existsSync(path.join(services, crate, "src")) || !existsSync(readme)) continue;
    for (const paragraph of readFileSync(readme, "utf8").split(/\n\s*\n/)) {
      const ns = /namespace\s+`(\w+)`/.exec(paragraph)?.[1];
      if (!ns) continue;
      const dims: Dims = [];
      for (const d of paragraph.matchAll(/`(\w+)`\s*=\s*`([^`]+)`|`(\w+)=([^`]+)`/g)) {
        dims.push([d[1] ?? d[3], d[2] ?? d[4]]);
      }
      const skip = new Set([ns, ...dims.map(([k]) => k)]);
      const names = [...paragraph.matchAll(/`([A-Z][A-Za-z0-9]+)`/g)].map((m) => m[1]).filter((n) => !skip.has(n));
      out.push(...expand({ value: ns }, [...new Set(names)], dims, [], crate, path.relative(root, readme)));
    }
  }
  return out;
}

/** Reads the whole workspace under `root` (default: this repository). */
export function readCatalogue(root: string = REPO_ROOT): Catalogue {
  const files = loadSources(root);
  const byCrate = new Map<string, SourceFile[]>();
  for (const f of files) byCrate.set(f.crate, [...(byCrate.get(f.crate) ?? []), f]);
  const metrics: EmittedMetric[] = [];
  const unresolved: string[] = [];
  const wrappers: Wrapper[] = [];
  const where = (f: SourceFile, at: number) => `${f.rel}:${lineOf(f.code, at)}`;

  // 1. Every Emf::new chain: concrete metrics, or a wrapper when the metric name is a parameter.
  for (const file of files) {
    const site = /(?:\w+::)*Emf::new\s*\(/g;
    for (let m = site.exec(file.code); m; m = site.exec(file.code)) {
      if (file.inLiteral[m.index]) continue;
      const open = m.index + m[0].length - 1;
      const close = matching(file.code, open);
      const fn = enclosingFn(file.fns, m.index);
      const ns = namespaceOf(splitArgs(file.code, open, close)[0] ?? "", file, fn, m.index, byCrate.get(file.crate)!);
      if (!ns) {
        unresolved.push(`${where(file, m.index)}: namespace ${splitArgs(file.code, open, close)[0]}`);
        continue;
      }
      const calls: Call[] = [...chainAt(file.code, close + 1).calls];
      // Continued through its variable: `let mut emf = Emf::new(…)…; … emf = emf.metric(…); emf.count(…)`.
      const bound = /(?:let\s+(?:mut\s+)?)?(\w+)\s*=\s*$/.exec(file.code.slice(Math.max(0, m.index - 80), m.index));
      if (bound && fn) {
        const use = new RegExp(`\\b${bound[1]}(?=\\s*\\.)`, "g");
        use.lastIndex = close;
        for (let u = use.exec(file.code); u && u.index < fn.bodyEnd; u = use.exec(file.code)) {
          if (file.inLiteral[u.index]) continue;
          calls.push(...chainAt(file.code, u.index + u[0].length).calls);
        }
      }
      const dims: Dims = [];
      const rollups: string[][] = [];
      const names: string[] = [];
      let nameParam: string | undefined;
      let dimsParam: string | undefined;
      let bad: string | undefined;
      for (const call of calls) {
        if (call.method === "dimension") {
          const key = stringLiteral(call.args[0] ?? "");
          if (key !== undefined) dims.push([key, dimensionValue(call.args[1] ?? "", byCrate.get(file.crate)!)]);
          else dimsParam = "caller";
        } else if (call.method === "rollup") {
          const set = literalList(call.args[0] ?? "");
          if (set) rollups.push(set);
          else bad = `rollup ${call.args[0]}`;
        } else if (call.method === "count" || call.method === "metric") {
          const name = stringLiteral(call.args[0] ?? "");
          if (name !== undefined) names.push(name);
          else if (fn?.params.some((p) => p.name === call.args[0])) nameParam = call.args[0];
          else bad = `metric name ${call.args[0]}`;
        }
      }
      if (bad) {
        unresolved.push(`${where(file, m.index)}: ${bad}`);
        continue;
      }
      if (nameParam && fn) {
        const dimsIndex = dimsParam
          ? fn.params.findIndex((p) => /^&\s*\[\s*\(\s*&str\s*,\s*&str\s*\)\s*\]$/.test(p.type))
          : -1;
        if (dimsParam && dimsIndex < 0) unresolved.push(`${where(file, m.index)}: break-down dimensions`);
        wrappers.push({
          crate: file.crate,
          name: fn.name,
          method: fn.method,
          nameIndex: fn.params.findIndex((p) => p.name === nameParam),
          dimsIndex: dimsIndex < 0 ? undefined : dimsIndex,
          namespace: ns,
          base: dims,
          rollups,
        });
      }
      if (dimsParam && !nameParam) unresolved.push(`${where(file, m.index)}: dimension names computed at run time`);
      metrics.push(...expand(ns, names, dims, rollups, file.crate, where(file, m.index)));
    }
  }

  // 2. Calls to wrappers: a function passing its own parameters on is a wrapper too (until nothing changes);
  //    any other call names its metrics.
  const callsOf = (w: Wrapper, file: SourceFile) => {
    if (w.method && file.crate !== w.crate) return [];
    const re = w.method ? new RegExp(`\\.\\s*${w.name}\\s*\\(`, "g") : new RegExp(`(?<![\\w.])(?:\\w+::)*${w.name}\\s*\\(`, "g");
    const out: { at: number; args: string[] }[] = [];
    for (let m = re.exec(file.code); m; m = re.exec(file.code)) {
      if (file.inLiteral[m.index]) continue;
      if (/\bfn\s+$/.test(file.code.slice(Math.max(0, m.index - 10), m.index))) continue;
      const open = m.index + m[0].length - 1;
      const args = splitArgs(file.code, open, matching(file.code, open));
      if (args.length <= Math.max(w.nameIndex, w.dimsIndex ?? 0)) continue;
      out.push({ at: m.index, args });
    }
    return out;
  };
  const known = (crate: string, name: string) => wrappers.some((w) => w.crate === crate && w.name === name);
  for (let changed = true; changed; ) {
    changed = false;
    for (const w of [...wrappers]) {
      for (const file of files) {
        for (const call of callsOf(w, file)) {
          const fn = enclosingFn(file.fns, call.at);
          const nameIndex = fn?.params.findIndex((p) => p.name === call.args[w.nameIndex]) ?? -1;
          if (!fn || nameIndex < 0 || known(file.crate, fn.name)) continue;
          const dimsIndex = w.dimsIndex === undefined ? -1 : fn.params.findIndex((p) => p.name === call.args[w.dimsIndex!]);
          wrappers.push({ ...w, crate: file.crate, name: fn.name, method: fn.method, nameIndex, dimsIndex: dimsIndex < 0 ? undefined : dimsIndex });
          changed = true;
        }
      }
    }
  }
  for (const w of wrappers) {
    for (const file of files) {
      for (const call of callsOf(w, file)) {
        const fn = enclosingFn(file.fns, call.at);
        const nameArg = call.args[w.nameIndex];
        if (fn?.params.some((p) => p.name === nameArg)) continue; // passed on: a wrapper itself (above)
        const literal = stringLiteral(nameArg);
        const names = literal !== undefined ? [literal] : fn && /^\w+$/.test(nameArg) ? namesOf(file, fn, call.at, nameArg) : undefined;
        const caller = w.dimsIndex === undefined ? [] : dimsArg(call.args[w.dimsIndex]);
        if (!names || !caller) {
          unresolved.push(`${where(file, call.at)}: ${w.name}(${call.args.join(", ")})`);
          continue;
        }
        metrics.push(...expand(w.namespace, names, [...w.base, ...caller], w.rollups, file.crate, where(file, call.at)));
      }
    }
  }

  metrics.push(...readmeContracts(root));
  const literals = new Map<string, Set<string>>();
  for (const [crate, crateFiles] of byCrate) literals.set(crate, new Set(crateFiles.flatMap((f) => allStringLiterals(f.code))));
  return { metrics, unresolved, literals };
}

/** One metric the stack watches (a dashboard line or an alarm): namespace, name and its dimensions. */
export interface WatchedMetric {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value; null for a SEARCH expression's dimension left open (any value). */
  readonly dimensions: Record<string, string | null>;
  /** Where it is watched, for the failure message. */
  readonly where: string;
}

/**
 * The watched metrics no service emits, as messages. A metric matches an emitted one with the same namespace,
 * name and set of dimension names, and values that are the emitted literal, or, for values computed at run
 * time, the value `runtime` gives for that dimension, else one of the emitting crate's string literals.
 */
export function notEmitted(
  watched: WatchedMetric[],
  catalogue: Catalogue,
  runtime: Record<string, string> = {},
): string[] {
  const problems: string[] = [];
  for (const w of watched) {
    const names = Object.keys(w.dimensions).sort();
    const match = catalogue.metrics.some((e) => {
      if (e.namespace !== w.namespace || e.name !== w.name) return false;
      if (JSON.stringify(Object.keys(e.dimensions).sort()) !== JSON.stringify(names)) return false;
      return names.every((k) => {
        const value = w.dimensions[k];
        if (value === null) return true;
        const fixed = e.dimensions[k];
        if (fixed !== null) return fixed === value;
        if (k in runtime) return runtime[k] === value;
        return catalogue.literals.get(e.crate)?.has(value) ?? false;
      });
    });
    if (!match) problems.push(`${w.where}: ${w.namespace}/${w.name} ${JSON.stringify(w.dimensions)} is emitted by no service`);
  }
  return problems;
}
