// What the benchmarks run. The main port is three layers as plain data
// (OPTE's shape): a stateful firewall with a few rules, a router that tags
// the packet's route in a meta register with `modify`, and an overlay that
// Geneve-encapsulates through the V2P table and rewrites the inner
// destination MAC. Guest frames of any number of TCP flows come from one
// template with the ports rewritten (and the TCP checksum updated per
// RFC 1624). The five-layer example VPC port is kept for the snapshot bench.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../hosts/engine/engine.js";
import { packageRoot } from "../hosts/engine/wasm.js";
import { compilePort } from "../layers/vpc/compile.js";
import { applyPort } from "../hosts/engine/apply-port.js";
import { encodePortProgram, LayerDef, Rule } from "../layers/program/encode.js";
import { ipFrame, tcp, TCP_FLAGS } from "../hosts/lib/frames.js";
import { Dir, DESC_SIZE, D_PTR, D_LEN, D_CAP, D_HEADROOM, D_PORT, D_DIR, D_VERDICT, D_OUT_LEN } from "../abi/batch.js";
import type { Batch } from "../hosts/engine/batch.js";

export const LINE_RATE_MPPS = 14.88; // 10GbE, 64-byte frames
export const FLOOR_MPPS = 5;         // the project's fast-path floor

// ---- the three-layer port -------------------------------------------------

export const VNI = 1234;
export const V2P = 1;
export const PORT = 0;
export const GUEST_MAC = "a8:40:25:00:00:05";
export const GW_MAC = "a8:40:25:ff:77:77";
export const PEER_MAC = "a8:40:25:00:00:06";
export const GUEST_IP = "10.0.0.5";
export const PEER_IP = "10.0.0.6";
const SLED_A = "fd00:1122:3344:101::1";
const SLED_B = "fd00:1122:3344:102::1";
const ROUTE_VPC = 1, ROUTE_INTERNET = 2;
/** Headroom each slot keeps for the outer Ethernet + IPv6 + UDP + Geneve headers. */
export const HEADROOM = 128;

/**
 * The firewall: inbound TCP 80/443 and ICMP from the subnet, a couple of
 * outbound denies (SMTP, a quarantined /24), outbound default statefulAllow.
 * `extraRules` adds outbound rules that never match the bench traffic (their
 * destinations differ): half TCP, half UDP. The engine keeps rules per
 * protocol, so a TCP packet scans the TCP half (rule-count scaling).
 */
export function firewallLayer(extraRules = 0): LayerDef {
  const rules: Rule[] = [
    { id: 1, dir: "in", priority: 100, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [80, 443] }], action: { kind: "statefulAllow" } },
    { id: 2, dir: "in", priority: 110, predicates: [{ field: "proto", values: [1] }, { field: "srcIp", prefixes: ["10.0.0.0/24"] }], action: { kind: "allow" } },
    { id: 3, dir: "out", priority: 50, predicates: [{ field: "proto", values: [6] }, { field: "dstPort", values: [25] }], action: { kind: "deny" } },
    { id: 4, dir: "out", priority: 60, predicates: [{ field: "dstIp", prefixes: ["10.0.9.0/24"] }], action: { kind: "deny" } },
  ];
  for (let i = 0; i < extraRules; i++) {
    rules.push({ id: 1000 + i, dir: "out", priority: 200 + (i % 1000), action: { kind: "deny" },
      predicates: [{ field: "proto", values: [i % 2 ? 17 : 6] }, { field: "dstIp", prefixes: [`172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}/32`] }, { field: "dstPort", values: [1 + (i % 60000)] }] });
  }
  return { name: "firewall", defaultIn: "deny", defaultOut: "statefulAllow", rules };
}

/** The router: longest prefix first, the route kind goes into meta0 for the overlay. */
export const routerLayer: LayerDef = {
  name: "router", defaultIn: "allow", defaultOut: "deny",
  rules: [
    { id: 20, dir: "out", priority: 8, predicates: [{ field: "dstIp", prefixes: ["10.0.0.0/24"] }], action: { kind: "modify", set: [{ op: "meta", reg: 0, value: ROUTE_VPC }] } },
    { id: 21, dir: "out", priority: 32, predicates: [{ field: "dstIp", prefixes: ["0.0.0.0/0"] }], action: { kind: "modify", set: [{ op: "meta", reg: 0, value: ROUTE_INTERNET }] } },
  ],
};

