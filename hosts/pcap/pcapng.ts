// Reading and writing packet captures: pcapng (what fixtures use: one
// interface per side, so every frame carries its direction) and classic
// pcap (read: little/big endian, µs/ns). Ethernet frames only.

export type Side = "guest" | "network";

export interface CapturedFrame {
  /** The interface's name (`guest` / `network` in fixtures) or undefined for classic pcap. */
  side: Side | undefined;
  interfaceName?: string;
  /** Milliseconds (fractional) since the epoch, as stored. */
  timeMs: number;
  bytes: Uint8Array;
}

export class CaptureError extends Error {}

const SHB = 0x0a0d0d0a, IDB = 1, EPB = 6, SPB = 3;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

function pad4(n: number): number { return (n + 3) & ~3; }

/** Read a pcapng or classic pcap file. */
export function readCapture(buf: Uint8Array): CapturedFrame[] {
  if (buf.length < 4) throw new CaptureError("capture is empty or truncated");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic === SHB) return readPcapng(buf, dv);
  if ([0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1].includes(magic)) return readPcap(dv, buf);
  throw new CaptureError(`not a pcap or pcapng file (magic 0x${magic.toString(16)})`);
}

function readPcap(dv: DataView, buf: Uint8Array): CapturedFrame[] {
  if (dv.byteLength < 24) throw new CaptureError("pcap header truncated");
  const m = dv.getUint32(0, true);
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const nano = m === 0xa1b23c4d || m === 0x4d3cb2a1;
  const linktype = dv.getUint32(20, le);
  if (linktype !== 1) throw new CaptureError(`pcap link type ${linktype} is not Ethernet`);
  const out: CapturedFrame[] = [];
  let at = 24;
  while (at < dv.byteLength) {
    if (at + 16 > dv.byteLength) throw new CaptureError(`pcap record header truncated at byte ${at}`);
    const sec = dv.getUint32(at, le), frac = dv.getUint32(at + 4, le), incl = dv.getUint32(at + 8, le);
    if (at + 16 + incl > dv.byteLength) throw new CaptureError(`pcap record truncated at byte ${at}`);
    out.push({ side: undefined, timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), bytes: buf.slice(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return out;
}

function readPcapng(buf: Uint8Array, dv: DataView): CapturedFrame[] {
  let le = true;
  const out: CapturedFrame[] = [];
  let ifaces: { name?: string; tsresol: number; linktype: number }[] = [];
  let at = 0;
  while (at < dv.byteLength) {
    if (at + 12 > dv.byteLength) throw new CaptureError(`pcapng block truncated at byte ${at}`);
    const type = dv.getUint32(at, le);
    if (type === SHB) {
      const bom = dv.getUint32(at + 8, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CaptureError("pcapng section header has a bad byte-order magic");
      ifaces = [];
    }
    const len = dv.getUint32(at + 4, le);
    if (len < 12 || len % 4 !== 0 || at + len > dv.byteLength) throw new CaptureError(`pcapng block at byte ${at} has a bad length ${len}`);
    if (type === IDB) {
      const linktype = dv.getUint16(at + 8, le);
      const iface: { name?: string; tsresol: number; linktype: number } = { tsresol: 1e-6, linktype };
      for (let o = at + 16; o + 4 <= at + len - 4;) {
        const code = dv.getUint16(o, le), olen = dv.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === 2) iface.name = new TextDecoder().decode(buf.subarray(o + 4, o + 4 + olen));
        if (code === 9 && olen >= 1) {
          const r = buf[o + 4];
          iface.tsresol = r & 0x80 ? 2 ** -(r & 0x7f) : 10 ** -(r & 0x7f);
        }
        o += 4 + pad4(olen);
      }
      ifaces.push(iface);
    } else if (type === EPB) {
      const id = dv.getUint32(at + 8, le);
      const iface = ifaces[id];
      if (!iface) throw new CaptureError(`packet at byte ${at} names unknown interface ${id}`);
      if (iface.linktype !== 1) throw new CaptureError(`interface ${id} link type ${iface.linktype} is not Ethernet`);
      const ts = dv.getUint32(at + 12, le) * 2 ** 32 + dv.getUint32(at + 16, le);
      const caplen = dv.getUint32(at + 20, le);
      if (28 + caplen > len) throw new CaptureError(`packet at byte ${at} overruns its block`);
      const side = iface.name === "guest" || iface.name === "network" ? iface.name : undefined;
      out.push({ side, interfaceName: iface.name, timeMs: ts * iface.tsresol * 1000, bytes: buf.slice(at + 28, at + 28 + caplen) });
    } else if (type === SPB) {
      throw new CaptureError("simple packet blocks carry no interface/direction; use enhanced packet blocks");
    }
    at += len;
  }
  return out;
}

/** Write pcapng with the two fixture interfaces (0 guest, 1 network), µs timestamps. */
export function writeCapture(frames: { side: Side; timeMs: number; bytes: Uint8Array }[]): Uint8Array {
  return writeInterfaces(["guest", "network"], frames.map((f) => ({ iface: f.side === "guest" ? 0 : 1, timeMs: f.timeMs, bytes: f.bytes })));
}

/** Write pcapng with any named Ethernet interfaces; each frame names its interface by index. */
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
  s.setBigInt64(8, -1n, true);
  block(SHB, shb);
  for (const name of names) {
    const nb = new TextEncoder().encode(name);
    const body = new Uint8Array(8 + 4 + pad4(nb.length) + 4);
    const d = new DataView(body.buffer);
    d.setUint16(0, 1, true); d.setUint32(4, 0, true); // linktype Ethernet, snaplen unlimited
    d.setUint16(8, 2, true); d.setUint16(10, nb.length, true); body.set(nb, 12);
    block(IDB, body);
  }
  for (const f of frames) {
    const body = new Uint8Array(20 + pad4(f.bytes.length));
    const d = new DataView(body.buffer);
    const us = BigInt(Math.round(f.timeMs * 1000));
    d.setUint32(0, f.iface, true);
    d.setUint32(4, Number(us >> 32n), true); d.setUint32(8, Number(us & 0xffffffffn), true);
    d.setUint32(12, f.bytes.length, true); d.setUint32(16, f.bytes.length, true);
    body.set(f.bytes, 20);
    block(EPB, body);
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) { out.set(b, o); o += b.length; }
  return out;
}
