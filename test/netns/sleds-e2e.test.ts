// End to end, as root: two `wopte sled` processes (the udp underlay on ::1),
// guests in network namespaces on TAP devices. Pings both ways over IPv4 and
// IPv6, a 10 MB HTTP transfer with a matching checksum, a firewall change
// that stops new connections and shows in the counters, and a guest of
// another VPC that cannot reach them.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes, createHash } from "node:crypto";
import { promisify } from "node:util";
import { sh, inNs, guestNs } from "../helpers/netns.js";
import { needs } from "../helpers/tools.js";
import { vpcGuestPortJson, V2pJson } from "../helpers/example-port.js";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin", "wopte.js");
const env = needs("root", "ip", "ping", "curl", "built", "addon");
const run = promisify(execFile);

const A = "fd00:1122:3344:101::1", B = "fd00:1122:3344:102::1";

function guestPort(name: string, mac: string, v4: string, v6: string, sled: string, v2p: V2pJson[], vni = 1024) {
  const c = vpcGuestPortJson({ name, mac, ipv4: v4, ipv6: v6, sled, v2p, vni });
  c.firewall.push({ name: "icmp-in", direction: "in", priority: 120, action: "allow", protocols: ["icmp", "icmpv6"] });
  return c;
}

/** A tiny HTTP server inside a namespace: serves `file` (or "ok") on ip:port. */
function serve(ns: string, ip: string, port: number, file?: string): ChildProcess {
  const code = `require("http").createServer((q, s) => { ${file ? `require("fs").createReadStream(${JSON.stringify(file)}).pipe(s)` : `s.end("ok")`} }).listen(${port}, ${JSON.stringify(ip)})`;
  return spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], { stdio: "ignore" });
}

