// Boundary services end to end, as root: a sled host with two guests in
// namespaces (TAP) and a gateway host whose external side is a TAP into an
// "external" namespace with an HTTP server. Guests reach the server through
// SNAT (the server sees the external IP and ports from each guest's block,
// both guests at once); an external client reaches a third guest's floating IP;
// traffic to an unmapped external IP is dropped and counted.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { sh, inNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { startHost, bin } from "../helpers/host-process.js";

const root = new URL("../../", import.meta.url).pathname;
const env = needs("root", "ip", "ping", "curl", "built", "addon");
const run = promisify(execFile);
const SLED = "fd00:1122:3344:101::1", GW = "fd00:1122:3344:1::1";
const EXT_MAC = "02:00:5e:00:53:01", ROUTER_MAC = "02:00:5e:00:53:fe";

/** A tiny HTTP server in a namespace that answers with the client's address and port. */
function whoami(ns: string, ip: string, port: number): ChildProcess {
  const code = `require("http").createServer((q, s) => s.end(q.socket.remoteAddress + " " + q.socket.remotePort)).listen(${port}, ${JSON.stringify(ip)})`;
  return spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], { stdio: "ignore" });
}

async function curl(ns: string, url: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try { return (await run("ip", ["netns", "exec", ns, "curl", "-s", "--max-time", "2", url])).stdout; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`curl ${url} from ${ns} kept failing: ${String(last)}`);
}

