// Building multicast membership reports by hand, independently of the engine
// and of the sled's parser (tests and the rack demo): IGMPv3 reports (RFC
// 3376 §4.2) to 224.0.0.22 with the Router Alert option, MLDv2 reports (RFC
// 3810 §5.2) to ff02::16 behind a hop-by-hop Router Alert, as guests send
// them, with their checksums.

import { ip16, parseIpv4 } from "../../layers/program/addr.js";
import { csum, eth, ipv6 } from "./frames.js";

/** Record types (RFC 3376 §4.2.12, RFC 3810 §5.2.12). */
export const RECORD = { isInclude: 1, isExclude: 2, toInclude: 3, toExclude: 4, allow: 5, block: 6 } as const;

export interface GroupRecord { type: number; group: string; sources: string[] }

function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function record(r: GroupRecord, addr: (s: string) => Uint8Array, auxWords = 0): Uint8Array {
  const head = new Uint8Array(4);
  head[0] = r.type; head[1] = auxWords;
  new DataView(head.buffer).setUint16(2, r.sources.length);
  return cat([head, addr(r.group), ...r.sources.map(addr), new Uint8Array(auxWords * 4)]);
}

/** The IGMPv3 message: type 0x22, checksum, number of records, the records. */
export function igmpv3Message(records: GroupRecord[]): Uint8Array {
  const head = new Uint8Array(8);
  head[0] = 0x22;
  new DataView(head.buffer).setUint16(6, records.length);
  const msg = cat([head, ...records.map((r) => record(r, parseIpv4))]);
  const c = csum(msg);
  msg[2] = c >> 8; msg[3] = c & 0xff;
  return msg;
}

/** A guest's IGMPv3 report frame: IPv4 with Router Alert (RFC 2113), TTL 1, to 224.0.0.22. */
export function igmpv3Report(srcMac: string, srcIp: string, records: GroupRecord[]): Uint8Array {
  const msg = igmpv3Message(records);
  const h = new Uint8Array(24);
  const dv = new DataView(h.buffer);
  h[0] = 0x46; h[1] = 0xc0; dv.setUint16(2, 24 + msg.length); h[8] = 1; h[9] = 2;
  h.set(parseIpv4(srcIp), 12); h.set([224, 0, 0, 22], 16);
  h.set([0x94, 0x04, 0x00, 0x00], 20);
  dv.setUint16(10, csum(h));
  return eth("01:00:5e:00:00:16", srcMac, 0x0800, cat([h, msg]));
}

/** The MLDv2 message (type 143) with its checksum over the IPv6 pseudo-header. */
export function mldv2Message(srcIp: string, records: GroupRecord[]): Uint8Array {
  const head = new Uint8Array(8);
  head[0] = 143;
  new DataView(head.buffer).setUint16(6, records.length);
  const msg = cat([head, ...records.map((r) => record(r, ip16))]);
  const pseudo = new Uint8Array(40);
  pseudo.set(ip16(srcIp), 0); pseudo.set(ip16("ff02::16"), 16);
  new DataView(pseudo.buffer).setUint32(32, msg.length); pseudo[39] = 58;
  const c = csum(cat([pseudo, msg]));
  msg[2] = c >> 8; msg[3] = c & 0xff;
  return msg;
}

/** A guest's MLDv2 report frame: hop-by-hop Router Alert (RFC 2711), hop limit 1, to ff02::16. */
export function mldv2Report(srcMac: string, srcIp: string, records: GroupRecord[]): Uint8Array {
  const hbh = Uint8Array.from([58, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00]);
  return eth("33:33:00:00:00:16", srcMac, 0x86dd, ipv6(srcIp, "ff02::16", 0, cat([hbh, mldv2Message(srcIp, records)]), 1));
}
