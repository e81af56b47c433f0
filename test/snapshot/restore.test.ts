// A guest's connections survive a move to another engine. The port is three
// layers as plain data — a stateful firewall, a NAT layer that source-NATs
// traffic to the Internet prefix through pool 0, and a Geneve overlay — and
// the guest is half-way through a TCP conversation with an Internet server
// (through SNAT) and a UDP exchange with a VPC peer when its port is
// snapshotted and restored into a NEW engine with the same configuration.
// The rest of the conversation must come out byte for byte as if nothing had
// happened, replies to the SNAT'd address and port included; bad snapshots are
// refused and leave the target port exactly as it was.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Engine, EngineError } from "../../hosts/engine/engine.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { encodePortProgram, LayerDef } from "../../layers/program/encode.js";
import { exportSnapshot, restoreSnapshot, markSnapshot } from "../../hosts/snapshot/engine.js";
import { decodeSnapshot, diffSnapshots, snapshotChecksum, verifySnapshot } from "../../hosts/snapshot/format.js";
import { ipFrame, tcp, udp, geneve, TCP_FLAGS } from "../helpers/frames.js";

const GUEST_MAC = "a8:40:25:00:00:01", GW_MAC = "a8:40:25:ff:77:77", PEER_MAC = "a8:40:25:00:00:02", BOUNDARY_MAC = "a8:40:25:00:00:fe";
const SLED_A = "fd00:1122:3344:101::1", SLED_B = "fd00:1122:3344:102::1", BOUNDARY = "fd00:1122:3344:1::1";
const UNDERLAY_MAC = "02:00:00:00:0a:01", SWITCH_MAC = "02:00:00:00:5e:01";
const VNI = 1234, V2P = 1;
const GUEST = "10.0.0.5", PEER = "10.0.0.6", SERVER = "203.0.113.9", SNAT_IP = "198.51.100.10";
const POOL_LO = 20000, POOL_HI = 20999;

const firewall: LayerDef = {
  name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow",
  rules: [{ id: 1, dir: "in", priority: 100, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [80] }], action: { kind: "statefulAllow" } }],
};
const nat: LayerDef = {
  name: "nat", defaultIn: "allow", defaultOut: "allow",
  rules: [{ id: 5, dir: "out", priority: 10, predicates: [{ field: "dstIp", prefixes: ["203.0.113.0/24"] }], action: { kind: "snat", pool: 0 } }],
};
const overlay: LayerDef = {
  name: "overlay", defaultIn: "deny", defaultOut: "deny",
  rules: [
    { id: 10, dir: "out", priority: 10, predicates: [], action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true } },
    { id: 11, dir: "in", priority: 10, predicates: [{ field: "vni", values: [VNI] }], action: { kind: "decap" } },
  ],
};

async function port(opts: { flowCapacity?: number; poolLo?: number; poolHi?: number } = {}): Promise<Engine> {
  const e = await Engine.load();
  e.createPort(0, { vni: VNI, flowCapacity: opts.flowCapacity ?? 1024, netEncap: true, underlayIp: SLED_A, underlayMac: UNDERLAY_MAC, nextHopMac: SWITCH_MAC, mtu: 9000 });
  e.loadProgram(0, encodePortProgram([firewall, nat, overlay]));
  e.setNatPool(0, 0, SNAT_IP, opts.poolLo ?? POOL_LO, opts.poolHi ?? POOL_HI);
  e.mapSet(V2P, VNI, PEER, 0, 65535, { encapVni: VNI, underlay: SLED_B, mac: PEER_MAC });
  e.mapSet(V2P, VNI, SERVER, 0, 65535, { encapVni: VNI, underlay: BOUNDARY, mac: BOUNDARY_MAC });
  e.setPortState(0, "running");
  return e;
}

// ---- the conversation
const toServer = (flags: number, seq: number, ack: number, data = 0, sport = 40000) =>
  ipFrame(GW_MAC, GUEST_MAC, GUEST, SERVER, 6, tcp(GUEST, SERVER, sport, 443, flags, new Uint8Array(data), seq, ack));
