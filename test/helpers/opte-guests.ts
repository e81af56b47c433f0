// Two guests of one VPC the way OPTE's integration tests set them up
// (opte-test-utils g1_cfg/g2_cfg: dual-stack in 172.30.0.0/22 and fd00::/64,
// SNAT in both families, the default firewall of RFD 63 §2.8.1: in from the
// VPC, SSH and ICMP), but with asymmetric numbers (VNI 0x123456, distinct
// port blocks, sleds 0x0101 and 0x0116) so a swapped field cannot pass
// unnoticed. Each guest runs in its own engine, as on its own sled; `view`
// reads an output frame back as fields.
import { Engine } from "../../hosts/engine/engine.js";
import { Batch, Dir, Verdict } from "../../hosts/engine/batch.js";
import { compilePort, LAYER_ORDER, CompiledPort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { decodeFrame } from "../../hosts/playground/decode.js";
import { ip16, ipText } from "../../layers/program/addr.js";
import { sentAt, Sent } from "./port-fixture.js";
import { geneve, GeneveOpts } from "./frames.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PortJson = any;

export const VNI = 0x123456;
export const GW_MAC = "a8:40:25:ff:77:77";
export const GW4 = "172.30.0.1", GW6 = "fd00::1";
/** Boundary services' tunnel endpoint (OPTE's BS_IP_ADDR) and the inner MAC OPTE writes towards it. */
export const BOUNDARY = "fd00:99::1", TUNNEL_ENDPOINT_MAC = "a8:40:25:77:77:77";
export const SWITCH_MAC = "02:08:20:ff:ff:01";

export const G1 = { mac: "a8:40:25:fa:fa:37", ip4: "172.30.0.5", ip6: "fd00::5", sled: "fd00:0:f7:101::1", sledMac: "02:08:20:01:01:01" };
export const G2 = { mac: "a8:40:25:f0:00:66", ip4: "172.30.0.6", ip6: "fd00::6", sled: "fd00:0:f7:116::1", sledMac: "02:08:20:01:01:16" };
type Who = typeof G1;

/** A guest's port config (OPTE's g1_cfg/g2_cfg shape); `peer` gets V2P mappings in both families. */
export function guestJson(me: Who, peer: Who | undefined, edit: (c: PortJson) => void = () => {}): PortJson {
  const c: PortJson = {
    name: me === G1 ? "g1" : "g2",
    vni: VNI,
    guest: { mac: me.mac, ipv4: me.ip4, ipv6: me.ip6 },
    subnet: { ipv4: "172.30.0.0/22", ipv6: "fd00::/64" },
    gateway: { mac: GW_MAC, ipv4: GW4, ipv6: GW6 },
    sled: { underlay: me.sled, mac: me.sledMac, nextHopMac: SWITCH_MAC, mtu: 9000 },
    boundary: { underlay: BOUNDARY, vni: 99 },
    dhcp: { dnsServers: ["8.8.8.8", "2001:4860:4860::8888"], domainName: "test.oxide.computer", leaseSeconds: 86400, mtu: 1500 },
    externalIps: {
      snat: me === G1
        ? [{ ip: "10.77.77.13", firstPort: 1025, lastPort: 4096 }, { ip: "2001:db8::1", firstPort: 4097, lastPort: 8192 }]
        : [{ ip: "10.77.77.23", firstPort: 4097, lastPort: 8192 }, { ip: "2001:db8::1", firstPort: 1025, lastPort: 4096 }],
      floating: [],
    },
    firewall: [
      { name: "vpc-in", direction: "in", priority: 65534, action: "allow", hosts: [{ type: "vpc", vni: VNI }] },
      { name: "ssh-in", direction: "in", priority: 65534, action: "allow", protocols: ["tcp"], ports: [22] },
      { name: "icmp-in", direction: "in", priority: 65534, action: "allow", protocols: ["icmp"] },
    ],
    routes: [],
    v2p: peer ? [{ ip: peer.ip4, mac: peer.mac, underlay: peer.sled }, { ip: peer.ip6, mac: peer.mac, underlay: peer.sled }] : [],
  };
  edit(c);
  return c;
}

export interface Port {
  e: Engine;
  b: Batch;
  compiled: CompiledPort;
  /** Run one frame through the port: its verdict, reason name, deciding layer's name and output. */
  send(frame: Uint8Array, dir: Dir, now?: number): Sent & { layerName: string };
}

/** Port 0 of a fresh engine running `json`. */
export async function portOf(json: PortJson): Promise<Port> {
  const e = await Engine.load();
  const compiled = compilePort(json);
  applyPort(e, 0, compiled, 0);
  const b = e.newBatch(8, 2048, 128);
  const send = (frame: Uint8Array, dir: Dir, now = 1) => {
    b.set(0, frame, 0, dir);
    b.run(1, now);
    const s = sentAt(b, 0);
    return { ...s, layerName: LAYER_ORDER[s.layer] ?? "-" };
  };
  return { e, b, compiled, send };
}

/** Geneve from `from`'s sled to `to`'s, on the VPC's VNI unless `o` says otherwise. */
export function overlayFrame(from: { sled: string; sledMac: string }, to: { sled: string }, inner: Uint8Array, o: Partial<GeneveOpts> = {}): Uint8Array {
  return geneve(SWITCH_MAC, from.sledMac, from.sled, to.sled, { vni: VNI, ...o }, inner);
}

/** A frame from boundary services to `to`'s sled: the guest's VNI and the Oxide External option, as the switch sends it. */
export function fromBoundary(to: { sled: string }, inner: Uint8Array): Uint8Array {
  return geneve(SWITCH_MAC, "02:08:20:bb:00:01", BOUNDARY, to.sled, { vni: VNI, external: true }, inner);
}

export interface FrameView {
  outer?: { ethDst: string; ethSrc: string; src: string; dst: string; hopLimit: number; udpDst: number; vni: number; options: string[] };
  eth: { dst: string; src: string; type: string };
  ip?: { src: string; dst: string; ttl: number; proto: number };
  l4?: { sport?: number; dport?: number; type?: number; id?: number; flags?: string };
}

const norm = (a: string) => ipText(ip16(a));

/** An Ethernet frame as the fields a test asserts on (the outer headers apart when it is Geneve). */
export function view(frame: Uint8Array): FrameView {
  const hs = decodeFrame(frame);
  const f = (h: { fields: { name: string; value: string }[] }, n: string) => h.fields.find((x) => x.name === n)?.value ?? "";
  const g = hs.findIndex((h) => h.name === "Geneve");
  const inner = g >= 0 ? hs.slice(g + 1) : hs;
  const out: FrameView = { outer: undefined, eth: { dst: "", src: "", type: "" } };
  if (g >= 0) {
    const [e, ip, udp, gen] = [hs[0], hs[1], hs[2], hs[g]];
    out.outer = {
      ethDst: f(e, "destination"), ethSrc: f(e, "source"), src: norm(f(ip, "source")), dst: norm(f(ip, "destination")),
      hopLimit: Number(f(ip, "hop limit")), udpDst: Number(f(udp, "destination port")), vni: Number(f(gen, "VNI")),
      options: gen.fields.filter((x) => x.name.startsWith("option ")).map((x) => x.name.slice(7)),
    };
  }
  const [e, ip, l4] = inner;
  out.eth = { dst: f(e, "destination"), src: f(e, "source"), type: f(e, "type") };
  if (ip && (ip.name === "IPv4" || ip.name === "IPv6")) {
    const proto = Number(/\((\d+)\)/.exec(f(ip, ip.name === "IPv4" ? "protocol" : "next header"))?.[1]);
    out.ip = { src: norm(f(ip, "source")), dst: norm(f(ip, "destination")), ttl: Number(f(ip, ip.name === "IPv4" ? "TTL" : "hop limit")), proto };
    const l = inner.find((h) => ["TCP", "UDP", "ICMP", "ICMPv6"].includes(h.name));
    if (l) {
      out.l4 = l.name === "TCP" || l.name === "UDP"
        ? { sport: Number(f(l, "source port")), dport: Number(f(l, "destination port")), ...(l.name === "TCP" ? { flags: f(l, "flags") } : {}) }
        : { type: Number(f(l, "type")), ...(f(l, "identifier") ? { id: Number(f(l, "identifier")) } : {}) };
    }
  }
  return out;
}

export { Dir, Verdict };
