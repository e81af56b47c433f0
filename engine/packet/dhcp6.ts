// DHCPv6 message and options (RFC 8415 §8, §21).
//
// Client/server messages are msg-type (1) | transaction-id (3) | options.
// Options are code (2) | length (2) | data. The validator walks the top
// level and the options nested in IA_NA / IA_TA (depth ≤ 2), at most 64
// options in all; deeper nesting (e.g. inside IA Address) is kept opaque.

import { ld16, st16 } from "./bytes";

export const enum Dhcp6Type {
  Solicit = 1, Advertise = 2, Request = 3, Confirm = 4, Renew = 5, Rebind = 6,
  Reply = 7, Release = 8, Decline = 9, InformationRequest = 11,
}

export const enum Dhcp6Option {
  ClientId = 1, ServerId = 2, IaNa = 3, IaTa = 4, IaAddr = 5, Oro = 6, ElapsedTime = 8,
  StatusCode = 13, RapidCommit = 14, DnsServers = 23, DomainList = 24, ClientFqdn = 39,
}

export const DHCP6_HEADER: u32 = 4;
export const DHCP6_MAX_OPTIONS: u32 = 64;
export const DHCP6_MAX_DUID: u32 = 130;   // §11.1: DUID type (2) + up to 128 octets

/** Walk `len` bytes of options at `p`; `count` so far; returns the new count or -1 when malformed. */
function walk(p: usize, len: u32, depth: u32, count: i32): i32 {
  let off: u32 = 0;
  while (off < len) {
    if (len - off < 4) return -1;
    const code = ld16(p + off);
    const olen = ld16(p + off + 2);
    if (olen > len - off - 4) return -1;
    if (++count > <i32>DHCP6_MAX_OPTIONS) return -1;
    if (depth < 2) {
      let inner: u32 = 0xffffffff;
      if (code == Dhcp6Option.IaNa) inner = 12;
      else if (code == Dhcp6Option.IaTa) inner = 4;
      if (inner != 0xffffffff) {
        if (olen < inner) return -1;
        count = walk(p + off + 4 + inner, olen - inner, depth + 1, count);
        if (count < 0) return -1;
      }
    }
    off += 4 + olen;
  }
  return count;
}

/** True when the option area is well formed within the nesting and count bounds. */
export function dhcp6OptionsValid(p: usize, len: u32): bool {
  return walk(p, len, 1, 0) >= 0;
}

/** Offset of the first top-level option `code` (its header) in a validated area, or -1. */
export function dhcp6FindOption(p: usize, len: u32, code: u32): i32 {
  let off: u32 = 0;
  while (off < len && len - off >= 4) {
    const olen = ld16(p + off + 2);
    if (olen > len - off - 4) return -1;
    if (ld16(p + off) == code) return <i32>off;
    off += 4 + olen;
  }
  return -1;
}

/**
 * True when the client asks for option `code`: its Option Request option
 * (§21.7) lists it, or it sent the option itself as a hint (RFC 4704 §4 for
 * the FQDN; OPTE answers either way).
 */
export function dhcp6Wants(p: usize, len: u32, code: u32): bool {
  if (dhcp6FindOption(p, len, code) >= 0) return true;
  const oro = dhcp6FindOption(p, len, Dhcp6Option.Oro);
  if (oro < 0) return false;
  const n = ld16(p + oro + 2) >> 1;
  for (let i: u32 = 0; i < n; i++) {
    if (ld16(p + oro + 4 + (i << 1)) == code) return true;
  }
  return false;
}

/** Data length of the option whose header is at `p`. */
@inline export function dhcp6OptionLen(p: usize): u32 { return ld16(p + 2); }

/** Option header; the caller writes `len` bytes of data after it. */
export function emitDhcp6OptionHeader(p: usize, code: u32, len: u32): u32 {
  st16(p, code);
  st16(p + 2, len);
  return 4;
}
