// The gateway host's config file (`wopte gateway run --config gateway.json`).

import { z } from "zod";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../layers/vpc/config.js";
import { ApiConfig, DEFAULT_LIMITS } from "../api/config.js";
import { mac, ip, ipv4, ipv6, cidr, vni, port, name } from "../../layers/program/fields.js";
import { DeviceSpec } from "../sled/config.js";

/** Where NAT ingress for an external address and port range goes: the sled, the guest's VNI and MAC (dendrite's shape). */
export const NatTarget = z.strictObject({ sled: ipv6, vni, mac });
export const NatMapping = z.strictObject({ ip, firstPort: port, lastPort: port, ...NatTarget.shape })
  .refine((m) => m.firstPort <= m.lastPort, { message: "firstPort must not exceed lastPort", path: ["lastPort"] });
const asn = z.number().int().min(1).max(4294967295);

export const GatewayConfigSchema = z.strictObject({
  name: name.default("gateway"),
  underlay: z.strictObject({
    address: ipv6,
    bind: z.strictObject({ host: ip, port }).optional(),
    peers: z.record(ipv6, z.string()).optional(),
    mac: mac.default("02:08:20:bb:00:01"),
    nextHopMac: mac.default("02:08:20:ff:ff:01"),
    mtu: z.number().int().min(1280).max(65535).default(9000),
  }),
  external: z.strictObject({
    device: DeviceSpec,
    mac,
    nextHopMac: mac,
    ipv4: ipv4.optional(),
    ipv6: ipv6.optional(),
    ownedPrefixes: z.array(cidr).min(1),
  }),
  nat: z.array(NatMapping).default([]),
  /**
   * Where the ledger of the desired state (NAT mappings, advertised ranges) is kept
   * (docs/gateway-api.md, "Durability"); false: none. Default <state dir>/gateway/<name>.
   */
  stateDir: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** Where the control API listens (hosts/api/config.ts): a unix socket by default, TCP with tokens on request. */
  api: ApiConfig.default({ limits: DEFAULT_LIMITS }),
  /** Advertise `external.ownedPrefixes` by BGP through BIRD 2 (omit for static routes on the customer side). */
  bgp: z.strictObject({
    localAs: asn, routerId: ipv4,
    neighbor: z.strictObject({ address: ip, as: asn }),
    localAddress: ip.optional(),
    configPath: z.string().default("/run/wopte/bird.conf"), socketPath: z.string().default("/run/wopte/bird.ctl"),
  }).optional(),
});
export type GatewayConfig = z.output<typeof GatewayConfigSchema>;

export function loadGatewayConfig(path: string): GatewayConfig {
  let json: unknown;
  try { json = JSON.parse(readFileSync(path, "utf8")); } catch (e) { throw new Error(`cannot read ${path}: ${(e as Error).message}`); }
  const r = GatewayConfigSchema.safeParse(json);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
  return r.data;
}
