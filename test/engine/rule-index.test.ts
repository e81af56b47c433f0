// The rule index must decide exactly as the linear scan it replaced: for any
// rule set (prefixes of every length in both families, port and protocol
// ranges, negations, VNI, meta registers, mapping tables, several values per
// predicate) and any packet, the same rule is the first match in both
// directions — also after rules are inserted and removed one at a time, and
// end to end through processBatch (the rule id a drop reports, the hit counts).
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { Engine } from "../../hosts/engine/engine.js";
import { packageRoot } from "../../hosts/engine/wasm.js";
import { Dir } from "../../hosts/engine/batch.js";
import { encodePortProgram, encodeLayer, encodeLayerEdit, LayerDef, Rule, Predicate, EditStep } from "../../layers/program/encode.js";
import { ipFrame, tcp, udp, icmpEcho, geneve, eth } from "../helpers/frames.js";

const VNI = 77;
const TABLE = 1;
const V4 = ["10.0.0.1", "10.0.0.2", "10.0.1.7", "10.1.2.3", "10.200.0.9", "172.16.5.4", "192.168.1.1", "8.8.8.8"];
const V6 = ["fd00::1", "fd00::2", "fd00:0:0:1::5", "fd00:1122:3344:101::1", "2001:db8::1", "2001:db8:0:0:8000::9"];
const MAPPED = ["10.0.0.2", "10.1.2.3", "fd00::2"]; // destinations with a mapping in TABLE under the port's VNI
const PORTS = [0, 22, 53, 80, 443, 1024, 8080, 65535];
const NONE = 0xffffffff;

// ---- rules ---------------------------------------------------------------------

const v4Prefix = fc.tuple(fc.constantFrom(...V4), fc.oneof(fc.constantFrom(0, 8, 16, 24, 32), fc.integer({ min: 0, max: 32 })))
  .map(([a, l]) => `${a}/${l}`);
const v6Prefix = fc.tuple(fc.constantFrom(...V6), fc.oneof(fc.constantFrom(0, 16, 48, 64, 65, 96, 128), fc.integer({ min: 0, max: 128 })))
  .map(([a, l]) => `${a}/${l}`);
const prefixes = fc.array(fc.oneof({ weight: 3, arbitrary: v4Prefix }, { weight: 1, arbitrary: v6Prefix }), { minLength: 1, maxLength: 3 });
const range = (lo: number, hi: number) => fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi }))
  .map(([a, b]): [number, number] => [Math.min(a, b), Math.max(a, b)]);
const portValue = fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 65535 }), range(0, 70000), range(1000, 1100));
const protoValue = fc.oneof(fc.constantFrom(1, 6, 17, 47, 58), range(0, 300));
const values = <T>(v: fc.Arbitrary<T>) => fc.array(v, { minLength: 1, maxLength: 3 });
const not = fc.constantFrom(false, false, false, false, true);

const predicate: fc.Arbitrary<Predicate> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ field: fc.constantFrom("srcIp" as const, "dstIp" as const), prefixes, not }) },
  { weight: 3, arbitrary: fc.record({ field: fc.constant("proto" as const), values: values(protoValue), not }) },
  { weight: 4, arbitrary: fc.record({ field: fc.constantFrom("srcPort" as const, "dstPort" as const), values: values(portValue), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("icmpType" as const), values: values(fc.constantFrom(0, 8, 128, 129)), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("vni" as const), values: values(fc.constantFrom(VNI, 5)), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("dstMapped" as const), values: fc.constant([TABLE]), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("meta0" as const), values: values(fc.integer({ min: 0, max: 3 })), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("ipVersion" as const), values: values(fc.constantFrom(4, 6)), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("tcpFlags" as const), masks: fc.constant([{ mask: 0x12, want: 0x02 }]), not }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant("flowHash" as const), values: values(range(0, 0xffffffff)), not }) },
);

let nextId = 1;
const rule: fc.Arbitrary<Rule> = fc.record({
  priority: fc.integer({ min: 0, max: 6 }),
  dir: fc.constantFrom("in" as const, "out" as const, "both" as const),
  predicates: fc.array(predicate, { maxLength: 5 }),
}).map((r) => ({ ...r, id: nextId++, action: { kind: "deny" as const } }));

// ---- packets -------------------------------------------------------------------

interface Packet { frame: Uint8Array; encap: boolean; flowHash: number; meta0: number }

