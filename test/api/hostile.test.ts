// Every request issue 15 found to end a host, store garbage or leak state,
// sent again as the user sent it (raw bytes where fetch would tidy them):
// each is a 4xx naming what is wrong, nothing is stored, and the host answers
// the next request.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { startSled, startGateway, raw, requestBytes, portOf, Running } from "../helpers/api-hosts.js";
import { examplePortJson } from "../helpers/example-port.js";
import type { SledHost } from "../../hosts/sled/sled.js";
import type { SledApi } from "../../hosts/sled/api.js";
import type { GatewayHost } from "../../hosts/gateway/gateway.js";
import type { GatewayApi } from "../../hosts/gateway/api.js";

describe("the sled host refuses what used to hurt it", () => {
  let s: Running<SledHost, SledApi>;
  beforeAll(async () => { s = await startSled(); });
  afterAll(async () => { await s.close(); });
  const send = (method: string, target: string, body?: unknown) =>
    raw({ port: portOf(s.tcp) }, requestBytes(method, target, { token: s.tcp.admin, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) }));
  const alive = async () => expect((await send("GET", "/health")).status).toBe(200);

  it("answers `//[` (the URL parser used to throw outside any try) with a 4xx", async () => {
    const r = await send("GET", "//[");
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    await alive();
  });

  it("answers bad percent-encoding with 400", async () => {
    const r = await send("GET", "/ports/%E0%A4%A");
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/percent-encoding/);
    await alive();
  });

  it("keeps flow logs in its directory: a path is an unknown field, a file name cannot climb out", async () => {
    const bad = await send("PUT", "/ports/web-a/flow-log", { enabled: true, path: "/nonexistent-dir/x.log" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/unknown field "path" \(fields here: enabled, file\)/);
    for (const file of ["../x.log", "/etc/passwd", "a/b", ".hidden", "x\ny"]) {
      expect((await send("PUT", "/ports/web-a/flow-log", { enabled: true, file })).status, file).toBe(400);
    }
    expect(s.host.port("web-a").flowLog).toBeUndefined();
    await alive();
  });

  it("refuses a route with text after its prefix and a subnet with a newline", async () => {
    const routes = structuredClone(s.host.port("web-a").compiled.config.routes);
    const r = await send("POST", "/ports/web-a/routes", { dest: "10.9.0.0/16/../../etc/passwd", target: { type: "drop" } });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/^dest: /);
    const c = examplePortJson();
    c.name = "web-z"; c.guest.mac = "a8:40:25:f0:00:99"; c.subnet.ipv4 = "172.30.0.0/22\nx";
    expect((await send("POST", "/ports", { config: c })).status).toBe(400);
    expect(s.host.port("web-a").compiled.config.routes).toEqual(routes);
    expect([...s.host.ports.keys()]).toEqual(["web-a"]);
  });

  it("refuses a port config with a deeply nested unknown field, names it, and leaks nothing", async () => {
    const c = examplePortJson();
    c.name = "web-b"; c.guest.mac = "a8:40:25:f0:00:06";
    c.dhcp.extra = { a: { b: { c: { d: 1 } } } };
    const r = await send("POST", "/ports", { config: c });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/config\.dhcp: unknown field "extra" \(fields here: /);
    delete c.dhcp.extra;
    const ok = await send("POST", "/ports", { config: c });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ name: "web-b", generation: expect.any(Number) });
    expect((await send("DELETE", "/ports/web-b")).status).toBe(200);
  });

  it("refuses unknown fields (a misspelt firewall) instead of dropping them", async () => {
    const r = await send("POST", "/ports/web-a/firewall", { name: "x", direction: "in", action: "allow", firewal: [] });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/unknown field "firewal" \(fields here: name, direction, .*action/);
  });

  it("answers DELETE /v2p/1024/notanip and snapshot?since=abc with 400", async () => {
    const v = await send("DELETE", "/v2p/1024/notanip");
    expect(v.status).toBe(400);
    expect(JSON.parse(v.body).error).toMatch(/path\.ip/);
    const g = await send("GET", "/ports/web-a/snapshot?since=abc");
    expect(g.status).toBe(400);
    expect(JSON.parse(g.body).error).toMatch(/query\.since/);
    expect((await send("GET", "/ports/web-a/snapshot?sinc=1")).status).toBe(400);
    expect((await send("DELETE", "/v2p/16777216/10.0.0.1")).status).toBe(400);
    await alive();
  });

  it("answers bad JSON, wrong types, a wrong content type and a body where none belongs with 4xx", async () => {
    expect((await send("POST", "/ports", "{not json")).status).toBe(400);
    expect((await send("PUT", "/ports/web-a/state", { state: 1 })).status).toBe(400);
    const nested = "[".repeat(100_000) + "]".repeat(100_000);
    const deep = await send("PUT", "/ports/web-a/firewall", nested);
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.body).error).toMatch(/nests deeper/);
    const t = await raw({ port: portOf(s.tcp) }, requestBytes("PUT", "/ports/web-a/state", { token: s.tcp.admin, body: '{"state":"paused"}', type: "text/plain" }));
    expect(t.status).toBe(415);
    expect((await send("GET", "/ports", "{}")).status).toBe(400);
    expect((await send("PATCH", "/ports")).status).toBe(405);
    expect((await send("GET", "/nope")).status).toBe(404);
    expect(s.host.engine.portState(s.host.port("web-a").id)).toBe("running");
    await alive();
  });

  it("counts flow log write errors in health instead of ending the host from its timer", async () => {
    const s2 = await startSled({ flowLogDir: "/dev" });
    try {
      const r = await raw({ port: portOf(s2.tcp) }, requestBytes("PUT", "/ports/web-a/flow-log", { token: s2.tcp.admin, body: JSON.stringify({ enabled: true, file: "full" }) }));
      expect(r.status).toBe(200);
      const { MemoryDevice } = await import("../../hosts/sled/devices.js");
      const { ipFrame, icmpEcho } = await import("../helpers/frames.js");
      const dev = s2.host.port("web-a").device as InstanceType<typeof MemoryDevice>;
      dev.inject([ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "192.0.2.9", 1, icmpEcho("172.30.0.5", "192.0.2.9", true, 7, 1))]);
      const deadline = Date.now() + 5000;
      let health: { flowLogs: Record<string, { errors: number }> } | undefined;
      while (Date.now() < deadline) {
        health = JSON.parse((await raw({ port: portOf(s2.tcp) }, requestBytes("GET", "/health", { token: s2.tcp.admin }))).body);
        if ((health!.flowLogs["web-a"]?.errors ?? 0) > 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(health!.flowLogs["web-a"]).toMatchObject({ path: "/dev/full", errors: expect.any(Number), lastError: expect.stringMatching(/ENOSPC|space/) });
      expect(health!.flowLogs["web-a"].errors).toBeGreaterThan(0);
    } finally { await s2.close(); }
  });
});

