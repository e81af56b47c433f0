// Live migration of flow state: run half a conversation on one engine,
// snapshot the port, restore it into another engine, run the other half —
// verdicts and output bytes are those of an uninterrupted run, the SNAT port
// stays the same. Corrupt snapshots are refused with the port unchanged.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { Engine, EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { Dir } from "../../hosts/engine/batch.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { exportSnapshot, restoreSnapshot, markSnapshot } from "../../hosts/snapshot/engine.js";
import { decodeSnapshot, verifySnapshot, diffSnapshots, SnapshotError } from "../../hosts/snapshot/format.js";
import { ipFrame, tcp, udp, geneve, TCP_FLAGS } from "../helpers/frames.js";

const cfg = JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));
const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77", SRV = "203.0.113.9";
const SLED = "fd00:1122:3344:101::1", BOUNDARY = "fd00:1122:3344:1::1", PEER_SLED = "fd00:1122:3344:102::1";
const fromBoundary = (inner: Uint8Array) => geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", BOUNDARY, SLED, { vni: 1024 }, inner);
const innerFromSrv = (flags: number, seq: number, ack: number, dport = 16384, data = new Uint8Array()) =>
  ipFrame(G, "02:08:20:bb:00:01", SRV, "198.51.100.10", 6, tcp(SRV, "198.51.100.10", 443, dport, flags, data, seq, ack));
const guestSeg = (flags: number, seq: number, ack: number, data = new Uint8Array()) =>
  ipFrame(GW, G, "172.30.0.5", SRV, 6, tcp("172.30.0.5", SRV, 40000, 443, flags, data, seq, ack));

type Step = { dir: Dir; frame: Uint8Array };
const firstHalf: Step[] = [
  { dir: Dir.Out, frame: guestSeg(TCP_FLAGS.SYN, 100, 0) },
  { dir: Dir.In, frame: fromBoundary(innerFromSrv(TCP_FLAGS.SYN | TCP_FLAGS.ACK, 900, 101)) },
  { dir: Dir.Out, frame: guestSeg(TCP_FLAGS.ACK, 101, 901) },
  { dir: Dir.Out, frame: ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, 7000, new Uint8Array(30))) },
  { dir: Dir.Out, frame: guestSeg(TCP_FLAGS.ACK | TCP_FLAGS.PSH, 101, 901, new Uint8Array(200)) },
];
const secondHalf: Step[] = [
  { dir: Dir.In, frame: fromBoundary(innerFromSrv(TCP_FLAGS.ACK | TCP_FLAGS.PSH, 901, 301, 16384, new Uint8Array(500))) },
  { dir: Dir.Out, frame: guestSeg(TCP_FLAGS.ACK, 301, 1401) },
  { dir: Dir.In, frame: geneve("02:08:20:01:01:01", "02:08:20:ff:ff:01", PEER_SLED, SLED, { vni: 1024 },
    ipFrame(G, "a8:40:25:f0:00:06", "172.30.0.6", "172.30.0.5", 17, udp("172.30.0.6", "172.30.0.5", 7000, 5000, new Uint8Array(10)))) },
  { dir: Dir.Out, frame: guestSeg(TCP_FLAGS.FIN | TCP_FLAGS.ACK, 301, 1401) },
];

async function freshPort(): Promise<Engine> {
  const e = await Engine.load();
  applyPort(e, 0, compilePort(cfg), 1_000_000);
  return e;
}
function run(e: Engine, steps: Step[], t0: number): string[] {
  const b = e.newBatch(1);
  return steps.map((s, i) => {
    b.set(0, s.frame, 0, s.dir);
    b.run(1, t0 + i);
    // the outer UDP source port is per-engine flow entropy; compare the rest
    const out = Uint8Array.from(b.output(0));
    if (out.length > 56 && out[12] === 0x86 && out[13] === 0xdd) { out[54] = 0; out[55] = 0; }
    return `${b.verdict(0)}/${b.reason(0)} ${Buffer.from(out).toString("hex")}`;
  });
}