describe(env.title("gateway host between the rack and an external network"), env.options, () => {
  const dir = env.ready ? mkdtempSync(join(tmpdir(), "wopte-gw-")) : "";
  const procs: ChildProcess[] = [];
  let gwApi = "";
  const port = 22000 + (process.pid % 400) * 2;

  beforeAll(async () => {
    const base = JSON.parse(readFileSync(join(root, "examples/port-a.json"), "utf8"));
    const guests = [
      { name: "web-a", mac: "a8:40:25:f0:00:05", ip: "172.30.0.5", ext: { snat: { ip: "198.51.100.10", firstPort: 16384, lastPort: 24575 } } },
      { name: "web-b", mac: "a8:40:25:f0:00:06", ip: "172.30.0.6", ext: { snat: { ip: "198.51.100.10", firstPort: 24576, lastPort: 32767 } } },
      { name: "web-c", mac: "a8:40:25:f0:00:07", ip: "172.30.0.7", ext: { floating: ["198.51.100.20"] } },
    ];
    guests.forEach((g, i) => {
      const c = structuredClone(base);
      Object.assign(c, { name: g.name, guest: { mac: g.mac, ipv4: g.ip }, externalIps: g.ext, v2p: [] });
      delete c.guest.ipv6; delete c.subnet.ipv6; delete c.gateway.ipv6;
      c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway" } }];
      c.boundary.underlay = GW;
      writeFileSync(join(dir, `p${i}.json`), JSON.stringify(c));
    });
    writeFileSync(join(dir, "sled.json"), JSON.stringify({ name: "sled", underlay: { address: SLED, bind: { host: "::1", port }, peers: { [GW]: `[::1]:${port + 1}` } },
      api: { socket: join(dir, "sled.sock") }, ports: [{ config: "p0.json", device: { type: "tap", name: "wgga0" } }, { config: "p1.json", device: { type: "tap", name: "wggb0" } },
        { config: "p2.json", device: { type: "tap", name: "wggc0" } }] }));
    writeFileSync(join(dir, "gateway.json"), JSON.stringify({
      name: "gw", underlay: { address: GW, bind: { host: "::1", port: port + 1 }, peers: { [SLED]: `[::1]:${port}` }, mtu: 9000 },
      external: { device: { type: "tap", name: "wggx0" }, mac: EXT_MAC, nextHopMac: ROUTER_MAC, ipv4: "198.51.100.1", ownedPrefixes: ["198.51.100.0/24"] },
      nat: [
        { ip: "198.51.100.10", firstPort: 16384, lastPort: 24575, sled: SLED, vni: 1024, mac: guests[0].mac },
        { ip: "198.51.100.10", firstPort: 24576, lastPort: 32767, sled: SLED, vni: 1024, mac: guests[1].mac },
        { ip: "198.51.100.20", firstPort: 0, lastPort: 65535, sled: SLED, vni: 1024, mac: guests[2].mac },
      ],
      api: { socket: join(dir, "gateway.sock") },
    }));
    const s = await startHost(["sled", "--config", join(dir, "sled.json"), "--state-dir", join(dir, "state")]);
    const g = await startHost(["gateway", "run", "--config", join(dir, "gateway.json")]);
    procs.push(s.p, g.p);
    gwApi = g.api;
    for (const [ns, tap, mac, ip] of [["wopte-gga", "wgga0", guests[0].mac, guests[0].ip], ["wopte-ggb", "wggb0", guests[1].mac, guests[1].ip],
      ["wopte-ggc", "wggc0", guests[2].mac, guests[2].ip]]) {
      try { sh("ip", "netns", "del", ns); } catch { /* fresh */ }
      sh("ip", "netns", "add", ns);
      sh("ip", "link", "set", tap, "netns", ns);
      inNs(ns, "ip", "link", "set", tap, "address", mac);
      inNs(ns, "ip", "addr", "add", `${ip}/24`, "dev", tap);
      inNs(ns, "ip", "link", "set", tap, "up");
      inNs(ns, "ip", "route", "add", "default", "via", "172.30.0.1");
    }
    try { sh("ip", "netns", "del", "wopte-ext"); } catch { /* fresh */ }
    sh("ip", "netns", "add", "wopte-ext");
    sh("ip", "link", "set", "wggx0", "netns", "wopte-ext");
    inNs("wopte-ext", "ip", "link", "set", "wggx0", "address", ROUTER_MAC);
    inNs("wopte-ext", "ip", "addr", "add", "203.0.113.10/24", "dev", "wggx0");
    inNs("wopte-ext", "ip", "link", "set", "wggx0", "up");
    inNs("wopte-ext", "ip", "route", "add", "198.51.100.0/24", "dev", "wggx0"); // on-link: the gateway answers ARP for it
    procs.push(whoami("wopte-ext", "203.0.113.10", 80), whoami("wopte-ggc", "172.30.0.7", 80));
  }, 60_000);

  afterAll(() => {
    for (const p of procs) p.kill("SIGTERM");
    for (const ns of ["wopte-gga", "wopte-ggb", "wopte-ggc", "wopte-ext"]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
  });

  it("two guests share the SNAT address at once, each with ports from its own block", async () => {
    const [a, b] = await Promise.all([curl("wopte-gga", "http://203.0.113.10/"), curl("wopte-ggb", "http://203.0.113.10/")]);
    const [ipA, portA] = a.split(" "), [ipB, portB] = b.split(" ");
    expect(ipA).toBe("198.51.100.10");
    expect(ipB).toBe("198.51.100.10");
    expect(Number(portA)).toBeGreaterThanOrEqual(16384); expect(Number(portA)).toBeLessThanOrEqual(24575);
    expect(Number(portB)).toBeGreaterThanOrEqual(24576); expect(Number(portB)).toBeLessThanOrEqual(32767);
    expect(inNs("wopte-gga", "ping", "-c", "1", "-W", "3", "203.0.113.10")).toMatch(/1 received/);
  }, 30_000);

  it("an external client reaches web-c's floating IP and gets its reply", async () => {
    const got = await curl("wopte-ext", "http://198.51.100.20/");
    expect(got.split(" ")[0]).toBe("203.0.113.10"); // web-c sees the client, not the gateway
  }, 30_000);

  it("drops and counts traffic to an unmapped external IP", async () => {
    await run("ip", ["netns", "exec", "wopte-ext", "curl", "-s", "--max-time", "1", "http://198.51.100.99/"]).catch(() => undefined);
    const stats = JSON.parse((await run("curl", ["-s", "--unix-socket", gwApi.slice("unix:".length), "http://gateway/stats"])).stdout);
    expect(stats.counters.drops.NoEncapTarget).toBeGreaterThan(0);
    const list = JSON.parse((await run("node", [bin, "gateway", "nat", "list", "--json", "--api", gwApi])).stdout);
    expect(list).toHaveLength(3);
  }, 30_000);
});
