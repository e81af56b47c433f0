// What the benchmarks run: the example VPC port (all five layers: gateway,
// firewall, router, NAT, overlay) with V2P mappings, and guest frames of
// any number of flows built from one template.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../hosts/engine/engine.js";
import { packageRoot } from "../hosts/engine/wasm.js";
import { compilePort, applyPort } from "../layers/vpc/compile.js";
import { ipFrame, tcp, TCP_FLAGS } from "../hosts/lib/frames.js";
import type { Batch } from "../hosts/engine/batch.js";

export const GUEST_MAC = "a8:40:25:f0:00:05";
export const GW_MAC = "a8:40:25:ff:77:77";

export function exampleConfig(flows: number, firewallRules = 0): Record<string, unknown> {
  const c = JSON.parse(readFileSync(join(packageRoot(), "examples", "port-a.json"), "utf8"));
  c.limits = { flows };
  for (let i = 0; i < firewallRules; i++) {
    // rules that never match the benchmark's traffic, so every one is evaluated
    c.firewall.push({ name: `r${i}`, direction: "out", priority: 100 + (i % 1000), action: "deny",
      hosts: [{ type: "ip", value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }], protocols: ["udp"], ports: [1 + (i % 60000)] });
  }
  return c;
}

export async function examplePort(flows: number, firewallRules = 0, engine?: Engine): Promise<Engine> {
  const e = engine ?? (await Engine.load());
  applyPort(e, 0, compilePort(exampleConfig(flows, firewallRules)));
  return e;
}

/** A TCP ACK from the guest to its VPC peer, `size` bytes on the wire (≥ 54). */
export function templateFrame(size: number): Uint8Array {
  const payload = new Uint8Array(Math.max(0, size - 54));
  return ipFrame(GW_MAC, GUEST_MAC, "172.30.0.5", "172.30.0.6", 6, tcp("172.30.0.5", "172.30.0.6", 1024, 80, TCP_FLAGS.ACK, payload));
}

/** Flow number i → (source port, destination port): up to ~4 billion distinct flows. */
export function flowPorts(i: number): [number, number] {
  return [1024 + (i % 60000), 80 + Math.floor(i / 60000)];
}

/** Fill slot j with the template and make it flow i (ports rewritten; the fast path does not verify L4 checksums). */
export function writeFlow(b: Batch, u8: Uint8Array, j: number, template: Uint8Array, i: number): void {
  const p = b.framePtr(j);
  u8.set(template, p);
  const [sp, dp] = flowPorts(i);
  u8[p + 34] = sp >> 8; u8[p + 35] = sp & 0xff;
  u8[p + 36] = dp >> 8; u8[p + 37] = dp & 0xff;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
