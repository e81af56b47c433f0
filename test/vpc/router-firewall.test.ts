// Routing is longest-prefix match; firewall rules run in the users' priority
// order; replies of allowed flows pass; rule changes apply to cached flows.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { compilePort, layerBytes } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { ipFrame, tcp, udp, geneve, TCP_FLAGS } from "../helpers/frames.js";

const base = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77", PEER = "a8:40:25:f0:00:06";
const SLED = "fd00:1122:3344:101::1", PEER_SLED = "fd00:1122:3344:102::1";

async function port(mutate: (c: typeof base) => void = () => {}) {
  const cfg = structuredClone(base);
  mutate(cfg);
  const e = await Engine.load();
  const compiled = compilePort(cfg);
  applyPort(e, 0, compiled);
  return { e, b: e.newBatch(8), compiled, cfg };
}

const out = (dst: string, dport = 80, sport = 40000) =>
  ipFrame(GW, G, "172.30.0.5", dst, 6, tcp("172.30.0.5", dst, sport, dport, TCP_FLAGS.SYN));
const inbound = (src: string, dport: number, sport = 5555) =>
  geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", PEER_SLED, SLED, { vni: 1024 },
    ipFrame(G, PEER, src, "172.30.0.5", 6, tcp(src, "172.30.0.5", sport, dport, TCP_FLAGS.SYN)));

function outerDst(frame: Uint8Array): string {
  return Buffer.from(frame.subarray(38, 54)).toString("hex");
}

describe("router", () => {
  it("prefers the longest prefix: a /32 instance route beats the VPC subnet", async () => {
    const { e, b } = await port((c) => {
      c.routes.push({ dest: "172.30.0.99/32", target: { type: "instance", ip: "172.30.0.6" } });
      c.v2p.push({ ip: "172.30.0.99", mac: "a8:40:25:f0:00:99", underlay: "fd00:1122:3344:109::1" });
    });
    b.set(0, out("172.30.0.99"), 0, Dir.Out);
    b.set(1, out("172.30.0.7"), 0, Dir.Out);
    b.run(2, 1);
    expect(b.verdict(0)).toBe(Verdict.Pass);
    // through the instance 172.30.0.6 on the peer sled, not the .99 mapping
    expect(outerDst(b.output(0))).toBe("fd001122334401020000000000000001");
    expect(reasonName(b.reason(1))).toBe("NoEncapTarget");
    e.destroyPort(0);
  });

  it("drops traffic matching a drop route and traffic with no route", async () => {
    const { b } = await port((c) => {
      c.routes = [{ dest: "203.0.113.0/24", target: { type: "drop" } }];
    });
    b.set(0, out("203.0.113.5"), 0, Dir.Out);
    b.set(1, out("198.18.0.1"), 0, Dir.Out);
    b.run(2, 1);
    expect([reasonName(b.reason(0)), reasonName(b.reason(1))]).toEqual(["Unroutable", "Unroutable"]);
  });
});

describe("firewall", () => {
  it("denies inbound by default and allows what a rule opens", async () => {
    const { b } = await port();
    b.set(0, inbound("172.30.0.6", 22), 0, Dir.In);
    b.set(1, inbound("172.30.0.6", 80), 0, Dir.In);
    b.run(2, 1);
    expect([b.verdict(0), reasonName(b.reason(0)), b.layer(0)]).toEqual([Verdict.Drop, "LayerDeny", 1]);
    expect(b.verdict(1)).toBe(Verdict.Pass);
  });

  it("a higher-priority deny wins over an allow", async () => {
    const { b } = await port((c) => {
      c.firewall.push({ name: "deny-peer", direction: "in", priority: 50, action: "deny", hosts: [{ type: "ip", value: "172.30.0.6" }] });
    });
    b.set(0, inbound("172.30.0.6", 80), 0, Dir.In);
    b.run(1, 1);
    expect(reasonName(b.reason(0))).toBe("LayerDeny");
    expect(b.rule(0)).toBe(4); // the fourth user rule
  });

  it("outbound deny rules stop new flows; changing the rules re-evaluates a cached one", async () => {
    const { e, b, cfg } = await port();
    const frame = ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, 53));
    b.set(0, frame, 0, Dir.Out);
    b.run(1, 1);
    expect(b.verdict(0)).toBe(Verdict.Pass);
    cfg.firewall.push({ name: "no-dns", direction: "out", priority: 10, action: "deny", protocols: ["udp"], ports: [53] });
    e.replaceLayer(0, layerBytes(compilePort(cfg), "firewall"));
    b.set(0, frame, 0, Dir.Out);
    b.run(1, 2);
    expect(reasonName(b.reason(0))).toBe("LayerDeny");
    expect(e.counters(0).drops.LayerDeny).toBe(1);
  });

  it("lets replies of an outbound flow back in without a rule", async () => {
    const { b } = await port();
    b.set(0, ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, 53)), 0, Dir.Out);
    b.set(1, geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", PEER_SLED, SLED, { vni: 1024 },
      ipFrame(G, PEER, "172.30.0.6", "172.30.0.5", 17, udp("172.30.0.6", "172.30.0.5", 53, 5000))), 0, Dir.In);
    b.run(2, 1);
    expect(b.verdict(1)).toBe(Verdict.Pass);
    // the guest sees it from the gateway's MAC
    expect(Buffer.from(b.output(1).subarray(6, 12)).toString("hex")).toBe("a84025ff7777");
  });
});
