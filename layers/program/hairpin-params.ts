// Encoders for the params blocks of hairpin reply actions.
//
// A rule program carries, for each hairpin action, a HairpinKind and a
// params block the engine's generator (engine/hairpin/) reads. The byte
// layouts are documented in docs/hairpin.md; numbers are big-endian and
// addresses are as on the wire. These encoders validate their input and
// throw RangeError on values the engine would reject.

export const HairpinKind = {
  ArpReply: 1,
  Icmp4EchoReply: 2,
  Icmp6EchoReply: 3,
  NdpNeighborAdvert: 4,
  NdpRouterAdvert: 5,
  Dhcp4: 6,
  Dhcp6: 7,
  Icmp4Error: 8,
  Icmp6Error: 9,
} as const;
export type HairpinKind = (typeof HairpinKind)[keyof typeof HairpinKind];

export interface GatewayV4 { gatewayMac: string; gatewayIp: string }
export interface GatewayV6 { gatewayMac: string; gatewayIp: string }

export interface RouterAdvertPrefix {
  prefix: string;            // e.g. "fd00:1::"
  prefixLen: number;         // 0..128, 64 for SLAAC
  onLink?: boolean;          // L flag, default true
  autonomous?: boolean;      // A flag, default true
  validLifetime?: number;    // seconds, default 86400
  preferredLifetime?: number;// seconds, default 14400
}
export interface RouterAdvertOptions {
  gatewayMac: string;
  curHopLimit?: number;      // default 64
  managed?: boolean;         // M flag
  otherConfig?: boolean;     // O flag
  routerLifetime?: number;   // seconds, default 9000
  mtu?: number;              // 0 or absent = no MTU option, else ≥ 1280
  prefixes?: RouterAdvertPrefix[]; // at most 4
}

export interface Dhcp4Options {
  gatewayMac: string;
  serverIp: string;
  clientIp: string;
  prefixLen: number;
  router?: string;
  dnsServers?: string[];     // at most 4
  leaseSeconds: number;
  mtu?: number;              // 68..65535
  domainName?: string;       // ASCII, at most 255 bytes
  // The rest need rule program version 4 (the params extension).
  hostName?: string;         // option 12: one DNS label
  searchList?: string[];     // option 119 (RFC 3397): DNS names, ≤ 1020 bytes encoded
  /** Option 121 (RFC 3442), in order; a client that takes it ignores the router option, so give the default route here too. */
  classlessRoutes?: { dest: string; router: string }[]; // at most 16
}

export interface Dhcp6Options {
  gatewayMac: string;
  address?: string;          // absent: information-only (no IA_NA in replies)
  preferredLifetime: number;
  validLifetime: number;
  dnsServers?: string[];     // at most 4
  // The rest need rule program version 4 (the params extension).
  fqdn?: string;             // option 39 (RFC 4704), sent when asked for
  searchList?: string[];     // option 24 (RFC 3646), sent when asked for; ≤ 1020 bytes encoded
}

export interface Icmp4ErrorOptions extends GatewayV4 {
  type: 3 | 11 | 12;
  code: number;
  mtu?: number;              // next-hop MTU for type 3 code 4
  pointer?: number;          // for type 12
}
export interface Icmp6ErrorOptions extends GatewayV6 {
  type: 1 | 2 | 3 | 4;
  code: number;
  mtu?: number;              // for type 2 (Packet Too Big), ≥ 1280
  pointer?: number;          // for type 4 (Parameter Problem)
}

import { encodeDnsName, encodeDnsNames, hostLabelProblem } from "./dns-name.js";
import { parsePrefix } from "./addr.js";

// ---- address parsing

