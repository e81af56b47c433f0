// Rule programs come from outside the engine, so the engine checks every
// byte before using any (docs/rule-program.md): a broken program is refused
// with a Reason and loading is all-or-nothing — the port keeps the program it
// had, its packets keep their verdicts and its epoch does not move.
import { describe, it, expect } from "vitest";
import { LayerDef, encodePortProgram, encodeLayer } from "../../layers/program/encode.js";
import { EngineError } from "../../hosts/engine/engine.js";
import { reasonName, REASON_COUNT } from "../../hosts/engine/reasons.js";
import { portWith, Dir, GUEST_MAC, GW_MAC, Fixture } from "../helpers/port-fixture.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";

const toPort = (dport: number) => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000 + dport, dport, TCP_FLAGS.SYN));
const toHost7 = () => ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.7", 6, tcp("10.0.0.5", "10.0.0.7", 1, 80, TCP_FLAGS.SYN));

/** What is installed: outbound SSH is denied. */
const installed: LayerDef = {
  name: "fw", defaultIn: "deny", defaultOut: "allow",
  rules: [{ id: 1, dir: "out", priority: 10, predicates: [{ field: "dstPort", values: [22] }], action: { kind: "deny" } }],
};
/** What the broken candidates are made from: telnet denied instead, and traffic to 10.0.0.7 rewritten. */
const candidate: LayerDef = {
  name: "fw", defaultIn: "deny", defaultOut: "allow",
  rules: [
    { id: 1, dir: "out", priority: 10, predicates: [{ field: "dstPort", values: [23] }], action: { kind: "deny" } },
    { id: 2, dir: "out", priority: 20, predicates: [{ field: "dstIp", prefixes: ["10.0.0.7"] }], action: { kind: "modify", set: [{ op: "ipSrc", ip: "10.9.9.9" }] } },
  ],
};

// Offsets into the encoded candidate port program.
const LAYER = 12;                // after the 8-byte program header and the layer's u32 length
const RULE1 = LAYER + 32;        // rule 1: 16-byte header + dstPort predicate (4 + 8)
const RULE2 = RULE1 + 28;        // rule 2: header, dstIp predicate (4 + 20), then one set-op
const RULE2_PRED = RULE2 + 16;
const RULE2_SETOP = RULE2_PRED + 24;

function mutated(f: (b: Uint8Array, dv: DataView) => void): Uint8Array {
  const b = encodePortProgram([candidate]);
  f(b, new DataView(b.buffer));
  return b;
}

/** Load `bytes`; the reason's name if refused, "loaded" if not. */
function tryLoad(fx: Fixture, bytes: Uint8Array, how: "program" | "layer" = "program"): string {
  try {
    if (how === "program") fx.e.loadProgram(0, bytes); else fx.e.replaceLayer(0, bytes);
    return "loaded";
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return reasonName((err as EngineError).reason);
  }
}

/** The installed program is still the one in force. */
function stillInstalled(fx: Fixture, epoch: number): void {
  expect(fx.result(toPort(22), Dir.Out)).toBe("LayerDeny");
  expect(fx.result(toPort(23), Dir.Out)).toBe("pass");
  const r = fx.send(toHost7(), Dir.Out);
  expect(r.reason).toBe("pass");
  expect(r.out.subarray(26, 30)).toEqual(Uint8Array.of(10, 0, 0, 5));
  expect(fx.e.portEpoch(0)).toBe(epoch);
  expect(fx.e.layers(0).map((l) => l.rules.map((x) => x.id))).toEqual([[1]]);
}

