// The port config: users get every problem at once, each with its path.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { parsePortConfig, ConfigError } from "../../layers/vpc/config.js";
import { compilePort } from "../../layers/vpc/compile.js";

const good = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));

function issues(json: unknown): string[] {
  try { parsePortConfig(json); } catch (e) { if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`); throw e; }
  return [];
}

describe("port config validation", () => {
  it("accepts the example and fills defaults", () => {
    const c = parsePortConfig(good);
    expect(c.firewall[0].hosts).toEqual([]);
    expect(c.limits.flows).toBe(8192);
  });

  it("names the path and the reason of each problem", () => {
    const bad = structuredClone(good);
    bad.guest.mac = "not-a-mac";
    bad.subnet.ipv4 = "172.30.0.0/33";
    bad.firewall[0].ports = ["90-80"];
    bad.vni = 99;
    const got = issues(bad);
    expect(got).toContain("guest.mac: expected a MAC address like a8:40:25:00:00:01");
    expect(got.some((s) => s.startsWith("subnet.ipv4:"))).toBe(true);
    expect(got).toContain("firewall.0.ports.0: port range out of order: 90-80");
    expect(got).toContain("vni: VNI 99 is reserved for boundary services");
  });

  it("takes an ephemeral IP per family, not two of one, and internet gateway sets", () => {
    const two = structuredClone(good);
    two.externalIps.ephemeral = ["198.51.100.30", { ip: "2001:db8::30", igw: [0, 3] }];
    expect(issues(two)).toEqual([]);
    two.externalIps.ephemeral = ["198.51.100.30", "198.51.100.31"];
    expect(issues(two)).toContain("externalIps.ephemeral: one ephemeral IP per address family");
    two.externalIps.ephemeral = { ip: "198.51.100.30", igw: [] };
    expect(issues(two).some((i) => i.startsWith("externalIps.ephemeral"))).toBe(true);
  });

  it("refuses unknown fields at any depth, naming them (a misspelt key must not leave a port open)", () => {
    const bad = structuredClone(good);
    bad.firewal = [];
    bad.guest.extra = { deeply: { nested: 1 } };
    bad.firewall[0].prot = ["tcp"];
    const got = issues(bad);
    expect(got.find((s) => s.startsWith(': unknown field "firewal"'))).toMatch(/\(fields here: .*\bfirewall\b/);
    expect(got.some((s) => s.startsWith("guest:") && /extra/.test(s))).toBe(true);
    expect(got.some((s) => s.startsWith("firewall.0:") && /prot/.test(s))).toBe(true);
  });

  it("refuses routes, subnets and names carrying text after the value", () => {
    const bad = structuredClone(good);
    bad.routes = [{ dest: "10.9.0.0/16/../../etc/passwd", target: { type: "drop" } }];
    bad.subnet.ipv4 = "172.30.0.0/22\nprotocol kernel {}";
    bad.name = "web-a\n";
    const got = issues(bad);
    expect(got.some((s) => s.startsWith("routes.0.dest:"))).toBe(true);
    expect(got.some((s) => s.startsWith("subnet.ipv4:"))).toBe(true);
    expect(got.some((s) => s.startsWith("name:"))).toBe(true);
  });

  it("requires a boundary when external IPs or an internet gateway are used", () => {
    const bad = structuredClone(good);
    delete bad.boundary;
    expect(issues(bad)).toContain("boundary: required when the port has external IPs");
  });

  it("requires the subnet and gateway of each address family the guest has", () => {
    const bad = structuredClone(good);
    delete bad.subnet.ipv6;
    delete bad.gateway.ipv6;
    expect(issues(bad)).toEqual(expect.arrayContaining([
      "subnet.ipv6: required when the guest has an IPv6 address",
      "gateway.ipv6: required when the guest has an IPv6 address",
    ]));
  });

  it("compiles to five layers in outbound order with the SNAT pool and mappings", () => {
    const p = compilePort(good);
    expect(p.layers.map((l) => l.name)).toEqual(["gateway", "firewall", "router", "nat", "overlay"]);
    expect(p.natPools).toEqual([{ pool: 0, ip: "198.51.100.10", firstPort: 16384, lastPort: 32767 }]);
    expect(p.mappings.map((m) => [m.table, m.ip])).toEqual([[1, "172.30.0.6"], [1, "fd00:1024::6"], [2, "::"]]);
  });

});