describe("snapshot and restore (live migration)", () => {
  it("continues a conversation on another engine with identical verdicts and bytes", async () => {
    const straight = await freshPort();
    run(straight, firstHalf, 1_000_000);
    const expected = run(straight, secondHalf, 1_000_100);

    const a = await freshPort();
    run(a, firstHalf, 1_000_000);
    const snap = exportSnapshot(a, 0, { now: 1_000_050 });
    const b = await freshPort();
    restoreSnapshot(b, 0, snap, 1_000_060);
    expect(run(b, secondHalf, 1_000_100)).toEqual(expected);
    const tcpFlow = b.flows(0).find((f) => f.out.proto === 6)!;
    expect(tcpFlow.nat).toEqual({ pool: 0, port: 16384 });
    expect(b.natUsage(0, 0).inUse).toBe(1);
    expect(b.flows(0).length).toBe(2);
  });

  it("is compact and readable without the engine", async () => {
    const a = await freshPort();
    run(a, firstHalf, 1_000_000);
    const snap = exportSnapshot(a, 0, { now: 1_000_050 });
    const s = decodeSnapshot(snap);
    expect(s.flows).toHaveLength(2);
    const t = s.flows.find((f) => f.key.proto === 6)!;
    expect(t).toMatchObject({ origin: "out", tcpState: "established", nat: { pool: 0, port: 16384 },
      key: { src: "172.30.0.5", dst: SRV, sport: 40000, dport: 443 }, reply: { src: SRV, dst: "198.51.100.10", sport: 443, dport: 16384 } });
    expect(s.pools).toEqual([{ id: 0, ip: "198.51.100.10", firstPort: 16384, lastPort: 32767 }]);
    expect(s.counters.flowsCreated).toBe(2);
    const perFlow = (snap.length - 48 - 4 - 8 * (15 + 54) - 4 - 24 - 4 - 4) / 2;
    expect(perFlow).toBeLessThanOrEqual(128);
  });

  it("refuses corrupt, truncated, unknown-version and mismatching snapshots, leaving the port as it was", async () => {
    const a = await freshPort();
    run(a, firstHalf, 1_000_000);
    const snap = exportSnapshot(a, 0, { now: 1_000_050 });
    const b = await freshPort();
    run(b, [firstHalf[3]], 1_000_000); // b has a flow of its own
    const before = JSON.stringify(b.flows(0));
    const flipped = Uint8Array.from(snap); flipped[100] ^= 0xff;
    const v99 = Uint8Array.from(snap); v99[4] = 99;
    const reasons = [flipped, v99, snap.subarray(0, 60), snap.subarray(0, 20)].map((bad) => {
      try { restoreSnapshot(b, 0, bad, 1_000_060); return "accepted"; } catch (e) { return reasonName((e as EngineError).reason); }
    });
    expect(reasons).toEqual(["SnapshotCorrupt", "SnapshotVersion", "SnapshotCorrupt", "SnapshotCorrupt"]);
    // a target whose SNAT block is different cannot take the bindings
    const other = structuredClone(cfg);
    other.externalIps.snat.firstPort = 20000;
    const c = await Engine.load();
    applyPort(c, 0, compilePort(other), 1_000_000);
    expect(() => restoreSnapshot(c, 0, snap, 1_000_060)).toThrow(/^could not restore the snapshot: the snapshot's SNAT pool 0 \(ports 16384-32767\) differs from port 0's: give the port the same externalIps/);
    expect(JSON.stringify(b.flows(0))).toBe(before);
    expect(() => verifySnapshot(flipped)).toThrow(SnapshotError);
    expect(() => verifySnapshot(v99)).toThrow(/unknown snapshot version 99/);
    expect(() => verifySnapshot(snap.subarray(0, 60))).toThrow(/truncated at byte 60/);
  });

  it("never traps on random bytes", async () => {
    const b = await freshPort();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const withMagic = Uint8Array.from(bytes);
      if (withMagic.length >= 6) { withMagic.set([0x57, 0x4f, 0x50, 0x53, 1, 0]); }
      for (const x of [bytes, withMagic]) {
        try { restoreSnapshot(b, 0, x, 1); } catch (e) { expect(e).toBeInstanceOf(EngineError); }
      }
    }), { numRuns: 300 });
    expect(b.portState(0)).toBe("running");
  });

  it("exports only changes and deletions after a mark; full + incremental equals a full export now", async () => {
    const a = await freshPort();
    run(a, firstHalf, 1_000_000);
    const gen = markSnapshot(a, 0);
    const full = exportSnapshot(a, 0, { now: 1_000_010 });
    // after the mark: the TCP flow moves on, a new UDP flow starts, the old UDP flow is removed
    run(a, [secondHalf[0]], 1_000_020);
    run(a, [{ dir: Dir.Out, frame: ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5001, 7001)) }], 1_000_021);
    const udpIndex = a.flows(0).find((f) => f.out.sport === 5000)!.index;
    a.fn("portFlowRemoveAt")(0, udpIndex);
    const inc = exportSnapshot(a, 0, { since: gen, now: 1_000_030 });
    const d = decodeSnapshot(inc);
    expect(d.incremental).toBe(true);
    expect(d.flows.map((f) => f.key.sport).sort()).toEqual([40000, 5001]);
    expect(d.deletions.map((x) => x.key.sport)).toEqual([5000]);
    const b = await freshPort();
    restoreSnapshot(b, 0, full, 1_000_040);
    restoreSnapshot(b, 0, inc, 1_000_040);
    const now = decodeSnapshot(exportSnapshot(a, 0, { now: 1_000_050 }));
    const got = decodeSnapshot(exportSnapshot(b, 0, { now: 1_000_050 }));
    const diff = diffSnapshots(now, got);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual([]);
  });
});
