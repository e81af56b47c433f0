// Reason and counter numbers are part of the batch ABI, of snapshots and of
// metrics: once given, a number keeps its meaning. The engine and the hosts
// compile the same enums (abi/reason.ts, abi/counters.ts), so names cannot
// drift from numbers; what can still go wrong is a number changing under a
// name, which this file pins, and the built engine disagreeing with the
// source it was built from.
import { describe, it, expect, beforeAll } from "vitest";
import { Engine } from "../../hosts/engine/engine.js";
import { REASONS, REASON_COUNT, PORT_COUNTERS, reasonName, reasonNumber } from "../../hosts/engine/reasons.js";

/** Every reason as first given out: appending is allowed, changing one of these is not. */
const GIVEN: Record<string, number> = {
  None: 0, Truncated: 1, BadVersion: 2, BadLength: 3, BadHeaderLength: 4, BadChecksum: 5,
  UnsupportedEtherType: 6, ExtHeaderLimit: 7, Fragment: 8, BadGeneve: 9, UnknownCriticalOption: 10,
  NotEncapsulated: 11, BadArp: 12, BadIcmp: 13, BadTcp: 14, BadUdp: 15, BadVlan: 16, HopByHopNotFirst: 17,
  LayerDeny: 32, NoPort: 33, PortNotRunning: 34, FlowTableFull: 35, NatExhausted: 36,
  NoEncapTarget: 37, SpoofedSource: 38, WrongVni: 39, NotForPort: 40, TtlExceeded: 41, TooBig: 42,
  XformUnsupported: 43, NoHeadroom: 44, HairpinFailed: 45, RateLimited: 46, TcpInvalid: 47,
  BadDescriptor: 48, Unroutable: 49,
  SnapshotCorrupt: 50, SnapshotVersion: 51, SnapshotMismatch: 52, SnapshotGap: 53,
  MulticastTcp: 54, NoMulticastTarget: 55, NotMember: 56, SourceFiltered: 57,
  PortPaused: 58, PortExists: 59, BadArgument: 60, NoSuchPool: 61, NoSuchFlow: 62, NoSuchLayer: 63,
};

const COUNTERS_GIVEN = [
  "pktsIn", "pktsOut", "bytesIn", "bytesOut", "fastIn", "fastOut", "slowIn", "slowOut",
  "flowsCreated", "flowsExpired", "flowsClosed", "hairpins", "dropsIn", "dropsOut", "reevaluated", "toHost",
];

let e: Engine;
beforeAll(async () => { e = await Engine.load(); });

describe("reason numbers", () => {
  it("keep every number once given; new reasons only after the last", () => {
    for (const [name, n] of Object.entries(GIVEN)) expect(REASONS[name], name).toBe(n);
    const last = Math.max(...Object.values(GIVEN));
    for (const [name, n] of Object.entries(REASONS)) {
      if (!(name in GIVEN)) expect(n, `${name} is new: it goes after ${last}`).toBeGreaterThan(last);
    }
  });

  it("REASON_COUNT is past the last reason, and the built engine exports the same", () => {
    expect(Math.max(...Object.values(REASONS))).toBe(REASON_COUNT - 1);
    expect(e.constant("REASON_COUNT")).toBe(REASON_COUNT);
  });

  it("names and numbers are one-to-one", () => {
    const numbers = Object.values(REASONS);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [name, n] of Object.entries(REASONS)) {
      expect(reasonName(n)).toBe(name);
      expect(reasonNumber(name)).toBe(n);
    }
    expect(reasonName(31)).toBe("Reason31"); // an unassigned number still prints
    expect(reasonName(REASON_COUNT)).toBe(`Reason${REASON_COUNT}`);
    expect(() => reasonNumber("Count")).toThrow(/unknown reason/);
  });
});

describe("port counters", () => {
  it("keep their order; the block is the counters, then one per reason, as the built engine says", () => {
    expect(PORT_COUNTERS.slice(0, COUNTERS_GIVEN.length)).toEqual(COUNTERS_GIVEN);
    expect(e.constant("COUNTERS_PER_PORT")).toBe(PORT_COUNTERS.length + REASON_COUNT);
  });
});
