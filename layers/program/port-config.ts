// The port config block as data: what a port is (VNI, flow capacity,
// underlay addresses, MTU, flow lifetimes, who sends its ICMP errors) and its
// encoding for portCreate / portReconfigure (layout in abi/port-config.ts).
// The VPC compiler produces one per port; hosts hand it to the engine.

import { ip16, parseMac } from "./addr.js";
import {
  PORT_CONFIG_SIZE, PORT_CONFIG_VERSION, PC_VERSION, PC_VNI, PC_FLOW_CAPACITY, PC_FLAGS, PC_UNDERLAY_IP,
  PC_UNDERLAY_MAC, PC_NEXT_HOP_MAC, PC_MTU, PC_TTLS, PC_ICMP_MAC, PC_ICMP_V4, PC_ICMP_V6, PC_ICMP_PER_SEC,
  PC_ICMP_BURST, PORT_FLAG_NET_ENCAP, PortTtl,
} from "../../abi/port-config.js";

/**
 * Idle lifetimes in ms (engine/flow/expiry.ts). A TCP flow's state expires by
 * state: `tcpHandshake` (SYN-SENT, SYN-RCVD, LISTEN, LAST-ACK), `tcpEstablished`,
 * `tcpClosing` (FIN-WAIT-1/2, CLOSE-WAIT, TIME-WAIT: the TIME_WAIT hold); the
 * flow itself lives `tcpClosed` past its last packet and as long as its TCP
 * state does. Other flows: `udp`, `icmp`, `other`.
 */
export interface PortTtls {
  tcpHandshake: number; tcpEstablished: number; tcpClosing: number; tcpClosed: number;
  udp: number; icmp: number; other: number;
}

/** OPTE's: incipient 5 s, keepalive 8,000 s, TIME_WAIT 120 s, flows 60 s (lib/opte/src/engine/tcp.rs, flow_table.rs). */
export const DEFAULT_TTLS: PortTtls = {
  tcpHandshake: 5_000, tcpEstablished: 8_000_000, tcpClosing: 120_000, tcpClosed: 60_000,
  udp: 60_000, icmp: 60_000, other: 60_000,
};

export interface PortConfig {
  vni: number;
  flowCapacity: number;
  /** Frames from the network side carry Geneve (sled ports and the gateway's rack side). */
  netEncap: boolean;
  underlayIp: string;
  underlayMac: string;
  nextHopMac: string;
  /** Underlay MTU: an encapsulated frame's outer IPv6 packet may not exceed it. */
  mtu: number;
  ttl?: Partial<PortTtls>;
  /**
   * Where the engine's own ICMP errors come from (a guest packet too big for
   * the underlay is answered with fragmentation-needed / Packet Too Big), and
   * how many a second it may send, in bursts of `burst`. Without it such
   * packets are dropped (TooBig) with nothing sent back.
   */
  icmpErrors?: { mac: string; ipv4?: string; ipv6?: string; perSecond: number; burst: number };
}

/** The port config block portCreate and portReconfigure read (abi/port-config.ts). */
export function encodePortConfig(c: PortConfig): Uint8Array {
  const b = new Uint8Array(PORT_CONFIG_SIZE);
  const dv = new DataView(b.buffer);
  const t = { ...DEFAULT_TTLS, ...(c.ttl ?? {}) };
  dv.setUint32(PC_VERSION, PORT_CONFIG_VERSION, true);
  dv.setUint32(PC_VNI, c.vni, true);
  dv.setUint32(PC_FLOW_CAPACITY, c.flowCapacity, true);
  dv.setUint32(PC_FLAGS, c.netEncap ? PORT_FLAG_NET_ENCAP : 0, true);
  b.set(ip16(c.underlayIp), PC_UNDERLAY_IP);
  dv.setBigUint64(PC_UNDERLAY_MAC, parseMac(c.underlayMac), true);
  dv.setBigUint64(PC_NEXT_HOP_MAC, parseMac(c.nextHopMac), true);
  dv.setUint32(PC_MTU, c.mtu, true);
  const ttls: Record<keyof typeof PortTtl, number> = {
    TcpHandshake: t.tcpHandshake, TcpEstablished: t.tcpEstablished, TcpClosing: t.tcpClosing, TcpClosed: t.tcpClosed,
    Udp: t.udp, Icmp: t.icmp, Other: t.other,
  };
  for (const [k, v] of Object.entries(ttls)) dv.setUint32(PC_TTLS + 4 * PortTtl[k as keyof typeof PortTtl], v, true);
  const icmp = c.icmpErrors;
  if (icmp) {
    dv.setBigUint64(PC_ICMP_MAC, parseMac(icmp.mac), true);
    if (icmp.ipv4) dv.setUint32(PC_ICMP_V4, new DataView(ip16(icmp.ipv4).buffer).getUint32(12), true);
    if (icmp.ipv6) b.set(ip16(icmp.ipv6), PC_ICMP_V6);
    dv.setUint32(PC_ICMP_PER_SEC, icmp.perSecond, true);
    dv.setUint32(PC_ICMP_BURST, icmp.burst, true);
  }
  return b;
}
