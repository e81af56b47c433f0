// Reading snapshots without the engine (docs/snapshot-format.md): verify the
// header and checksum, decode flows for `wopte snapshot inspect`, compare two
// snapshots for `diff`. Pure TypeScript over the documented layout.

import { ipText } from "../../layers/program/addr.js";
import { PORT_COUNTERS, reasonName, REASON_COUNT } from "../engine/reasons.js";
import { TCP_STATES } from "../engine/flows.js";

export class SnapshotError extends Error {}

export const SNAP_MAGIC = 0x53504f57;
export const SNAP_VERSION = 2;
/** Versions this reader takes: 2, and 1 (its TCP states translated, as the engine does). */
export const SNAP_VERSIONS_READ = [1, 2];
// The counter layout of the last version-1 build: 16 port counters, then 58 reasons.
const V1_PORT_COUNTERS = 16;
const HEADER = 48;

export interface SnapshotKey { src: string; dst: string; sport: number; dport: number; proto: number; vni: number }
export interface SnapshotFlow {
  origin: "in" | "out";
  key: SnapshotKey;           // as the flow's first packet travelled
  reply?: SnapshotKey;        // the key its replies carry (after NAT)
  tcpState: string;
  /** The guest's last TCP sequence number, when known (it tells an ACK of the guest's FIN). */
  guestSeq?: number;
  layerBits: number;
  meter: number;
  nat?: { pool: number; port: number };
  ageSec: number;
  idleMs: number;
  pktsOut: number; bytesOut: number; pktsIn: number; bytesIn: number;
  /** Bytes this entry takes in the snapshot. */
  entryBytes: number;
}
export interface Snapshot {
  version: number; incremental: boolean; port: number; epoch: number; since: number; generation: number; timeMs: number;
  counters: Record<string, number>;
  /** How many counters the snapshot stores (zero drop counters are left out of `counters`). */
  counterSlots: number;
  pools: { id: number; ip: string; firstPort: number; lastPort: number }[];
  flows: SnapshotFlow[];
  deletions: { dir: "in" | "out"; key: SnapshotKey }[];
  bytes: number;
}

