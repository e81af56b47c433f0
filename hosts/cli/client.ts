// A small client for the sled host API, shared by the `wopte` commands that
// talk to a running sled (port, fw, route, v2p, mcast, flows, layers, stats,
// snapshot export/restore). `--api http://host:port` or $WOPTE_API picks the
// sled; the default is http://127.0.0.1:7878.

import type { z } from "zod";

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

export function apiBase(flag?: string): string {
  return (flag ?? process.env.WOPTE_API ?? "http://127.0.0.1:7878").replace(/\/$/, "");
}

export async function call<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: {} };
  if (body instanceof Uint8Array) {
    init.body = new Blob([Buffer.from(body)]);
    (init.headers as Record<string, string>)["content-type"] = "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  let res: Response;
  try {
    res = await fetch(base + path, init);
  } catch (err) {
    throw new ApiError(0, `cannot reach the sled host at ${base}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  if ((res.headers.get("content-type") ?? "").startsWith("application/octet-stream")) {
    return new Uint8Array(await res.arrayBuffer()) as T;
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data?.error ?? `HTTP ${res.status}`);
  return data as T;
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
