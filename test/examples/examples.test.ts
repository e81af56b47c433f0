// The example host configs run as they are: `wopte sled --config
// examples/sled.json` and `wopte gateway run --config examples/gateway.json`
// start without root (memory devices, the udp underlay on ::1), answer on
// their APIs and have what the files say. Only the API socket is moved
// (--api-socket), so the test does not fight a host someone left running.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, ChildProcess } from "node:child_process";
import { needs } from "../helpers/tools.js";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { request } from "node:http";
import { call } from "../../hosts/cli/client.js";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin", "wopte.js");
const env = needs("built");

/** Start `wopte …` and resolve with the API URL from its "running" log line. */
function start(args: string[]): Promise<{ p: ChildProcess; api: string }> {
  const p = spawn("node", [bin, ...args], { cwd: root, env: { ...process.env, WOPTE_LOG_LEVEL: "info" } });
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = /"api":"(unix:[^"]+)"/.exec(out);
      if (m) resolve({ p, api: m[1] });
    };
    p.stdout!.on("data", onData);
    p.stderr!.on("data", (d) => { out += d; });
    p.on("exit", (code) => reject(new Error(`wopte ${args.join(" ")} exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`no API line from wopte ${args.join(" ")}: ${out}`)), 20_000);
  });
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await gone;
}

describe(env.title("examples/sled.json and examples/gateway.json"), env.options, () => {
  let sled: { p: ChildProcess; api: string } | undefined, gw: { p: ChildProcess; api: string } | undefined;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-examples-"));
    sled = await start(["sled", "--config", "examples/sled.json", "--api-socket", join(dir, "sled.sock"), "--state-dir", join(dir, "state")]);
    gw = await start(["gateway", "run", "--config", "examples/gateway.json", "--api-socket", join(dir, "gateway.sock")]);
  }, 45_000);
  afterAll(async () => { await stop(sled?.p); await stop(gw?.p); });

  it("runs a sled host with the example port", async () => {
    const health = await call(sled!.api, "GET", "/health");
    expect(health).toMatchObject({ ok: true, sled: "sled-a", underlay: "fd00:1122:3344:101::1", ports: 1 });
    const ports = await call<{ name: string }[]>(sled!.api, "GET", "/ports");
    expect(ports.map((p: { name: string }) => p.name)).toEqual(["web-a"]);
  });

  it("runs a gateway host with the example NAT mapping for that port", async () => {
    expect(await call(gw!.api, "GET", "/health")).toMatchObject({ ok: true });
    const nat = await call(gw!.api, "GET", "/nat");
    expect(nat).toEqual([{ ip: "198.51.100.10", firstPort: 16384, lastPort: 32767, sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" }]);
    expect(await new Promise<string>((resolve, reject) => {
      request({ socketPath: gw!.api.slice("unix:".length), path: "/metrics" }, (res) => {
        let text = ""; res.on("data", (d) => { text += d; }); res.on("end", () => resolve(text));
      }).on("error", reject).end();
    })).toContain("wopte_gateway_nat_mappings 1");
  });
});
