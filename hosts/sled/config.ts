// The sled host's own config file (`wopte sled --config sled.json`): where
// its underlay is, where its API listens, and the ports to create at start.

import { z } from "zod";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../../layers/vpc/config.js";
import { ApiConfig, DEFAULT_LIMITS } from "../api/config.js";
import { mac, ip, ipv6, port, name } from "../../layers/program/fields.js";


/** A Linux interface name: IFNAMSIZ is 16 with the NUL, and nothing a shell or path would read twice. */
const ifname = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/, "expected an interface name (1-15 letters, digits, '.', '_' or '-')");

export const DeviceSpec = z.union([
  z.strictObject({ type: z.literal("tap"), name: ifname }),
  z.strictObject({ type: z.literal("memory") }),
]);

export const SledConfigSchema = z.strictObject({
  name,
  underlay: z.union([
    z.strictObject({
      driver: z.literal("udp").default("udp"),
      address: ipv6,
      bind: z.strictObject({ host: ip, port }).optional(),
      peers: z.record(ipv6, z.string()).optional(),
      mac: mac.default("02:08:20:00:00:01"),
      nextHopMac: mac.default("02:08:20:ff:ff:01"),
    }),
    z.strictObject({
      driver: z.literal("tap"),
      address: ipv6,
      mac: mac.default("02:08:20:00:00:01"),
      /** One TAP per underlay NIC and its next hop (the two switches): ECMP by flow, failover by NDP. */
      nics: z.array(z.strictObject({ tap: ifname, nextHop: ipv6 })).min(1).max(8),
      probeMs: z.number().int().min(50).default(500),
    }),
  ]),
  /** Where the control API listens (hosts/api/config.ts): a unix socket by default, TCP with tokens on request. */
  api: ApiConfig.default({ limits: DEFAULT_LIMITS }),
  /** Flow logs (PUT /ports/{name}/flow-log) are written only in this directory; without it they are off. */
  flowLogs: z.strictObject({ dir: z.string().min(1) }).optional(),
  ports: z.array(z.strictObject({ config: z.union([z.string(), z.record(z.string(), z.unknown())]), device: DeviceSpec.default({ type: "memory" }) })).default([]),
});
export type SledConfig = z.output<typeof SledConfigSchema>;

/** Read and validate a sled config; port configs given as paths are read relative to it. */
export function loadSledConfig(path: string): SledConfig & { portConfigs: unknown[] } {
  let json: unknown;
  try { json = JSON.parse(readFileSync(path, "utf8")); } catch (e) { throw new Error(`cannot read ${path}: ${(e as Error).message}`); }
  const r = SledConfigSchema.safeParse(json);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
  const portConfigs = r.data.ports.map((p) =>
    typeof p.config === "string" ? JSON.parse(readFileSync(resolve(dirname(path), p.config), "utf8")) : p.config);
  return { ...r.data, portConfigs };
}
