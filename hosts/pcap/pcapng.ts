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

/**
 * What an interface's name says about its frames: fixtures name the port's
 * two sides `guest` and `network`; `wopte capture` writes what entered the
 * port (`from-guest`, `from-network`) and what the port emitted
 * (`to-guest`, `to-network`); earlier captures called these guest-in,
 * network-in, guest-out and network-out.
 */
export const INTERFACE_ROLES: Record<string, { side: Side; emitted: boolean }> = {
  "guest": { side: "guest", emitted: false }, "network": { side: "network", emitted: false },
  "from-guest": { side: "guest", emitted: false }, "from-network": { side: "network", emitted: false },
  "to-guest": { side: "guest", emitted: true }, "to-network": { side: "network", emitted: true },
  "guest-in": { side: "guest", emitted: false }, "network-in": { side: "network", emitted: false },
  "guest-out": { side: "guest", emitted: true }, "network-out": { side: "network", emitted: true },
};

export interface CapturedFrame {
  /**
   * The side of the port the frame came from (or, when `emitted`, went to),
   * by its interface's name (INTERFACE_ROLES); undefined for other names and classic pcap.
   */
  side: Side | undefined;
  /** The port emitted this frame (a capture's to-guest/to-network interfaces): an output, not an input. */
  emitted?: boolean;
  /** The frame's opt_comment, if any (wopte capture writes why a frame was dropped). */
  comment?: string;
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
      const role = iface.name !== undefined ? INTERFACE_ROLES[iface.name] : undefined;
      const frame: CapturedFrame = { side: role?.side, interfaceName: iface.name, interfaceId: id, timeMs, bytes: buf.slice(body + 20, body + 20 + caplen) };
      if (role?.emitted) frame.emitted = true;
      if (type === EPB) {
        const comment = packetComment(buf, dv, le, body + 20 + pad4(caplen), end);
        if (comment !== undefined) frame.comment = comment;
      }
      out.push(frame);
    } else if (type === SPB) {
      throw new CaptureError(`simple packet block at byte ${at}: it carries no timestamp; use enhanced packet blocks`);
    }
    at += len;
  }
  return out;
}

/** The first opt_comment among a packet block's options (malformed options are ignored: they are optional). */
function packetComment(buf: Uint8Array, dv: DataView, le: boolean, from: number, end: number): string | undefined {
  for (let o = from; o + 4 <= end;) {
    const code = dv.getUint16(o, le), olen = dv.getUint16(o + 2, le);
    if (code === 0 || olen > end - o - 4) return undefined;
    if (code === 1) return new TextDecoder().decode(buf.subarray(o + 4, o + 4 + olen));
    o += 4 + pad4(olen);
  }
  return undefined;
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

/** A frame for `writeInterfaces`. */
export interface FrameToWrite {
  iface: number;
  /** ms since the epoch; `timeNs` (ns since the epoch) wins when given, for nanosecond captures. */
  timeMs: number;
  timeNs?: bigint;
  bytes: Uint8Array;
  /** epb_flags direction: the frame came in to the port, or went out of it. */
  direction?: "inbound" | "outbound";
  /** opt_comment: free text Wireshark shows with the frame (frame.comment), e.g. why it was dropped. */
  comment?: string;
}

export interface WriteOptions {
  /** Timestamp resolution (if_tsresol): microseconds (the default) or nanoseconds. */
  resolution?: "us" | "ns";
}

// option codes (draft-ietf-opsawg-pcapng §3.5, §4.2, §4.3)
const OPT_COMMENT = 1, IF_NAME = 2, IF_TSRESOL = 9, EPB_FLAGS = 2;

/** Options as a block body tail: each code, length, value padded to 4, then opt_endofopt. */
function options(list: [number, Uint8Array][]): Uint8Array {
  if (!list.length) return new Uint8Array(0);
  const out = new Uint8Array(list.reduce((n, [, v]) => n + 4 + pad4(v.length), 0) + 4);
  const d = new DataView(out.buffer);
  let o = 0;
  for (const [code, v] of list) {
    d.setUint16(o, code, true); d.setUint16(o + 2, v.length, true);
    out.set(v, o + 4);
    o += 4 + pad4(v.length);
  }
  return out; // the last four bytes stay zero: opt_endofopt
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** Ticks since the epoch at `perSecond` (rounded; negative clamped). */
function ticks(f: FrameToWrite, perSecond: bigint): bigint {
  if (f.timeNs !== undefined) return f.timeNs < 0n ? 0n : (f.timeNs * perSecond) / 1_000_000_000n;
  return perSecond === 1_000_000n ? micros(f.timeMs) : BigInt(Math.max(0, Math.round(f.timeMs * 1000))) * (perSecond / 1_000_000n);
}

/**
 * Write pcapng (little endian) with any named Ethernet interfaces; each frame
 * names its interface by index and may carry a direction and a comment.
 */
export function writeInterfaces(names: string[], frames: FrameToWrite[], o: WriteOptions = {}): Uint8Array {
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
  const enc = new TextEncoder();
  const perSecond = o.resolution === "ns" ? 1_000_000_000n : 1_000_000n;
  const shb = new Uint8Array(16);
  const s = new DataView(shb.buffer);
  s.setUint32(0, BYTE_ORDER_MAGIC, true); s.setUint16(4, 1, true); s.setUint16(6, 0, true);
  s.setBigInt64(8, -1n, true); // section length not given
  block(SHB, shb);
  for (const name of names) {
    const opts = options([[IF_NAME, enc.encode(name)], ...(o.resolution === "ns" ? [[IF_TSRESOL, Uint8Array.of(9)] as [number, Uint8Array]] : [])]);
    const body = new Uint8Array(8 + opts.length);
    const d = new DataView(body.buffer);
    d.setUint16(0, LINKTYPE_ETHERNET, true); d.setUint32(4, 0, true); // snaplen: unlimited
    body.set(opts, 8);
    block(IDB, body);
  }
  for (const f of frames) {
    if (!(f.iface >= 0 && f.iface < names.length)) throw new Error(`frame names interface ${f.iface}; there are ${names.length}`);
    const opts = options([
      ...(f.direction ? [[EPB_FLAGS, u32le(f.direction === "inbound" ? 1 : 2)] as [number, Uint8Array]] : []),
      ...(f.comment ? [[OPT_COMMENT, enc.encode(f.comment)] as [number, Uint8Array]] : []),
    ]);
    const body = new Uint8Array(20 + pad4(f.bytes.length) + opts.length);
    const d = new DataView(body.buffer);
    const t = ticks(f, perSecond);
    d.setUint32(0, f.iface, true);
    d.setUint32(4, Number(t >> 32n), true); d.setUint32(8, Number(t & 0xffffffffn), true);
    d.setUint32(12, f.bytes.length, true); d.setUint32(16, f.bytes.length, true);
    body.set(f.bytes, 20);
    body.set(opts, 20 + pad4(f.bytes.length));
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