function arp(spa: string, tpa: string): Uint8Array {
  const b = new Uint8Array(28);
  b.set([0, 1, 8, 0, 6, 4, 0, 1], 0);
  b.set(spa.split(".").map(Number), 14);
  b.set(tpa.split(".").map(Number), 24);
  return eth("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806, b);
}

const packet: fc.Arbitrary<Packet> = fc.record({
  v6: fc.boolean(),
  src: fc.nat(), dst: fc.nat(),
  kind: fc.constantFrom("tcp", "udp", "icmp", "gre", "arp", "tcp", "udp"),
  sport: fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 65535 })),
  dport: fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 65535 })),
  syn: fc.boolean(),
  encap: fc.constantFrom(false, false, true),
  vni: fc.constantFrom(VNI, 5),
  external: fc.boolean(),
  flowHash: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffffffff })),
  meta0: fc.integer({ min: 0, max: 3 }),
}).map((p): Packet => {
  const pool = p.v6 && p.kind !== "arp" ? V6 : V4;
  const src = pool[p.src % pool.length], dst = pool[p.dst % pool.length];
  const l4 = p.kind === "tcp" ? tcp(src, dst, p.sport, p.dport, p.syn ? 0x02 : 0x10)
    : p.kind === "udp" ? udp(src, dst, p.sport, p.dport)
    : p.kind === "icmp" ? icmpEcho(src, dst, true, p.sport, 1) : new Uint8Array(8);
  const proto = { tcp: 6, udp: 17, icmp: p.v6 ? 58 : 1, gre: 47, arp: 0 }[p.kind];
  const inner = p.kind === "arp" ? arp(src, dst) : ipFrame("02:00:00:00:00:02", "02:00:00:00:00:01", src, dst, proto, l4);
  const frame = p.encap ? geneve("02:00:00:00:0a:01", "02:00:00:00:0a:02", "fd00:99::1", "fd00:99::2", { vni: p.vni, external: p.external }, inner) : inner;
  return { frame, encap: p.encap, flowHash: p.flowHash, meta0: p.meta0 };
});

// ---- the engine ------------------------------------------------------------------

let e: Engine;
beforeAll(async () => {
  e = await Engine.load(join(packageRoot(), "build", "engine-testing.wasm"));
  e.createPort(0, { vni: VNI, flowCapacity: 64, netEncap: false, underlayIp: "fd00::1", underlayMac: "02:00:00:00:00:aa", nextHopMac: "02:00:00:00:00:bb", mtu: 9000 });
  for (const ip of MAPPED) e.mapSet(TABLE, VNI, ip, 0, 65535, { encapVni: VNI, underlay: "fd00:99::9", mac: "02:00:00:00:00:99" });
  e.setPortState(0, "running");
});

const layerOf = (rules: Rule[]): LayerDef => ({ name: "policy", defaultIn: "deny", defaultOut: "deny", rules });

/** [index, scan] first-match positions of layer 0 for the packet in direction dir. */
function decide(p: Packet, dir: number): [number, number] {
  const x = e.x as unknown as Record<string, (...a: number[]) => number>;
  e.u8.set(p.frame, x.scratchPtr());
  const at = (scan: number) => x.ruleMatchAt(0, 0, dir, p.frame.length, p.encap ? 1 : 0, scan, p.flowHash, p.meta0) >>> 0;
  return [at(0), at(1)];
}

const stats = { compared: 0, matched: 0 };
function expectSameDecisions(packets: Packet[]): void {
  for (const p of packets) {
    for (const dir of [Dir.In, Dir.Out]) {
      const [index, scan] = decide(p, dir);
      expect(index).toBe(scan);
      stats.compared++;
      if (scan !== NONE) stats.matched++;
    }
  }
}

