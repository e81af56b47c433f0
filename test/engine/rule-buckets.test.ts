// Rules are kept per protocol class for speed; the first matching rule by
// priority must still win whatever mix of protocol predicates the rules have.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Engine } from "../../hosts/engine/engine.js";
import { Dir } from "../../hosts/engine/batch.js";
import { encodePortProgram, LayerDef, Rule } from "../../layers/program/encode.js";
import { ipFrame, tcp, udp, icmpEcho, TCP_FLAGS } from "../helpers/frames.js";

const PROTOS = [1, 6, 17, 47] as const;
const frames: Record<number, Uint8Array> = {
  1: ipFrame("02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1", "10.0.0.2", 1, icmpEcho("10.0.0.1", "10.0.0.2", true, 1, 1)),
  6: ipFrame("02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1", "10.0.0.2", 6, tcp("10.0.0.1", "10.0.0.2", 1, 2, TCP_FLAGS.SYN)),
  17: ipFrame("02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1", "10.0.0.2", 17, udp("10.0.0.1", "10.0.0.2", 1, 2)),
  47: ipFrame("02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1", "10.0.0.2", 47, new Uint8Array(8)),
};

/** What first-match over the rules in priority order says (the reference). */
function expected(rules: Rule[], proto: number): number {
  const sorted = rules.map((r, i) => ({ r, i })).sort((a, b) => a.r.priority - b.r.priority || a.i - b.i);
  for (const { r } of sorted) {
    const p = r.predicates[0] as { values: (number | [number, number])[]; not?: boolean } | undefined;
    if (!p) return r.id;
    const hit = p.values.some((v) => (typeof v === "number" ? v === proto : v[0] <= proto && proto <= v[1]));
    if (p.not ? !hit : hit) return r.id;
  }
  return 0xfffffffe;
}

describe("rule lists per protocol class", () => {
  it("keep first-match semantics for any mix of protocol predicates", async () => {
    const e = await Engine.load();
    e.createPort(0, { vni: 1, flowCapacity: 64, netEncap: false, underlayIp: "fd00::1", underlayMac: "02:00:00:00:00:aa", nextHopMac: "02:00:00:00:00:bb", mtu: 9000 });
    e.setPortState(0, "running");
    const b = e.newBatch(1);
    const rule = fc.record({
      priority: fc.integer({ min: 0, max: 5 }),
      kind: fc.constantFrom("none", "exact", "range", "negated"),
      proto: fc.constantFrom(1, 6, 17, 47, 58),
      hi: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(fc.property(fc.array(rule, { minLength: 1, maxLength: 8 }), (specs) => {
      const rules: Rule[] = specs.map((s, i) => ({
        id: i + 1, dir: "out", priority: s.priority,
        predicates: s.kind === "none" ? [] : [{ field: "proto", values: s.kind === "range" ? [[Math.min(s.proto, s.hi), Math.max(s.proto, s.hi)]] : [s.proto], not: s.kind === "negated" }],
        action: { kind: "deny" },
      }));
      const layer: LayerDef = { name: "l", defaultIn: "deny", defaultOut: "deny", rules };
      e.loadProgram(0, encodePortProgram([layer]));
      for (const proto of PROTOS) {
        b.set(0, frames[proto], 0, Dir.Out);
        b.run(1, 1);
        expect(b.rule(0)).toBe(expected(rules, proto));
      }
    }), { numRuns: 300 });
  });
});