/** The server's segment as the boundary delivers it: to the SNAT address and port. */
const fromServer = (flags: number, seq: number, ack: number, data = 0, dport = POOL_LO) =>
  geneve(SWITCH_MAC, UNDERLAY_MAC, BOUNDARY, SLED_A, { vni: VNI },
    ipFrame(GUEST_MAC, BOUNDARY_MAC, SERVER, SNAT_IP, 6, tcp(SERVER, SNAT_IP, 443, dport, flags, new Uint8Array(data), seq, ack)));
const toPeer = (data: number) => ipFrame(GW_MAC, GUEST_MAC, GUEST, PEER, 17, udp(GUEST, PEER, 5000, 7000, new Uint8Array(data)));
const fromPeer = (data: number) => geneve(SWITCH_MAC, UNDERLAY_MAC, SLED_B, SLED_A, { vni: VNI },
  ipFrame(GUEST_MAC, PEER_MAC, PEER, GUEST, 17, udp(PEER, GUEST, 7000, 5000, new Uint8Array(data))));
const strayIn = geneve(SWITCH_MAC, UNDERLAY_MAC, SLED_B, SLED_A, { vni: VNI },
  ipFrame(GUEST_MAC, PEER_MAC, PEER, GUEST, 6, tcp(PEER, GUEST, 5555, 22, TCP_FLAGS.SYN)));

type Step = { dir: Dir; frame: Uint8Array };
const out = (frame: Uint8Array): Step => ({ dir: Dir.Out, frame });
const inn = (frame: Uint8Array): Step => ({ dir: Dir.In, frame });
const { SYN, ACK, PSH, FIN } = TCP_FLAGS;
const firstHalf: Step[] = [
  out(toServer(SYN, 100, 0)),
  inn(fromServer(SYN | ACK, 900, 101)),
  out(toServer(ACK, 101, 901)),
  out(toPeer(30)),
  out(toServer(ACK | PSH, 101, 901, 200)),
];
const secondHalf: Step[] = [
  inn(fromServer(ACK | PSH, 901, 301, 500)),   // the reply to the SNAT'd address and port
  out(toServer(ACK, 301, 1401)),
  inn(fromPeer(10)),                          // the peer answers the UDP flow (stateful firewall)
  inn(strayIn),                               // still denied
  out(toServer(FIN | ACK, 301, 1401)),
  inn(fromServer(FIN | ACK, 1401, 302)),
  out(toServer(ACK, 302, 1402)),
  out(toPeer(20)),
];

function run(e: Engine, steps: Step[], t0: number): string[] {
  const b = e.newBatch(1);
  return steps.map((s, i) => {
    b.set(0, s.frame, 0, s.dir);
    b.run(1, t0 + i);
    return `${b.verdict(0)}/${b.reason(0)} ${Buffer.from(b.output(0)).toString("hex")}`;
  });
}

/** Everything a failed restore must leave as it was. */
function portState(e: Engine): string {
  return JSON.stringify({ flows: e.flows(0), counters: e.counters(0), nat: e.natUsage(0, 0) });
}

function reasonOf(f: () => void): string {
  try { f(); return "accepted"; } catch (err) { return err instanceof EngineError ? reasonName(err.reason) : String(err); }
}

/** A copy of `snap` with `edit` applied and the checksum made right again. */
function reseal(snap: Uint8Array, edit: (b: Uint8Array, dv: DataView) => void): Uint8Array {
  const b = Uint8Array.from(snap);
  const dv = new DataView(b.buffer);
  edit(b, dv);
  dv.setUint32(44, snapshotChecksum(b), true);
  return b;
}

/** Byte offset of flow entry `i` (entries are variable-length; the decoder knows their sizes). */
function flowOffset(snap: Uint8Array, i: number): number {
  const s = decodeSnapshot(snap);
  const flowsAt = 48 + 4 + 8 * s.counterSlots + 4 + 24 * s.pools.length + 4;
  return flowsAt + s.flows.slice(0, i).reduce((a, f) => a + f.entryBytes, 0);
}

