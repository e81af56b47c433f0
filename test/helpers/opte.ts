// What the ports of OPTE's integration tests (lib/oxide-vpc/tests) need in
// wopte's words: a VPC port from the example config on an asymmetric VNI,
// one frame at a time with the host clock, frames from the internet (Geneve
// from boundary services with the External option) and from VPC peers, and
// the HTTP conversation of OPTE's test utilities with its sequence numbers
// (lib/opte-test-utils: http_syn2 … http_guest_ack_fin2), so TCP states are
// driven by the same segments.
import { Engine } from "../../hosts/engine/engine.js";
import { Dir, Verdict } from "../../hosts/engine/batch.js";
import { compilePort, layerBytes } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { examplePortJson, PortJson, GUEST_MAC, GATEWAY_MAC } from "./example-port.js";
import { ipFrame, tcp, geneve } from "./frames.js";

export { Dir, Verdict, GUEST_MAC, GATEWAY_MAC };
export type { PortJson };

/** 0x123456: no two bytes alike, so a byte-order slip shows. */
export const VNI = 0x123456;
export const GUEST4 = "172.30.0.5";
export const SNAT4 = "198.51.100.10";
export const SLED = "fd00:1122:3344:101::1";
export const BOUNDARY = "fd00:1122:3344:1::1";
export const BOUNDARY_MAC = "02:08:20:bb:00:01";
export const SLED_MAC = "02:08:20:01:01:01";
export const SWITCH_MAC = "02:08:20:ff:ff:01";
/** OPTE's test server ("zinascii.com") and a second one. */
export const SERVER = "52.10.128.69";
export const SERVER2 = "52.10.128.70";

export interface Result { verdict: Verdict; reason: string; layer: number; rule: number; out: Uint8Array }

export interface OptePort {
  e: Engine;
  config: PortJson;
  /** Run one frame at host time `now` (ms). */
  send(frame: Uint8Array, dir: Dir, now?: number): Result;
  /** The TCP state of the flow whose outbound key has these ports, or undefined without a flow. */
  tcpState(sport: number, dport: number, dst?: string): string | undefined;
  /** Set the whole firewall (OPTE's set_fw_rules) as the sled does: the firewall layer recompiled and replaced. */
  setFirewall(rules: PortJson["firewall"]): void;
}

/** The example port on VNI 0x123456, after `edit`, running in a fresh engine. */
export async function optePort(edit: (c: PortJson) => void = () => {}): Promise<OptePort> {
  const config = examplePortJson();
  config.vni = VNI;
  edit(config);
  const e = await Engine.load();
  applyPort(e, 0, compilePort(config), 0);
  const b = e.newBatch(2, 9216, 256);
  const send = (frame: Uint8Array, dir: Dir, now = 1): Result => {
    b.set(0, frame, 0, dir);
    b.run(1, now);
    const verdict = b.verdict(0);
    const reason = verdict === Verdict.Pass ? "pass" : verdict === Verdict.Hairpin ? "hairpin" : reasonName(b.reason(0));
    return { verdict, reason, layer: b.layer(0), rule: b.rule(0), out: b.output(0).slice() };
  };
  const tcpState = (sport: number, dport: number, dst?: string) =>
    e.flows(0).find((f) => f.out.proto === 6 && f.out.sport === sport && f.out.dport === dport && (dst === undefined || f.out.dst === dst))?.tcpState;
  const setFirewall = (rules: PortJson["firewall"]) => {
    config.firewall = rules;
    e.replaceLayer(0, layerBytes(compilePort(config), "firewall"));
  };
  return { e, config, send, tcpState, setFirewall };
}

/** A guest frame to its gateway (from the example guest's MAC unless `mac` says). */
export function fromGuest(src: string, dst: string, proto: number, l4: Uint8Array, ttl = 64, mac = GUEST_MAC): Uint8Array {
  return ipFrame(GATEWAY_MAC, mac, src, dst, proto, l4, ttl);
}

