// `npm test` passes on a machine without the optional tools only if every
// test that runs one says so (test/helpers/tools.ts), and CI proves it only
// for what it runs without them. This reads the tests themselves: a file that
// runs a tool (directly, or through a test helper it imports) declares that
// tool's need; a command no need covers is named here so it gets one; and
// only the helper decides whether the run is root.
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, dirname, relative, resolve } from "node:path";
import { COMMAND, type Need } from "./helpers/tools.js";

const testDir = new URL(".", import.meta.url).pathname;
const self = new URL(import.meta.url).pathname;
const EXEMPT = new Set([join(testDir, "helpers/tools.ts"), join(testDir, "helpers/needs-reporter.ts"), self]);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}
const files = walk(testDir).filter((f) => !EXEMPT.has(f));
const text = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));

/** Test helpers a file imports, and theirs. */
function helpers(f: string, seen = new Set<string>()): Set<string> {
  for (const [, spec] of (text.get(f) ?? "").matchAll(/from "(\.[^"]+)\.js"/g)) {
    const p = resolve(dirname(f), `${spec}.ts`);
    if (p.startsWith(testDir) && existsSync(p) && !seen.has(p) && text.has(p)) { seen.add(p); helpers(p, seen); }
  }
  return seen;
}

/** Where a program is started: child_process calls and the namespace helpers (sh, run, inNs, which). */
const CALL = /\b(?:spawn|spawnSync|execFile|execFileSync|execSync|exec|sh|run|inNs|which)\(/;
/** The tool each need's command is, and python3 for scapy. */
const TOOLS: [string, Need][] = [...Object.entries(COMMAND).map(([need, cmd]) => [cmd!, need as Need] as [string, Need]), ["python3", "scapy"]];

/** The tools a file's own lines start. */
function toolsRun(src: string): Set<Need> {
  const found = new Set<Need>();
  for (const line of src.split("\n").filter((l) => CALL.test(l))) {
    for (const [cmd, need] of TOOLS) if (line.includes(`"${cmd}"`)) found.add(need);
  }
  return found;
}

/** The needs a file declares to the helper. */
function declared(src: string): Set<string> {
  const out = new Set<string>();
  for (const [, args] of src.matchAll(/\b(?:needs|requireOrSkip|missing)\(([^)]*)\)/g)) for (const [, n] of args.matchAll(/"(\w+)"/g)) out.add(n);
  return out;
}

describe("tests that run a tool skip without it", () => {
  it("every test file running a tool, itself or through a helper, declares that tool's need", () => {
    const undeclared: string[] = [];
    for (const f of files.filter((f) => f.endsWith(".test.ts"))) {
      const used = toolsRun(text.get(f)!);
      for (const h of helpers(f)) for (const n of toolsRun(text.get(h)!)) used.add(n);
      const has = declared(text.get(f)!);
      for (const n of used) if (!has.has(n)) undeclared.push(`${relative(testDir, f)} runs ${COMMAND[n] ?? n} without needs("${n}")`);
    }
    expect(undeclared).toEqual([]);
  });

  it("every program a test starts is node or a tool test/helpers/tools.ts knows", () => {
    // node runs the tests; sh is Essential on every Debian (used only after the tool it pipes into is checked)
    const known = new Set(["node", "sh", ...TOOLS.map(([c]) => c)]);
    const unknown: string[] = [];
    for (const f of files) {
      for (const [, cmd] of text.get(f)!.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync|execSync|exec|sh|run)\(\s*"([^"]+)"/g)) {
        const prog = cmd.split(" ")[0];
        if (!known.has(prog)) unknown.push(`${relative(testDir, f)} starts "${prog}": give it a need in test/helpers/tools.ts`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("only the helper decides whether the run is root (so WOPTE_TESTS_NO_ROOT=1 holds everywhere)", () => {
    const deciders = files.filter((f) => /getuid\??\.?\(\)\s*[!=]==?\s*0|geteuid/.test(text.get(f)!)).map((f) => relative(testDir, f));
    expect(deciders).toEqual([]);
  });

  it("sees the tools it looks for (the check is not vacuous)", () => {
    expect(toolsRun('execFileSync("tshark", ["-r", f]);')).toEqual(new Set(["tshark"]));
    expect(toolsRun('await run("ip", ["netns", "exec", ns, "curl", "-s", url]);')).toEqual(new Set(["ip", "curl"]));
    expect(toolsRun('const x = { type: "ip", value: "curl" };')).toEqual(new Set());
    const netns = join(testDir, "netns/sleds-e2e.test.ts");
    expect([...helpers(netns)].map((h) => relative(testDir, h))).toContain("helpers/netns.ts");
    expect(declared('const env = needs("root", "ip", "ping");')).toEqual(new Set(["root", "ip", "ping"]));
  });
});