describe("a port's flows move to another engine", () => {
  it("the rest of the conversation is byte-identical to an uninterrupted run, SNAT port included", async () => {
    const straight = await port();
    run(straight, firstHalf, 1_000_000);
    const expected = run(straight, secondHalf, 1_000_100);
    // every step passes but the stray SYN, which the firewall denies
    expect(expected.map((x) => Number(x.split("/")[0]))).toEqual(secondHalf.map((s) => (s.frame === strayIn ? Verdict.Drop : Verdict.Pass)));

    const a = await port();
    run(a, firstHalf, 1_000_000);
    const snap = exportSnapshot(a, 0, { now: 1_000_050 });
    const b = await port();
    restoreSnapshot(b, 0, snap, 1_000_060);

    const tcpFlow = b.flows(0).find((f) => f.out.proto === 6)!;
    expect(tcpFlow.nat).toEqual({ pool: 0, port: POOL_LO });
    expect(tcpFlow.tcpState).toBe("established");
    expect(b.natUsage(0, 0).inUse).toBe(1);
    expect(run(b, secondHalf, 1_000_100)).toEqual(expected);

    // the binding is really held in the target's pool: a new connection gets another port
    run(b, [out(toServer(SYN, 5, 0, 0, 40001))], 1_000_200);
    expect(b.flows(0).find((f) => f.out.sport === 40001)!.nat).toEqual({ pool: 0, port: POOL_LO + 1 });
  });

  it("carries ages as ages: the two hosts' clocks need not agree", async () => {
    const a = await port();
    run(a, firstHalf, 1_000_000);
    const b = await port();
    restoreSnapshot(b, 0, exportSnapshot(a, 0, { now: 1_000_050 }), 5_000_000);
    const t = b.flows(0).find((f) => f.out.proto === 6)!;
    expect(t.lastSeenMs).toBe(5_000_000 - 46); // last packet at 1_000_004, snapshot at 1_000_050
    const s = decodeSnapshot(exportSnapshot(b, 0, { now: 5_000_000 }));
    expect(s.flows.find((f) => f.key.proto === 6)!.idleMs).toBe(46);
  });

  it("is compact: a TCP flow with SNAT takes at most 128 bytes", async () => {
    const a = await port();
    run(a, firstHalf, 1_000_000);
    const s = decodeSnapshot(exportSnapshot(a, 0, { now: 1_000_050 }));
    const t = s.flows.find((f) => f.nat)!;
    expect(t.entryBytes).toBeLessThanOrEqual(128);
    expect(t).toMatchObject({ origin: "out", tcpState: "established", nat: { pool: 0, port: POOL_LO },
      key: { src: GUEST, dst: SERVER, sport: 40000, dport: 443, proto: 6, vni: VNI },
      reply: { src: SERVER, dst: SNAT_IP, sport: 443, dport: POOL_LO } });
    expect(s.pools).toEqual([{ id: 0, ip: SNAT_IP, firstPort: POOL_LO, lastPort: POOL_HI }]);
  });
});

