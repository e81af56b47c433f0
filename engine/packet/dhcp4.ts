// DHCPv4 message layout and options (RFC 2131 §2, RFC 2132; long options
// RFC 3396, classless static routes RFC 3442).
//
// The BOOTP fixed part is 236 bytes, followed by the magic cookie and the
// options. The option walker is bounded: it stops at End (255), rejects an
// option running past the message, and caps the number of options. Option
// Overload (52) is not supported: sname/file are never searched.

import { ld32, st8, st32 } from "./bytes";

export const DHCP4_FIXED: u32 = 236;
export const DHCP4_OPTIONS: u32 = 240;           // after the magic cookie
export const DHCP4_COOKIE: u32 = 0x63825363;
export const DHCP4_MIN_MESSAGE: u32 = 300;       // BOOTP minimum, padded by servers
export const DHCP4_MAX_OPTIONS: u32 = 128;

// Field offsets inside the message.
export const enum Dhcp4Field {
  Op = 0, Htype = 1, Hlen = 2, Hops = 3, Xid = 4, Secs = 8, Flags = 10,
  Ciaddr = 12, Yiaddr = 16, Siaddr = 20, Giaddr = 24, Chaddr = 28, Sname = 44, File = 108, Cookie = 236,
}

export const enum Dhcp4Option {
  Pad = 0, SubnetMask = 1, Router = 3, Dns = 6, HostName = 12, DomainName = 15, InterfaceMtu = 26,
  RequestedIp = 50, LeaseTime = 51, Overload = 52, MessageType = 53, ServerId = 54,
  DomainSearch = 119, ClasslessRoutes = 121, End = 255,
}

export const enum Dhcp4Type {
  Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8,
}

export const DHCP4_BROADCAST_FLAG: u32 = 0x8000;

/** True when the options at `p` (`len` bytes) are well formed up to End or the end of the area. */
export function dhcp4OptionsValid(p: usize, len: u32): bool {
  let off: u32 = 0;
  let count: u32 = 0;
  while (off < len) {
    const code = <u32>load<u8>(p + off);
    if (code == Dhcp4Option.End) return true;
    if (code == Dhcp4Option.Pad) { off++; continue; }
    if (off + 2 > len) return false;
    const olen = <u32>load<u8>(p + off + 1);
    if (olen > len - off - 2) return false;
    off += 2 + olen;
    if (++count > DHCP4_MAX_OPTIONS) return false;
  }
  return true;
}

/** Offset of option `code` (its code byte) in a validated area, or -1. */
export function dhcp4FindOption(p: usize, len: u32, code: u32): i32 {
  let off: u32 = 0;
  while (off < len) {
    const c = <u32>load<u8>(p + off);
    if (c == Dhcp4Option.End) return -1;
    if (c == Dhcp4Option.Pad) { off++; continue; }
    if (off + 2 > len) return -1;
    const olen = <u32>load<u8>(p + off + 1);
    if (olen > len - off - 2) return -1;
    if (c == code) return <i32>off;
    off += 2 + olen;
  }
  return -1;
}

/** Length byte of the option at `p`. */
@inline export function dhcp4OptionLen(p: usize): u32 { return <u32>load<u8>(p + 1); }

export function emitDhcp4Option8(p: usize, code: u32, v: u32): u32 {
  st8(p, code); st8(p + 1, 1); st8(p + 2, v);
  return 3;
}

export function emitDhcp4Option32(p: usize, code: u32, v: u32): u32 {
  st8(p, code); st8(p + 1, 4); st32(p + 2, v);
  return 6;
}

export function emitDhcp4Option16(p: usize, code: u32, v: u32): u32 {
  st8(p, code); st8(p + 1, 2); st8(p + 2, v >> 8); st8(p + 3, v);
  return 4;
}

/** Option carrying `len` (≤ 255) raw bytes copied from `src`. */
export function emitDhcp4OptionBytes(p: usize, code: u32, src: usize, len: u32): u32 {
  st8(p, code); st8(p + 1, len);
  memory.copy(p + 2, src, len);
  return 2 + len;
}

/** Bytes an option of `len` data bytes takes once split into pieces of at most 255 (RFC 3396 §7). */
export function dhcp4LongOptionSize(len: u32): u32 {
  return len + 2 * ((len + 254) / 255);
}

/**
 * An option whose data may exceed 255 bytes: written as consecutive
 * instances of `code`, 255 bytes each but the last, which a client
 * concatenates (RFC 3396 §7; OPTE splits its Domain Search option so).
 */
export function emitDhcp4LongOption(p: usize, code: u32, src: usize, len: u32): u32 {
  let o: u32 = 0;
  let done: u32 = 0;
  while (done < len) {
    const n = min<u32>(255, len - done);
    o += emitDhcp4OptionBytes(p + o, code, src + done, n);
    done += n;
  }
  return o;
}

/** A route of a params block: prefix length (1) | destination (4) | router (4). */
export const DHCP4_ROUTE_SIZE: u32 = 9;

/** Octets a route takes in option 121: width, the destination's significant octets, router (RFC 3442 §3). */
@inline export function classlessRouteLen(prefixLen: u32): u32 {
  return 1 + ((prefixLen + 7) >> 3) + 4;
}

/** Option 121 from `count` params routes at `src` (already checked); returns the bytes written. */
export function emitDhcp4ClasslessRoutes(p: usize, src: usize, count: u32): u32 {
  st8(p, Dhcp4Option.ClasslessRoutes);
  let o: u32 = 2;
  for (let i: u32 = 0; i < count; i++) {
    const r = src + i * DHCP4_ROUTE_SIZE;
    const width = <u32>load<u8>(r);
    const significant = (width + 7) >> 3;
    st8(p + o, width);
    memory.copy(p + o + 1, r + 1, significant);
    memory.copy(p + o + 1 + significant, r + 5, 4);
    o += classlessRouteLen(width);
  }
  st8(p + 1, o - 2);
  return o;
}

/** Netmask for a prefix length 0..32. */
@inline export function prefixMask4(len: u32): u32 {
  return len == 0 ? 0 : <u32>(0xffffffff << (32 - len));
}

export { ld32 };
