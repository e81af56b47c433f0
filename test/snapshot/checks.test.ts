// A snapshot whose checksum is right can still say something no port can
// hold: two flows on one key, one SNAT port for two flows, flows of another
// VNI, a TCP state that is not one, a header that claims four billion flows.
// Every restore runs the engine's checks first and refuses with the check's
// own words, leaving the port as it was; a dry run (portSnapshotCheck, and
// snapshotCheckAlone for `wopte snapshot verify` on a file) runs the same
// checks and says the same words. Corrupted snapshots, generated, never
// crash a restore: each is refused clearly, or restored exactly as it reads.
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { Engine } from "../../hosts/engine/engine.js";
import { exportSnapshot, restoreSnapshot, checkSnapshot, markSnapshot, SnapshotRefused } from "../../hosts/snapshot/engine.js";
import { SNAP_CHECKS } from "../../hosts/snapshot/checks.js";
import { SnapCheck } from "../../abi/snapshot-check.js";
import { decodeSnapshot, diffSnapshots } from "../../hosts/snapshot/format.js";
import { snapshotPort, run, busy, toServer, toPeer, reseal, flowEntries, withEntries, POOL_LO } from "../helpers/snapshot-port.js";

const NOW = 1_000_060;

function portState(e: Engine): string {
  return JSON.stringify({ flows: e.flows(0), counters: e.counters(0), nat: e.natUsage(0, 0) });
}

/** Restore `bytes` into port 0 of `e` (named "web"): the refusal's message, or "accepted". The port is unchanged when refused. */
function restore(e: Engine, bytes: Uint8Array): string {
  const before = portState(e);
  const dry = checkSnapshot(e, 0, bytes, "web");
  let said = "accepted";
  try { restoreSnapshot(e, 0, bytes, NOW, "web"); } catch (err) {
    if (!(err instanceof SnapshotRefused)) throw err;
    said = err.why;
    expect(err.message).toBe(`could not restore the snapshot: ${err.why}`);
    expect(portState(e)).toBe(before);
  }
  // the dry run said the same before anything happened
  expect(dry.ok ? "accepted" : dry.message).toBe(said);
  return said;
}

const alone = (e: Engine, bytes: Uint8Array) => { const v = checkSnapshot(e, undefined, bytes); return v.ok ? "accepted" : v.message; };

let snap: Uint8Array;
let target: Engine;
beforeAll(async () => {
  const a = await snapshotPort();
  run(a, busy, 1_000_000);
  snap = exportSnapshot(a, 0, { now: 1_000_050 });
  target = await snapshotPort();
  run(target, [toServer(41000), toPeer(6000)], 1_000_000); // flows of its own
});

const entry = (i: number) => flowEntries(snap).entries[i].at;
/** The SNAT port of flow `i` (an IPv4 flow whose reply key replaces its destination: kind 2). */
const natPortAt = (i: number) => entry(i) + 16 + 8 + 6 + 2;

/** The checks as first numbered (abi/snapshot-check.ts): appending is allowed, renumbering is not. */
const GIVEN = [
  "None", "HeaderTruncated", "BadMagic", "Version", "BodyLength", "Checksum", "Flags", "Truncated", "CounterLayout",
  "PoolCount", "PoolId", "PoolRange", "PoolMismatch", "FlowCount", "FlowsTooMany", "TableFull", "FlowTruncated",
  "FlowFlags", "ReplyKind", "TcpState", "TcpFlags", "TcpNotTcp", "Meter", "Vni", "VniMixed", "NatNoPool", "NatOutside",
  "NatTwice", "NatHeld", "KeyTwice", "KeyHeld", "DeletionCount", "DeletionLength", "DeletionsInFull", "DeletionDir",
];

describe("the numbers of the checks", () => {
  it("keep their numbers once given, and the built engine counts as many", async () => {
    expect(SNAP_CHECKS.slice(0, GIVEN.length)).toEqual(GIVEN);
    SNAP_CHECKS.forEach((n, i) => expect(SnapCheck[n]).toBe(i));
    expect((await Engine.load()).constant("SNAP_CHECK_COUNT")).toBe(SNAP_CHECKS.length);
  });
});

