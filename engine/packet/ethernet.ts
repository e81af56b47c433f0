// Ethernet II framing (IEEE 802.3) with at most one 802.1Q tag.
//
// Stacked tags (802.1ad QinQ) are refused: no port we serve carries them,
// and accepting them would let a guest hide its real EtherType.

import { ld16, ldMac, st16, stMac, room } from "./bytes";
import { PacketMeta, NONE, EtherType } from "./meta";
import { Reason } from "../../abi/reason";

export const ETH_HDR_LEN: u32 = 14;
/** Field offsets; with an 802.1Q tag the TCI and the real EtherType follow the tag's EtherType. */
export const enum EthField { Dst = 0, Src = 6, EtherType = 12, VlanTci = 14, VlanEtherType = 16 }
export const VLAN_TAG_LEN: u32 = 4;
export const ETH_VLAN_HDR_LEN: u32 = ETH_HDR_LEN + VLAN_TAG_LEN;
export const ETHERTYPE_QINQ: u32 = 0x88a8;

@inline function isVlanTag(etherType: u32): bool {
  return etherType == EtherType.Vlan || etherType == ETHERTYPE_QINQ;
}

/** Parse the Ethernet header at `off`; returns the L3 offset or -Reason. */
export function parseEthernet(m: PacketMeta, off: u32): i32 {
  const avail = room(m.len, off);
  if (avail < ETH_HDR_LEN) return -Reason.Truncated;
  const p = m.base + off;
  m.l2 = off;
  m.ethDst = ldMac(p + EthField.Dst);
  m.ethSrc = ldMac(p + EthField.Src);
  let etherType = ld16(p + EthField.EtherType);
  if (etherType == ETHERTYPE_QINQ) return -Reason.BadVlan;
  if (etherType != EtherType.Vlan) {
    m.vlan = NONE;
    m.etherType = etherType;
    return <i32>(off + ETH_HDR_LEN);
  }
  if (avail < ETH_VLAN_HDR_LEN) return -Reason.Truncated;
  m.vlan = ld16(p + EthField.VlanTci);
  etherType = ld16(p + EthField.VlanEtherType);
  if (isVlanTag(etherType)) return -Reason.BadVlan;
  m.etherType = etherType;
  return <i32>(off + ETH_VLAN_HDR_LEN);
}

/** Write an untagged Ethernet header; returns 14. */
@inline export function emitEthernet(p: usize, dst: u64, src: u64, etherType: u32): u32 {
  stMac(p + EthField.Dst, dst);
  stMac(p + EthField.Src, src);
  st16(p + EthField.EtherType, etherType);
  return ETH_HDR_LEN;
}

/** Write an Ethernet header with one 802.1Q tag carrying `tci`; returns 18. */
export function emitEthernetVlan(p: usize, dst: u64, src: u64, tci: u32, etherType: u32): u32 {
  stMac(p + EthField.Dst, dst);
  stMac(p + EthField.Src, src);
  st16(p + EthField.EtherType, EtherType.Vlan);
  st16(p + EthField.VlanTci, tci);
  st16(p + EthField.VlanEtherType, etherType);
  return ETH_VLAN_HDR_LEN;
}

/** Write an Ethernet header, tagged with `tci` unless it is NONE; returns its length. */
export function emitEthernetTagged(p: usize, dst: u64, src: u64, tci: u32, etherType: u32): u32 {
  return tci == NONE ? emitEthernet(p, dst, src, etherType) : emitEthernetVlan(p, dst, src, tci & 0xffff, etherType);
}
