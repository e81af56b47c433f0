// What a test needs from the machine beyond `npm ci`: Debian tools found on
// PATH (never at fixed paths, so hiding PATH hides them), root, and the
// artifacts `npm ci` builds. A test that lacks one SKIPS with the missing
// names in its reason and records them in its meta (`needs`), which
// test/helpers/needs-reporter.ts turns into one "install …" line per skipped
// group at the end of the run. `npm test` passes on a machine with none of them.
//
// WOPTE_TESTS_NO_ROOT=1 makes a root run behave as an unprivileged one (CI
// proves the root-only suites skip cleanly that way).

import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { TestRunner, type SuiteOptions } from "vitest";

declare module "vitest" {
  interface TaskMeta {
    /** What a skipped test lacked, as `Need` names. */
    needs?: string[];
  }
}

const root = new URL("../../", import.meta.url).pathname;

/** Everything a test may need, and how a person gets it. */
export const NEEDS = {
  tshark: "apt-get install tshark",
  scapy: "apt-get install python3-scapy",
  ping: "apt-get install iputils-ping",
  curl: "apt-get install curl",
  busybox: "apt-get install busybox",
  bird: "apt-get install bird2",
  ip: "apt-get install iproute2",
  wasm2c: "apt-get install wabt",
  cc: "apt-get install gcc",
  chromium: "apt-get install chromium",
  promtool: "apt-get install prometheus",
  openssl: "apt-get install openssl",
  root: "run the tests as root (network namespaces, TAP devices)",
  tun: "modprobe tun (/dev/net/tun)",
  built: "npm run build (the tests run the compiled hosts in dist/)",
  addon: "npm run build:native (the TAP and peer-credential addons, hosts/native)",
  playground: "npm run build:playground",
} as const;

export type Need = keyof typeof NEEDS;

/** The executable `cmd` on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

/** Does `cmd args…` run and exit 0? */
function runs(cmd: string | undefined, ...args: string[]): boolean {
  if (!cmd) return false;
  try { execFileSync(cmd, args, { stdio: "ignore", timeout: 20_000 }); return true; } catch { return false; }
}

/** The command each tool need is found by (test/tool-needs.test.ts checks that a test running one declares it). */
export const COMMAND: Partial<Record<Need, string>> = {
  tshark: "tshark", ping: "ping", curl: "curl", busybox: "busybox", bird: "bird", ip: "ip", wasm2c: "wasm2c", cc: "cc", chromium: "chromium", promtool: "promtool", openssl: "openssl",
};

const checks: Record<Need, () => boolean> = {
  ...(Object.fromEntries(Object.entries(COMMAND).map(([need, cmd]) => [need, () => which(cmd!) !== undefined])) as Record<string, () => boolean>),
  tshark: () => runs(which("tshark"), "--version"),
  scapy: () => runs(which("python3"), "-c", "import scapy.all"),
  bird: () => which("bird") !== undefined && which("birdc") !== undefined,
  tun: () => existsSync("/dev/net/tun"),
  root: () => process.getuid?.() === 0 && process.env.WOPTE_TESTS_NO_ROOT !== "1",
  built: () => existsSync(join(root, "dist/hosts/cli/main.js")),
  addon: () => existsSync(join(root, "hosts/native/build/Release/wopte_tap.node")) && existsSync(join(root, "hosts/native/build/Release/wopte_peer.node")),
  playground: () => existsSync(join(root, "build/playground/app.js")),
} as Record<Need, () => boolean>;

const known = new Map<Need, boolean>();

/** Is `need` met on this machine? (Checked once per test file.) */
export function has(need: Need): boolean {
  let v = known.get(need);
  if (v === undefined) { v = checks[need](); known.set(need, v); }
  return v;
}

/** The needs among `needs` this machine lacks. */
export function missing(...needs: Need[]): Need[] {
  return needs.filter((n) => !has(n));
}

/** "needs tshark, root: apt-get install tshark; run the tests as root …" */
export function skipReason(lacking: Need[]): string {
  return `needs ${lacking.join(", ")}: ${lacking.map((n) => NEEDS[n]).join("; ")}`;
}

/**
 * Options for a `describe` whose tests all need `needs`: skipped where one is
 * missing, with the reason in the suite's name and its meta. Use as
 * `const env = needs("root", "curl"); describe(env.title("…"), env.options, () => …)`.
 */
export function needs(...wanted: Need[]): { ready: boolean; lacking: Need[]; options: SuiteOptions; title(t: string): string } {
  const lacking = missing(...wanted);
  const ready = lacking.length === 0;
  return {
    ready, lacking,
    options: { skip: !ready, meta: { needs: lacking } },
    title: (t: string) => (ready ? t : `${t} [skipped: ${skipReason(lacking)}]`),
  };
}

/**
 * Inside a running test: skip the rest of it unless `wanted` are all there
 * (checks already made stay made). The note names what is missing.
 */
export function requireOrSkip(...wanted: Need[]): void {
  const lacking = missing(...wanted);
  if (!lacking.length) return;
  const test = TestRunner.getCurrentTest();
  if (!test) throw new Error(`requireOrSkip(${wanted.join(", ")}) outside a test`);
  test.meta.needs = lacking;
  test.context.skip(skipReason(lacking));
}