describe("bad snapshots are refused and the target port is unchanged", () => {
  async function setup() {
    const a = await port();
    run(a, firstHalf, 1_000_000);
    const snap = exportSnapshot(a, 0, { now: 1_000_050 });
    const b = await port();
    run(b, [out(toServer(SYN, 7, 0, 0, 41000)), out(toPeer(5))], 1_000_000); // b has flows of its own
    return { snap, b, before: portState(b) };
  }

  it("a flipped byte anywhere (header or body) fails the checksum", async () => {
    const { snap, b, before } = await setup();
    for (const at of [0, 6, 8, 12, 20, 24, 32, 40, 44, 48, 100, snap.length - 1]) {
      const bad = Uint8Array.from(snap); bad[at] ^= 0x01;
      expect(reasonOf(() => restoreSnapshot(b, 0, bad, 1_000_060)), `byte ${at}`).toMatch(/^Snapshot(Corrupt|Version)$/);
      expect(() => verifySnapshot(bad)).toThrow();
    }
    const bad = Uint8Array.from(snap); bad[100] ^= 0xff;
    expect(() => verifySnapshot(bad)).toThrow(/checksum mismatch/);
    expect(portState(b)).toBe(before);
  });

  it("an unknown version is named", async () => {
    const { snap, b, before } = await setup();
    const v99 = reseal(snap, (_, dv) => dv.setUint16(4, 99, true));
    expect(reasonOf(() => restoreSnapshot(b, 0, v99, 1_000_060))).toBe("SnapshotVersion");
    expect(() => verifySnapshot(v99)).toThrow(/unknown snapshot version 99/);
    expect(portState(b)).toBe(before);
  });

  it("a truncated snapshot is refused at any length", async () => {
    const { snap, b, before } = await setup();
    for (const n of [0, 1, 4, 47, 48, 52, 60, 200, snap.length - 10, snap.length - 1]) {
      expect(reasonOf(() => restoreSnapshot(b, 0, snap.subarray(0, n), 1_000_060)), `length ${n}`).toBe("SnapshotCorrupt");
      expect(() => verifySnapshot(snap.subarray(0, n))).toThrow(new RegExp(`truncated at byte ${n}`));
    }
    expect(portState(b)).toBe(before);
  });

  it("a SNAT binding outside the target's pool is a mismatch, found before anything changes", async () => {
    const { snap, b, before } = await setup();
    // the flows' own binding moved out of the pool (checksum made right again)
    const s = decodeSnapshot(snap);
    const i = s.flows.findIndex((f) => f.nat);
    // flags, TCP, FIN, class, layer bits, proto+VNI, ports, two IPv4 addresses, then the reply key's replaced part
    const e = flowOffset(snap, i), kind = (snap[e] >> 2) & 3;
    const at = e + 24 + [0, 6, 6, 40][kind] + 2; // the SNAT port (after the pool id)
    const outside = reseal(snap, (_, dv) => { expect(dv.getUint16(at, true)).toBe(POOL_LO); dv.setUint16(at, POOL_HI + 1, true); });
    expect(verifySnapshot(outside).flows).toBe(2);
    expect(reasonOf(() => restoreSnapshot(b, 0, outside, 1_000_060))).toBe("SnapshotMismatch");
    const noPool = reseal(snap, (_, dv) => dv.setUint16(at - 2, 3, true));
    expect(reasonOf(() => restoreSnapshot(b, 0, noPool, 1_000_060))).toBe("SnapshotMismatch");
    expect(portState(b)).toBe(before);
    // a target whose pool is configured differently
    const c = await port({ poolLo: 30000, poolHi: 30999 });
    const cBefore = portState(c);
    expect(reasonOf(() => restoreSnapshot(c, 0, snap, 1_000_060))).toBe("SnapshotMismatch");
    expect(portState(c)).toBe(cBefore);
  });

  it("more flows than the target's table holds is a mismatch", async () => {
    const { snap } = await setup();
    const small = await port({ flowCapacity: 1 });
    expect(reasonOf(() => restoreSnapshot(small, 0, snap, 1_000_060))).toBe("SnapshotMismatch");
    expect(small.flowCount(0)).toBe(0);
  });

  it("random bytes, and valid snapshots with random bytes changed, never trap the restore", async () => {
    const { snap, b, before } = await setup();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const magic = Uint8Array.from(bytes);
      if (magic.length >= 6) magic.set([0x57, 0x4f, 0x50, 0x53, 1, 0]);
      for (const x of [bytes, magic]) expect(reasonOf(() => restoreSnapshot(b, 0, x, 1))).toMatch(/^Snapshot/);
    }), { numRuns: 200 });
    expect(portState(b)).toBe(before);
    // past the checksum: the structure checks must hold on their own
    const target = await port();
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(snap.length - 49), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const mutated = reseal(snap, (u8) => { for (const [at, x] of edits) u8[48 + at] ^= x; });
      const beforeT = portState(target);
      const r = reasonOf(() => restoreSnapshot(target, 0, mutated, 1_000_060));
      if (r !== "accepted") { expect(r).toMatch(/^Snapshot(Corrupt|Mismatch)$/); expect(portState(target)).toBe(beforeT); }
      let decoded = true;
      try { decodeSnapshot(mutated); } catch { decoded = false; }
      if (r === "accepted") expect(decoded).toBe(true);
    }), { numRuns: 300 });
    expect(target.portState(0)).toBe("running");
  });
});

