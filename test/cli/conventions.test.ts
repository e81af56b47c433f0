// The wopte command's conventions (README, "The wopte command"), on the built
// CLI: exit 0/1/2, errors on stderr starting "wopte:" with the valid
// choices, usage after a usage error, --version, and input refused before
// anything is sent (no host runs here: a check that let bad input through
// would fail to connect instead, with exit 1).
import { describe, it, expect } from "vitest";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { needs } from "../helpers/tools.js";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin", "wopte.js");
const env = needs("built");
// a port where nothing listens: reaching it at all would be exit 1, not 2
const NOWHERE = "http://127.0.0.1:9";

function wopte(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile("node", [bin, ...args], { cwd: root }, (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

describe(env.title("wopte conventions"), env.options, () => {
  it("--version prints the package version", async () => {
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    expect(await wopte("--version")).toMatchObject({ code: 0, out: `wopte ${version}\n` });
  });

  it("an unknown command exits 2 listing the commands", async () => {
    const r = await wopte("frobnicate");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^wopte: unknown command "frobnicate" \(commands: demo, replay, .*capture/);
    expect(r.err).toMatch(/usage: wopte <command>/);
  });

  it("an unknown option exits 2 with the command's options and usage, for every command", async () => {
    for (const cmd of ["fw", "replay", "top", "flows", "layers", "stats", "port", "route", "v2p", "mcast", "snapshot", "migrate", "capture", "usage", "gateway", "sled", "demo", "playground"]) {
      const r = await wopte(cmd, "--bogus");
      expect(r.code, cmd).toBe(2);
      expect(r.err, cmd).toMatch(new RegExp(`^wopte: ${cmd}: unknown option --bogus \\(its options: .*--help\\)`));
      expect(r.err, cmd).toMatch(new RegExp(`usage: wopte ${cmd}`));
    }
  });

  it("an unknown subcommand or choice exits 2 naming the valid ones", async () => {
    expect((await wopte("fw", "lst", "web-a")).err).toMatch(/^wopte: fw: subcommand "lst" is not one of list, add, rm/);
    expect((await wopte("fw", "add", "web-a", "--name", "x", "--direction", "up", "--action", "allow")).err).toMatch(/--direction "up" is not one of in, out/);
    expect((await wopte("route", "add", "web-a", "--dest", "10.0.0.0/8", "--target", "gateway")).err).toMatch(/--target "gateway": kind "gateway" is not one of igw, drop, subnet, instance/);
    expect((await wopte("snapshot", "explode")).code).toBe(2);
  });

  it("checks values before sending anything", async () => {
    const cases: [string[], RegExp][] = [
      [["top", "--interval", "abc", "--api", NOWHERE], /--interval wants a number of seconds from 0\.1 to 3600, not "abc"/],
      [["top", "--count", "abc", "--api", NOWHERE], /--count wants a whole number of at least 1, not "abc"/],
      [["top", "--count", "0", "--api", NOWHERE], /--count wants a whole number of at least 1, not 0/],
      [["capture", "--port", "web-a", "--out", "x", "--seconds", "0", "--api", NOWHERE], /--seconds wants a whole number of seconds from 1 to 600, not 0/],
      [["route", "add", "web-a", "--dest", "10.0.0.0/8", "--target", "igw:foo", "--api", NOWHERE], /--target igw:<id> wants a whole number from 0 to 255, not "foo"/],
      [["v2p", "set", "--vni", "ten", "--ip", "172.30.0.6", "--mac", "a8:40:25:f0:00:06", "--underlay", "fd00::1", "--api", NOWHERE], /--vni wants a whole number from 0 to 16777215, not "ten"/],
      [["fw", "add", "web-a", "--name", "x", "--direction", "in", "--action", "allow", "--priority", "high", "--api", NOWHERE], /--priority wants a whole number/],
      [["usage", "--since", "yesterday", "--api", NOWHERE], /--since wants a duration/],
    ];
    for (const [args, message] of cases) {
      const r = await wopte(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(message);
    }
  });

  it("a host that cannot be reached is a failure (exit 1) naming it", async () => {
    const r = await wopte("port", "list", "--api", NOWHERE);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^wopte: cannot reach the host at http:\/\/127\.0\.0\.1:9.*\(is `wopte sled` running there\?/);
    const g = await wopte("gateway", "nat", "list", "--api", NOWHERE);
    expect(g.code).toBe(1);
    expect(g.err).toMatch(/^wopte: cannot reach the gateway host at http:\/\/127\.0\.0\.1:9: is `wopte gateway run` running there\?/);
  });

  it("--help exits 0 with the usage on stdout", async () => {
    for (const cmd of ["fw", "top", "snapshot"]) {
      const r = await wopte(cmd, "--help");
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toMatch(new RegExp(`^usage: wopte ${cmd}`));
    }
  });
});