const cases: [string, string, (b: Uint8Array, dv: DataView) => void][] = [
  ["a wrong program magic", "BadVersion", (b) => { b[0] ^= 0xff; }],
  ["program version 5", "BadVersion", (_, dv) => dv.setUint16(4, 5, true)],
  ["13 layers (more than the engine holds)", "BadLength", (_, dv) => dv.setUint16(6, 13, true)],
  ["2 layers announced, 1 present", "Truncated", (_, dv) => dv.setUint16(6, 2, true)],
  ["a layer length past the end", "Truncated", (b, dv) => dv.setUint32(8, b.length, true)],
  ["a wrong layer magic", "BadVersion", (b) => { b[LAYER] ^= 1; }],
  ["layer version 0", "BadVersion", (_, dv) => dv.setUint16(LAYER + 4, 0, true)],
  ["a default action that is not allow/deny/statefulAllow", "BadVersion", (b) => { b[LAYER + 24] = 4; }],
  ["3 rules announced, 2 present", "Truncated", (_, dv) => dv.setUint32(LAYER + 28, 3, true)],
  ["70000 rules announced", "BadLength", (_, dv) => dv.setUint32(LAYER + 28, 70000, true)],
  ["a rule size that is not a multiple of 4", "BadHeaderLength", (_, dv) => dv.setUint16(RULE1, 30, true)],
  ["a rule size smaller than its header", "BadHeaderLength", (_, dv) => dv.setUint16(RULE1, 12, true)],
  ["a rule size past the layer", "Truncated", (_, dv) => dv.setUint16(RULE1, 1000, true)],
  ["a rule size too small for its predicates", "Truncated", (_, dv) => dv.setUint16(RULE1, 16, true)],
  ["rule direction 0", "BadVersion", (b) => { b[RULE1 + 2] = 0; }],
  ["rule direction 4", "BadVersion", (b) => { b[RULE1 + 2] = 4; }],
  ["action 0", "BadVersion", (b) => { b[RULE1 + 6] = 0; }],
  ["action 12 (unknown)", "BadVersion", (b) => { b[RULE1 + 6] = 12; }],
  ["action 11 (ToHost) in a version-1 layer", "BadVersion", (b, dv) => { dv.setUint16(LAYER + 4, 1, true); b[RULE1 + 6] = 11; }],
  ["a deny reason beyond the last Reason", "BadVersion", (b) => { b[RULE1 + 7] = REASON_COUNT; }],
  ["predicate field 30 (dstMapped) in a version-2 layer", "BadVersion", (b, dv) => { dv.setUint16(LAYER + 4, 2, true); b[RULE1 + 16] = 30; }],
  ["a dstMapped predicate naming a range of tables", "BadLength", (b, dv) => { b[RULE1 + 16] = 30; dv.setUint32(RULE1 + 24, 24, true); }],
  ["predicate field 0", "BadVersion", (b) => { b[RULE1 + 16] = 0; }],
  ["predicate field 255 (unknown)", "BadVersion", (b) => { b[RULE1 + 16] = 255; }],
  ["a predicate with no values", "BadLength", (_, dv) => dv.setUint16(RULE1 + 18, 0, true)],
  ["a predicate with more values than the rule holds", "Truncated", (_, dv) => dv.setUint16(RULE1 + 18, 2, true)],
  ["more predicates than the rule holds", "Truncated", (b) => { b[RULE1 + 3] = 3; }],
  ["action params past the rule", "Truncated", (_, dv) => dv.setUint16(RULE2 + 12, 24, true)],
  ["params on an action that takes none", "BadLength", (_, dv) => { dv.setUint16(RULE1, 32, true); dv.setUint16(RULE1 + 12, 4, true); }],
  ["an IP set-op with a 4-byte value", "BadLength", (b) => { b[RULE2_SETOP + 1] = 4; }],
  ["an IP set-op with a 20-byte value", "BadLength", (b) => { b[RULE2_SETOP + 1] = 20; }],
  ["set-op 13 (unknown)", "BadLength", (b) => { b[RULE2_SETOP] = 13; }],
  ["set-op 0", "BadLength", (b) => { b[RULE2_SETOP] = 0; }],
  ["a trailing byte", "BadLength", () => {}],
];