describe("a snapshot is checked for what it means, not only its bytes", () => {
  it("the snapshot as taken passes, and the dry run changes nothing", async () => {
    const before = portState(target);
    expect(checkSnapshot(target, 0, snap)).toEqual({ ok: true });
    expect(alone(target, snap)).toBe("accepted");
    expect(portState(target)).toBe(before);
    const t = await snapshotPort();
    expect(restore(t, snap)).toBe("accepted");
    expect(t.flowCount(0)).toBe(5);
  });

  it("two flows with one key", () => {
    const twice = withEntries(snap, [0, 1, 2, 3, 4, 3]);
    const why = "two flows share key out udp 10.0.0.5:5000 > 10.0.0.6:7000 vni 1234 (flows 3 and 5)";
    expect(restore(target, twice)).toBe(why);
    expect(alone(target, twice)).toBe(why);
  });

  it("one SNAT port for two flows", () => {
    const shared = reseal(snap, (_, dv) => dv.setUint16(natPortAt(1), POOL_LO, true));
    expect(restore(target, shared)).toBe(`SNAT port ${POOL_LO} held twice (pool 0, flows 0 and 1)`);
    expect(alone(target, shared)).toBe(`SNAT port ${POOL_LO} held twice (pool 0, flows 0 and 1)`);
  });

  it("a SNAT port outside the port's pool", () => {
    const outside = reseal(snap, (_, dv) => dv.setUint16(natPortAt(1), 21000, true));
    expect(restore(target, outside)).toBe("flow 1: SNAT port 21000 outside the port's pool 0 (20000-20999)");
  });

  it("flows of another VNI", async () => {
    const other = await snapshotPort({ vni: 10 });
    expect(restore(other, snap)).toBe("flow 0 of VNI 1234 for a port of VNI 10 (out tcp 10.0.0.5:40000 > 203.0.113.9:443 vni 1234)");
    // on its own, a snapshot's flows share one VNI
    const mixed = reseal(snap, (_, dv) => dv.setUint32(entry(2) + 8, (7 << 8) | 6, true));
    expect(alone(target, mixed)).toBe("flow 2 is of VNI 7, flow 0 of VNI 1234: a port's flows share one VNI (out tcp 10.0.0.5:40002 > 203.0.113.9:443 vni 7)");
    expect(restore(target, mixed)).toMatch(/^flow 2 of VNI 7 for a port of VNI 1234/);
  });

  it("a TCP state that is not one, or TCP state on a flow that is not TCP", () => {
    expect(restore(target, reseal(snap, (b) => { b[entry(0) + 1] = 12; }))).toBe("flow 0: invalid TCP state 12 (states are 0-9)");
    expect(restore(target, reseal(snap, (b) => { b[entry(3) + 1] = 4; }))).toBe("flow 3: a udp flow with TCP state established");
  });

  it("counts that do not fit the file (the header of 4,294,967,295 flows) or the table", async () => {
    const huge = reseal(snap, (_, dv) => { dv.setUint32(32, 0xffffffff, true); dv.setUint32(flowEntries(snap).countAt, 0xffffffff, true); });
    const why = restore(target, huge);
    expect(why).toMatch(/^the header counts 4294967295 flows; the \d+ bytes that follow hold at most \d+$/);
    expect(alone(target, huge)).toBe(why);
    const small = await snapshotPort({ flowCapacity: 3 });
    expect(restore(small, snap)).toBe("5 flows do not fit port web's table of 3 (limits.flows)");
  });

  it("an incremental snapshot that would take a SNAT port or a key the port keeps", async () => {
    const a = await snapshotPort();
    const gen = markSnapshot(a, 0);
    run(a, [toServer(40000)], 1_000_000); // SNAT port 20000
    const inc = exportSnapshot(a, 0, { since: gen, now: 1_000_010 });
    const b = await snapshotPort();
    run(b, [toServer(41000)], 1_000_000); // b's own flow holds 20000
    expect(restore(b, inc)).toBe(`flow 0: SNAT port ${POOL_LO} (pool 0) is held by a flow of port web this incremental snapshot neither deletes nor replaces`);
    const c = await snapshotPort();
    run(c, [toServer(40000)], 1_000_000); // the same connection, already there: replaced
    expect(restore(c, inc)).toBe("accepted");
    expect(c.natUsage(0, 0).inUse).toBe(1);
  });
});

describe("corrupted snapshots, generated", () => {
  const n = () => flowEntries(snap).entries.length;
  type Edit = (s: Uint8Array) => Uint8Array;
  const field = (off: number, size: 1 | 2 | 4) => fc.tuple(fc.nat(4), fc.nat(0xffffffff)).map(([i, v]): Edit => (s) =>
    reseal(s, (_, dv) => {
      const at = entry(i) + off;
      if (size === 1) dv.setUint8(at, v & 0xff); else if (size === 2) dv.setUint16(at, v & 0xffff, true); else dv.setUint32(at, v >>> 0, true);
    }));
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.array(fc.nat(4), { maxLength: 8 }).map((pick): Edit => (s) => withEntries(s, pick)),
    field(0, 1), field(1, 1), field(2, 1), field(3, 1), field(8, 4), field(12, 2),
    fc.tuple(fc.nat(4), fc.integer({ min: 0, max: 3 })).map(([i, d]): Edit => (s) => reseal(s, (_, dv) => dv.setUint16(natPortAt(Math.min(i, 2)), POOL_LO + d, true))),
    fc.nat(0xffffffff).map((v): Edit => (s) => reseal(s, (_, dv) => { dv.setUint32(32, v, true); dv.setUint32(flowEntries(snap).countAt, v, true); })),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })
      .map((xs): Edit => (s) => reseal(s, (b) => { for (const [at, x] of xs) b[48 + (at % (b.length - 48))] ^= x; })),
  );

  it("never crash a restore: a clear refusal with the port unchanged, or a restore that reads back as the snapshot says", () => {
    expect(n()).toBe(5);
    fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 2 }), (edits) => {
      let bytes = snap;
      try { for (const e of edits) bytes = e(bytes); } catch { return; } // an edit past an earlier one's entries: no snapshot to try
      const said = restore(target, bytes);
      if (said !== "accepted") {
        expect(said).not.toMatch(/no check failed|^check\d/);
        return;
      }
      // restored: exported again at the same moment, it is the snapshot it came from
      const back = decodeSnapshot(exportSnapshot(target, 0, { now: NOW }));
      const d = diffSnapshots(decodeSnapshot(bytes), back);
      expect(d.added).toEqual([]);
      expect(d.removed).toEqual([]);
      expect(d.changed).toEqual([]);
      expect(target.natUsage(0, 0).inUse).toBe(decodeSnapshot(bytes).flows.filter((f) => f.nat).length);
    }), { numRuns: 400 });
  });
});