/** The overlay: VPC-routed packets are encapsulated towards the peer's sled (V2P). */
export const overlayLayer: LayerDef = {
  name: "overlay", defaultIn: "deny", defaultOut: "deny",
  rules: [
    { id: 30, dir: "out", priority: 10, predicates: [{ field: "meta0", values: [ROUTE_VPC] }], action: { kind: "encap", table: V2P, key: "innerDst", setInnerEthDst: true } },
    { id: 31, dir: "in", priority: 10, predicates: [{ field: "vni", values: [VNI] }], action: { kind: "decap" } },
  ],
};

export function portProgram(extraFirewallRules = 0): Uint8Array {
  return encodePortProgram([firewallLayer(extraFirewallRules), routerLayer, overlayLayer]);
}

/** A running three-layer port with room for `flows` flows, on a fresh engine unless one is given. */
export async function threeLayerPort(flows: number, extraFirewallRules = 0, engine?: Engine): Promise<Engine> {
  const e = engine ?? (await Engine.load());
  e.createPort(PORT, { vni: VNI, flowCapacity: flows, netEncap: true, underlayIp: SLED_A, underlayMac: "02:00:00:00:0a:01", nextHopMac: "02:00:00:00:5e:01", mtu: 9000 });
  e.loadProgram(PORT, portProgram(extraFirewallRules));
  e.mapSet(V2P, VNI, PEER_IP, 0, 65535, { encapVni: VNI, underlay: SLED_B, mac: PEER_MAC });
  e.setPortState(PORT, "running");
  return e;
}

// ---- frames -----------------------------------------------------------------

/** A TCP ACK from the guest to its VPC peer, `size` bytes as handed to the engine (no FCS; ≥ 54). */
export function guestFrame(size: number): Uint8Array {
  return ipFrame(GW_MAC, GUEST_MAC, GUEST_IP, PEER_IP, 6, tcp(GUEST_IP, PEER_IP, 1024, 80, TCP_FLAGS.ACK, new Uint8Array(Math.max(0, size - 54))));
}

/** Flow number i → (source port, destination port): up to ~3.9 billion distinct flows. */
export function flowPorts(i: number): [number, number] {
  return [1024 + (i % 60000), 80 + Math.floor(i / 60000)];
}

/**
 * Make the copy of the template at `u8[p]` flow i: rewrite its TCP ports and
 * update the TCP checksum incrementally (RFC 1624: HC' = ~(~HC + ~m + m')).
 * The template's ports are 1024 → 80.
 */
export function setFlow(u8: Uint8Array, p: number, i: number): void {
  const [sp, dp] = flowPorts(i);
  const at = p + 34;
  let s = (~((u8[at + 16] << 8) | u8[at + 17]) & 0xffff) + (~1024 & 0xffff) + sp + (~80 & 0xffff) + dp;
  s = (s & 0xffff) + (s >>> 16); s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  u8[at] = sp >> 8; u8[at + 1] = sp & 0xff; u8[at + 2] = dp >> 8; u8[at + 3] = dp & 0xff;
  u8[at + 16] = c >> 8; u8[at + 17] = c & 0xff;
}

/**
 * `count` frames of `size` bytes, flows 0, 1, … (mod `flows`), back to back in
 * one JS buffer: what a host's receive ring would hold.
 */
export function framesBuffer(size: number, count: number, flows = count): Uint8Array {
  const tpl = guestFrame(size);
  const buf = new Uint8Array(size * count);
  for (let k = 0; k < count; k++) { buf.set(tpl, k * size); setFlow(buf, k * size, k % flows); }
  return buf;
}

/**
 * A pool of pre-described frames in engine memory, one slot and one
 * descriptor per frame: the "engine only" figure runs windows of its
 * descriptors, so the host does nothing per packet but the batch call.
 * Re-running a window is valid for the fast path: the engine writes the
 * outer header into the headroom and rewrites the inner destination MAC to
 * the same value, so each slot still holds a valid guest frame.
 */
export class FramePool {
  readonly descs: number;
  readonly stride: number;
  private readonly process: (descs: number, count: number, now: number) => number;

