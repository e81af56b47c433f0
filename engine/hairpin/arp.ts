// ARP reply for the virtual gateway (RFC 826).
//
// The guest's gateway does not exist as a host; like OPTE's ARP layer the
// engine answers "who-has <gateway IP>" itself with the gateway MAC.
//
// Params (10 bytes): gateway MAC (6) | gateway IPv4 (4). A gateway IPv4 of
// 0.0.0.0 answers for whatever address was asked (proxy ARP): the VPC's rules
// decide which targets reach this action, so every guest frame goes to the
// gateway MAC even when a guest is configured with a whole subnet on-link.

import { PacketMeta, L3 } from "../packet/meta";
import { Reason } from "../../abi/reason";
import {
  fits, paramFits, requesterMac, emitEthernetTagged, ethLen, ld16, ld32, ldMac, st8, st16, st32, stMac,
  EtherType,
} from "./common";

export const ARP_PARAMS_LEN: u32 = 10;
const ARP_LEN: u32 = 28;

export function buildArpReply(m: PacketMeta, params: usize, paramLen: u32, out: usize, cap: u32): i32 {
  if (!paramFits(paramLen, 0, ARP_PARAMS_LEN)) return -Reason.BadLength;
  const gwMac = ldMac(params);
  const gwIp = ld32(params + 6);

  if (m.l3Kind != L3.Arp || !fits(m, m.l3, ARP_LEN)) return -Reason.HairpinFailed;
  const a = m.base + m.l3;
  if (ld16(a) != 1 || ld16(a + 2) != 0x0800 || load<u8>(a + 4) != 6 || load<u8>(a + 5) != 4) return -Reason.BadArp;
  if (ld16(a + 6) != 1) return -Reason.HairpinFailed;          // only requests
  const target = ld32(a + 24);
  if (gwIp != 0 && target != gwIp) return -Reason.HairpinFailed; // not asking for the gateway
  const sha = ldMac(a + 8);
  const spa = ld32(a + 14);
  const dst = requesterMac(m);
  if (dst == u64.MAX_VALUE) return -Reason.Truncated;

  const total = ethLen(m) + ARP_LEN;
  if (total > cap) return -Reason.Truncated;
  const r = out + emitEthernetTagged(out, dst, gwMac, m.vlan, EtherType.Arp);
  st16(r, 1); st16(r + 2, 0x0800); st8(r + 4, 6); st8(r + 5, 4);
  st16(r + 6, 2);
  stMac(r + 8, gwMac); st32(r + 14, target);
  stMac(r + 18, sha); st32(r + 24, spa);
  return <i32>total;
}
