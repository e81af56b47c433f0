// The HTTP server both hosts' control APIs run on (hosts/sled/api.ts and
// hosts/gateway/api.ts declare routes; this serves them). Every request
// passes one error boundary: the target is parsed by hand (a URL or
// percent-encoding the WHATWG parser would throw on is a 400), the caller is
// identified (unix-socket peer or bearer token), the route's strict schemas
// check the path, query and body (unknown fields are named in the 400), and
// only then does its handler run. Changes are serialized by the host's
// commit path (hosts/lib/committer.ts: changes that arrive together share
// one ledger write), audited (who, what, result, the host's new generation)
// and answered with the generation. An error nobody classified is a bug: 500, logged with the
// request id the client also got. Nothing a client sends ends the host.

import { createServer as createHttp, IncomingMessage, ServerResponse, Server, STATUS_CODES } from "node:http";
import { createServer as createHttps } from "node:https";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { Logger } from "pino";
import { RouteSpec, Caller, RawBody, accessOf, isChange, matchTemplate, route } from "./route.js";
import { HttpError, classify, issueText } from "./errors.js";
import { readBody, parseJson } from "./body.js";
import { peerOf } from "./peer.js";
import { TokenSet } from "./tokens.js";
import { Limits, DEFAULT_LIMITS } from "./config.js";
import { listenUnix, listenTcp, isLoopback } from "./listen.js";
import { openApiDocument } from "./openapi.js";

export interface ServerOptions {
  /** "sled" or "gateway": names the document and the log records. */
  kind: string;
  routes: RouteSpec[];
  log?: Logger;
  /** The host's generation, carried by every answer. */
  generation(): number;
  limits?: Partial<Limits>;
  /** Unix-socket peers allowed in (default root and the host's own uid). */
  allowedUids?: number[];
}

export interface TcpSettings {
  host: string;
  port: number;
  /** Who may call: every request needs one of these bearer tokens. */
  tokens: TokenSet;
  /** GET /metrics without a token (read-only). */
  openMetrics?: boolean;
  /** PEM files: serve HTTPS. Required off loopback unless insecurePlaintext. */
  tls?: { cert: string; key: string };
  insecurePlaintext?: boolean;
}

export interface Listening { socket?: string; url?: string; port?: number }

/** Which listener a request came in on: the unix socket, or TCP with that listener's tokens. */
type Via = { kind: "unix" } | { kind: "tcp"; tokens: TokenSet; openMetrics: boolean };

/** Counters shown in GET /health. */
export interface ApiStats {
  requests: number;
  inFlight: number;
  byStatus: Record<string, number>;
  /** 500s: bugs, each logged with its request id. */
  bugs: number;
  /** Requests refused with 503 because maxConcurrent were being served. */
  busy: number;
  /** Malformed HTTP (bad request lines, oversized or slow headers) answered before any route. */
  clientErrors: number;
}

export class ApiServer {
  readonly limits: Limits;
  private readonly routes: RouteSpec[];
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly allowedUids: number[];
  readonly stats: ApiStats = { requests: 0, inFlight: 0, byStatus: {}, bugs: 0, busy: 0, clientErrors: 0 };

  constructor(private readonly o: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.allowedUids = o.allowedUids ?? [...new Set([0, process.getuid?.() ?? 0])];
    this.routes = [...o.routes, route({
      method: "GET", path: "/openapi.json", summary: "this API as an OpenAPI 3.1 document", produces: "json",
      handler: () => this.openapi(),
    })];
    for (const r of this.routes) {
      const names = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      if (names.length && !r.params) throw new Error(`route ${r.method} ${r.path} declares no schema for its path parameters`);
    }
  }

  /** Every route served, /openapi.json included. */
  get routeList(): readonly RouteSpec[] { return this.routes; }

  openapi(): object { return openApiDocument(this.o.kind, this.routes); }

  // ---- one request

