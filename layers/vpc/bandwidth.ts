// Bandwidth enforcement (seed 002, Crossbow's flowadm/dladm maxbw): a limit
// for the whole port and up to 15 flow classes matched by protocol and port.
// The class is a rule decision (a `meter` set-op in the "bandwidth" layer);
// the rates are engine meters the host sets next to the program.

import type { LayerDef, Rule, Predicate } from "../program/encode.js";
import type { VpcPortConfig } from "./config.js";
import { PROTO } from "./constants.js";

export interface MeterSetting { meter: number; dir: "in" | "out"; bitsPerSec: number; burstBytes: number }

function burst(c: VpcPortConfig, mbps: number): number {
  // 300 ms of the rate: deeper than TCP's minimum retransmission timeout
  // (200 ms), so a sender that stalls on a timeout after a burst of drops
  // gets the idle time back. A shallow policer starves TCP: at 10 Mbit/s a
  // 10 ms bucket let through 6 % of the rate (test/netns/bandwidth-tcp.test.ts).
  return c.bandwidth.burstBytes ?? Math.max(Math.ceil(1.5 * 1514), Math.ceil((mbps * 1e6 * 0.3) / 8));
}

export function meterSettings(c: VpcPortConfig): MeterSetting[] {
  const out: MeterSetting[] = [];
  const add = (meter: number, dir: "in" | "out", mbps: number | undefined) => {
    if (mbps) out.push({ meter, dir, bitsPerSec: mbps * 1e6, burstBytes: burst(c, mbps) });
  };
  add(0, "in", c.bandwidth.inMbps);
  add(0, "out", c.bandwidth.outMbps);
  c.bandwidth.classes.forEach((k, i) => { add(i + 1, "in", k.inMbps); add(i + 1, "out", k.outMbps); });
  return out;
}

/** The classifier layer, or undefined when the port has no flow classes. */
export function bandwidthLayer(c: VpcPortConfig): LayerDef | undefined {
  if (c.bandwidth.classes.length === 0) return undefined;
  const rules: Rule[] = [];
  c.bandwidth.classes.forEach((k, i) => {
    const protos = k.protocols.length ? k.protocols : k.ports.length ? ["tcp", "udp"] as const : [];
    const simple = protos.filter((p): p is "tcp" | "udp" | "icmp" | "icmpv6" => typeof p === "string").map((p) => PROTO[p]);
    const preds: Predicate[] = [];
    if (simple.length) preds.push({ field: "proto", values: simple });
    if (k.ports.length) {
      preds.push({ field: "dstPort", values: k.ports.map((p) => {
        if (typeof p === "number") return p;
        const [a, b] = p.split("-").map(Number);
        return b === undefined ? a : [a, b] as [number, number];
      }) });
    }
    rules.push({ id: i + 1, dir: "both", priority: 10 + i, predicates: preds, action: { kind: "modify", set: [{ op: "meter", class: i + 1 }] } });
  });
  return { name: "bandwidth", defaultIn: "allow", defaultOut: "allow", rules };
}
