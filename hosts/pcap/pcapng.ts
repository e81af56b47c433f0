// Reading and writing packet captures, Ethernet frames only.
//
// pcapng (draft-ietf-opsawg-pcapng) is what fixtures use: one interface per
// side of the port ("guest", "network"), so every frame carries its direction.
// Read: sections of either byte order, interface blocks with if_name,
// if_tsresol and if_tsoffset, enhanced (and obsolete) packet blocks; other
// blocks are skipped. Classic pcap (little or big endian, µs or ns) is read
// too; its frames have no side. Any malformed input is a CaptureError, never
// another exception.

export type Side = "guest" | "network";

export interface CapturedFrame {
  /** The interface's name when it is `guest` or `network`; undefined otherwise and for classic pcap. */
  side: Side | undefined;
  interfaceName?: string;
  /** Index of the interface in its section (pcapng only). */
  interfaceId?: number;
  /** Milliseconds (fractional) since the epoch, as stored. The whole part is exact. */
  timeMs: number;
  bytes: Uint8Array;
}

export class CaptureError extends Error {}

const SHB = 0x0a0d0d0a, IDB = 1, OPB = 2, SPB = 3, EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const PCAP_MAGIC = { usLE: 0xa1b2c3d4, nsLE: 0xa1b23c4d, usBE: 0xd4c3b2a1, nsBE: 0x4d3cb2a1 };

function pad4(n: number): number { return (n + 3) & ~3; }

/** A timestamp of `units` ticks at `perSecond` ticks per second, in ms, keeping the whole ms exact. */
function ticksToMs(units: bigint, perSecond: bigint): number {
  const whole = (units * 1000n) / perSecond;
  const rest = (units * 1000n) % perSecond;
  return Number(whole) + Number(rest) / Number(perSecond);
}

/** Read a pcapng or classic pcap file. Throws CaptureError saying what is wrong and where. */
export function readCapture(buf: Uint8Array): CapturedFrame[] {
  if (buf.length < 4) throw new CaptureError("capture is empty or truncated");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic === SHB) return readPcapng(buf, dv);
  if (Object.values(PCAP_MAGIC).includes(magic)) return readPcap(buf, dv);
  throw new CaptureError(`not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, "0")})`);
}

