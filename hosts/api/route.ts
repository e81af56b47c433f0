// An API route as data: method, path template, strict schemas for its path
// parameters, query and body, who may call it and whether it changes the
// host. The server (server.ts) checks everything a route declares before its
// handler runs, and the OpenAPI document (openapi.ts) is written from the
// same declarations, so the two cannot drift.

import type { z } from "zod";
import type { Logger } from "pino";

/** read: any valid token (GET routes); admin: changes and sensitive reads (snapshots, captures). */
export type Role = "read" | "admin";

/** Who sent a request: a unix-socket peer (by uid, from SO_PEERCRED) or a TCP client (by token name). */
export interface Caller {
  via: "unix" | "tcp";
  role: Role;
  /** The token's name for TCP callers; "uid <n>" (or "unix" when the kernel would not say) for the socket. */
  name: string;
  uid?: number;
  pid?: number;
  address?: string;
}

export interface RequestContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  requestId: string;
  log?: Logger;
  /** Aborted when the client goes away (long captures stop early). */
  signal: AbortSignal;
}

/** A non-JSON answer (Prometheus text, pcapng, snapshot bytes). */
export class RawBody {
  constructor(readonly contentType: string, readonly data: string | Uint8Array) {}
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<PS extends z.ZodType | undefined = z.ZodType | undefined, QS extends z.ZodType | undefined = z.ZodType | undefined, BS extends z.ZodType | undefined = z.ZodType | undefined> {
  method: "GET" | "PUT" | "POST" | "DELETE";
  /** A template: "/ports/{name}/firewall/{rule}". Each `{x}` is one percent-decoded segment. */
  path: string;
  summary: string;
  params?: PS;
  query?: QS;
  /** The JSON body (application/json). */
  body?: BS;
  /** A binary body instead (application/octet-stream), with its own size and time limits. */
  upload?: "snapshot";
  /** What a successful answer carries, for the OpenAPI document. */
  produces?: "json" | "octet-stream" | "text" | "pcapng";
  /** Default: read for GET, admin for everything else. */
  access?: Role;
  /** Changes are serialized, audited and answered with the host's new generation. Default: not GET. */
  change?: boolean;
  handler(ctx: RequestContext<Out<PS>, Out<QS>, BS extends z.ZodType ? z.output<BS> : (undefined | Uint8Array)>): unknown;
}

/** Declare a route (a typed identity: the schemas type the handler's context). */
export function route<PS extends z.ZodType | undefined = undefined, QS extends z.ZodType | undefined = undefined, BS extends z.ZodType | undefined = undefined>(
  r: RouteSpec<PS, QS, BS>,
): RouteSpec {
  return r as unknown as RouteSpec;
}

export const accessOf = (r: RouteSpec): Role => r.access ?? (r.method === "GET" ? "read" : "admin");
export const isChange = (r: RouteSpec): boolean => r.change ?? r.method !== "GET";

/** A path template split into literal segments and `{param}` names. */
export function templateSegments(path: string): ({ literal: string } | { param: string })[] {
  return path.split("/").slice(1).map((s) => {
    const m = /^\{(\w+)\}$/.exec(s);
    return m ? { param: m[1] } : { literal: s };
  });
}

/** Match decoded path segments against a template; the parameters by name, or undefined. */
export function matchTemplate(path: string, segments: string[]): Record<string, string> | undefined {
  const t = templateSegments(path);
  if (t.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const s = t[i];
    if ("literal" in s) { if (s.literal !== segments[i]) return undefined; }
    else params[s.param] = segments[i];
  }
  return params;
}