let crcTable: Uint32Array | undefined;
/** CRC-32C (Castagnoli); pass the previous result as `crc` to continue over more bytes. */
export function crc32c(b: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The checksum a snapshot's header carries: over header bytes 0–43 and the body. */
export function snapshotChecksum(b: Uint8Array): number {
  return crc32c(b.subarray(HEADER), crc32c(b.subarray(0, 44)));
}

function addr16(dv: DataView, at: number): Uint8Array {
  // the engine's little-endian (hi, lo) halves → wire order
  const out = new Uint8Array(16);
  const o = new DataView(out.buffer);
  o.setBigUint64(0, dv.getBigUint64(at, true));
  o.setBigUint64(8, dv.getBigUint64(at + 8, true));
  return out;
}

/** A whole 40-byte key in the engine's layout (a kind-3 reply key, a deletion, a refused snapshot's key). */
export function engineKeyAt(dv: DataView, at: number): SnapshotKey {
  const pv = dv.getUint32(at + 36, true);
  return { src: ipText(addr16(dv, at)), dst: ipText(addr16(dv, at + 16)), sport: dv.getUint16(at + 32, true), dport: dv.getUint16(at + 34, true),
    proto: pv & 0xff, vni: pv >>> 8 };
}

/** Check version, lengths and checksum; throws SnapshotError with a clear message. */
export function verifySnapshot(b: Uint8Array): { version: number; incremental: boolean; flows: number; deletions: number } {
  if (b.length < HEADER) throw new SnapshotError(`truncated at byte ${b.length}: a snapshot header is ${HEADER} bytes`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== SNAP_MAGIC) throw new SnapshotError("not a wopte snapshot (bad magic)");
  const version = dv.getUint16(4, true);
  if (!SNAP_VERSIONS_READ.includes(version)) {
    throw new SnapshotError(`unknown snapshot version ${version} (this tool reads versions ${SNAP_VERSIONS_READ.join(" and ")})`);
  }
  const bodyLen = dv.getUint32(40, true);
  if (HEADER + bodyLen > b.length) throw new SnapshotError(`truncated at byte ${b.length}: the header says ${HEADER + bodyLen}`);
  if (HEADER + bodyLen < b.length) throw new SnapshotError(`${b.length - HEADER - bodyLen} stray bytes after the snapshot`);
  const want = dv.getUint32(44, true), got = snapshotChecksum(b);
  if (want !== got) throw new SnapshotError(`checksum mismatch: header says 0x${want.toString(16)}, content has 0x${got.toString(16)}`);
  const flags = dv.getUint16(6, true);
  if (flags & ~1) throw new SnapshotError(`unknown flags 0x${flags.toString(16)}`);
  return { version, incremental: (flags & 1) !== 0, flows: dv.getUint32(32, true), deletions: dv.getUint32(36, true) };
}

export function decodeSnapshot(b: Uint8Array, onProgress?: (done: number, total: number) => void): Snapshot {
  const v = verifySnapshot(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = HEADER;
  const need = (n: number) => { if (at + n > b.length) throw new SnapshotError(`truncated at byte ${at}`); };
  const u8 = () => { need(1); return dv.getUint8(at++); };
  const u16 = () => { need(2); const x = dv.getUint16(at, true); at += 2; return x; };
  const u32 = () => { need(4); const x = dv.getUint32(at, true); at += 4; return x; };
  // LEB128 up to 64 bits; Number arithmetic (exact to 2^53, plenty for counters)
  const varint = () => {
    const start = at;
    let x = 0, mul = 1;
    for (let n = 0; n < 10; n++) { const c = u8(); x += (c & 0x7f) * mul; if (!(c & 0x80)) return x; mul *= 128; }
    throw new SnapshotError(`bad varint at byte ${start}`);
  };
  const ip = (v4: boolean) => {
    if (v4) { need(4); const x = dv.getUint32(at, true); at += 4; return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`; }
    need(16); const t = ipText(addr16(dv, at)); at += 16; return t;
  };
  const fullKey = (): SnapshotKey => {
    need(40);
    const k = engineKeyAt(dv, at);
    at += 40;
    return k;
  };
  // version 1: one count (port counters, then reasons); version 2: the two counts
  let nPort: number, nReasons: number;
  if (v.version === 1) { const n = u32(); nPort = Math.min(n, V1_PORT_COUNTERS); nReasons = n - nPort; }
  else { nPort = u16(); nReasons = u16(); }
  const nCounters = nPort + nReasons;
  const counters: Record<string, number> = {};
  for (let i = 0; i < nCounters; i++) {
    need(8);
    const val = Number(dv.getBigUint64(at, true)); at += 8;
    const name = i < nPort ? PORT_COUNTERS[i] ?? `counter${i}` : `drops.${reasonName(i - nPort)}`;
    if ((i < nPort && i < PORT_COUNTERS.length) || (i >= nPort && i - nPort < REASON_COUNT && val)) counters[name] = val;
  }
  const pools = [];
  for (let i = u32(); i > 0; i--) {
    const id = u16(), firstPort = u16(), lastPort = u16(); u16();
    need(16); const addr = ipText(addr16(dv, at)); at += 16;
    pools.push({ id, ip: addr, firstPort, lastPort });
  }
  const nFlows = u32();
  const flows: SnapshotFlow[] = [];
  if (nFlows !== v.flows) throw new SnapshotError(`the header counts ${v.flows} flows, the flow section ${nFlows}`);
  for (let i = 0; i < nFlows; i++) {
    const entryAt = at;
    const f = u8(), tcpByte = u8(), tcpFlags = u8();
    if (f & ~63) throw new SnapshotError(`flow ${i} at byte ${entryAt}: unknown flag bits 0x${(f & ~63).toString(16)}`);
    const meter = u8(), layerBits = u32(), pv = u32(), sport = u16(), dport = u16();
    const v4 = (f & 2) !== 0;
    const key: SnapshotKey = { src: ip(v4), dst: ip(v4), sport, dport, proto: pv & 0xff, vni: pv >>> 8 };
    const kind = (f >> 2) & 3;
    let reply: SnapshotKey | undefined = (f & 32) ? { src: key.dst, dst: key.src, sport: key.dport, dport: key.sport, proto: key.proto, vni: key.vni } : undefined;
    if (kind === 1) reply = { ...reply!, src: ip(v4), sport: u16() };
    else if (kind === 2) reply = { ...reply!, dst: ip(v4), dport: u16() };
    else if (kind === 3) reply = fullKey();
    const nat = f & 16 ? { pool: u16(), port: u16() } : undefined;
    const tcp = v.version === 1 ? tcpStateFromV1(tcpByte, tcpFlags, (f & 1) !== 0) : tcpByte;
    const guestSeq = v.version !== 1 && tcpFlags & 1 ? u32() : undefined;
    const ageSec = u32(), idleMs = u32();
    flows.push({ origin: f & 1 ? "out" : "in", key, reply, tcpState: TCP_STATES[tcp] ?? `state${tcp}`,
      ...(guestSeq !== undefined ? { guestSeq } : {}), layerBits, meter, nat, ageSec, idleMs,
      pktsOut: varint(), bytesOut: varint(), pktsIn: varint(), bytesIn: varint(), entryBytes: 0 });
    flows[i].entryBytes = at - entryAt;
    if (onProgress && i % 100_000 === 99_999) onProgress(i + 1, nFlows);
  }
  const deletions = [];
  const nDeletions = u32();
  if (nDeletions !== v.deletions) throw new SnapshotError(`the header counts ${v.deletions} deletions, the deletion section ${nDeletions}`);
  for (let i = 0; i < nDeletions; i++) {
    const d = u8();
    if (d !== 1 && d !== 2) throw new SnapshotError(`deletion ${i} at byte ${at - 1}: bad direction ${d}`);
    deletions.push({ dir: d === 2 ? "out" as const : "in" as const, key: fullKey() });
  }
  if (at !== b.length) throw new SnapshotError(`${b.length - at} bytes after the last section (at byte ${at})`);
  return {
    version: v.version, incremental: v.incremental, port: dv.getUint32(8, true), epoch: dv.getUint32(12, true), since: dv.getUint32(16, true),
    generation: dv.getUint32(20, true), timeMs: dv.getFloat64(24, true), counters, counterSlots: nCounters, pools, flows, deletions, bytes: b.length,
  };
}

/**
 * Version 1's TCP states (0 none, 1 syn-sent, 2 syn-rcvd, 3 established, 4 fin-wait,
 * 5 closing, 6 closed; FIN bits 0x10 out, 0x20 in) as version 2 numbers them
 * (engine/snapshot/snapshot.ts does the same on restore).
 */
function tcpStateFromV1(v: number, fin: number, originOut: boolean): number {
  const S = (name: (typeof TCP_STATES)[number]) => TCP_STATES.indexOf(name);
  switch (v) {
    case 1: return S(originOut ? "syn-sent" : "listen");
    case 2: return S(originOut ? "established" : "syn-rcvd");
    case 3: return S("established");
    case 4: return S(fin & 0x10 ? "fin-wait-1" : "close-wait");
    case 5: return S("time-wait");
    case 0: case 6: return S("closed");
  }
  return 100 + v; // shown as "state…": not a version-1 state
}

/** Where a snapshot's bytes go: the fixed part (header, counters, pools), flows, deletions. */
export function snapshotLayout(b: Uint8Array): { fixedBytes: number; flowBytes: number; deletionBytes: number; flowSizes: number[] } {
  const s = decodeSnapshot(b);
  const flowSizes = s.flows.map((f) => f.entryBytes);
  const flowBytes = flowSizes.reduce((a, x) => a + x, 0);
  const deletionBytes = 41 * s.deletions.length;
  return { fixedBytes: b.length - flowBytes - deletionBytes, flowBytes, deletionBytes, flowSizes };
}

export function flowId(f: { origin: string; key: SnapshotKey }): string {
  const k = f.key;
  return `${f.origin} ${k.proto} ${k.src}:${k.sport} > ${k.dst}:${k.dport} vni ${k.vni}`;
}

export interface SnapshotDiff {
  added: SnapshotFlow[]; removed: SnapshotFlow[];
  changed: { id: string; changes: Record<string, [unknown, unknown]> }[];
  counters: Record<string, number>;
}

export function diffSnapshots(a: Snapshot, b: Snapshot): SnapshotDiff {
  const ma = new Map(a.flows.map((f) => [flowId(f), f]));
  const mb = new Map(b.flows.map((f) => [flowId(f), f]));
  const changed: SnapshotDiff["changed"] = [];
  for (const [id, fb] of mb) {
    const fa = ma.get(id);
    if (!fa) continue;
    const changes: Record<string, [unknown, unknown]> = {};
    for (const k of ["tcpState", "guestSeq", "nat", "layerBits", "pktsOut", "bytesOut", "pktsIn", "bytesIn", "reply"] as const) {
      if (JSON.stringify(fa[k]) !== JSON.stringify(fb[k])) changes[k] = [fa[k], fb[k]];
    }
    if (Object.keys(changes).length) changed.push({ id, changes });
  }
  const counters: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.counters), ...Object.keys(b.counters)])) {
    const d = (b.counters[k] ?? 0) - (a.counters[k] ?? 0);
    if (d) counters[k] = d;
  }
  return {
    added: [...mb].filter(([id]) => !ma.has(id)).map(([, f]) => f),
    removed: [...ma].filter(([id]) => !mb.has(id)).map(([, f]) => f),
    changed, counters,
  };
}
