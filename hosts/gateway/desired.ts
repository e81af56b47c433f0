// A gateway host's desired state as its ledger holds it (hosts/lib/ledger.ts):
// everything its API changes — the NAT ingress mappings and the advertised
// ranges. Flows are a cache on a gateway and are not kept.

import { z } from "zod";
import type { NatIngressEntry } from "../../layers/boundary/boundary.js";
import { NatMapping } from "./config.js";
import { cidr } from "../../layers/program/fields.js";
import { ip16, ipText } from "../../layers/program/addr.js";
export const GatewayState = z.strictObject({
  nat: z.array(NatMapping),
  advertised: z.array(cidr).max(1024),
});
export type GatewayState = z.output<typeof GatewayState>;

export function checkGatewayState(state: unknown): GatewayState {
  const r = GatewayState.safeParse(state);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`state.${i.path.map(String).join(".")}: ${i.message}`);
  }
  return r.data;
}

export const natKey = (m: { ip: string; firstPort: number }) => `${ipText(ip16(m.ip))}/${m.firstPort}`;

/** What the gateway's desired state is read from: the host's NAT table and advertised prefixes. */
export interface GatewayStateSource { listNat(): NatIngressEntry[]; readonly ownedPrefixes: string[] }

/** The gateway's desired state now (the committer's `state()`), in a canonical order. */
export function gatewayState(gw: GatewayStateSource): GatewayState {
  const nat = gw.listNat().map((m) => ({ ip: m.ip, firstPort: m.firstPort, lastPort: m.lastPort, sled: m.sled, vni: m.vni, mac: m.mac }));
  return { nat: nat.sort((a, b) => (natKey(a) < natKey(b) ? -1 : natKey(a) > natKey(b) ? 1 : 0)), advertised: gw.ownedPrefixes };
}

