// The sled host's own config file (`wopte sled --config sled.json`): where
// its underlay is, where its API listens, the ports to create at start, and
// the rack-wide multicast state to begin with (M2P mappings, forwarding).

import { z } from "zod";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { M2pMapping } from "../../layers/vpc/config.js";
import { ApiConfig, DEFAULT_LIMITS } from "../api/config.js";
import { mac, ip, ipv6, port, name } from "../../layers/program/fields.js";
import { ForwardingEntry } from "./multicast.js";


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
      /** Drop Geneve from sources that are no known sled nor boundary services (docs/sled-api.md "Underlay sources"). */
      dropUnknownSources: z.boolean().default(true),
    }),
    z.strictObject({
      driver: z.literal("tap"),
      address: ipv6,
      mac: mac.default("02:08:20:00:00:01"),
      /** One TAP per underlay NIC and its next hop (the two switches): ECMP by flow, failover by NDP. */
      nics: z.array(z.strictObject({ tap: ifname, nextHop: ipv6 })).min(1).max(8),
      probeMs: z.number().int().min(50).default(500),
      /** Off by default: the TAP underlay's frames come from the sled's own NICs. */
      dropUnknownSources: z.boolean().default(false),
    }),
  ]),
  /** Where the control API listens (hosts/api/config.ts): a unix socket by default, TCP with tokens on request. */
  api: ApiConfig.default({ limits: DEFAULT_LIMITS }),
  /**
   * Where the ledger of the desired state is kept (docs/sled-api.md, "Durability"); false: no
   * ledger, a restart comes back to the config file alone. Default <state dir>/sled/<name>.
   */
  stateDir: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** Flow checkpoints (docs/sled-api.md "Flow checkpoints"): every port's flows in <stateDir>/flows, every intervalMs (0: only at a clean stop), restored at start. */
  checkpoints: z.strictObject({ intervalMs: z.number().int().min(0).max(86_400_000).default(10_000) }).default({ intervalMs: 10_000 }),
  /** Flow logs (PUT /ports/{name}/flow-log) are written only in this directory; without it they are off. */
  flowLogs: z.strictObject({ dir: z.string().min(1) }).optional(),
  ports: z.array(z.strictObject({ config: z.union([z.string(), z.record(z.string(), z.unknown())]), device: DeviceSpec.default({ type: "memory" }) })).default([]),
  /** As PUT /m2p and PUT /mcast/forwarding would set them (docs/sled-api.md, "Multicast"). */
  multicast: z.strictObject({ m2p: z.array(M2pMapping).default([]), forwarding: z.array(ForwardingEntry).default([]) })
    .default({ m2p: [], forwarding: [] }),
});
export type SledConfig = z.output<typeof SledConfigSchema>;

/** A sled config that cannot be used: the message names the file (and port) and what is wrong. */
export class SledConfigError extends Error {}

/** Zod issues as "path: message" lines; a failed union names the forms it takes and what the first one lacked. */
function issueLines(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const path = i.path.map(String).join(".") || "(top level)";
    if (i.code === "invalid_union" && path === "underlay") {
      const first = (i as { errors?: z.core.$ZodIssue[][] }).errors?.[0]?.[0];
      return `underlay: expected {"address": <this sled's underlay IPv6>} (driver "udp", the default; optional bind, peers, mac, nextHopMac) ` +
        `or {"driver": "tap", "address", "nics": [{"tap", "nextHop"}]}${first ? ` (${[...first.path.map(String)].join(".") || "underlay"}: ${first.message})` : ""}`;
    }
    return `${path}: ${i.message}`;
  });
}

/** Read and validate a sled config; port configs given as paths are read relative to it. Errors name the file. */
export function loadSledConfig(path: string): SledConfig & { portConfigs: unknown[] } {
  const json = readJson(path, "the sled config");
  const r = SledConfigSchema.safeParse(json);
  if (!r.success) {
    const looksLikePort = typeof json === "object" && json !== null && "guest" in json && "vni" in json;
    throw new SledConfigError(`${path} is not a valid sled config:\n${issueLines(r.error.issues).map((l) => `  ${l}`).join("\n")}` +
      (looksLikePort ? `\n${path} looks like a port config: a sled config lists its ports ("ports": [{"config": "port-a.json"}]); see examples/sled.json` : ""));
  }
  const portConfigs = r.data.ports.map((p, i) =>
    typeof p.config === "string" ? readJson(resolve(dirname(path), p.config), `port ${i} of ${path}`) : p.config);
  return { ...r.data, portConfigs };
}

/** Parse a JSON file, naming it (and what it is for) when it cannot be read or parsed. */
function readJson(file: string, what: string): unknown {
  let text: string;
  try { text = readFileSync(file, "utf8"); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SledConfigError(`cannot read ${file} (${what}): ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  try { return JSON.parse(text); } catch (e) {
    throw new SledConfigError(`${file} (${what}) is not valid JSON: ${(e as Error).message}`);
  }
}
