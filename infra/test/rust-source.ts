// Just enough of Rust's lexical structure to read the metric emitters (test/emitted-metrics.ts): comments blanked
// out, `#[cfg(test)]` items removed, brackets matched and call arguments split, all aware of string and
// character literals. Offsets are kept (blanked text becomes spaces), so positions map back to lines.

/** The end (exclusive) of the string or char literal starting at `i`, or `i` when none starts there. */
function literalEnd(code: string, i: number): number {
  const raw = /^r(#*)"/.exec(code.slice(i, i + 20));
  if (raw && (i === 0 || !/\w/.test(code[i - 1]))) {
    const close = `"${raw[1]}`;
    const end = code.indexOf(close, i + raw[0].length);
    return end < 0 ? code.length : end + close.length;
  }
  if (code[i] === '"') {
    let j = i + 1;
    while (j < code.length && code[j] !== '"') j += code[j] === "\\" ? 2 : 1;
    return j + 1;
  }
  if (code[i] === "'") {
    // A char literal ('x', '\n', '\u{..}'); otherwise a lifetime such as 'a.
    const m = /^'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'/.exec(code.slice(i, i + 12));
    if (m) return i + m[0].length;
  }
  return i;
}

/** A mask of `code`: 1 for every character inside a string or char literal (quotes included). */
export function literalMask(code: string): Uint8Array {
  const mask = new Uint8Array(code.length);
  let i = 0;
  while (i < code.length) {
    const end = literalEnd(code, i);
    if (end > i) {
      mask.fill(1, i, end);
      i = end;
    } else i += 1;
  }
  return mask;
}

/** `src` with every comment replaced by spaces (newlines kept). */
export function blankComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const end = literalEnd(src, i);
    if (end > i) {
      out += src.slice(i, end);
      i = end;
    } else if (src.startsWith("//", i)) {
      const nl = src.indexOf("\n", i);
      const stop = nl < 0 ? src.length : nl;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (src.startsWith("/*", i)) {
      let depth = 0;
      let j = i;
      do {
        if (src.startsWith("/*", j)) {
          depth += 1;
          j += 2;
        } else if (src.startsWith("*/", j)) {
          depth -= 1;
          j += 2;
        } else j += 1;
      } while (depth > 0 && j < src.length);
      out += src.slice(i, j).replace(/[^\n]/g, " ");
      i = j;
    } else {
      out += src[i];
      i += 1;
    }
  }
  return out;
}

const CLOSE: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

/** Index of the bracket closing the one at `open` (strings and chars skipped); throws when unbalanced. */
export function matching(code: string, open: number): number {
  const stack: string[] = [];
  let i = open;
  while (i < code.length) {
    const end = literalEnd(code, i);
    if (end > i) {
      i = end;
      continue;
    }
    const c = code[i];
    if (c in CLOSE) stack.push(CLOSE[c]);
    else if (c === ")" || c === "]" || c === "}") {
      if (stack.pop() !== c) throw new Error(`unbalanced ${c} at ${open}`);
      if (stack.length === 0) return i;
    }
    i += 1;
  }
  throw new Error(`no closing bracket for ${code[open]} at ${open}`);
}

/** The top-level, comma-separated arguments between the brackets at `open` and `close`, trimmed. */
export function splitArgs(code: string, open: number, close: number): string[] {
  const args: string[] = [];
  let start = open + 1;
  let i = open + 1;
  while (i < close) {
    const end = literalEnd(code, i);
    if (end > i) {
      i = end;
      continue;
    }
    const c = code[i];
    if (c in CLOSE) {
      i = matching(code, i) + 1;
      continue;
    }
    if (c === ",") {
      args.push(code.slice(start, i).trim());
      start = i + 1;
    }
    i += 1;
  }
  const last = code.slice(start, close).trim();
  if (last !== "") args.push(last);
  return args;
}