/** Wait until something listens on ip:port (inside the server's namespace, where nothing filters). */
async function listening(ip: string, port: number, ns = "wopte-gb"): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const r = await run("ip", ["netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "--max-time", "1", `http://${ip}:${port}/`]).catch(() => undefined);
    if (r) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nothing listens on ${ip}:${port}`);
}

describe(env.title("two sled hosts, guests in namespaces"), env.options, () => {
  const dir = env.ready ? mkdtempSync(join(tmpdir(), "wopte-e2e-")) : "";
  const procs: ChildProcess[] = [];
  const apis: Record<string, string> = {};
  const uport = 21000 + (process.pid % 500) * 2;

  async function startSled(name: string, addr: string, bindPort: number, peer: string, peerPort: number, ports: { config: unknown; tap: string }[]) {
    const cfg = { name, underlay: { address: addr, bind: { host: "::1", port: bindPort }, peers: { [peer]: `[::1]:${peerPort}` } },
      api: { socket: join(dir, `${name}.sock`) }, ports: ports.map((p, i) => ({ config: `${name}-${i}.json`, device: { type: "tap", name: p.tap } })) };
    ports.forEach((p, i) => writeFileSync(join(dir, `${name}-${i}.json`), JSON.stringify(p.config)));
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(cfg));
    const p = spawn("node", [bin, "sled", "--config", join(dir, `${name}.json`), "--state-dir", join(dir, `${name}-state`)], { cwd: root });
    procs.push(p);
    apis[name] = await new Promise<string>((resolve, reject) => {
      let out = "";
      p.stdout!.on("data", (d) => { out += d; const m = /"api":"(unix:[^"]+)"/.exec(out); if (m) resolve(m[1]); });
      p.stderr!.on("data", (d) => { out += d; });
      p.on("exit", (c) => reject(new Error(`${name} exited ${c}: ${out}`)));
      setTimeout(() => reject(new Error(`${name}: no API line: ${out}`)), 15_000);
    });
  }

  beforeAll(async () => {
    const webA = guestPort("web-a", "a8:40:25:f0:00:05", "172.30.0.5", "fd00:1024::5", A, [
      { ip: "172.30.0.6", mac: "a8:40:25:f0:00:06", underlay: B }, { ip: "fd00:1024::6", mac: "a8:40:25:f0:00:06", underlay: B }]);
    const webB = guestPort("web-b", "a8:40:25:f0:00:06", "172.30.0.6", "fd00:1024::6", B, [
      { ip: "172.30.0.5", mac: "a8:40:25:f0:00:05", underlay: A }, { ip: "fd00:1024::5", mac: "a8:40:25:f0:00:05", underlay: A }]);
    const stray = guestPort("stray", "a8:40:25:f0:00:09", "172.30.0.9", "fd00:2048::9", B, [], 2048);
    stray.subnet.ipv6 = "fd00:2048::/64"; stray.gateway.ipv6 = "fd00:2048::1";
    await startSled("sled-a", A, uport, B, uport + 1, [{ config: webA, tap: "wva0" }]);
    await startSled("sled-b", B, uport + 1, A, uport, [{ config: webB, tap: "wvb0" }, { config: stray, tap: "wvx0" }]);
    guestNs("wopte-ga", "wva0", "a8:40:25:f0:00:05", "172.30.0.5", "fd00:1024::5");
    guestNs("wopte-gb", "wvb0", "a8:40:25:f0:00:06", "172.30.0.6", "fd00:1024::6");
    guestNs("wopte-gx", "wvx0", "a8:40:25:f0:00:09", "172.30.0.9", "fd00:2048::9");
  }, 60_000);

  afterAll(() => {
    for (const p of procs) p.kill("SIGTERM");
    for (const ns of ["wopte-ga", "wopte-gb", "wopte-gx"]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
  });

  it("pings both ways over IPv4 and IPv6", () => {
    expect(inNs("wopte-ga", "ping", "-c", "2", "-W", "3", "172.30.0.6")).toMatch(/2 received/);
    expect(inNs("wopte-gb", "ping", "-c", "2", "-W", "3", "172.30.0.5")).toMatch(/2 received/);
    expect(inNs("wopte-ga", "ping", "-6", "-c", "2", "-W", "3", "fd00:1024::6")).toMatch(/2 received/);
    expect(inNs("wopte-gb", "ping", "-c", "1", "-W", "3", "172.30.0.1")).toMatch(/1 received/); // the gateway itself
  }, 30_000);

  it("moves a 10 MB file over TCP with a matching checksum", async () => {
    const web = mkdtempSync(join(tmpdir(), "wopte-web-"));
    const data = randomBytes(10 * 1024 * 1024);
    writeFileSync(join(web, "blob"), data);
    const server = serve("wopte-gb", "172.30.0.6", 80, join(web, "blob"));
    try {
      await listening("172.30.0.6", 80);
      const { stdout } = await run("ip", ["netns", "exec", "wopte-ga", "sh", "-c", "curl -s --max-time 30 http://172.30.0.6/blob | sha256sum"], { maxBuffer: 1 << 20 });
      expect(stdout.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
    } finally {
      server.kill("SIGTERM");
    }
  }, 60_000);

  it("a firewall rule change stops new connections and shows in the counters", async () => {
    const server = serve("wopte-gb", "172.30.0.6", 8080);
    try {
      await listening("172.30.0.6", 8080, "wopte-gb");
      const allowed = await run("ip", ["netns", "exec", "wopte-ga", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://172.30.0.6:8080/"]).catch((e) => e);
      expect(allowed.stdout).toBe("000"); // inbound 8080 is not open on web-b: default deny
      await run("node", [bin, "fw", "add", "web-b", "--name", "alt-http", "--direction", "in", "--action", "allow", "--proto", "tcp", "--ports", "8080", "--api", apis["sled-b"]]);
      const ok = await run("ip", ["netns", "exec", "wopte-ga", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://172.30.0.6:8080/"]);
      expect(ok.stdout).toBe("200");
      const before = JSON.parse((await run("node", [bin, "stats", "web-b", "--json", "--api", apis["sled-b"]])).stdout).counters.drops.LayerDeny ?? 0;
      await run("node", [bin, "fw", "rm", "web-b", "alt-http", "--api", apis["sled-b"]]);
      const blocked = await run("ip", ["netns", "exec", "wopte-ga", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", "http://172.30.0.6:8080/"]).catch((e) => e);
      expect(blocked.stdout).toBe("000");
      const after = JSON.parse((await run("node", [bin, "stats", "web-b", "--json", "--api", apis["sled-b"]])).stdout).counters.drops.LayerDeny;
      expect(after).toBeGreaterThan(before);
    } finally {
      server.kill("SIGTERM");
    }
  }, 60_000);

  it("a guest of another VPC cannot reach them", async () => {
    const r = await run("ip", ["netns", "exec", "wopte-gx", "ping", "-c", "2", "-W", "1", "172.30.0.5"]).catch((e) => e);
    expect(String(r.stdout)).toMatch(/0 received/);
    const stats = JSON.parse((await run("node", [bin, "stats", "stray", "--json", "--api", apis["sled-b"]])).stdout);
    expect(stats.counters.drops.NoEncapTarget).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
