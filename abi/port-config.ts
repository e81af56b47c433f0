// The port config block portCreate and portReconfigure read (docs/abi.md
// "Port config block"): little-endian, addresses in network order.

export const PORT_CONFIG_VERSION: u32 = 2;
export const PORT_CONFIG_SIZE: u32 = 120;
// Version 1: the first 84 bytes. Version 2 adds who the engine's own ICMP
// errors come from and how many it may send (too big for the underlay).
export const PORT_CONFIG_SIZE_V1: u32 = 84;

export const PC_VERSION: u32 = 0;        // u32 PORT_CONFIG_VERSION (1: the first 84 bytes, no ICMP identity)
export const PC_VNI: u32 = 4;            // u32 VNI (24 bits)
export const PC_FLOW_CAPACITY: u32 = 8;  // u32 flows the port's table holds, 1 … MAX_FLOW_CAPACITY
export const PC_FLAGS: u32 = 12;         // u32 PORT_FLAG_* bits
export const PC_UNDERLAY_IP: u32 = 16;   // underlay IPv6 (16 bytes, network order): the outer source
export const PC_UNDERLAY_MAC: u32 = 32;  // u64 underlay MAC: the outer Ethernet source
export const PC_NEXT_HOP_MAC: u32 = 40;  // u64 next-hop MAC: the outer Ethernet destination (hosts may rewrite it per ECMP path)
export const PC_MTU: u32 = 48;           // u32 underlay MTU (MIN_MTU … MAX_MTU): an encapsulated frame's outer IPv6 packet may not exceed it (`TooBig`)
export const PC_TTLS: u32 = 52;          // u32 × TTL_COUNT idle lifetimes in ms, in PortTtl order (docs/flows.md); 80: 4 bytes reserved
export const PC_ICMP_MAC: u32 = 84;      // u64 ICMP source MAC: the engine's own ICMP errors (packet too big, docs/hairpin.md) come from it; 0: none, too-big frames are dropped
export const PC_ICMP_V4: u32 = 92;       // u32 ICMP source IPv4 (a.b.c.d = a<<24 …; 0: none)
export const PC_ICMP_V6: u32 = 96;       // ICMP source IPv6 (16 bytes, network order; all zero: none)
export const PC_ICMP_PER_SEC: u32 = 112; // u32 ICMP errors a second (0: none)
export const PC_ICMP_BURST: u32 = 116;   // u32 ICMP error burst

export const PORT_FLAG_NET_ENCAP: u32 = 1; // the network side carries Geneve

/** The idle lifetimes at PC_TTLS, in this order (docs/flows.md). */
export enum PortTtl {
  TcpHandshake = 0,
  TcpEstablished = 1,
  TcpClosing = 2,
  TcpClosed = 3,
  Udp = 4,
  Icmp = 5,
  Other = 6,
}
export const TTL_COUNT: u32 = 7;

export const MAX_FLOW_CAPACITY: u32 = 2097150; // (1 << 21) - 2: the flow index's references
export const MIN_MTU: u32 = 576;
export const MAX_MTU: u32 = 65535;

/** portSetState / portState. Free: no such port. */
export enum PortState {
  Free = 0,
  Ready = 1,
  Running = 2,
  Paused = 3,
}
