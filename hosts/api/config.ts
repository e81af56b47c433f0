// The `api` section of a sled or gateway config: where the control API
// listens and its limits. By default a host listens only on a unix socket
// (mode 0600 in a directory only its user can enter), as OPTE's opteadm
// reaches a root-only device; a TCP listener is opt-in and needs bearer
// tokens, and TLS as well unless it is on loopback or the operator says
// `insecurePlaintext`.

import { z } from "zod";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ip, port } from "../../layers/program/fields.js";

const MiB = 1024 * 1024;

export const ApiLimits = z.strictObject({
  /** Largest JSON body. */
  bodyBytes: z.number().int().min(1024).max(64 * MiB).default(MiB),
  /** Largest snapshot upload (PUT /ports/{name}/snapshot), read as it streams in. */
  snapshotBytes: z.number().int().min(MiB).max(4096 * MiB).default(512 * MiB),
  /** The request line and headers must arrive within this. */
  headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** A JSON body must arrive whole within this (a body that trickles in is cut off). */
  bodyTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** A snapshot upload must arrive whole within this. */
  snapshotTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
  /** Requests being served at once; more are answered 503. */
  maxConcurrent: z.number().int().min(1).max(4096).default(32),
  /** Open connections per listener; more are refused by the kernel backlog. */
  maxConnections: z.number().int().min(1).max(65536).default(256),
  /** Packet captures running at once on the host, and the bytes one may hold. */
  captures: z.number().int().min(1).max(64).default(4),
  captureBytes: z.number().int().min(MiB).max(1024 * MiB).default(64 * MiB),
});
export type Limits = z.output<typeof ApiLimits>;
export const DEFAULT_LIMITS: Limits = ApiLimits.parse({});

export const TcpListener = z.strictObject({
  host: z.union([ip, z.literal("localhost")]).default("127.0.0.1"),
  port,
  /** Certificate and key (PEM files) for HTTPS. Required off loopback unless insecurePlaintext. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Serve plain HTTP on a non-loopback address (tokens then cross the network in clear). */
  insecurePlaintext: z.boolean().default(false),
  /** The bearer tokens (created at first start, mode 0600). Default: <state dir>/<host name>/api-tokens.json. */
  tokenFile: z.string().min(1).optional(),
  /** GET /metrics without a token (read-only), for Prometheus scrapers. */
  openMetrics: z.boolean().default(false),
});

export const ApiConfig = z.strictObject({
  /** The unix socket (default <runtime dir>/<kind>.sock); false for none. */
  socket: z.union([z.string().min(1), z.literal(false)]).optional(),
  tcp: TcpListener.optional(),
  limits: ApiLimits.default(DEFAULT_LIMITS),
});
export type ApiConfigInput = z.input<typeof ApiConfig>;
export type ApiSettings = z.output<typeof ApiConfig>;

const uid = (): number => process.getuid?.() ?? -1;

/**
 * Where sockets go: /run/wopte for root (the host then needs root to reach,
 * like opteadm's device); otherwise the user's own runtime directory, so the
 * demo and development need no root.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (uid() === 0) return "/run/wopte";
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "wopte") : join(tmpdir(), `wopte-${uid()}`);
}

/**
 * Where a host keeps what must outlive a reboot (its ledger, its API tokens):
 * $WOPTE_STATE_DIR when set, else /var/lib/wopte for root, else the user's
 * state directory.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WOPTE_STATE_DIR) return env.WOPTE_STATE_DIR;
  if (uid() === 0) return "/var/lib/wopte";
  return env.XDG_STATE_HOME ? join(env.XDG_STATE_HOME, "wopte") : join(homedir(), ".local", "state", "wopte");
}

/** The socket a host of this kind listens on by default, and that `wopte` talks to by default. */
export function defaultSocket(kind: "sled" | "gateway", env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDir(env), `${kind}.sock`);
}

export function defaultTokenFile(hostName: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), hostName, "api-tokens.json");
}
