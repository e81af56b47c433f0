// The gateway host's config file (`wopte gateway run --config gateway.json`).

import { z } from "zod";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../layers/vpc/config.js";
import { DeviceSpec } from "../sled/config.js";

const mac = z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, "expected a MAC address");

export const GatewayConfigSchema = z.object({
  name: z.string().default("gateway"),
  underlay: z.object({
    address: z.string(),
    bind: z.object({ host: z.string(), port: z.number().int().min(0).max(65535) }).optional(),
    peers: z.record(z.string(), z.string()).optional(),
    mac: mac.default("02:08:20:bb:00:01"),
    nextHopMac: mac.default("02:08:20:ff:ff:01"),
    mtu: z.number().int().min(1280).max(65535).default(9000),
  }),
  external: z.object({
    device: DeviceSpec,
    mac,
    nextHopMac: mac,
    ipv4: z.string().optional(),
    ipv6: z.string().optional(),
    ownedPrefixes: z.array(z.string()).min(1),
  }),
  nat: z.array(z.object({ ip: z.string(), firstPort: z.number().int(), lastPort: z.number().int(), sled: z.string(), vni: z.number().int(), mac })).default([]),
  api: z.object({ host: z.string().default("127.0.0.1"), port: z.number().int().default(7879) }).default({ host: "127.0.0.1", port: 7879 }),
  /** Advertise `external.ownedPrefixes` by BGP through BIRD 2 (omit for static routes on the customer side). */
  bgp: z.object({
    localAs: z.number().int().min(1).max(4294967295), routerId: z.string(),
    neighbor: z.object({ address: z.string(), as: z.number().int().min(1).max(4294967295) }),
    localAddress: z.string().optional(),
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