  async handle(req: IncomingMessage, res: ServerResponse, via: Via): Promise<void> {
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    this.stats.requests++;
    req.on("error", () => { /* reading errors surface in readBody; a reset after that is the client's */ });
    res.on("error", () => { /* the client went away mid-answer */ });
    res.setHeader("x-request-id", requestId);
    if (this.stats.inFlight >= this.limits.maxConcurrent) {
      this.stats.busy++;
      this.answer(req, res, 503, { error: `busy: ${this.limits.maxConcurrent} requests are being served; retry` }, { "retry-after": "1" });
      return;
    }
    this.stats.inFlight++;
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    let spec: RouteSpec | undefined, caller: Caller | undefined, what = `${req.method} ${String(req.url).slice(0, 200)}`;
    let auditBody: unknown;
    try {
      const target = parseTarget(req.url ?? "");
      caller = this.authenticate(req, via, target.path);
      const m = this.match(req.method ?? "", target.segments);
      spec = m.route;
      what = `${spec.method} ${target.path}`;
      if (accessOf(spec) === "admin" && caller.role !== "admin") throw new HttpError(403, `the token "${caller.name}" is read-only; ${spec.method} ${spec.path} needs an admin token`);
      const params = spec.params ? check(spec.params, m.params, "path") : undefined;
      const query = this.query(spec, target.query);
      const body = await this.body(req, spec);
      auditBody = body instanceof Uint8Array ? `${body.length} bytes` : body;
      const ctx = { params, query, body, caller, requestId, log: this.o.log, signal: abort.signal } as Parameters<RouteSpec["handler"]>[0];
      const r = spec;
      if (isChange(spec)) {
        const result = await r.handler(ctx);
        const generation = this.o.generation();
        this.audit(requestId, caller, what, auditBody, 200, generation);
        this.answer(req, res, 200, withGeneration(result, generation));
      } else {
        this.answer(req, res, 200, await r.handler(ctx));
      }
    } catch (err) {
      const known = classify(err);
      const status = known?.status ?? 500;
      if (!known) {
        this.stats.bugs++;
        this.o.log?.error({ err, requestId, what }, "API request failed: a bug (answered 500)");
      } else if (status === 401) {
        this.o.log?.warn({ requestId, what, address: req.socket.remoteAddress, reason: known.message }, "API request unauthorized");
      }
      if (spec && isChange(spec) && caller) this.audit(requestId, caller, what, auditBody, status, this.o.generation(), known?.message ?? "internal error");
      this.answer(req, res, status, known ? { error: known.message } : { error: `internal error (request ${requestId}); the host logged it` }, known?.headers);
    } finally {
      this.stats.inFlight--;
      this.o.log?.debug({ requestId, what, ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode }, "API request");
    }
  }

  private audit(requestId: string, who: Caller, what: string, body: unknown, status: number, generation: number, error?: string): void {
    this.o.log?.info({
      audit: true, requestId,
      who: { via: who.via, name: who.name, ...(who.uid !== undefined ? { uid: who.uid, pid: who.pid } : {}), ...(who.address ? { address: who.address } : {}) },
      what, ...(body !== undefined ? { body: truncated(body) } : {}),
      result: status < 300 ? "ok" : "refused", status, ...(error ? { error } : {}), generation,
    }, status < 300 ? "change" : "change refused");
  }

  private authenticate(req: IncomingMessage, via: Via, path: string): Caller {
    if (via.kind === "unix") {
      const peer = peerOf(req.socket);
      if (peer && !this.allowedUids.includes(peer.uid)) throw new HttpError(403, `uid ${peer.uid} may not use this socket`);
      return { via: "unix", role: "admin", name: peer ? `uid ${peer.uid}` : "unix", ...(peer ? { uid: peer.uid, pid: peer.pid } : {}) };
    }
    const address = req.socket.remoteAddress;
    const header = req.headers.authorization;
    if (header === undefined && via.openMetrics && req.method === "GET" && path === "/metrics") {
      return { via: "tcp", role: "read", name: "anonymous", address };
    }
    const unauthorized = (why: string) => new HttpError(401, why, { "www-authenticate": 'Bearer realm="wopte"' });
    const m = header === undefined ? null : /^Bearer ([\x21-\x7e]+)$/i.exec(header);
    if (!m) throw unauthorized("send Authorization: Bearer <token> (see the host's token file)");
    const t = via.tokens.check(m[1]);
    if (!t) throw unauthorized("the token is not valid here");
    return { via: "tcp", role: t.role, name: t.name, address };
  }

