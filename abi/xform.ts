// A composed header transformation (engine/flow/xform.ts says how it is
// built and applied): 44 bytes inside a flow record, one per direction.

export const X_SIZE: usize = 44;

export const X_MODS: usize = 0;      // u16 which fields change (Mod bits)
export const X_IP_DELTA: usize = 2;  // u16 folded RFC 1624 adjustment for the IPv4 header checksum
export const X_L4_DELTA: usize = 4;  // u16 … for the TCP/UDP/ICMPv6 checksum
export const X_SPORT: usize = 6;     // u16 new source port (or ICMP echo identifier)
export const X_DPORT: usize = 8;     // u16 new destination port
export const X_EPOCH: usize = 10;    // u16 low 16 bits of the port epoch it was composed at
export const X_ETH_SRC: usize = 12;  // 6 bytes, wire order
export const X_ETH_DST: usize = 18;  // 6 bytes, wire order
export const X_IP_HI: usize = 24;    // u64 pair: the one rewritten address (source or destination, see mods)
export const X_IP_LO: usize = 32;
export const X_ENCAP: usize = 40;    // u32 encap target: entry index (low 20 bits) and generation (high 12 bits)

/** Bits of X_MODS. */
export enum Mod {
  EthSrc = 0x0001,
  EthDst = 0x0002,
  IpSrc = 0x0004,
  IpDst = 0x0008,
  Sport = 0x0010,
  Dport = 0x0020,
  TtlDec = 0x0040,
  Encap = 0x0080,
  Decap = 0x0100,
  EncapExternal = 0x0200,  // add the Oxide "external" Geneve option
  EncapMss = 0x0400,       // add the Oxide MSS option (body 0: the host may fill in the MSS when it segments)
  EncapMulticast = 0x0800, // add the Oxide Multicast option; outer Ethernet destination from the underlay group
  Valid = 0x8000,          // the transformation has been composed at the record's epoch
}