describe("incremental snapshots (pre-copy)", () => {
  it("after a mark carry only changed flows and deletions; full at the mark + incremental = full now", async () => {
    const a = await port();
    run(a, firstHalf, 1_000_000);
    run(a, [out(ipFrame(GW_MAC, GUEST_MAC, GUEST, PEER, 17, udp(GUEST, PEER, 6000, 7000, new Uint8Array(4))))], 1_000_010); // idle from now on
    const gen = markSnapshot(a, 0);
    const full = exportSnapshot(a, 0, { now: 1_000_020 });
    expect(decodeSnapshot(full).generation).toBe(gen);

    // after the mark: the TCP flow moves on, a new connection starts, the first UDP flow ends
    run(a, secondHalf.slice(0, 2), 1_000_030);
    run(a, [out(toServer(SYN, 5, 0, 0, 40001))], 1_000_040);
    a.fn("portFlowRemoveAt")(0, a.flows(0).find((f) => f.out.sport === 5000)!.index);

    const inc = exportSnapshot(a, 0, { since: gen, now: 1_000_050 });
    const d = decodeSnapshot(inc);
    expect(d.incremental).toBe(true);
    expect(d.since).toBe(gen);
    expect(d.flows.map((f) => f.key.sport).sort()).toEqual([40000, 40001]);
    expect(d.deletions.map((x) => `${x.dir} ${x.key.sport}`)).toEqual(["out 5000"]);
    expect(inc.length).toBeLessThan(full.length + 100);

    const b = await port();
    restoreSnapshot(b, 0, full, 1_000_045);
    restoreSnapshot(b, 0, inc, 1_000_050);
    const now = decodeSnapshot(exportSnapshot(a, 0, { now: 1_000_060 }));
    const got = decodeSnapshot(exportSnapshot(b, 0, { now: 1_000_060 }));
    expect(diffSnapshots(now, got)).toEqual({ added: [], removed: [], changed: [], counters: {} });
    expect(b.natUsage(0, 0).inUse).toBe(a.natUsage(0, 0).inUse);
    // and the migrated port carries on the conversation as the source would
    expect(run(b, secondHalf.slice(2), 1_000_100)).toEqual(run(a, secondHalf.slice(2), 1_000_100));
  });

  it("an incremental snapshot fits a full table when its deletions make room", async () => {
    const a = await port({ flowCapacity: 3 });
    run(a, [out(toPeer(1)), out(toServer(SYN, 1, 0))], 1_000_000);
    const gen = markSnapshot(a, 0);
    const full = exportSnapshot(a, 0, { now: 1_000_001 });
    a.fn("portFlowRemoveAt")(0, a.flows(0).find((f) => f.out.proto === 17)!.index);
    run(a, [out(toServer(SYN, 1, 0, 0, 40001)), out(toServer(SYN, 1, 0, 0, 40002))], 1_000_002);
    const inc = exportSnapshot(a, 0, { since: gen, now: 1_000_003 });
    const b = await port({ flowCapacity: 3 });
    restoreSnapshot(b, 0, full, 1_000_003);
    run(b, [out(toServer(SYN, 1, 0, 0, 40009))], 1_000_003); // the target grew a flow of its own: no room now
    const before = portState(b);
    expect(reasonOf(() => restoreSnapshot(b, 0, inc, 1_000_004))).toBe("SnapshotMismatch");
    expect(portState(b)).toBe(before);
    b.fn("portFlowRemoveAt")(0, b.flows(0).find((f) => f.out.sport === 40009)!.index);
    restoreSnapshot(b, 0, inc, 1_000_004);
    expect(b.flows(0).map((f) => f.out.sport).sort()).toEqual([40000, 40001, 40002]);
  });

  it("fails with SnapshotGap when the deletion log no longer covers the generation", async () => {
    const a = await port();
    run(a, firstHalf, 1_000_000);
    expect(reasonOf(() => exportSnapshot(a, 0, { since: 1, now: 1 }))).toBe("SnapshotGap"); // no mark yet
    const gen = markSnapshot(a, 0);
    a.fn("portFlowsClear")(0);
    expect(reasonOf(() => exportSnapshot(a, 0, { since: gen, now: 1 }))).toBe("SnapshotGap");
    const later = markSnapshot(a, 0);
    expect(decodeSnapshot(exportSnapshot(a, 0, { since: later, now: 1 })).flows).toEqual([]);
    expect(reasonOf(() => exportSnapshot(a, 7, { now: 1 }))).toBe("NoPort");
  });
});
