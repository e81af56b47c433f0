// Numbers the VPC layers agree on: mapping-table ids, metadata register
// values the router sets for later layers, well-known VNIs (HOST-NOTES:
// boundary services VNI 99, services VPC 100, guest VNIs from 1024).

/** Engine mapping tables (engine/maps/targets.ts) used by the VPC. */
export const TABLE = {
  /** Virtual-to-physical: (VPC VNI, guest IP) → sled underlay address, guest MAC. */
  v2p: 1,
  /** The boundary-services endpoint a sled sends internet-bound traffic to. */
  boundary: 2,
  /** The gateway host's NAT ingress: (external IP, port range) → sled, VNI, guest MAC. */
  natIngress: 3,
  /** Multicast to physical: (VNI 0, overlay group) → underlay group, VNI 77. */
  m2p: 4,
} as const;

/** meta0: what the router decided (read by the NAT and overlay layers). */
export const ROUTE = { none: 0, vpc: 1, instance: 2, internet: 3, multicast: 4 } as const;

export const BOUNDARY_VNI = 99;
/** The inner destination MAC of frames to boundary services (OPTE's TUNNEL_ENDPOINT_MAC). */
export const TUNNEL_ENDPOINT_MAC = "a8:40:25:77:77:77";
export const SERVICES_VNI = 100;
export const FIRST_GUEST_VNI = 1024;

/** Oxide Geneve option types (class 0x0129) as bits of the oxideOptions predicate field. */
export const OXIDE_OPTION = { external: 1 << 0, multicast: 1 << 1, mss: 1 << 2 } as const;

export const ETHERTYPE = { ipv4: 0x0800, arp: 0x0806, ipv6: 0x86dd } as const;
export const PROTO = { icmp: 1, igmp: 2, tcp: 6, udp: 17, icmpv6: 58 } as const;