export function macBytes(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`bad MAC address: ${s}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export function ipv4Bytes(s: string): Uint8Array {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new RangeError(`bad IPv4 address: ${s}`);
  }
  return Uint8Array.from(parts, Number);
}

export function ipv6Bytes(s: string): Uint8Array {
  const bad = () => new RangeError(`bad IPv6 address: ${s}`);
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1]);
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    text = text.slice(0, -v4[1].length);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const group = (h: string) => (h === "" ? [] : h.split(":").map((g) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    return parseInt(g, 16);
  }));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  const words = halves.length === 2
    ? [...head, ...new Array(8 - head.length - rest.length - tail.length).fill(0), ...rest, ...tail]
    : [...head, ...tail];
  if (words.length !== 8 || (halves.length === 2 && head.length + rest.length + tail.length > 7)) throw bad();
  const out = new Uint8Array(16);
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

// ---- field helpers

function uint(name: string, v: number, max: number, min = 0): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private off = 0;
  constructor(len: number) {
    this.bytes = new Uint8Array(len);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): this { this.view.setUint8(this.off, v); this.off += 1; return this; }
  u16(v: number): this { this.view.setUint16(this.off, v); this.off += 2; return this; }
  u32(v: number): this { this.view.setUint32(this.off, v); this.off += 4; return this; }
  raw(b: Uint8Array): this { this.bytes.set(b, this.off); this.off += b.length; return this; }
  done(): Uint8Array {
    if (this.off !== this.bytes.length) throw new Error(`encoder wrote ${this.off} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

// ---- encoders, one per HairpinKind

/** ArpReply (10 bytes): gateway MAC | gateway IPv4. */
export function encodeArpParams(o: GatewayV4): Uint8Array {
  return new Writer(10).raw(macBytes(o.gatewayMac)).raw(ipv4Bytes(o.gatewayIp)).done();
}

/** Icmp4EchoReply (10 bytes): gateway MAC | gateway IPv4. */
export function encodeIcmp4EchoParams(o: GatewayV4): Uint8Array {
  return encodeArpParams(o);
}

/** Icmp6EchoReply (22 bytes): gateway MAC | gateway IPv6 (its fe80:: EUI-64 address is answered too). */
export function encodeIcmp6EchoParams(o: GatewayV6): Uint8Array {
  return new Writer(22).raw(macBytes(o.gatewayMac)).raw(ipv6Bytes(o.gatewayIp)).done();
}

/** NdpNeighborAdvert (22 bytes): gateway MAC | gateway IPv6. */
export function encodeNdpNeighborAdvertParams(o: GatewayV6): Uint8Array {
  return encodeIcmp6EchoParams(o);
}

/** NdpRouterAdvert (16 + 28 per prefix bytes). */
export function encodeNdpRouterAdvertParams(o: RouterAdvertOptions): Uint8Array {
  const prefixes = o.prefixes ?? [];
  if (prefixes.length > 4) throw new RangeError("at most 4 prefixes");
  const mtu = o.mtu ?? 0;
  if (mtu !== 0) uint("mtu", mtu, 0xffffffff, 1280);
  const w = new Writer(16 + 28 * prefixes.length)
    .raw(macBytes(o.gatewayMac))
    .u8(uint("curHopLimit", o.curHopLimit ?? 64, 255))
    .u8((o.managed ? 0x80 : 0) | (o.otherConfig ? 0x40 : 0))
    .u16(uint("routerLifetime", o.routerLifetime ?? 9000, 0xffff))
    .u32(mtu)
    .u8(prefixes.length)
    .u8(0);
  for (const p of prefixes) {
    const valid = uint("validLifetime", p.validLifetime ?? 86400, 0xffffffff);
    const preferred = uint("preferredLifetime", p.preferredLifetime ?? 14400, 0xffffffff);
    if (preferred > valid) throw new RangeError("preferredLifetime must not exceed validLifetime");
    w.u8(uint("prefixLen", p.prefixLen, 128))
      .u8(((p.onLink ?? true) ? 0x80 : 0) | ((p.autonomous ?? true) ? 0x40 : 0))
      .u16(0)
      .u32(valid)
      .u32(preferred)
      .raw(ipv6Bytes(p.prefix));
  }
  return w.done();
}

const MAX_SEARCH_BYTES = 1020;

function searchListBytes(names: readonly string[]): Uint8Array {
  const b = encodeDnsNames(names);
  if (b.length > MAX_SEARCH_BYTES) throw new RangeError(`the search list takes ${b.length} bytes encoded, more than ${MAX_SEARCH_BYTES}`);
  return b;
}

/** A route of option 121 as the params carry it: prefix length, destination, router (9 bytes). */
function classlessRoute(r: { dest: string; router: string }): Uint8Array {
  let p;
  try { p = parsePrefix(r.dest, { lengthRequired: true }); } catch (e) { throw new RangeError((e as Error).message); }
  if (p.family !== 4) throw new RangeError(`expected an IPv4 prefix, got ${r.dest}`);
  const given = ipv4Bytes(r.dest.split("/")[0]);
  const net = p.addr.subarray(12);
  if (given.some((b, i) => b !== net[i])) throw new RangeError(`${r.dest} has bits set past its prefix length`);
  return Uint8Array.from([p.bits, ...net, ...ipv4Bytes(r.router)]);
}

/** Dhcp4 (28 + 4 per DNS server + domain name bytes, then the version-4 extension when used). */
export function encodeDhcp4Params(o: Dhcp4Options): Uint8Array {
  const dns = o.dnsServers ?? [];
  if (dns.length > 4) throw new RangeError("at most 4 DNS servers");
  const domain = new TextEncoder().encode(o.domainName ?? "");
  if (domain.length > 255 || !/^[\x21-\x7e]*$/.test(o.domainName ?? "")) throw new RangeError("domainName must be printable ASCII, ≤ 255 bytes");
  const mtu = o.mtu ?? 0;
  if (mtu !== 0) uint("mtu", mtu, 0xffff, 68);
  const ext = o.hostName !== undefined || o.searchList !== undefined || o.classlessRoutes !== undefined;
  let extBytes: Uint8Array = new Uint8Array(0);
  if (ext) {
    const problem = o.hostName !== undefined ? hostLabelProblem(o.hostName) : undefined;
    if (problem) throw new RangeError(`hostName: ${problem}`);
    const host = new TextEncoder().encode(o.hostName ?? "");
    const routes = o.classlessRoutes ?? [];
    if (routes.length > 16) throw new RangeError("at most 16 classless routes");
    const search = searchListBytes(o.searchList ?? []);
    extBytes = new Writer(1 + host.length + 1 + 9 * routes.length + 2 + search.length)
      .u8(host.length).raw(host).u8(routes.length).raw(concat(routes.map(classlessRoute)))
      .u16(search.length).raw(search).done();
  }
  const w = new Writer(28 + 4 * dns.length + domain.length + extBytes.length)
    .raw(macBytes(o.gatewayMac))
    .raw(ipv4Bytes(o.serverIp))
    .raw(ipv4Bytes(o.clientIp))
    .raw(ipv4Bytes(o.router ?? "0.0.0.0"))
    .u32(uint("leaseSeconds", o.leaseSeconds, 0xffffffff))
    .u16(mtu)
    .u8(uint("prefixLen", o.prefixLen, 32))
    .u8(dns.length)
    .u8(domain.length)
    .u8(ext ? 1 : 0);
  for (const d of dns) w.raw(ipv4Bytes(d));
  return w.raw(domain).raw(extBytes).done();
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** Dhcp6 (32 + 16 per DNS server bytes, then the version-4 extension when used). */
export function encodeDhcp6Params(o: Dhcp6Options): Uint8Array {
  const dns = o.dnsServers ?? [];
  if (dns.length > 4) throw new RangeError("at most 4 DNS servers");
  const valid = uint("validLifetime", o.validLifetime, 0xffffffff);
  const preferred = uint("preferredLifetime", o.preferredLifetime, 0xffffffff);
  if (preferred > valid) throw new RangeError("preferredLifetime must not exceed validLifetime");
  const ext = o.fqdn !== undefined || o.searchList !== undefined;
  let extBytes: Uint8Array = new Uint8Array(0);
  if (ext) {
    const fqdn = o.fqdn !== undefined ? encodeDnsName(o.fqdn) : new Uint8Array(0);
    const search = searchListBytes(o.searchList ?? []);
    extBytes = new Writer(1 + fqdn.length + 2 + search.length).u8(fqdn.length).raw(fqdn).u16(search.length).raw(search).done();
  }
  const w = new Writer(32 + 16 * dns.length + extBytes.length)
    .raw(macBytes(o.gatewayMac))
    .u8(dns.length)
    .u8(ext ? 1 : 0)
    .raw(o.address ? ipv6Bytes(o.address) : new Uint8Array(16))
    .u32(preferred)
    .u32(valid);
  for (const d of dns) w.raw(ipv6Bytes(d));
  return w.raw(extBytes).done();
}

/** Icmp4Error (16 bytes): gateway MAC | type | code | gateway IPv4 | param (MTU or pointer). */
export function encodeIcmp4ErrorParams(o: Icmp4ErrorOptions): Uint8Array {
  if (![3, 11, 12].includes(o.type)) throw new RangeError("ICMPv4 error type must be 3, 11 or 12");
  let param = 0;
  if (o.type === 3 && o.code === 4) param = uint("mtu", o.mtu ?? 0, 0xffff, 68);
  else if (o.type === 12) param = uint("pointer", o.pointer ?? 0, 255);
  return new Writer(16)
    .raw(macBytes(o.gatewayMac)).u8(o.type).u8(uint("code", o.code, 255))
    .raw(ipv4Bytes(o.gatewayIp)).u32(param).done();
}

/** Icmp6Error (28 bytes): gateway MAC | type | code | gateway IPv6 | param (MTU or pointer). */
export function encodeIcmp6ErrorParams(o: Icmp6ErrorOptions): Uint8Array {
  if (![1, 2, 3, 4].includes(o.type)) throw new RangeError("ICMPv6 error type must be 1..4");
  let param = 0;
  if (o.type === 2) param = uint("mtu", o.mtu ?? 0, 0xffffffff, 1280);
  else if (o.type === 4) param = uint("pointer", o.pointer ?? 0, 0xffffffff);
  return new Writer(28)
    .raw(macBytes(o.gatewayMac)).u8(o.type).u8(uint("code", o.code, 255))
    .raw(ipv6Bytes(o.gatewayIp)).u32(param).done();
}
