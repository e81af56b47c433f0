// The example VPC port (examples/port-a.json) in a fresh engine, edited per test.
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../../hosts/engine/apply-port.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PortJson = any;

export const examplePortJson = (): PortJson =>
  JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));

/** Port 0 of a new engine from the example config after `edit`, and a batch of `slots`. */
export async function examplePort(edit: (c: PortJson) => void = () => {}, slots = 8, now = 0) {
  const c = examplePortJson();
  edit(c);
  const e = await Engine.load();
  applyPort(e, 0, compilePort(c), now);
  return { e, b: e.newBatch(slots) };
}

export const GUEST_MAC = "a8:40:25:f0:00:05";
export const GATEWAY_MAC = "a8:40:25:ff:77:77";

export interface V2pJson { ip: string; mac: string; underlay: string }

/**
 * The example port as a plain VPC guest on sled `sled`: its own name, MAC and
 * addresses, the given V2P mappings, and no boundary, routes or floating IPs
 * (traffic stays inside the VPC).
 */
export function vpcGuestPortJson(o: { name: string; mac: string; ipv4: string; ipv6: string; sled: string; v2p: V2pJson[]; vni?: number }): PortJson {
  const c = examplePortJson();
  Object.assign(c, { name: o.name, guest: { mac: o.mac, ipv4: o.ipv4, ipv6: o.ipv6 }, v2p: o.v2p, externalIps: { floating: [] }, routes: [] });
  if (o.vni !== undefined) c.vni = o.vni;
  delete c.boundary;
  c.sled.underlay = o.sled;
  return c;
}