/** An inner frame from the internet, as boundary services deliver it: Geneve on the port's VNI with the External option. */
export function fromInternet(src: string, dst: string, proto: number, l4: Uint8Array, vni = VNI): Uint8Array {
  return geneve(SLED_MAC, SWITCH_MAC, BOUNDARY, SLED, { vni, external: true }, ipFrame(GUEST_MAC, BOUNDARY_MAC, src, dst, proto, l4));
}

/** An inner frame from a VPC peer's sled (`peerSled`), on the port's VNI. */
export function fromPeer(peerSled: string, peerMac: string, src: string, dst: string, proto: number, l4: Uint8Array): Uint8Array {
  return geneve(SLED_MAC, SWITCH_MAC, peerSled, SLED, { vni: VNI }, ipFrame(GUEST_MAC, peerMac, src, dst, proto, l4));
}

/** The inner IP packet of a Geneve frame the port sent (after the options), or of a plain guest frame. */
export function innerIp(frame: Uint8Array): Uint8Array {
  const type = (frame[12] << 8) | frame[13];
  if (type === 0x86dd && frame[14 + 6] === 17 && ((frame[14 + 40 + 2] << 8) | frame[14 + 40 + 3]) === 6081) {
    const g = 14 + 40 + 8;
    const inner = g + 8 + (frame[g] & 0x3f) * 4;
    return frame.subarray(inner + 14);
  }
  return frame.subarray(14);
}

/** The source port of the TCP/UDP segment inside `frame` (IPv4). */
export function innerSport(frame: Uint8Array): number {
  const ip = innerIp(frame);
  const l4 = ip.subarray((ip[0] & 15) * 4);
  return (l4[0] << 8) | l4[1];
}

const { FIN, SYN, ACK, PSH } = { FIN: 1, SYN: 2, ACK: 16, PSH: 8 };
const GUEST_ISN = 2382112979, SERVER_ISN = 44161351;
const GET = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");               // 18 bytes
const MOVED = new TextEncoder().encode("HTTP/1.1 301 Moved Permanently\r\n\r\n"); // 34 bytes

/**
 * One side's segments of OPTE's HTTP exchange between a client (port 44490)
 * and a server (port 80): `client` and `server` say which addresses they are
 * seen at, `clientPort` the client's port as the server sees it (after SNAT).
 */
export function httpExchange(o: { client: string; server: string; clientPort?: number; serverPort?: number }) {
  const cp = o.clientPort ?? 44490, sp = o.serverPort ?? 80;
  const c = (flags: number, seq: number, ack: number, body?: Uint8Array) => tcp(o.client, o.server, cp, sp, flags, body, seq, ack);
  const s = (flags: number, seq: number, ack: number, body?: Uint8Array) => tcp(o.server, o.client, sp, cp, flags, body, seq, ack);
  const g = GUEST_ISN + 1, v = SERVER_ISN + 1;
  return {
    syn: c(SYN, GUEST_ISN, 0),
    synAck: s(SYN | ACK, SERVER_ISN, g),
    ack: c(ACK, g, v),
    get: c(PSH | ACK, g, v, GET),
    getAck: s(ACK, v + 1, g + GET.length),
    moved: s(PSH | ACK, v + 1, g + GET.length, MOVED),
    movedAck: c(ACK, g + GET.length, v + 1 + MOVED.length),
    clientFin: c(FIN | ACK, g + GET.length, v + 1 + MOVED.length),
    serverAckFin: s(ACK, v + 1 + MOVED.length, g + GET.length + 1),
    serverFin: s(FIN | ACK, v + 1 + MOVED.length, g + GET.length + 1),
    clientAckFin: c(ACK, g + GET.length, v + 1 + MOVED.length + 1),
    /** A SYN from the server's side (port reuse by the peer: OPTE's http_syn3). */
    serverSyn: s(SYN, GUEST_ISN, 0),
  };
}