describe("rule program validation", () => {
  it("the unbroken candidate loads, and changes the port's behaviour (so the cases below test something)", async () => {
    const fx = await portWith([installed]);
    const ep = fx.e.portEpoch(0);
    expect(tryLoad(fx, encodePortProgram([candidate]))).toBe("loaded");
    expect(fx.e.portEpoch(0)).toBe(ep + 1);
    expect(fx.result(toPort(22), Dir.Out)).toBe("pass");
    expect(fx.result(toPort(23), Dir.Out)).toBe("LayerDeny");
    expect(fx.send(toHost7(), Dir.Out).out.subarray(26, 30)).toEqual(Uint8Array.of(10, 9, 9, 9));
  });

  it("still loads version 2 programs, which the version-3 addition leaves out", async () => {
    const fx = await portWith([installed]);
    const v2 = mutated((_, dv) => { dv.setUint16(4, 2, true); dv.setUint16(LAYER + 4, 2, true); });
    expect(tryLoad(fx, v2)).toBe("loaded");
    expect(fx.result(toPort(23), Dir.Out)).toBe("LayerDeny");
  });

  it("still loads version 1 programs, which the version-2 additions leave out", async () => {
    const fx = await portWith([installed]);
    const v1 = mutated((_, dv) => { dv.setUint16(4, 1, true); dv.setUint16(LAYER + 4, 1, true); });
    expect(tryLoad(fx, v1)).toBe("loaded");
    expect(fx.result(toPort(23), Dir.Out)).toBe("LayerDeny");
  });

  it.each(cases)("refuses %s with %s and keeps the old program", async (_what, reason, f) => {
    const fx = await portWith([installed]);
    fx.result(toPort(22), Dir.Out); // a cached flow that must stay cached
    const ep = fx.e.portEpoch(0);
    let bytes = mutated(f);
    if (_what === "a trailing byte") bytes = Uint8Array.from([...bytes, 0]);
    expect(tryLoad(fx, bytes)).toBe(reason);
    stillInstalled(fx, ep);
    // the same damage inside a single layer passed to replaceLayer (program-level cases aside)
    if (bytes.length > LAYER && !/program|layers|layer length|trailing/.test(_what)) {
      const layer = bytes.slice(LAYER, LAYER + new DataView(bytes.buffer).getUint32(8, true));
      expect(tryLoad(fx, layer, "layer")).toBe(reason);
      stillInstalled(fx, ep);
    }
    expect(fx.e.counters(0).reevaluated).toBe(0);
  });

  it("refuses every truncation of a program", async () => {
    const fx = await portWith([installed]);
    const ep = fx.e.portEpoch(0);
    const good = encodePortProgram([candidate, { ...installed, name: "second" }]);
    const seen = new Set<string>();
    for (let n = 0; n < good.length; n++) seen.add(tryLoad(fx, good.subarray(0, n)));
    expect([...seen].every((r) => r === "Truncated" || r === "BadLength")).toBe(true);
    stillInstalled(fx, ep);
  });

  it("is all-or-nothing across layers: a bad second layer keeps the first from loading", async () => {
    const fx = await portWith([installed]);
    const ep = fx.e.portEpoch(0);
    const second = encodeLayer({ name: "second", defaultIn: "allow", defaultOut: "allow", rules: [] });
    second[24] = 9; // bad default
    const first = encodeLayer(candidate);
    const prog = new Uint8Array(8 + 4 + first.length + 4 + second.length);
    const dv = new DataView(prog.buffer);
    dv.setUint32(0, 0x50504f57, true); dv.setUint16(4, 1, true); dv.setUint16(6, 2, true);
    dv.setUint32(8, first.length, true); prog.set(first, 12);
    dv.setUint32(12 + first.length, second.length, true); prog.set(second, 16 + first.length);
    expect(tryLoad(fx, prog)).toBe("BadVersion");
    stillInstalled(fx, ep);
    second[24] = 1;
    prog.set(second, 16 + first.length);
    expect(tryLoad(fx, prog)).toBe("loaded");
    expect(fx.e.layers(0).map((l) => l.name)).toEqual(["fw", "second"]);
  });

  it("refuses a stateful layer past the 8th: a flow records decisions for 8 layers", async () => {
    const fx = await portWith([installed]);
    const plain = (i: number): LayerDef => ({ name: `l${i}`, defaultIn: "allow", defaultOut: "allow", rules: [] });
    const eight = Array.from({ length: 8 }, (_, i) => plain(i));
    expect(tryLoad(fx, encodePortProgram([...eight, { ...plain(8), defaultOut: "statefulAllow" }]))).toBe("BadLength");
    const snat = { ...plain(8), rules: [{ id: 1, dir: "out" as const, priority: 1, predicates: [], action: { kind: "snat" as const, pool: 0 } }] };
    expect(tryLoad(fx, encodePortProgram([...eight, snat]))).toBe("BadLength");
    expect(tryLoad(fx, encodePortProgram([...eight, { ...candidate, name: "l8" }]))).toBe("loaded"); // deny and modify keep no state
    expect(tryLoad(fx, encodePortProgram([...eight, plain(8)]))).toBe("loaded");
    expect(tryLoad(fx, encodeLayer({ ...plain(8), defaultIn: "statefulAllow" }), "layer")).toBe("BadLength");
    expect(tryLoad(fx, encodeLayer({ ...plain(3), defaultIn: "statefulAllow" }), "layer")).toBe("loaded");
  });
});
