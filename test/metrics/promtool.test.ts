// Every host's /metrics by the book: `promtool check metrics` (Debian
// `prometheus`) finds nothing to complain about, the process and Node.js
// metrics carry their standard names, traffic is `_packets_total` and
// `_bytes_total` on both hosts, each SNAT pool has its usage and capacity,
// and the drops the hosts count outside the engine are there too.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { SledApi } from "../../hosts/sled/api.js";
import { listenTcp } from "../helpers/api.js";
import { GatewayHost } from "../../hosts/gateway/gateway.js";
import { GatewayApi } from "../../hosts/gateway/api.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { MemoryUnderlay } from "../helpers/memory-underlay.js";
import { examplePortJson, GUEST_MAC, GATEWAY_MAC } from "../helpers/example-port.js";
import { ipFrame, icmpEcho, udp } from "../helpers/frames.js";
import { dashboard, queries, metricNames, asPromql } from "./dashboard.js";
import { requireOrSkip } from "../helpers/tools.js";


/** promtool's complaints about a metrics page (empty when it passes). */
function promtoolCheck(text: string): string {
  requireOrSkip("promtool");
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return r.status === 0 ? "" : `${r.stdout}${r.stderr}`.trim() || `promtool exited ${r.status}`;
}

const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
};

describe("sled metrics", () => {
  let host: SledHost, api: SledApi, base: string;
  const underlay = new MemoryUnderlay();
  const guest = new MemoryDevice("vnic-a");

  beforeAll(async () => {
    host = await SledHost.create({ name: "sled-a", underlay, underlayAddress: "fd00:1122:3344:101::1" });
    const c = examplePortJson();
    // two internet gateways, a SNAT pool each: both pools must show
    c.externalIps = { snat: [{ ip: "198.51.100.10", firstPort: 16384, lastPort: 32767, igw: 0 }, { ip: "198.51.100.11", firstPort: 1024, lastPort: 2047, igw: 1 }], floating: [] };
    c.routes = [{ dest: "0.0.0.0/0", target: { type: "internetGateway", id: 0 } }, { dest: "203.0.113.0/24", target: { type: "internetGateway", id: 1 } }];
    await host.addPort(c, guest);
    api = new SledApi({ host });
    // metrics opened to scrapers without a token (api.tcp.openMetrics), as Prometheus reads them
    ({ base } = await listenTcp(api, { openMetrics: true }));
    // traffic: a ping through each SNAT pool, a frame too big for the engine, an underlay frame for nobody
    guest.inject([ipFrame(GATEWAY_MAC, GUEST_MAC, "172.30.0.5", "192.0.2.9", 1, icmpEcho("172.30.0.5", "192.0.2.9", true, 7, 1))]);
    guest.inject([ipFrame(GATEWAY_MAC, GUEST_MAC, "172.30.0.5", "203.0.113.9", 17, udp("172.30.0.5", "203.0.113.9", 5000, 53, new Uint8Array(8)))]);
    guest.inject([new Uint8Array(10_000)]);
    underlay.inject([new Uint8Array(20)]);
    const deadline = Date.now() + 5000;
    while (underlay.sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(async () => { await api.close(); await host.close(); });

  it("passes promtool check metrics", async () => {
    expect(promtoolCheck(await (await fetch(`${base}/metrics`)).text())).toBe("");
  });

  it("exports the process and Node.js metrics under their standard names", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).not.toContain("wopte_node_");
    expect(text).not.toMatch(/^# TYPE \S+_total (gauge|histogram|summary)/m);
  });

  it("names traffic _packets_total and _bytes_total, by the side it came from", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, "wopte_port_packets_total", { port: "web-a", from: "guest" })).toBe(2);
    expect(sample(text, "wopte_port_bytes_total", { port: "web-a", from: "guest" })).toBeGreaterThan(60);
    expect(sample(text, "wopte_port_packets_total", { port: "web-a", from: "network" })).toBe(0);
    expect(text).not.toMatch(/_pkts_/);
  });

  it("shows every SNAT pool's ports in use beside its capacity", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, "wopte_port_nat_ports_in_use", { port: "web-a", pool: "0", ip: "198.51.100.10" })).toBe(1);
    expect(sample(text, "wopte_port_nat_ports_capacity", { port: "web-a", pool: "0" })).toBe(32767 - 16384 + 1);
    expect(sample(text, "wopte_port_nat_ports_in_use", { port: "web-a", pool: "1", ip: "198.51.100.11" })).toBe(1);
    expect(sample(text, "wopte_port_nat_ports_capacity", { port: "web-a", pool: "1" })).toBe(1024);
  });

  it("exports the host's own drops (pump and underlay) beside the engine's", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, "wopte_sled_pump_dropped_packets_total", { reason: "oversize" })).toBe(1);
    expect(sample(text, "wopte_sled_underlay_dropped_packets_total", { reason: "malformed" })).toBe(1);
    expect(sample(text, "wopte_sled_underlay_dropped_packets_total", { reason: "unknownDestination" })).toBe(0);
    expect(sample(text, "wopte_underlay_transmit_packets_total")).toBe(2);
    expect(text).toContain("# TYPE wopte_port_dropped_packets_total counter");
    expect(text).toContain("# TYPE wopte_engine_batch_seconds histogram");
  });

  it("has every metric the Grafana dashboard queries", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const exists = (name: string) => families.has(name) ||
      (/_(bucket|sum|count)$/.test(name) && families.get(name.replace(/_(bucket|sum|count)$/, "")) === "histogram");
    const names = [...new Set(queries(dashboard()).flatMap(metricNames))];
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !exists(n))).toEqual([]);
  });
});

