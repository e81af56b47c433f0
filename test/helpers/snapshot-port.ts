// A port whose flows make interesting snapshots: a stateful firewall, SNAT
// to the Internet prefix through pool 0, and a Geneve overlay; traffic that
// gives it TCP connections through SNAT (each its own SNAT port), a UDP flow
// to a VPC peer and an inbound connection. Used by the snapshot check tests.
import { Engine } from "../../hosts/engine/engine.js";
import { Dir } from "../../hosts/engine/batch.js";
import { encodePortProgram, LayerDef } from "../../layers/program/encode.js";
import { decodeSnapshot, snapshotChecksum } from "../../hosts/snapshot/format.js";
import { ipFrame, tcp, udp, geneve, TCP_FLAGS } from "./frames.js";

export const GUEST_MAC = "a8:40:25:00:00:01", GW_MAC = "a8:40:25:ff:77:77", PEER_MAC = "a8:40:25:00:00:02", BOUNDARY_MAC = "a8:40:25:00:00:fe";
export const SLED_A = "fd00:1122:3344:101::1", SLED_B = "fd00:1122:3344:102::1", BOUNDARY = "fd00:1122:3344:1::1";
const UNDERLAY_MAC = "02:00:00:00:0a:01", SWITCH_MAC = "02:00:00:00:5e:01";
export const VNI = 1234;
const V2P = 1;
export const GUEST = "10.0.0.5", PEER = "10.0.0.6", SERVER = "203.0.113.9", SNAT_IP = "198.51.100.10";
export const POOL_LO = 20000, POOL_HI = 20999;

const layers: LayerDef[] = [
  { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow",
    rules: [{ id: 1, dir: "in", priority: 100, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [80] }], action: { kind: "statefulAllow" } }] },
  { name: "nat", defaultIn: "allow", defaultOut: "allow",
    rules: [{ id: 5, dir: "out", priority: 10, predicates: [{ field: "dstIp", prefixes: ["203.0.113.0/24"] }], action: { kind: "snat", pool: 0 } }] },
  { name: "overlay", defaultIn: "deny", defaultOut: "deny",
    rules: [
      { id: 10, dir: "out", priority: 10, predicates: [], action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true } },
      { id: 11, dir: "in", priority: 10, predicates: [{ field: "vni", values: [VNI] }], action: { kind: "decap" } },
    ] },
];

export async function snapshotPort(o: { flowCapacity?: number; vni?: number; poolLo?: number; poolHi?: number } = {}): Promise<Engine> {
  const e = await Engine.load();
  e.createPort(0, { vni: o.vni ?? VNI, flowCapacity: o.flowCapacity ?? 1024, netEncap: true, underlayIp: SLED_A, underlayMac: UNDERLAY_MAC, nextHopMac: SWITCH_MAC, mtu: 9000 });
  e.loadProgram(0, encodePortProgram(layers));
  e.setNatPool(0, 0, SNAT_IP, o.poolLo ?? POOL_LO, o.poolHi ?? POOL_HI);
  e.mapSet(V2P, o.vni ?? VNI, PEER, 0, 65535, { encapVni: o.vni ?? VNI, underlay: SLED_B, mac: PEER_MAC });
  e.mapSet(V2P, o.vni ?? VNI, SERVER, 0, 65535, { encapVni: o.vni ?? VNI, underlay: BOUNDARY, mac: BOUNDARY_MAC });
  e.setPortState(0, "running");
  return e;
}

const { SYN, ACK } = TCP_FLAGS;
export const toServer = (sport: number, flags = SYN, seq = 100, ack = 0) =>
  ({ dir: Dir.Out, frame: ipFrame(GW_MAC, GUEST_MAC, GUEST, SERVER, 6, tcp(GUEST, SERVER, sport, 443, flags, new Uint8Array(), seq, ack)) });
export const fromServer = (dport: number, flags = SYN | ACK, seq = 900, ack = 101) =>
  ({ dir: Dir.In, frame: geneve(SWITCH_MAC, UNDERLAY_MAC, BOUNDARY, SLED_A, { vni: VNI },
    ipFrame(GUEST_MAC, BOUNDARY_MAC, SERVER, SNAT_IP, 6, tcp(SERVER, SNAT_IP, 443, dport, flags, new Uint8Array(), seq, ack))) });
export const toPeer = (sport = 5000) => ({ dir: Dir.Out, frame: ipFrame(GW_MAC, GUEST_MAC, GUEST, PEER, 17, udp(GUEST, PEER, sport, 7000, new Uint8Array(8))) });
export const fromPeerTcp = (sport: number) => ({ dir: Dir.In, frame: geneve(SWITCH_MAC, UNDERLAY_MAC, SLED_B, SLED_A, { vni: VNI },
  ipFrame(GUEST_MAC, PEER_MAC, PEER, GUEST, 6, tcp(PEER, GUEST, sport, 80, SYN))) });

export function run(e: Engine, steps: { dir: Dir; frame: Uint8Array }[], t0: number): void {
  const b = e.newBatch(1);
  steps.forEach((s, i) => { b.set(0, s.frame, 0, s.dir); b.run(1, t0 + i); });
}

/** Three SNAT'd connections (ports 20000-20002), a UDP flow to the peer and an inbound connection, in that order. */
export const busy = [
  toServer(40000), fromServer(POOL_LO), toServer(40001), fromServer(POOL_LO + 1), toServer(40002),
  toPeer(), fromPeerTcp(33000),
];

/** A copy of `snap` with `edit` applied and the checksum made right again. */
export function reseal(snap: Uint8Array, edit: (b: Uint8Array, dv: DataView) => void): Uint8Array {
  const b = Uint8Array.from(snap);
  const dv = new DataView(b.buffer);
  edit(b, dv);
  dv.setUint32(44, snapshotChecksum(b), true);
  return b;
}

/** Byte offsets and sizes of the flow entries, and where the flow section's count is. */
export function flowEntries(snap: Uint8Array): { countAt: number; entries: { at: number; size: number }[] } {
  const s = decodeSnapshot(snap);
  const countAt = 48 + 4 + 8 * s.counterSlots + 4 + 24 * s.pools.length;
  let at = countAt + 4;
  const entries = s.flows.map((f) => { const x = { at, size: f.entryBytes }; at += f.entryBytes; return x; });
  return { countAt, entries };
}

/** A snapshot with its flow entries rearranged (some repeated, some left out): counts, body length and checksum made right. */
export function withEntries(snap: Uint8Array, pick: number[]): Uint8Array {
  const { countAt, entries } = flowEntries(snap);
  const end = entries.length ? entries[entries.length - 1].at + entries[entries.length - 1].size : countAt + 4;
  const parts = [snap.subarray(0, countAt + 4), ...pick.map((i) => snap.subarray(entries[i].at, entries[i].at + entries[i].size)), snap.subarray(end)];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return reseal(out, (_, dv) => {
    dv.setUint32(32, pick.length, true);
    dv.setUint32(countAt, pick.length, true);
    dv.setUint32(40, out.length - 48, true);
  });
}
