// A sled host restart under a real TCP connection (root): a guest in a
// namespace holds a connection through SNAT to an echo server beyond a
// gateway host, and the sled host goes away — killed with -9 after a flow
// checkpoint, or stopped cleanly with SIGTERM (checkpoints only at the stop) —
// and comes back from the same config and state directory. Its guest's TAP
// is plugged back into the namespace, as a hypervisor would re-attach the
// VNIC. The connection carries on, through the same external port: the
// server sees the same client address and port on both sides of the restart.
// Two throwaway connections first, so the kept one's SNAT port is not the
// first of the block (a sled that forgot its bindings would hand out the
// first again, and the server would see another port).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { sh, inNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { startHost } from "../helpers/host-process.js";
import { untilAsync } from "../helpers/until.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "curl", "built", "addon");
const run = promisify(execFile);
const SLED = "fd00:1122:3344:101::1", GW = "fd00:1122:3344:1::1";
const EXT_MAC = "02:00:5e:00:53:01", ROUTER_MAC = "02:00:5e:00:53:fe";
const GUEST = { mac: "a8:40:25:f0:00:05", ip: "172.30.0.5" };
const NS = "wopte-rst-g", EXT = "wopte-rst-x", TAP = "wrstg0", XTAP = "wrstx0";
const SERVER = "203.0.113.10";

/** An echo server in the external namespace: each line comes back as "<client address> <client port> <line>". */
function echoServer(): ChildProcess {
  const code = `require("net").createServer((s) => { let b = ""; s.on("data", (d) => { b += d; let i; while ((i = b.indexOf("\\n")) >= 0) { s.write(s.remoteAddress + " " + s.remotePort + " " + b.slice(0, i) + "\\n"); b = b.slice(i + 1); } }); s.on("error", () => {}); }).listen(7007, ${JSON.stringify(SERVER)}, () => console.log("up"))`;
  return spawn("ip", ["netns", "exec", EXT, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "ignore"] });
}