  private match(method: string, segments: string[]): { route: RouteSpec; params: Record<string, string> } {
    const allowed: string[] = [];
    for (const r of this.routes) {
      const params = matchTemplate(r.path, segments);
      if (!params) continue;
      if (r.method === method) return { route: r, params };
      allowed.push(r.method);
    }
    if (allowed.length) throw new HttpError(405, `${method} is not allowed here; use ${allowed.join(", ")}`, { allow: allowed.join(", ") });
    throw new HttpError(404, `no such endpoint /${segments.join("/")} (GET /openapi.json lists them)`);
  }

  private query(r: RouteSpec, q: URLSearchParams): unknown {
    const obj: Record<string, string> = {};
    for (const [k, v] of q) {
      if (k in obj) throw new HttpError(400, `the query parameter ${JSON.stringify(k)} is given twice`);
      obj[k] = v;
    }
    if (!r.query) {
      const keys = Object.keys(obj);
      if (keys.length) throw new HttpError(400, `${r.method} ${r.path} takes no query parameters (got ${keys.map((k) => JSON.stringify(k)).join(", ")})`);
      return undefined;
    }
    return check(r.query, obj, "query");
  }

  private async body(req: IncomingMessage, r: RouteSpec): Promise<unknown> {
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (r.upload) {
      const bytes = await readBody(req, this.limits.snapshotBytes, this.limits.snapshotTimeoutMs);
      if (bytes.length && type !== "application/octet-stream") throw new HttpError(415, "send the snapshot as application/octet-stream");
      if (!bytes.length) throw new HttpError(400, "the body is empty: send the snapshot bytes");
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    const bytes = await readBody(req, this.limits.bodyBytes, this.limits.bodyTimeoutMs);
    if (!r.body) {
      if (bytes.length) throw new HttpError(400, `${r.method} ${r.path} takes no body`);
      return undefined;
    }
    if (bytes.length && type !== "application/json") throw new HttpError(415, `send the body as application/json (got ${type || "no content-type"})`);
    return check(r.body, bytes.length ? parseJson(bytes) : undefined, "");
  }

  private answer(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    let type: string, data: string | Uint8Array;
    if (body instanceof RawBody) { type = body.contentType; data = body.data; }
    else { type = "application/json"; data = JSON.stringify(body ?? null); }
    const payload = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // a body we did not read (refused early) is not read now: the connection closes instead
    const unread = !req.complete;
    res.writeHead(status, {
      ...headers, "content-type": type, "content-length": String(payload.length), "cache-control": "no-store",
      "x-content-type-options": "nosniff", "wopte-generation": String(this.o.generation()), ...(unread ? { connection: "close" } : {}),
    });
    res.end(payload, () => { if (unread) req.socket.destroy(); });
  }

  // ---- listeners

  /** Serve on a unix socket and/or TCP (HTTPS with `tls`). */
  async listen(o: { socket?: string | false; tcp?: TcpSettings }): Promise<Listening> {
    const out: Listening = {};
    if (o.socket) {
      const server = this.newServer({ kind: "unix" }, false);
      out.socket = await listenUnix(server, o.socket);
    }
    if (o.tcp) {
      const t = o.tcp;
      if (!t.tls && !isLoopback(t.host) && !t.insecurePlaintext) {
        throw new Error(`the API would listen on ${t.host} without TLS: give api.tcp.tls {cert, key}, or set api.tcp.insecurePlaintext if the network is trusted`);
      }
      const server = this.newServer({ kind: "tcp", tokens: t.tokens, openMetrics: t.openMetrics ?? false }, t.tls ? { cert: readFileSync(t.tls.cert), key: readFileSync(t.tls.key) } : false);
      out.port = await listenTcp(server, t.host, t.port);
      const h = t.host.includes(":") ? `[${t.host}]` : t.host;
      out.url = `${t.tls ? "https" : "http"}://${h}:${out.port}`;
    }
    return out;
  }

  private newServer(via: Via, tls: { cert: Buffer; key: Buffer } | false): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) => { void this.handle(req, res, via); };
    const l = this.limits;
    // how often Node looks for requests over their header or request time (its default, 30 s, would let a slow client sit)
    const timing = { connectionsCheckingInterval: Math.max(100, Math.min(1000, l.headersTimeoutMs / 2)) };
    const server: Server = tls ? createHttps({ ...tls, ...timing, minVersion: "TLSv1.2" }, handler) : createHttp(timing, handler);
    server.headersTimeout = l.headersTimeoutMs;
    // Node's own limit on receiving a whole request: above ours, so ours answers first and names the limit
    server.requestTimeout = l.headersTimeoutMs + Math.max(l.bodyTimeoutMs, l.snapshotTimeoutMs) + 1000;
    server.maxConnections = l.maxConnections;
    server.maxHeadersCount = 100;
    server.on("connection", (s: Socket) => { this.sockets.add(s); s.on("close", () => this.sockets.delete(s)); });
    server.on("secureConnection", (s: Socket) => { this.sockets.add(s); s.on("close", () => this.sockets.delete(s)); });
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      this.stats.clientErrors++;
      if (err.code === "ECONNRESET" || !socket.writable) { socket.destroy(); return; }
      const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      const body = JSON.stringify({ error: status === 408 ? "the request did not arrive in time" : `malformed HTTP request (${err.code ?? err.message})` });
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    server.on("tlsClientError", () => { this.stats.clientErrors++; });
    server.on("error", (err) => { this.o.log?.error({ err }, "API listener error"); });
    this.servers.push(server);
    return server;
  }

  async close(): Promise<void> {
    const closing = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of this.sockets) s.destroy();
    await Promise.all(closing);
    this.servers.length = 0;
  }
}

