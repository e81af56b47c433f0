// Snapshots across engine builds (docs/snapshot-format.md): version 2 carries
// OPTE's TCP states and the guest's sequence number; version 1 (the states
// before them) is still read, its states translated, when its counters have
// the last version-1 layout; a version-2 snapshot from a build with fewer
// counters or reasons restores with the newer ones at 0 (they are only ever
// appended), one from a build with more is refused.
import { describe, it, expect } from "vitest";
import { Engine, EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { encodePortProgram } from "../../layers/program/encode.js";
import { exportSnapshot, restoreSnapshot } from "../../hosts/snapshot/engine.js";
import { decodeSnapshot, snapshotChecksum } from "../../hosts/snapshot/format.js";
import { PORT_COUNTERS, REASON_COUNT } from "../../hosts/engine/reasons.js";
import { Dir, portWith, GUEST_MAC, GW_MAC, BASE_CONFIG } from "../helpers/port-fixture.js";
import { ipFrame, tcp, TCP_FLAGS } from "../helpers/frames.js";

const { ACK, FIN } = TCP_FLAGS;
const firewall = { name: "firewall", defaultIn: "deny" as const, defaultOut: "statefulAllow" as const, rules: [] };

async function target(): Promise<Engine> {
  const e = await Engine.load();
  e.createPort(0, BASE_CONFIG);
  e.loadProgram(0, encodePortProgram([firewall]));
  e.setPortState(0, "running");
  return e;
}

/** A version-1 snapshot of one outbound TCP flow 10.0.0.5:40000 → 10.0.0.6:80 in v1 state `tcp` with FIN bits `fin`. */
function v1Snapshot(tcp: number, fin: number, counters = PORT_COUNTERS.length + 58): Uint8Array {
  const body: number[] = [];
  const u8 = (v: number) => body.push(v & 0xff);
  const u16 = (v: number) => { u8(v); u8(v >> 8); };
  const u32 = (v: number) => { u16(v & 0xffff); u16(v >>> 16); };
  u32(counters);
  for (let i = 0; i < counters; i++) { u32(i === 1 ? 5 : 0); u32(0); } // pktsOut 5
  u32(0);                                   // no NAT pools
  u32(1);                                   // one flow
  u8(1 | 2 | 32); u8(tcp); u8(fin); u8(0);  // origin out, IPv4, reply key indexed (kind 0: the origin reversed); TCP; FIN bits; class
  u32(1);                                   // layer 0 allowed it
  u32(6 | (BASE_CONFIG.vni << 8));
  u16(40000); u16(80);
  u32(0x0a000005); u32(0x0a000006);
  u32(3); u32(40);                          // age 3 s, idle 40 ms
  u8(1); u8(60); u8(0); u8(0);              // packets/bytes out, in
  u32(0);                                   // no deletions
  const b = new Uint8Array(48 + body.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x53504f57, true); dv.setUint16(4, 1, true);
  dv.setFloat64(24, 1_000_000, true); dv.setUint32(32, 1, true); dv.setUint32(40, body.length, true);
  b.set(body, 48);
  dv.setUint32(44, snapshotChecksum(b), true);
  return b;
}

const reasonOf = (f: () => void) => { try { f(); return "accepted"; } catch (e) { return e instanceof EngineError ? reasonName(e.reason) : String(e); } };

describe("snapshot versions", () => {
  it.each([
    [3, 0, "established"], [1, 0, "syn-sent"], [2, 0, "established"], [4, 0x10, "fin-wait-1"], [4, 0x20, "close-wait"],
    [5, 0x30, "time-wait"], [6, 0, "closed"], [0, 0, "closed"],
  ])("reads version 1: TCP state %i (FIN bits %i) becomes %s", async (v1, fin, want) => {
    const snap = v1Snapshot(v1, fin);
    expect(decodeSnapshot(snap).flows[0].tcpState).toBe(want);
    const e = await target();
    restoreSnapshot(e, 0, snap, 2_000_000);
    const [f] = e.flows(0);
    expect([f.tcpState, f.out.sport, f.in.pkts, e.counters(0).pktsOut]).toEqual([want, 40000, 0, 5]);
  });

  it("refuses a version-1 snapshot from another counter layout, naming it a mismatch", async () => {
    const e = await target();
    expect(reasonOf(() => restoreSnapshot(e, 0, v1Snapshot(3, 0, 15 + 54), 2_000_000))).toBe("SnapshotMismatch");
    expect(e.flowCount(0)).toBe(0);
  });

  it("a FIN_WAIT_1 flow restored from version 1 (no sequence number) takes any ACK as the ACK of its FIN", async () => {
    const e = await target();
    restoreSnapshot(e, 0, v1Snapshot(4, 0x10), 2_000_000);
    const b = e.newBatch(1);
    b.set(0, ipFrame(GUEST_MAC, GW_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", 80, 40000, ACK, undefined, 7, 12345)), 0, Dir.In);
    b.run(1, 2_000_001);
    expect(e.flows(0)[0].tcpState).toBe("fin-wait-2");
  });

  it("version 2 carries the guest's sequence number: after a move, only the ACK of its FIN moves FIN_WAIT_1 on", async () => {
    const a = await portWith([firewall]);
    a.send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, ACK, undefined, 500, 9)), Dir.Out, 1);
    a.send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, FIN | ACK, undefined, 700, 9)), Dir.Out, 2);
    const snap = exportSnapshot(a.e, 0, { now: 3 });
    expect(decodeSnapshot(snap).flows[0]).toMatchObject({ tcpState: "fin-wait-1", guestSeq: 700 });
    const b = await portWith([firewall]);
    restoreSnapshot(b.e, 0, snap, 10);
    const back = (ack: number) => ipFrame(GUEST_MAC, GW_MAC, "10.0.0.6", "10.0.0.5", 6, tcp("10.0.0.6", "10.0.0.5", 80, 40000, ACK, undefined, 9, ack));
    expect(b.result(back(600), Dir.In, 11)).toBe("pass");
    expect(b.e.flows(0)[0].tcpState).toBe("fin-wait-1");          // acknowledges data
    expect(b.result(back(701), Dir.In, 12)).toBe("pass");
    expect(b.e.flows(0)[0].tcpState).toBe("fin-wait-2");          // acknowledges the FIN
  });

  it("restores a version-2 snapshot from a build with fewer reasons (later ones start at 0), refuses one with more", async () => {
    const a = await portWith([firewall]);
    a.send(ipFrame(GW_MAC, GUEST_MAC, "10.0.0.5", "10.0.0.6", 6, tcp("10.0.0.5", "10.0.0.6", 40000, 80, ACK)), Dir.Out, 1);
    const snap = exportSnapshot(a.e, 0, { now: 2 });
    const dv = new DataView(snap.buffer, snap.byteOffset);
    expect([dv.getUint16(48, true), dv.getUint16(50, true)]).toEqual([PORT_COUNTERS.length, REASON_COUNT]);
    // the same state as an older build would write it: two reasons fewer (their counters cut out)
    const older = resized(snap, REASON_COUNT - 2);
    const b = await target();
    restoreSnapshot(b, 0, older, 10);
    expect([b.flowCount(0), b.counters(0).pktsOut]).toEqual([1, 1]);
    const newer = resized(snap, REASON_COUNT + 1);
    const c = await target();
    expect(reasonOf(() => restoreSnapshot(c, 0, newer, 10))).toBe("SnapshotMismatch");
  });
});

/** `snap` (version 2) with its reason counters cut or padded to `reasons`, header and checksum made right. */
function resized(snap: Uint8Array, reasons: number): Uint8Array {
  const dv = new DataView(snap.buffer, snap.byteOffset);
  const nPort = dv.getUint16(48, true), nReasons = dv.getUint16(50, true);
  const countersEnd = 52 + 8 * (nPort + nReasons);
  const keep = 52 + 8 * (nPort + Math.min(reasons, nReasons));
  const pad = new Uint8Array(8 * Math.max(0, reasons - nReasons));
  const out = new Uint8Array(keep + pad.length + (snap.length - countersEnd));
  out.set(snap.subarray(0, keep)); out.set(pad, keep); out.set(snap.subarray(countersEnd), keep + pad.length);
  const o = new DataView(out.buffer);
  o.setUint16(50, reasons, true);
  o.setUint32(40, out.length - 48, true);
  o.setUint32(44, snapshotChecksum(out), true);
  return out;
}