function readPcap(buf: Uint8Array, dv: DataView): CapturedFrame[] {
  if (dv.byteLength < 24) throw new CaptureError("pcap file header truncated");
  const m = dv.getUint32(0, true);
  const le = m === PCAP_MAGIC.usLE || m === PCAP_MAGIC.nsLE;
  const perSecond = m === PCAP_MAGIC.nsLE || m === PCAP_MAGIC.nsBE ? 1_000_000_000n : 1_000_000n;
  const linktype = dv.getUint32(20, le) & 0x0fffffff; // the top bits may carry FCS information
  if (linktype !== LINKTYPE_ETHERNET) throw new CaptureError(`pcap link type ${linktype} is not Ethernet (1)`);
  const out: CapturedFrame[] = [];
  for (let at = 24; at < dv.byteLength;) {
    if (at + 16 > dv.byteLength) throw new CaptureError(`pcap record header truncated at byte ${at}`);
    const sec = dv.getUint32(at, le), frac = dv.getUint32(at + 4, le), incl = dv.getUint32(at + 8, le);
    if (incl > dv.byteLength - at - 16) throw new CaptureError(`pcap record at byte ${at} claims ${incl} bytes, the file ends first`);
    const timeMs = ticksToMs(BigInt(sec) * perSecond + BigInt(frac), perSecond);
    out.push({ side: undefined, timeMs, bytes: buf.slice(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return out;
}

interface Interface { name?: string; linktype: number; perSecond: bigint; offsetSec: bigint }

function readPcapng(buf: Uint8Array, dv: DataView): CapturedFrame[] {
  let le = true;
  let ifaces: Interface[] = [];
  const out: CapturedFrame[] = [];
  for (let at = 0; at < dv.byteLength;) {
    if (at + 12 > dv.byteLength) throw new CaptureError(`pcapng block header truncated at byte ${at}`);
    const type = dv.getUint32(at, le); // SHB's type reads the same in either byte order
    if (type === SHB) {
      if (at + 28 > dv.byteLength) throw new CaptureError(`pcapng section header truncated at byte ${at}`);
      const bom = dv.getUint32(at + 8, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CaptureError(`pcapng section header at byte ${at} has a bad byte-order magic`);
      const major = dv.getUint16(at + 12, le);
      if (major !== 1) throw new CaptureError(`pcapng version ${major} is not supported (1 is)`);
      ifaces = [];
    }
    const len = dv.getUint32(at + 4, le);
    if (len < 12 || len % 4 !== 0 || len > dv.byteLength - at) throw new CaptureError(`pcapng block at byte ${at} has a bad length ${len}`);
    if (dv.getUint32(at + len - 4, le) !== len) throw new CaptureError(`pcapng block at byte ${at}: trailing length does not match ${len}`);
    const body = at + 8, end = at + len - 4;
    if (type !== SHB && at === 0) throw new CaptureError("pcapng file does not start with a section header");
    if (type === IDB) {
      if (end - body < 8) throw new CaptureError(`interface block at byte ${at} truncated`);
      ifaces.push(readInterface(buf, dv, le, body, end));
    } else if (type === EPB || type === OPB) {
      if (end - body < 20) throw new CaptureError(`packet block at byte ${at} truncated`);
      const id = type === EPB ? dv.getUint32(body, le) : dv.getUint16(body, le);
      const iface = ifaces[id];
      if (!iface) throw new CaptureError(`packet at byte ${at} names interface ${id}, which is not described`);
      if (iface.linktype !== LINKTYPE_ETHERNET) throw new CaptureError(`interface ${id} has link type ${iface.linktype}, not Ethernet (1)`);
      const ticks = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
      const caplen = dv.getUint32(body + 12, le);
      if (caplen > end - body - 20) throw new CaptureError(`packet at byte ${at} claims ${caplen} bytes, more than its block holds`);
      const timeMs = ticksToMs(ticks + iface.offsetSec * iface.perSecond, iface.perSecond);
      const side = iface.name === "guest" || iface.name === "network" ? iface.name : undefined;
      out.push({ side, interfaceName: iface.name, interfaceId: id, timeMs, bytes: buf.slice(body + 20, body + 20 + caplen) });
    } else if (type === SPB) {
      throw new CaptureError(`simple packet block at byte ${at}: it carries no timestamp; use enhanced packet blocks`);
    }
    at += len;
  }
  return out;
}

function readInterface(buf: Uint8Array, dv: DataView, le: boolean, body: number, end: number): Interface {
  const iface: Interface = { linktype: dv.getUint16(body, le), perSecond: 1_000_000n, offsetSec: 0n };
  for (let o = body + 8; o + 4 <= end;) {
    const code = dv.getUint16(o, le), olen = dv.getUint16(o + 2, le);
    if (code === 0) break;
    if (olen > end - o - 4) throw new CaptureError(`interface option ${code} at byte ${o} overruns its block`);
    const v = o + 4;
    if (code === 2) iface.name = new TextDecoder().decode(buf.subarray(v, v + olen)).replace(/\0+$/, "");
    if (code === 9 && olen >= 1) {
      const r = buf[v] & 0x7f;
      if (r > 30 || (!(buf[v] & 0x80) && r > 15)) throw new CaptureError(`interface timestamp resolution 0x${buf[v].toString(16)} is not supported`);
      iface.perSecond = buf[v] & 0x80 ? 1n << BigInt(r) : 10n ** BigInt(r);
    }
    if (code === 14 && olen >= 8) iface.offsetSec = dv.getBigInt64(v, le);
    o = v + pad4(olen);
  }
  return iface;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) { out.set(b, o); o += b.length; }
  return out;
}

/** µs since the epoch as a u64 (negative or fractional times are clamped and rounded). */
function micros(timeMs: number): bigint {
  return BigInt(Math.max(0, Math.round(timeMs * 1000)));
}

/** Write pcapng with the two fixture interfaces (0 guest, 1 network), µs timestamps. */
export function writeCapture(frames: { side: Side; timeMs: number; bytes: Uint8Array }[]): Uint8Array {
  return writeInterfaces(["guest", "network"], frames.map((f) => ({ iface: f.side === "guest" ? 0 : 1, timeMs: f.timeMs, bytes: f.bytes })));
}

/** Write pcapng (little endian, µs) with any named Ethernet interfaces; each frame names its interface by index. */
export function writeInterfaces(names: string[], frames: { iface: number; timeMs: number; bytes: Uint8Array }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const len = 12 + pad4(body.length);
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true); dv.setUint32(4, len, true);
    b.set(body, 8);
    dv.setUint32(len - 4, len, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  const s = new DataView(shb.buffer);
  s.setUint32(0, BYTE_ORDER_MAGIC, true); s.setUint16(4, 1, true); s.setUint16(6, 0, true);
  s.setBigInt64(8, -1n, true); // section length not given
  block(SHB, shb);
  for (const name of names) {
    const nb = new TextEncoder().encode(name);
    const body = new Uint8Array(8 + 4 + pad4(nb.length) + 4);
    const d = new DataView(body.buffer);
    d.setUint16(0, LINKTYPE_ETHERNET, true); d.setUint32(4, 0, true); // snaplen: unlimited
    d.setUint16(8, 2, true); d.setUint16(10, nb.length, true); body.set(nb, 12); // if_name, then opt_endofopt
    block(IDB, body);
  }
  for (const f of frames) {
    if (!(f.iface >= 0 && f.iface < names.length)) throw new Error(`frame names interface ${f.iface}; there are ${names.length}`);
    const body = new Uint8Array(20 + pad4(f.bytes.length));
    const d = new DataView(body.buffer);
    const us = micros(f.timeMs);
    d.setUint32(0, f.iface, true);
    d.setUint32(4, Number(us >> 32n), true); d.setUint32(8, Number(us & 0xffffffffn), true);
    d.setUint32(12, f.bytes.length, true); d.setUint32(16, f.bytes.length, true);
    body.set(f.bytes, 20);
    block(EPB, body);
  }
  return concat(blocks);
}

/** Write classic pcap (Ethernet), as other tools produce it: for `--dir` replays and reader tests. */
export function writePcap(frames: { timeMs: number; bytes: Uint8Array }[], o: { bigEndian?: boolean; nanoseconds?: boolean } = {}): Uint8Array {
  const le = !o.bigEndian;
  const perSecond = o.nanoseconds ? 1_000_000_000n : 1_000_000n;
  const head = new Uint8Array(24);
  const h = new DataView(head.buffer);
  h.setUint32(0, o.nanoseconds ? PCAP_MAGIC.nsLE : PCAP_MAGIC.usLE, le);
  h.setUint16(4, 2, le); h.setUint16(6, 4, le);
  h.setUint32(16, 262144, le); h.setUint32(20, LINKTYPE_ETHERNET, le);
  const parts = [head];
  for (const f of frames) {
    const rec = new Uint8Array(16 + f.bytes.length);
    const d = new DataView(rec.buffer);
    const ticks = (micros(f.timeMs) * perSecond) / 1_000_000n;
    d.setUint32(0, Number(ticks / perSecond), le); d.setUint32(4, Number(ticks % perSecond), le);
    d.setUint32(8, f.bytes.length, le); d.setUint32(12, f.bytes.length, le);
    rec.set(f.bytes, 16);
    parts.push(rec);
  }
  return concat(parts);
}
