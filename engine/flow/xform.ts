// A composed header transformation: what all layers decided to do to one
// direction of a flow, flattened so the fast path applies it with a few
// stores and two constant checksum adjustments.
//
// Layout (44 bytes, inside a flow record or the slow path's scratch):
//   0  mods u16       which fields change (Mod bits)
//   2  ipDelta u16    folded RFC 1624 adjustment for the IPv4 header checksum
//   4  l4Delta u16    folded RFC 1624 adjustment for the TCP/UDP/ICMPv6 checksum
//   6  sport u16      new source port (or ICMP echo identifier)
//   8  dport u16      new destination port
//   10 epoch u16      low 16 bits of the port epoch it was composed at
//   12 ethSrc 6 bytes, 18 ethDst 6 bytes (wire order)
//   24 ipHi u64, 32 ipLo u64   the one rewritten address (source or destination, see mods)
//   40 encapRef u32   encap target: entry index (low 20 bits) and generation (high 12 bits)
//
// A cached transformation rewrites at most one IP address per direction
// (source for SNAT/floating IP out, destination for NAT in); the per-flow
// state stays within 256 bytes that way. A composition that rewrites both
// is refused with Reason.XformUnsupported.

export const X_SIZE: usize = 44;

export const X_MODS: usize = 0;
export const X_IP_DELTA: usize = 2;
export const X_L4_DELTA: usize = 4;
export const X_SPORT: usize = 6;
export const X_DPORT: usize = 8;
export const X_EPOCH: usize = 10;
export const X_ETH_SRC: usize = 12;
export const X_ETH_DST: usize = 18;
export const X_IP_HI: usize = 24;
export const X_IP_LO: usize = 32;
export const X_ENCAP: usize = 40;

export const enum Mod {
  EthSrc = 0x0001,
  EthDst = 0x0002,
  IpSrc = 0x0004,
  IpDst = 0x0008,
  Sport = 0x0010,
  Dport = 0x0020,
  TtlDec = 0x0040,
  Encap = 0x0080,
  Decap = 0x0100,
  EncapExternal = 0x0200, // add the Oxide "external" Geneve option
  EncapMss = 0x0400,      // add the Oxide MSS option (body 0: the host may fill in the MSS when it segments)
  EncapMulticast = 0x0800, // add the Oxide Multicast option; outer Ethernet destination from the underlay group
  Valid = 0x8000,         // the transformation has been composed at the record's epoch
}

@inline export function xMods(x: usize): u32 { return <u32>load<u16>(x + X_MODS); }