/** A client in the guest namespace holding one connection: lines on its stdin go out, replies come back on its stdout. */
class Client {
  readonly p: ChildProcess;
  private out = "";
  constructor() {
    const code = `const s = require("net").connect(7007, ${JSON.stringify(SERVER)}); s.setNoDelay(true);
      s.on("connect", () => console.log("connected")); s.on("data", (d) => process.stdout.write(d));
      s.on("error", (e) => { console.log("error " + e.code); process.exit(1); }); s.on("close", () => { console.log("closed"); process.exit(1); });
      process.stdin.on("data", (d) => s.write(d));`;
    this.p = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", code], { stdio: ["pipe", "pipe", "ignore"] });
    this.p.stdout!.on("data", (d) => { this.out += d; });
  }
  /** Send a line; the server's answer to it. */
  async say(line: string, ms = 30_000): Promise<string> {
    this.p.stdin!.write(line + "\n");
    const end = Date.now() + ms;
    for (;;) {
      const m = new RegExp(`^(.*) ${line}$`, "m").exec(this.out);
      if (m) return m[1];
      if (/^(error|closed)/m.test(this.out) || Date.now() > end) throw new Error(`no answer to ${line}: ${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async connected(): Promise<void> {
    const end = Date.now() + 15_000;
    while (!this.out.includes("connected")) {
      if (/^(error|closed)/m.test(this.out) || Date.now() > end) throw new Error(`no connection: ${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The guest's VNIC (the sled's TAP) into the guest namespace, addressed. */
function plugGuest(): void {
  sh("ip", "link", "set", TAP, "netns", NS);
  inNs(NS, "ip", "link", "set", TAP, "address", GUEST.mac);
  inNs(NS, "ip", "addr", "add", `${GUEST.ip}/24`, "dev", TAP);
  inNs(NS, "ip", "link", "set", TAP, "up");
  inNs(NS, "ip", "route", "replace", "default", "via", "172.30.0.1");
}

async function health(api: string): Promise<{ checkpoints: { written: number; restored: number; last?: { flows: number; time: string } } }> {
  return JSON.parse((await run("curl", ["-s", "--unix-socket", api.slice("unix:".length), "http://sled/health"])).stdout);
}

describe(env.title("a sled host restart under a TCP connection through SNAT"), env.options, () => {
  const dir = env.ready ? mkdtempSync(join(tmpdir(), "wopte-restart-")) : "";
  const procs: ChildProcess[] = [];
  const port = 23000 + (process.pid % 400) * 2;
  let gwApi = "";
  const sledArgs = (interval: string) => ["sled", "--config", join(dir, "sled.json"), "--state-dir", join(dir, "state"), "--checkpoint-interval", interval];

  beforeAll(async () => {
    const c = JSON.parse(readFileSync(join(root, "examples/port-a.json"), "utf8"));
    Object.assign(c, { guest: { mac: GUEST.mac, ipv4: GUEST.ip }, v2p: [], externalIps: { snat: { ip: "198.51.100.10", firstPort: 16384, lastPort: 24575 }, floating: [] } });
    delete c.subnet.ipv6; delete c.gateway.ipv6;
    c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway" } }];
    c.boundary.underlay = GW;
    writeFileSync(join(dir, "p0.json"), JSON.stringify(c));
    writeFileSync(join(dir, "sled.json"), JSON.stringify({ name: "sled", underlay: { address: SLED, bind: { host: "::1", port }, peers: { [GW]: `[::1]:${port + 1}` } },
      api: { socket: join(dir, "sled.sock") }, ports: [{ config: "p0.json", device: { type: "tap", name: TAP } }] }));
    writeFileSync(join(dir, "gateway.json"), JSON.stringify({
      name: "gw", underlay: { address: GW, bind: { host: "::1", port: port + 1 }, peers: { [SLED]: `[::1]:${port}` }, mtu: 9000 },
      external: { device: { type: "tap", name: XTAP }, mac: EXT_MAC, nextHopMac: ROUTER_MAC, ipv4: "198.51.100.1", ownedPrefixes: ["198.51.100.0/24"] },
      nat: [{ ip: "198.51.100.10", firstPort: 16384, lastPort: 24575, sled: SLED, vni: 1024, mac: GUEST.mac }],
      api: { socket: join(dir, "gateway.sock") },
    }));
    const g = await startHost(["gateway", "run", "--config", join(dir, "gateway.json")], 20_000);
    procs.push(g.p);
    gwApi = g.api;
    for (const ns of [NS, EXT]) { try { sh("ip", "netns", "del", ns); } catch { /* fresh */ } sh("ip", "netns", "add", ns); inNs(ns, "ip", "link", "set", "lo", "up"); }
    sh("ip", "link", "set", XTAP, "netns", EXT);
    inNs(EXT, "ip", "link", "set", XTAP, "address", ROUTER_MAC);
    inNs(EXT, "ip", "addr", "add", `${SERVER}/24`, "dev", XTAP);
    inNs(EXT, "ip", "link", "set", XTAP, "up");
    inNs(EXT, "ip", "route", "add", "198.51.100.0/24", "dev", XTAP);
    const server = echoServer();
    procs.push(server);
    await new Promise<void>((resolve, reject) => { server.stdout!.once("data", () => resolve()); setTimeout(() => reject(new Error("echo server did not start")), 10_000); });
  }, 60_000);

  afterAll(() => {
    for (const p of procs) p.kill("SIGKILL");
    for (const ns of [NS, EXT]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
    void gwApi;
  });

  for (const stop of ["SIGKILL", "SIGTERM"] as const) {
    it(`${stop === "SIGKILL" ? "kill -9 after a checkpoint" : "a clean stop (SIGTERM)"}: the connection carries on through the same SNAT port`, async () => {
      // -9: checkpoints every 200 ms, the kill after one that holds the connection; SIGTERM: only the one at the stop
      let s = await startHost(sledArgs(stop === "SIGKILL" ? "200ms" : "0"), 20_000);
      procs.push(s.p);
      plugGuest();
      // two connections that come and go, so the kept one's SNAT port is not the block's first
      for (let i = 0; i < 2; i++) {
        const c = new Client();
        await c.connected();
        await c.say(`warm${i}`);
        c.p.kill("SIGKILL");
      }
      const client = new Client();
      procs.push(client.p);
      await client.connected();
      const before = await client.say("before");
      const [addr, sport] = before.split(" ");
      expect(addr).toMatch(/198\.51\.100\.10$/);
      expect(Number(sport)).toBeGreaterThan(16384);
      if (stop === "SIGKILL") {
        const at = Date.now();
        await untilAsync(async () => { const h = (await health(s.api)).checkpoints; return !!h.last && Date.parse(h.last.time) > at && h.last.flows >= 1; }, "a checkpoint after the connection");
      }
      const exited = new Promise((r) => s.p.once("exit", r));
      s.p.kill(stop);
      await exited;
      // the same config and state directory; the VNIC plugged in again
      s = await startHost(sledArgs(stop === "SIGKILL" ? "200ms" : "0"), 20_000);
      procs.push(s.p);
      expect((await health(s.api)).checkpoints.restored).toBe(1);
      plugGuest();
      expect(await client.say("after")).toBe(before);
      expect(await client.say("again")).toBe(before);
      client.p.kill("SIGKILL");
      const end = new Promise((r) => s.p.once("exit", r));
      s.p.kill("SIGTERM");
      await end;
    }, 90_000);
  }
});