/** The answer to a change: its result with the generation it made. */
function withGeneration(result: unknown, generation: number): unknown {
  if (result instanceof RawBody) return result;
  if (result && typeof result === "object" && !Array.isArray(result)) return { ...result, generation };
  return { result: result ?? null, generation };
}

/** A schema check whose 400 names each field ("path.name: …", "query.since: …", "firewall.0.ports: …"). */
function check(schema: z.ZodType, value: unknown, where: string): unknown {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, issueText(r.error.issues, where));
  return r.data;
}

/**
 * The request target, parsed without the WHATWG URL parser (which throws on
 * `//[`): an origin-form path, split into percent-decoded segments, and the
 * query. Bad percent-encoding is a 400.
 */
export function parseTarget(raw: string): { path: string; segments: string[]; query: URLSearchParams } {
  if (!raw.startsWith("/")) throw new HttpError(400, "the request target must be a path starting with /");
  const q = raw.indexOf("?");
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  if (pathPart.includes("#")) throw new HttpError(400, "the request target carries a fragment");
  const segments = pathPart.split("/").slice(1).map((s) => {
    try { return decodeURIComponent(s); } catch { throw new HttpError(400, `bad percent-encoding in the path: ${JSON.stringify(s)}`); }
  });
  return { path: "/" + segments.map((s) => encodeURIComponent(s)).join("/"), segments, query: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
}

/** A body as the audit log records it: the JSON, cut at 2 KiB. */
function truncated(body: unknown): unknown {
  let text: string;
  try { text = JSON.stringify(body); } catch { return "(unprintable)"; }
  return text.length > 2048 ? text.slice(0, 2048) + "…" : body;
}
