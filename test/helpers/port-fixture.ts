// One port on a fresh engine with a hand-written rule program, and a `send`
// that runs one frame through it and reports what the engine decided. The
// engine tests in test/engine/ describe their layers inline, so each reads
// as the scenario it checks (no VPC compiler in between).
import { Engine } from "../../hosts/engine/engine.js";
import type { PortConfig } from "../../layers/program/port-config.js";
import { Batch, Dir, Verdict } from "../../hosts/engine/batch.js";
import { encodePortProgram, LayerDef } from "../../layers/program/encode.js";
import { reasonName } from "../../hosts/engine/reasons.js";
import { eth } from "./frames.js";
import { parseIpv4, macBytes } from "../../layers/program/addr.js";

export const GUEST_MAC = "a8:40:25:00:00:05";
export const GW_MAC = "a8:40:25:ff:77:77";
export const PEER_MAC = "a8:40:25:00:00:06";
export const SLED_A = "fd00:1122:3344:101::1";
export const SLED_B = "fd00:1122:3344:102::1";
export const UNDERLAY_MAC = "02:00:00:00:0a:01";
export const SWITCH_MAC = "02:00:00:00:5e:01";
export const VNI = 1234;
export const PORT = 0;

export const BASE_CONFIG: PortConfig = {
  vni: VNI, flowCapacity: 1024, netEncap: false, underlayIp: SLED_A,
  underlayMac: UNDERLAY_MAC, nextHopMac: SWITCH_MAC, mtu: 9000,
};

/** What the engine decided for one frame. `reason` is the name ("pass"/"hairpin"/"toHost" when not dropped). */
export interface Sent {
  verdict: Verdict;
  reason: string;
  reasonNo: number;
  layer: number;
  rule: number;
  out: Uint8Array;
}

export interface Fixture {
  e: Engine;
  b: Batch;
  send(frame: Uint8Array, dir: Dir, now?: number): Sent;
  /** Just the outcome: "pass", "hairpin", "toHost" or the drop reason's name. */
  result(frame: Uint8Array, dir: Dir, now?: number): string;
}

export function sentAt(b: Batch, i: number): Sent {
  const verdict = b.verdict(i);
  const reasonNo = b.reason(i);
  const reason = verdict === Verdict.Pass ? "pass" : verdict === Verdict.Hairpin ? "hairpin" : verdict === Verdict.ToHost ? "toHost" : reasonName(reasonNo);
  return { verdict, reason, reasonNo, layer: b.layer(i), rule: b.rule(i), out: b.output(i).slice() };
}

/** Port 0 running `layers` (outbound order) with `config` over the base config. */
export async function portWith(layers: LayerDef[], config: Partial<PortConfig> = {},
                               batch: { slots?: number; slotSize?: number; headroom?: number } = {}): Promise<Fixture> {
  const e = await Engine.load();
  e.createPort(PORT, { ...BASE_CONFIG, ...config });
  e.loadProgram(PORT, encodePortProgram(layers));
  e.setPortState(PORT, "running");
  const b = e.newBatch(batch.slots ?? 8, batch.slotSize ?? 2048, batch.headroom ?? 128);
  const send = (frame: Uint8Array, dir: Dir, now = 0): Sent => {
    b.set(0, frame, PORT, dir);
    b.run(1, now);
    return sentAt(b, 0);
  };
  return { e, b, send, result: (f, d, now) => send(f, d, now).reason };
}

/** An ARP request (RFC 826) from `senderMac`/`senderIp` asking for `targetIp`, broadcast. */
export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Uint8Array {
  const a = new Uint8Array(28);
  a.set([0, 1, 0x08, 0x00, 6, 4, 0, 1]);
  a.set(macBytes(senderMac), 8); a.set(parseIpv4(senderIp), 14);
  a.set(parseIpv4(targetIp), 24);
  return eth("ff:ff:ff:ff:ff:ff", senderMac, 0x0806, a);
}

/** An ARP reply from `senderMac`/`senderIp` to `targetMac`/`targetIp`. */
export function arpReply(senderMac: string, senderIp: string, targetMac: string, targetIp: string): Uint8Array {
  const a = new Uint8Array(28);
  a.set([0, 1, 0x08, 0x00, 6, 4, 0, 2]);
  a.set(macBytes(senderMac), 8); a.set(parseIpv4(senderIp), 14);
  a.set(macBytes(targetMac), 18); a.set(parseIpv4(targetIp), 24);
  return eth(targetMac, senderMac, 0x0806, a);
}

export { Dir, Verdict };