  /**
   * Frame k is flow (first + k) % flows: a pool a few frames longer than `flows` lets windows wrap evenly.
   * Flow i is the template with its ports rewritten (setFlow), or `frameOf(i)` (at most `size` bytes) when given;
   * frames go out from the guest unless `dir` says they come in from the network.
   */
  constructor(readonly e: Engine, readonly count: number, readonly size: number, first = 0, flows = count,
    frameOf?: (i: number) => Uint8Array, dir: Dir = Dir.Out) {
    this.stride = (HEADROOM + size + 63) & ~63;
    const area = e.fn("batchAreaNew")(count * (DESC_SIZE + this.stride));
    if (!area) throw new Error(`engine could not allocate a ${count}-frame pool`);
    this.descs = area;
    const frames = area + count * DESC_SIZE;
    const tpl = guestFrame(size);
    const u8 = e.u8, dv = e.dv;
    for (let k = 0; k < count; k++) {
      const p = frames + k * this.stride + HEADROOM;
      let len = size;
      if (frameOf) {
        const f = frameOf((first + k) % flows);
        if (f.length > size) throw new Error(`frame of ${f.length} bytes in a ${size}-byte pool`);
        u8.set(f, p);
        len = f.length;
      } else {
        u8.set(tpl, p);
        setFlow(u8, p, (first + k) % flows);
      }
      const d = area + k * DESC_SIZE;
      dv.setUint32(d + D_PTR, p, true); dv.setUint16(d + D_LEN, len, true); dv.setUint16(d + D_CAP, this.stride - HEADROOM, true);
      dv.setUint16(d + D_HEADROOM, HEADROOM, true); dv.setUint16(d + D_PORT, PORT, true); dv.setUint8(d + D_DIR, dir);
    }
    this.process = e.fn("processBatch");
  }

  /** Process frames [start, start + n) in one call. */
  run(start: number, n: number, now: number): number {
    return this.process(this.descs + start * DESC_SIZE, n, now);
  }

  verdict(k: number): number { return this.e.u8[this.descs + k * DESC_SIZE + D_VERDICT]; }
  outLen(k: number): number { return this.e.dv.getUint16(this.descs + k * DESC_SIZE + D_OUT_LEN, true); }
}

/** Describe every slot of a batch once as a `size`-byte guest frame (the descriptors stay valid across runs). */
export function describeAll(b: Batch, size: number): void {
  for (let j = 0; j < b.slots; j++) b.describe(j, size, PORT, Dir.Out);
}

// ---- figures ----------------------------------------------------------------

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Relative spread of the rounds: (max − min) / median, in %. */
export function spread(xs: number[]): number {
  return ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100;
}

/**
 * Run `step` (which processes `perStep` packets) for `rounds` rounds of
 * `roundMs` after `warmup` rounds, and return packets/s per round.
 */
export function rounds(step: () => void, perStep: number, roundsN: number, roundMs: number, warmup = 2): number[] {
  const out: number[] = [];
  for (let r = -warmup; r < roundsN; r++) {
    let pkts = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < roundMs) {
      for (let k = 0; k < 16; k++) step();
      pkts += 16 * perStep;
      t = performance.now();
    }
    if (r >= 0) out.push(pkts / ((t - t0) / 1000));
  }
  return out;
}

// ---- the five-layer example VPC port (snapshot bench) -----------------------

export function exampleConfig(flows: number): Record<string, unknown> {
  const c = JSON.parse(readFileSync(join(packageRoot(), "examples", "port-a.json"), "utf8"));
  c.limits = { flows };
  return c;
}

export async function examplePort(flows: number, engine?: Engine): Promise<Engine> {
  const e = engine ?? (await Engine.load());
  applyPort(e, 0, compilePort(exampleConfig(flows)));
  return e;
}

/** A TCP ACK from the example port's guest to its VPC peer. */
export function exampleFrame(size: number): Uint8Array {
  return ipFrame(GW_MAC, "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 1024, 80, TCP_FLAGS.ACK, new Uint8Array(Math.max(0, size - 54))));
}

/** Fill slot j with the example template made flow i. */
export function writeExampleFlow(b: Batch, u8: Uint8Array, j: number, template: Uint8Array, i: number): void {
  const p = b.framePtr(j);
  u8.set(template, p);
  setFlow(u8, p, i);
}