describe("gateway metrics", () => {
  let gw: GatewayHost, api: GatewayApi, base: string;
  const underlay = new MemoryUnderlay();
  const external = new MemoryDevice("ext0");

  beforeAll(async () => {
    gw = await GatewayHost.create({
      name: "gw", underlay, underlayAddress: "fd00:1122:3344:1::1", underlayMac: "02:08:20:bb:00:01", underlayNextHopMac: "02:08:20:ff:ff:01",
      external, boundary: { externalMac: "02:00:5e:00:53:01", nextHopMac: "02:00:5e:00:53:fe", ownedPrefixes: ["198.51.100.0/24"], externalIpv4: "198.51.100.1" },
    });
    await gw.addNat({ ip: "198.51.100.10", firstPort: 16384, lastPort: 32767, sled: "fd00:1122:3344:101::1", vni: 1024, mac: GUEST_MAC });
    api = new GatewayApi(gw);
    // metrics opened to scrapers without a token (api.tcp.openMetrics), as Prometheus reads them
    ({ base } = await listenTcp(api, { openMetrics: true }));
    // a frame from outside for an address nobody maps: dropped by the engine
    external.inject([ipFrame("02:00:5e:00:53:01", "02:00:5e:00:53:fe", "203.0.113.10", "198.51.100.99", 17, udp("203.0.113.10", "198.51.100.99", 53, 5000, new Uint8Array(8)))]);
    external.inject([new Uint8Array(10_000)]);
    const deadline = Date.now() + 5000;
    while (gw.engine.counters(0).pktsOut < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(async () => { await api.close(); await gw.close(); });

  it("passes promtool check metrics", async () => {
    expect(promtoolCheck(await (await fetch(`${base}/metrics`)).text())).toBe("");
  });

  it("exports traffic, drops and the NAT table under the sled's naming scheme", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, "wopte_gateway_packets_total", { from: "external" })).toBe(1);
    expect(sample(text, "wopte_gateway_packets_total", { from: "rack" })).toBe(0);
    expect(sample(text, "wopte_gateway_nat_mappings")).toBe(1);
    expect(sample(text, "wopte_gateway_pump_dropped_packets_total", { reason: "oversize" })).toBe(1);
    expect(text).toMatch(/^wopte_gateway_dropped_packets_total\{reason="\w+"\} 1$/m);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(text).toContain("# TYPE wopte_gateway_flow_capacity gauge");
  });
});

describe("the Grafana dashboard (docs/grafana-dashboard.json)", () => {
  const d = dashboard();

  it("is a dashboard Grafana imports: unique panel ids on a 24-column grid, every variable it uses defined", () => {
    expect(d).toMatchObject({ uid: "wopte-sleds", title: expect.any(String), schemaVersion: expect.any(Number) });
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(["row", "timeseries", "table"]).toContain(p.type);
      if (p.type !== "row") expect(p.targets!.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.refId).toMatch(/^[A-Z]$/);
    }
    const defined = new Set(["__rate_interval", ...d.templating.list.map((v) => v.name)]);
    const used = JSON.stringify(d).match(/\$\{?(\w+)/g)!.map((x) => x.replace(/^\$\{?/, ""));
    expect(used.filter((v) => !defined.has(v))).toEqual([]);
  });

  it("shows what wopte top shows: bandwidth and packets each way, flows, NAT use and capacity, drops", () => {
    const all = queries(d).join("\n");
    for (const m of ["wopte_port_bytes_total", "wopte_port_packets_total", "wopte_port_flows", "wopte_port_nat_ports_in_use", "wopte_port_nat_ports_capacity", "wopte_port_dropped_packets_total"]) {
      expect(all).toContain(m);
    }
    const top = d.panels.find((p) => p.type === "table")!;
    expect(top.targets!.map((t) => t.expr).join("\n")).toMatch(/from="network"[\s\S]*from="guest"/);
  });

  it("has queries Prometheus parses (promtool check rules)", () => {
    requireOrSkip("promtool");
    const rules = { groups: [{ name: "dashboard", rules: queries(d).map((q, i) => ({ record: `wopte:dashboard_query_${i}`, expr: asPromql(q) })) }] };
    const dir = mkdtempSync(join(tmpdir(), "wopte-dash-"));
    writeFileSync(join(dir, "rules.yml"), JSON.stringify(rules)); // JSON is YAML
    const r = spawnSync("promtool", ["check", "rules", join(dir, "rules.yml")], { encoding: "utf8" });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
