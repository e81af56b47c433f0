// Bounds on what a client can make a host hold: a body over the limit is
// refused before it is read (or as soon as it passes the limit, when its
// length is not declared), a body or header that trickles in is cut off, a
// host serves a bounded number of requests at once, captures are capped in
// bytes and end when their client leaves, and a flood of oversized uploads
// leaves a real `wopte sled`'s peak RSS where it was.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { connect, Socket } from "node:net";
import { spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { needs } from "../helpers/tools.js";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startSled, raw, requestBytes, portOf, Running } from "../helpers/api-hosts.js";
import { examplePortJson } from "../helpers/example-port.js";
import { Capture, CapturePoint } from "../../hosts/sled/capture.js";
import type { SledHost } from "../../hosts/sled/sled.js";
import type { SledApi } from "../../hosts/sled/api.js";

const root = new URL("../../", import.meta.url).pathname;
const real = needs("built");

/** Send a chunked body of `total` bytes (64 KiB at a time) and resolve with the answer, or status 0 if the host cut us off. */
function chunked(to: { port: number } | { path: string }, head: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const s: Socket = "port" in to ? connect(to.port, "127.0.0.1") : connect(to.path);
    const piece = Buffer.alloc(65536, 0x20);
    let sent = 0, got = "";
    s.on("connect", () => {
      s.write(head + "Transfer-Encoding: chunked\r\n\r\n");
      const pump = () => {
        while (sent < total && !s.destroyed) {
          sent += piece.length;
          s.write(`${piece.length.toString(16)}\r\n`);
          s.write(piece);
          if (!s.write("\r\n")) { s.once("drain", pump); return; }
        }
        if (!s.destroyed) s.write("0\r\n\r\n");
      };
      pump();
    });
    s.on("data", (d) => { got += d; });
    s.on("error", () => { /* reset by the host: expected when it cuts us off */ });
    s.on("close", () => resolve({ status: Number(got.split(" ")[1]) || 0, body: got }));
  });
}

describe("request bounds on a sled host", () => {
  let s: Running<SledHost, SledApi>;
  beforeAll(async () => { s = await startSled({ limits: { bodyBytes: 64 * 1024, bodyTimeoutMs: 500, headersTimeoutMs: 500, maxConcurrent: 4 } }); });
  afterAll(async () => { await s.close(); });
  const head = (target: string, extra = "") => `PUT ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tcp.admin}\r\nContent-Type: application/json\r\n${extra}`;

  it("refuses a declared length over the limit before reading a byte of it", async () => {
    const r = await raw({ port: portOf(s.tcp) }, head("/ports/web-a/firewall", `Content-Length: ${64 * 1024 * 1024}\r\n`) + "\r\n");
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error).toMatch(/limit here is 65536/);
  });

  it("cuts off an undeclared body as it passes the limit", async () => {
    const r = await chunked({ port: portOf(s.tcp) }, head("/ports/web-a/firewall"), 16 * 1024 * 1024);
    expect(r.status).toBe(413);
  });

  it("cuts off a body that trickles in, and headers that do", async () => {
    const slow = await raw({ port: portOf(s.tcp) }, requestBytes("PUT", "/ports/web-a/state", { token: s.tcp.admin, body: JSON.stringify({ state: "paused" }) }),
      { trickleMs: 100, timeoutMs: 20_000 });
    expect([408, 0]).toContain(slow.status);
    expect(s.host.engine.portState(s.host.port("web-a").id)).toBe("running");
    const slowHeaders = await raw({ port: portOf(s.tcp) }, requestBytes("GET", "/health", { token: s.tcp.admin }), { trickleMs: 100, timeoutMs: 20_000 });
    expect(slowHeaders.status).toBe(408);
  }, 30_000);

  it("answers 503 past the cap on requests at once, and serves again once they end", async () => {
    // four requests hold their slots, their bodies never coming
    const held: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const c = connect(portOf(s.tcp), "127.0.0.1");
      c.on("error", () => {});
      c.write(head("/ports/web-a/firewall", "Content-Length: 100\r\n") + "\r\n");
      held.push(c);
    }
    const deadline = Date.now() + 5000;
    while (s.api.server.stats.inFlight < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const r = await raw({ port: portOf(s.tcp) }, requestBytes("GET", "/health", { token: s.tcp.admin }));
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBe("1");
    for (const c of held) c.destroy();
    while (s.api.server.stats.inFlight > 0 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 10));
    expect((await raw({ port: portOf(s.tcp) }, requestBytes("GET", "/health", { token: s.tcp.admin }))).status).toBe(200);
  });

  it("ends a capture whose client went away, freeing the port for the next", async () => {
    const c = connect(s.socket);
    c.on("error", () => {});
    c.write(requestBytes("GET", "/ports/web-a/capture?seconds=600"));
    const deadline = Date.now() + 5000;
    while (!s.host.port("web-a").capture && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(s.host.port("web-a").capture).toBeDefined();
    c.destroy();
    while (s.host.port("web-a").capture && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(s.host.port("web-a").capture).toBeUndefined();
  });
});

