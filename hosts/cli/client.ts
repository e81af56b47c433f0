// A small client for the hosts' APIs, shared by the `wopte` commands that
// talk to a running sled or gateway (port, fw, route, v2p, mcast, flows,
// layers, stats, snapshot, gateway nat/advertise). `--api` or $WOPTE_API
// ($WOPTE_GATEWAY_API) picks the host; the default is its unix socket, which
// needs no token. Over TCP the token comes from $WOPTE_TOKEN or
// $WOPTE_TOKEN_FILE, and $WOPTE_CA names a CA file for a self-signed cert.

import type { z } from "zod";
import { readFileSync } from "node:fs";
import { request as httpRequest, RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { defaultSocket } from "../api/config.js";
import "../../layers/program/messages.js"; // refusals in the operator's words

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Input the command refused before sending anything. */
export class InputError extends Error {}

/**
 * Check what a command is about to send with the schema the host applies (the
 * one strict parser in layers/program), so a typo fails here, naming the
 * field, rather than as a round trip.
 */
export function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new InputError(`${what}: ${r.error.issues.map((i) => `${i.path.length ? i.path.join(".") + ": " : ""}${i.message}`).join("; ")}`);
}

/**
 * Where a host's API is: `unix:/path` (or a bare absolute path) for its
 * socket, `http://host:port` or `https://host:port` for a TCP listener.
 * Default: the host's default socket (docs/sled-api.md, "Access").
 */
export function apiBase(flag?: string, kind: "sled" | "gateway" = "sled"): string {
  const env = kind === "sled" ? process.env.WOPTE_API : process.env.WOPTE_GATEWAY_API;
  const given = flag ?? env;
  if (!given) return `unix:${defaultSocket(kind)}`;
  return given.startsWith("/") ? `unix:${given}` : given.replace(/\/$/, "");
}

/** An API base with its credentials, for callers that do not take them from the environment (tests, embedding). */
export interface Endpoint { url: string; token?: string; ca?: string | Buffer }

/**
 * The bearer token for TCP: $WOPTE_TOKEN, else the file $WOPTE_TOKEN_FILE
 * names (the token alone, or a host's token file, whose first admin token is
 * used). Unix sockets need none.
 */
export function tokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.WOPTE_TOKEN) return env.WOPTE_TOKEN.trim();
  if (!env.WOPTE_TOKEN_FILE) return undefined;
  let text: string;
  try { text = readFileSync(env.WOPTE_TOKEN_FILE, "utf8"); } catch (e) { throw new InputError(`cannot read $WOPTE_TOKEN_FILE: ${(e as Error).message}`); }
  if (!text.trimStart().startsWith("{")) return text.trim();
  try {
    const f = JSON.parse(text) as { tokens?: { role?: string; token?: string }[] };
    const t = f.tokens?.find((x) => x.role === "admin") ?? f.tokens?.[0];
    if (t?.token) return t.token;
  } catch { /* fall through */ }
  throw new InputError(`$WOPTE_TOKEN_FILE ${env.WOPTE_TOKEN_FILE} holds neither a token nor a host's token file`);
}

function endpointOf(base: string | Endpoint): Endpoint {
  if (typeof base !== "string") return base;
  const ca = process.env.WOPTE_CA;
  let caPem: Buffer | undefined;
  if (ca) { try { caPem = readFileSync(ca); } catch (e) { throw new InputError(`cannot read $WOPTE_CA: ${(e as Error).message}`); } }
  return { url: base, token: base.startsWith("unix:") ? undefined : tokenFromEnv(), ca: caPem };
}

export async function call<T = unknown>(base: string | Endpoint, method: string, path: string, body?: unknown): Promise<T> {
  const ep = endpointOf(base);
  const headers: Record<string, string> = {};
  let payload: Buffer | undefined;
  if (body instanceof Uint8Array) {
    payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    headers["content-type"] = "application/octet-stream";
  } else if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body), "utf8");
    headers["content-type"] = "application/json";
  }
  if (payload) headers["content-length"] = String(payload.length);
  if (ep.token) headers.authorization = `Bearer ${ep.token}`;
  const { status, type, data } = await send(ep, method, path, headers, payload);
  if (type.startsWith("application/octet-stream") && status < 300) return new Uint8Array(data.buffer, data.byteOffset, data.length) as T;
  const text = data.toString("utf8");
  let json: unknown = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { error: text.slice(0, 200) }; }
  if (status >= 300) {
    const why = (json as { error?: string } | null)?.error ?? `HTTP ${status}`;
    throw new ApiError(status, status === 401 && !ep.token ? `${why} (set $WOPTE_TOKEN or $WOPTE_TOKEN_FILE)` : why);
  }
  return json as T;
}

/** One request over a unix socket, HTTP or HTTPS. */
function send(ep: Endpoint, method: string, path: string, headers: Record<string, string>, payload?: Buffer): Promise<{ status: number; type: string; data: Buffer }> {
  let target: RequestOptions;
  let secure = false;
  if (ep.url.startsWith("unix:")) {
    target = { socketPath: ep.url.slice(5), path };
  } else {
    let u: URL;
    try { u = new URL(ep.url); } catch { throw new InputError(`not an API address: ${ep.url} (use unix:/path, http://host:port or https://host:port)`); }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new InputError(`not an API address: ${ep.url} (use unix:/path, http://host:port or https://host:port)`);
    secure = u.protocol === "https:";
    target = { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port || (secure ? 443 : 80), path: u.pathname.replace(/\/$/, "") + path };
  }
  return new Promise((resolve, reject) => {
    const opts = { ...target, method, headers, ...(secure && ep.ca ? { ca: ep.ca } : {}) };
    const req = (secure ? httpsRequest : httpRequest)(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), data: Buffer.concat(chunks) }));
      res.on("error", (e) => reject(new ApiError(0, `the answer from ${ep.url} broke off: ${e.message}`)));
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      const hint = e.code === "ENOENT" ? " (is the host running? its socket is made at start)" : e.code === "EACCES" ? " (the socket is the host user's and root's only)" : "";
      reject(new ApiError(0, `cannot reach the host at ${ep.url}: ${e.message}${hint}`));
    });
    req.end(payload);
  });
}

/** Render rows as an aligned text table (for people; `--json` prints the data instead). */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return "(none)";
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) => (v === undefined || v === null ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n");
}

/** Run a command body, turning API errors into a message and exit code 1. */
export async function guarded(f: () => Promise<void>): Promise<number> {
  try {
    await f();
    return 0;
  } catch (err) {
    if (err instanceof ApiError || err instanceof InputError) { console.error(`wopte: ${err.message}`); return 1; }
    throw err;
  }
}
