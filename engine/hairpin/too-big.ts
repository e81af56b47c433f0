// A guest's packet too big for the underlay, answered as a router answers it:
// ICMP "fragmentation needed" (type 3 code 4, RFC 792, with the next-hop MTU
// of RFC 1191) for IPv4 with Don't Fragment set, ICMPv6 Packet Too Big
// (RFC 4443 §3.2, RFC 8201) for IPv6, carrying the MTU the guest's packets may
// have on this path: the underlay MTU less the encapsulation the flow needs.
// Path-MTU discovery through the overlay then converges instead of hanging.
//
// The port's own address and MAC are the source (port config v2; ports
// without them drop as before). Errors are rate-limited per port by a token
// bucket (RFC 4443 §2.4(f); RFC 1812 §4.3.2.8): `icmpPerSec` a second in
// bursts of `icmpBurst`. An IPv4 packet without DF is dropped: the overlay
// does not fragment, and a sender that allows fragmentation gets no error
// from a router either (RFC 1191 §3). Nothing is sent about ICMP errors,
// non-first fragments or multicast sources (the error builders refuse them).

import { PacketMeta, L3 } from "../packet/meta";
import { ld16 } from "../packet/bytes";
import { Port } from "../port";
import { buildIcmp4Error, buildIcmp6Error, ICMP4_ERROR_PARAMS_LEN, ICMP6_ERROR_PARAMS_LEN } from "./icmp-error";
import { st8, st32, st64, stMac } from "../packet/bytes";

const PARAMS: usize = memory.data(32, 8);
const IPV4_DF: u32 = 0x4000;

/** Take one error's token from the port's bucket (refilled from the host clock). */
function icmpToken(p: Port, now: f64): bool {
  if (p.icmpPerSec == 0) return false;
  if (now > p.icmpLast) p.icmpTokens = min(<f64>p.icmpBurst, p.icmpTokens + (now - p.icmpLast) * <f64>p.icmpPerSec / 1000);
  p.icmpLast = now; // a clock that went back restarts from here
  if (p.icmpTokens < 1) return false;
  p.icmpTokens -= 1;
  return true;
}

/**
 * Build the error for the too-big guest frame `m` into `out` (`cap` bytes),
 * telling the guest its packets may be `innerMtu` bytes. Returns the frame's
 * length, or 0 when none is sent (no source configured, IPv4 without DF, out
 * of tokens, not a packet one answers).
 */
export function buildTooBig(p: Port, m: PacketMeta, innerMtu: u32, out: usize, cap: u32, now: f64): u32 {
  if (p.icmpSrcMac == 0) return 0;
  let r: i32 = -1;
  if (m.l3Kind == L3.Ipv4) {
    if (p.icmpSrcV4 == 0 || (ld16(m.base + m.l3 + 6) & IPV4_DF) == 0) return 0;
    if (!icmpToken(p, now)) return 0;
    stMac(PARAMS, p.icmpSrcMac);
    st8(PARAMS + 6, 3); st8(PARAMS + 7, 4);
    st32(PARAMS + 8, p.icmpSrcV4);
    st32(PARAMS + 12, min<u32>(innerMtu, 0xffff));
    r = buildIcmp4Error(m, PARAMS, ICMP4_ERROR_PARAMS_LEN, out, cap);
  } else if (m.l3Kind == L3.Ipv6) {
    if ((p.icmpSrcV6Hi | p.icmpSrcV6Lo) == 0 || innerMtu < 1280) return 0;
    if (!icmpToken(p, now)) return 0;
    stMac(PARAMS, p.icmpSrcMac);
    st8(PARAMS + 6, 2); st8(PARAMS + 7, 0);
    st64(PARAMS + 8, p.icmpSrcV6Hi); st64(PARAMS + 16, p.icmpSrcV6Lo);
    st32(PARAMS + 24, innerMtu);
    r = buildIcmp6Error(m, PARAMS, ICMP6_ERROR_PARAMS_LEN, out, cap);
  }
  if (r <= 0) {
    // refused (an error about an error, a fragment, …): the token goes back
    if (r < 0 && p.icmpPerSec != 0) p.icmpTokens += 1;
    return 0;
  }
  return <u32>r;
}