describe("capture caps", () => {
  it("ends at its byte budget", async () => {
    const c = new Capture(1000, 60_000, () => {}, 3000);
    for (let i = 0; i < 5; i++) c.add(CapturePoint.FromGuest, new Uint8Array(1400));
    const pcap = await c.done;
    // two 1400-byte frames fit; the third would pass 3000 bytes and ended it
    expect(pcap.length).toBeGreaterThan(2800);
    expect(pcap.length).toBeLessThan(4200);
  });

  it("runs a bounded number at once on a host", async () => {
    const s = await startSled({ limits: { captures: 1 } });
    try {
      const c = examplePortJson();
      c.name = "web-b"; c.guest.mac = "a8:40:25:f0:00:06";
      await s.host.addPort(c, new (await import("../../hosts/sled/devices.js")).MemoryDevice("vnic-b"));
      const first = raw({ path: s.socket }, requestBytes("GET", "/ports/web-a/capture?seconds=2&max=1"));
      const deadline = Date.now() + 5000;
      while (!s.host.port("web-a").capture && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const second = await raw({ path: s.socket }, requestBytes("GET", "/ports/web-b/capture?seconds=1"));
      expect(second.status).toBe(503);
      expect((await first).status).toBe(200);
    } finally { await s.close(); }
  });
});

describe(real.title("a real sled host under a flood of oversized uploads"), real.options, () => {
  let p: ChildProcess | undefined;
  afterAll(() => { p?.kill("SIGTERM"); });

  it("keeps its peak RSS bounded and answers after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-rss-"));
    writeFileSync(join(dir, "port-a.json"), JSON.stringify(examplePortJson()));
    writeFileSync(join(dir, "sled.json"), JSON.stringify({
      name: "sled-rss", underlay: { address: "fd00:1122:3344:101::1", bind: { host: "::1", port: 0 } },
      api: { socket: join(dir, "sled.sock") }, ports: [{ config: "port-a.json" }],
    }));
    p = spawn("node", [join(root, "bin", "wopte.js"), "sled", "--config", join(dir, "sled.json"), "--state-dir", join(dir, "state")], { cwd: root });
    await new Promise<void>((resolve, reject) => {
      let out = "";
      p!.stdout!.on("data", (d) => { out += d; if (out.includes("sled host running")) resolve(); });
      p!.on("exit", (code) => reject(new Error(`sled exited ${code}: ${out}`)));
    });
    const status = () => readFileSync(`/proc/${p!.pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status())![1]);
    const before = kb("VmRSS");
    const sock = { path: join(dir, "sled.sock") };
    const headFor = (extra: string) => `POST /ports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}`;
    // what took the old host to 1.26 GB: many 64 MiB bodies at once, declared and undeclared
    const results = await Promise.all([
      ...Array.from({ length: 8 }, () => raw(sock, headFor(`Content-Length: ${64 * 1024 * 1024}\r\n`) + "\r\n")),
      ...Array.from({ length: 8 }, () => chunked(sock, headFor(""), 64 * 1024 * 1024)),
    ]);
    expect(results.filter((r) => r.status !== 413 && r.status !== 0).map((r) => r.body.slice(-200))).toEqual([]);
    const peakGrowthMiB = (kb("VmHWM") - before) / 1024;
    console.log(`sled RSS ${(before / 1024).toFixed(0)} MiB before, peak ${(kb("VmHWM") / 1024).toFixed(0)} MiB after 16 × 64 MiB uploads`);
    expect(peakGrowthMiB).toBeLessThan(128);
    expect((await raw(sock, requestBytes("GET", "/health"))).status).toBe(200);
  }, 60_000);
});
