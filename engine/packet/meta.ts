// The parsed view of one frame: what the header parsers fill in and what
// rule predicates, flow keys and transformations read.
//
// One PacketMeta lives in static memory and is reused for every frame, so the
// per-packet path allocates nothing. Offsets are relative to `base`, the
// frame's first byte in linear memory; `NONE` marks an absent header.
//
// For Geneve-encapsulated frames the outer headers are recorded in the
// `outer*` fields and every other field describes the inner (guest) packet,
// the way OPTE classifies on inner headers.

export const NONE: u32 = 0xffffffff;

export const enum L3 { None = 0, Arp = 1, Ipv4 = 4, Ipv6 = 6 }

export const enum Proto {
  Icmp = 1, Tcp = 6, Udp = 17, Icmpv6 = 58,
  HopByHop = 0, Routing = 43, Fragment = 44, DestOpts = 60, NoNext = 59,
}

export const enum EtherType { Ipv4 = 0x0800, Arp = 0x0806, Vlan = 0x8100, Ipv6 = 0x86dd, TransparentEthernet = 0x6558 }

// TCP flag bits as on the wire (byte 13).
export const enum TcpFlag { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80 }

@unmanaged
export class PacketMeta {
  base: usize;          // absolute address of the frame's first byte
  len: u32;             // frame length in bytes

  // ---- outer headers (Geneve underlay); encap == 0 when the frame is not encapsulated
  encap: u32;
  outerL3: u32;          // offset of outer IPv6
  outerL4: u32;          // offset of outer UDP
  geneve: u32;           // offset of the Geneve header
  outerEthDst: u64;
  outerEthSrc: u64;
  outerSrcHi: u64; outerSrcLo: u64;
  outerDstHi: u64; outerDstLo: u64;
  outerHopLimit: u32;
  outerUdpSrc: u32;
  vni: u32;              // Geneve VNI (24 bits)
  geneveOptLen: u32;     // option bytes after the 8-byte base header
  geneveFlags: u32;      // bit 0: O (control), bit 1: C (critical options present)
  oxideOptions: u32;     // bitmask of Oxide options seen (class 0x0129): 1<<type
  oxideMss: u32;         // body of the Oxide MSS option when present

  // ---- L2 (inner when encapsulated)
  l2: u32;               // offset of the Ethernet header
  ethDst: u64;
  ethSrc: u64;
  vlan: u32;             // 802.1Q TCI, NONE when untagged
  etherType: u32;        // after any VLAN tag

  // ---- L3
  l3: u32;               // offset of the IP / ARP header
  l3Kind: u32;           // L3 enum
  l3HdrLen: u32;         // IPv4 IHL*4, or IPv6 fixed header + extension headers walked
  l3PayloadLen: u32;     // bytes after the L3 header(s), from the length field
  srcHi: u64; srcLo: u64;
  dstHi: u64; dstLo: u64;
  ttl: u32;              // TTL or hop limit
  proto: u32;            // upper-layer protocol after extension headers
  tos: u32;              // DSCP/ECN or traffic class
  flowLabel: u32;        // IPv6 only
  fragOffset: u32;       // in bytes; non-zero for non-first fragments
  moreFragments: u32;
  ipv6ExtMask: u32;      // bit per extension header seen: 1 hop-by-hop, 2 routing, 4 fragment, 8 dest opts

  // ---- ARP (l3Kind == Arp)
  arpOp: u32;
  arpSha: u64; arpSpa: u32;
  arpTha: u64; arpTpa: u32;

  // ---- L4
  l4: u32;               // offset of TCP/UDP/ICMP header, NONE if absent
  l4HdrLen: u32;
  srcPort: u32;          // TCP/UDP port; for ICMP echo the identifier
  dstPort: u32;          // TCP/UDP port; for ICMP echo the identifier
  tcpFlags: u32;
  tcpSeq: u32;
  tcpAck: u32;
  tcpWindow: u32;
  icmpType: u32;
  icmpCode: u32;
  icmpId: u32;           // echo identifier, NONE if not an echo message
  icmpSeq: u32;
  payload: u32;          // offset of the L4 payload
  payloadLen: u32;
}

export const META_SIZE: usize = offsetof<PacketMeta>();

/** Reset every field to "absent" before parsing a new frame. */
export function resetMeta(m: PacketMeta, base: usize, len: u32): void {
  memory.fill(changetype<usize>(m), 0, META_SIZE);
  m.base = base;
  m.len = len;
  m.outerL3 = NONE; m.outerL4 = NONE; m.geneve = NONE;
  m.l2 = NONE; m.l3 = NONE; m.l4 = NONE; m.payload = NONE;
  m.vlan = NONE; m.icmpId = NONE;
}