describe("the gateway host refuses what used to hurt it", () => {
  let g: Running<GatewayHost, GatewayApi>;
  beforeAll(async () => { g = await startGateway(); });
  afterAll(async () => { await g.close(); });
  const send = (method: string, target: string, body?: unknown) =>
    raw({ port: portOf(g.tcp) }, requestBytes(method, target, { token: g.tcp.admin, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) }));

  it("answers a path with bad percent-encoding (URIError) with 400", async () => {
    expect((await send("GET", "/%E0%A4%A")).status).toBe(400);
    expect((await send("GET", "//[")).status).toBe(404);
    expect((await send("GET", "/health")).status).toBe(200);
  });

  it("refuses NAT mappings with a VNI over 24 bits, negative or fractional, or a MAC that is not one, storing nothing", async () => {
    const before = g.host.listNat();
    for (const [body, field] of [[{ vni: 2 ** 30 }, "vni"], [{ vni: -5 }, "vni"], [{ vni: 1.5 }, "vni"], [{ mac: "zz" }, "mac"], [{ sled: "10.0.0.1" }, "sled"], [{ extra: 1 }, "extra"]] as const) {
      const r = await send("PUT", "/nat/198.51.100.30/1000/2000", { sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05", ...body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.parse(r.body).error).toContain(field);
    }
    expect((await send("PUT", "/nat/198.51.100.30/2000/1000", { sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" })).status).toBe(400);
    expect((await send("PUT", "/nat/198.51.100.30/1000/70000", { sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" })).status).toBe(400);
    expect(g.host.listNat()).toEqual(before);
    // and the next change goes through
    expect((await send("PUT", "/nat/198.51.100.30/1000/2000", { sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" })).status).toBe(200);
    expect((await send("PUT", "/advertised", ["198.51.100.0/24"])).status).toBe(200);
    expect((await send("DELETE", "/nat/198.51.100.30/1000")).status).toBe(200);
  });

  it("answers 502, naming BIRD's reason, when the routing daemon refuses a change", async () => {
    const { RoutingDaemonError } = await import("../../hosts/gateway/bgp.js");
    const g2 = await startGateway();
    try {
      g2.host.onOwnedPrefixes(() => { throw new RoutingDaemonError("BIRD did not take the new ranges: Connection refused"); });
      const r = await raw({ port: portOf(g2.tcp) }, requestBytes("PUT", "/advertised", { token: g2.tcp.admin, body: JSON.stringify(["203.0.113.0/24"]) }));
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body).error).toMatch(/BIRD did not take/);
      expect((await raw({ port: portOf(g2.tcp) }, requestBytes("GET", "/health", { token: g2.tcp.admin }))).status).toBe(200);
    } finally { await g2.close(); }
  });

  it("refuses an advertised prefix carrying BIRD configuration", async () => {
    const r = await send("PUT", "/advertised", ["198.51.100.0/24/ blackhole; }\nprotocol kernel evil { ipv4 { export all; }; }"]);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/^0: /);
    expect(g.host.ownedPrefixes).toEqual(["198.51.100.0/24"]);
  });
});