describe("the rule index", () => {
  it("finds the same first match as the scan for random rule sets and packets", () => {
    fc.assert(fc.property(fc.array(rule, { minLength: 0, maxLength: 60 }), fc.array(packet, { minLength: 1, maxLength: 25 }), (rules, packets) => {
      e.loadProgram(0, encodePortProgram([layerOf(rules)]));
      expectSameDecisions(packets);
    }), { numRuns: 300 });
    // the generators make rules that match: the comparison is not of two "no match"es
    expect(stats.matched).toBeGreaterThan(stats.compared / 10);
  });

  it("finds the same first match with many rules sharing few boxes (leaves that cannot split)", () => {
    fc.assert(fc.property(fc.array(rule, { minLength: 1, maxLength: 8 }), fc.array(packet, { minLength: 1, maxLength: 20 }), (few, packets) => {
      const rules = Array.from({ length: 300 }, (_, i) => ({ ...few[i % few.length], id: 5000 + i, priority: (i * 7) % 5 }));
      e.loadProgram(0, encodePortProgram([layerOf(rules)]));
      expectSameDecisions(packets);
    }), { numRuns: 40 });
  });

  it("keeps deciding as the scan while single rules are inserted and removed, and the layer's bytes stay the edited program", () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant("insert" as const), at: fc.nat(), rule }),
      fc.record({ op: fc.constant("remove" as const), at: fc.nat() }),
    );
    fc.assert(fc.property(fc.array(rule, { maxLength: 80 }), fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }),
      fc.array(packet, { minLength: 1, maxLength: 10 }), (initial, edits, packets) => {
        const model = [...initial];
        e.loadProgram(0, encodePortProgram([layerOf(model)]));
        for (const edit of edits) {
          const steps: EditStep[] = [];
          for (const s of edit) {
            if (s.op === "insert") {
              const position = s.at % (model.length + 1);
              model.splice(position, 0, s.rule);
              steps.push({ op: "insert", position, rule: s.rule });
            } else if (model.length) {
              const position = s.at % model.length;
              model.splice(position, 1);
              steps.push({ op: "remove", position });
            }
          }
          e.editLayer(0, 0, encodeLayerEdit(steps));
          expect(Buffer.from(e.layerBytes(0, 0)).equals(Buffer.from(encodeLayer(layerOf(model))))).toBe(true);
          expectSameDecisions(packets);
        }
      }), { numRuns: 150 });
  });

  it("keeps deciding as the scan when insertions at one place run out of sequence numbers", () => {
    // 40 insertions at position 1 halve the gap between rules 0 and 1 each time: the sequences are renumbered on the way
    const base: Rule[] = [
      { id: 1, dir: "out", priority: 3, predicates: [{ field: "dstPort", values: [80] }], action: { kind: "deny" } },
      { id: 2, dir: "out", priority: 3, predicates: [{ field: "proto", values: [6] }], action: { kind: "deny" } },
    ];
    const model = [...base];
    e.loadProgram(0, encodePortProgram([layerOf(model)]));
    const frame = ipFrame("02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1", "10.0.0.2", 6, tcp("10.0.0.1", "10.0.0.2", 1000, 443, 0x02));
    for (let i = 0; i < 40; i++) {
      const r: Rule = { id: 100 + i, dir: "out", priority: 3, predicates: [{ field: "dstPort", values: [443 + (i % 2)] }], action: { kind: "deny" } };
      model.splice(1, 0, r);
      e.editLayer(0, 0, encodeLayerEdit([{ op: "insert", position: 1, rule: r }]));
      const [index, scan] = decide({ frame, encap: false, flowHash: 0, meta0: 0 }, Dir.Out);
      expect(index).toBe(scan);
      expect(model[scan].id).toBe(i % 2 === 0 ? 100 + i : 100 + i - 1); // the latest rule for port 443 inserted at 1 comes first
    }
    expect(Buffer.from(e.layerBytes(0, 0)).equals(Buffer.from(encodeLayer(layerOf(model))))).toBe(true);
  });

  it("reports the same deciding rule ids and hit counts through processBatch as the scan", () => {
    const b = e.newBatch(1);
    fc.assert(fc.property(fc.array(rule, { minLength: 1, maxLength: 40 }), fc.array(packet.filter((p) => !p.encap), { minLength: 1, maxLength: 12 }), (rules, packets) => {
      const run = (scan: boolean) => {
        e.setRuleScan(scan);
        e.loadProgram(0, encodePortProgram([layerOf(rules)]));
        const ids = packets.map((p) => { b.set(0, p.frame, 0, Dir.Out); b.run(1, 1); return [b.verdict(0), b.rule(0)]; });
        return { ids, hits: e.layers(0)[0].rules.map((r) => r.hits) };
      };
      try {
        expect(run(false)).toEqual(run(true));
      } finally {
        e.setRuleScan(false);
      }
    }), { numRuns: 100 });
  });

  it("refuses edits it cannot make, leaving the layer as it was", () => {
    const rules: Rule[] = [{ id: 1, dir: "out", priority: 1, predicates: [], action: { kind: "deny" } }];
    e.loadProgram(0, encodePortProgram([layerOf(rules)]));
    const before = e.layerBytes(0, 0);
    const r: Rule = { id: 2, dir: "out", priority: 0, predicates: [], action: { kind: "deny" } };
    expect(() => e.editLayer(0, 0, encodeLayerEdit([{ op: "insert", position: 2, rule: r }]))).toThrow(/BadLength|out of range/);
    // the second step is out of range once the first has removed the only rule: nothing happens
    expect(() => e.editLayer(0, 0, encodeLayerEdit([{ op: "remove", position: 0 }, { op: "remove", position: 0 }]))).toThrow(/BadLength|out of range/);
    expect(() => e.editLayer(0, 1, encodeLayerEdit([{ op: "remove", position: 0 }]))).toThrow(/BadLength|out of range/);
    const bad = encodeLayerEdit([{ op: "insert", position: 0, rule: r }]);
    bad[16 + 2] = 9; // the rule's direction
    expect(() => e.editLayer(0, 0, bad)).toThrow(/BadVersion|version/);
    expect(Buffer.from(e.layerBytes(0, 0)).equals(Buffer.from(before))).toBe(true);
  });
});