/** `code` without the items marked `#[cfg(test)]` (their text blanked), and the names of `mod x;` test files. */
export function withoutTests(code: string): { code: string; testModules: string[] } {
  const testModules: string[] = [];
  let out = code;
  const attr = /#\[cfg\(test\)\]/g;
  for (let m = attr.exec(out); m; m = attr.exec(out)) {
    const rest = out.slice(m.index + m[0].length);
    const decl = /^(?:\s*#\[[^\]]*\])*\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;/.exec(rest);
    if (decl) testModules.push(decl[1]);
    let end = m.index + m[0].length;
    while (end < out.length && out[end] !== ";" && out[end] !== "{") end += 1;
    if (out[end] === "{") end = matching(out, end);
    out = out.slice(0, m.index) + out.slice(m.index, end + 1).replace(/[^\n]/g, " ") + out.slice(end + 1);
  }
  return { code: out, testModules };
}

/** The literal text of a plain string literal argument (`"x"`), or undefined for any other expression. */
export function stringLiteral(arg: string): string | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(arg.trim());
  return m ? m[1].replace(/\\(.)/g, "$1") : undefined;
}

/** Every plain string literal in `code`. */
export function allStringLiterals(code: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < code.length) {
    const end = literalEnd(code, i);
    if (end > i) {
      const lit = stringLiteral(code.slice(i, end));
      if (lit !== undefined) out.push(lit);
      i = end;
    } else i += 1;
  }
  return out;
}

/** One method call of a chain: `.name(args)`. */
export interface Call {
  readonly method: string;
  readonly args: string[];
}

/** The method calls chained from `start` (`.a(x).b(y)…`), and where the chain ends. */
export function chainAt(code: string, start: number): { calls: Call[]; end: number } {
  const calls: Call[] = [];
  let i = start;
  for (;;) {
    const m = /^\s*\.\s*(\w+)\s*(?:::<[^>]*>\s*)?\(/.exec(code.slice(i, i + 200));
    if (!m) return { calls, end: i };
    const open = i + m[0].length - 1;
    const close = matching(code, open);
    calls.push({ method: m[1], args: splitArgs(code, open, close) });
    i = close + 1;
  }
}

/** A function definition: its name, parameters (`self` excluded) and body span. */
export interface FnDef {
  readonly name: string;
  readonly params: { name: string; type: string }[];
  readonly method: boolean;
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

/** Every `fn` with a body in `code`. */
export function functions(code: string): FnDef[] {
  const out: FnDef[] = [];
  const inLiteral = literalMask(code);
  const re = /\bfn\s+(\w+)\s*(?:<[^{;]*?>)?\s*\(/g;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    if (inLiteral[m.index]) continue;
    const open = m.index + m[0].length - 1;
    let close: number;
    try {
      close = matching(code, open);
    } catch {
      continue; // `fn` inside a string, or generics this reader does not follow: not a definition it needs
    }
    let i = close + 1;
    while (i < code.length && code[i] !== "{" && code[i] !== ";") i += 1;
    if (code[i] !== "{") continue;
    const params = splitArgs(code, open, close);
    const method = params.length > 0 && /^&?\s*(?:'\w+\s+)?(?:mut\s+)?self\b/.test(params[0]);
    out.push({
      name: m[1],
      method,
      params: (method ? params.slice(1) : params).map((p) => {
        const colon = p.indexOf(":");
        return { name: p.slice(0, colon).replace(/^mut\s+/, "").trim(), type: p.slice(colon + 1).trim() };
      }),
      bodyStart: i,
      bodyEnd: matching(code, i),
    });
  }
  return out;
}

/** The innermost function whose body holds `at`. */
export function enclosingFn(fns: FnDef[], at: number): FnDef | undefined {
  return fns.filter((f) => f.bodyStart < at && at < f.bodyEnd).sort((a, b) => b.bodyStart - a.bodyStart)[0];
}

/** 1-based line of offset `at`. */
export function lineOf(code: string, at: number): number {
  return code.slice(0, at).split("\n").length;
}
