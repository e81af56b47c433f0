// The sled host's control API: HTTP + JSON (documented in docs/sled-api.md).
// Bad input gets a 4xx with the reason; nothing a client sends can crash the
// host. Metrics for Prometheus at /metrics (hosts/sled/metrics.ts).

import { createServer, IncomingMessage, ServerResponse, Server } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "pino";
import { SledHost, NotFound, Conflict } from "./sled.js";
import { ConfigError, FirewallRule, Route, V2pMapping, M2pMapping, MulticastGroup } from "../../layers/vpc/config.js";
import { ip16, ipText, isIP } from "../../layers/program/addr.js";
import { EngineError } from "../engine/engine.js";
import { MemoryDevice, GuestDevice } from "./devices.js";
import { exportPortSnapshot, restorePortSnapshot, markPortSnapshot } from "./snapshots.js";
import { UsageRecorder, parseDuration } from "./usage.js";
import { sledMetrics } from "./metrics.js";

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

type Handler = (req: IncomingMessage, params: Record<string, string>, body: unknown, query: URLSearchParams) => Promise<unknown> | unknown;
interface RouteDef { method: string; pattern: RegExp; keys: string[]; handler: Handler; raw?: boolean }

export interface ApiOptions {
  host: SledHost;
  usage?: UsageRecorder;
  log?: Logger;
  /** Make a guest device for a port created through the API (default: in-memory). */
  deviceFactory?: (spec: unknown, portName: string) => Promise<GuestDevice> | GuestDevice;
}

export class SledApi {
  private readonly routes: RouteDef[] = [];
  private server: Server | undefined;
  readonly registry: Registry;

  constructor(private readonly o: ApiOptions, metrics = sledMetrics(o.host)) {
    this.registry = metrics.registry;
    const h = o.host;
    const body = <T>(schema: { safeParse(x: unknown): { success: boolean; data?: T; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, x: unknown): T => {
      const r = schema.safeParse(x);
      if (!r.success) throw new ConfigError(r.error!.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
      return r.data as T;
    };
    this.add("GET", "/health", () => ({ ok: true, sled: h.name, underlay: h.underlayAddress, ports: h.ports.size, underlayDrops: h.underlayDrops, pumpDrops: h.pumpDrops }));
    this.add("GET", "/ports", () => h.summary());
    this.add("POST", "/ports", async (_r, _p, b) => {
      const spec = (b ?? {}) as { config?: unknown; device?: unknown };
      if (!spec.config) throw new HttpError(400, "body needs {config, device?}");
      const name = (spec.config as { name?: string }).name ?? "port";
      const device = this.o.deviceFactory ? await this.o.deviceFactory(spec.device, name) : new MemoryDevice(name);
      try {
        const p = h.addPort(spec.config as never, device);
        return { name: p.name, id: p.id };
      } catch (err) {
        device.close();
        throw err;
      }
    });
    this.add("GET", "/ports/:name", (_r, p) => ({ ...h.stats(p.name), config: h.port(p.name).json }));
    this.add("DELETE", "/ports/:name", (_r, p) => { h.removePort(p.name); return { removed: p.name }; });
    this.add("PUT", "/ports/:name/state", (_r, p, b) => {
      const s = (b as { state?: string })?.state;
      if (s !== "running" && s !== "paused" && s !== "ready" && s !== "reset") throw new HttpError(400, "state must be running, paused, ready or reset");
      h.setPortState(p.name, s);
      return { state: h.engine.portState(h.port(p.name).id) };
    });
    // firewall: the whole set (atomic), or one rule at a time by name
    this.add("GET", "/ports/:name/firewall", (_r, p) => h.port(p.name).compiled.config.firewall);
    this.add("PUT", "/ports/:name/firewall", (_r, p, b) => {
      if (!Array.isArray(b)) throw new HttpError(400, "body must be an array of firewall rules");
      const rules = b.map((x) => body(FirewallRule, x));
      h.updatePort(p.name, (j) => { j.firewall = rules; });
      return { rules: rules.length };
    });
    this.add("POST", "/ports/:name/firewall", (_r, p, b) => {
      const rule = body(FirewallRule, b);
      h.updatePort(p.name, (j) => {
        const list = (j.firewall ?? []).filter((r) => r.name !== rule.name);
        j.firewall = [...list, rule];
      });
      return { added: rule.name };
    });
    this.add("DELETE", "/ports/:name/firewall/:rule", (_r, p) => {
      if (!h.port(p.name).compiled.config.firewall.some((r) => r.name === p.rule)) throw new NotFound(`no firewall rule ${p.rule}`);
      h.updatePort(p.name, (j) => { j.firewall = (j.firewall ?? []).filter((r) => r.name !== p.rule); });
      return { removed: p.rule };
    });
    // routes (custom table; the VPC subnets are system routes)
    this.add("GET", "/ports/:name/routes", (_r, p) => h.port(p.name).compiled.config.routes);
    this.add("POST", "/ports/:name/routes", (_r, p, b) => {
      const route = body(Route, b);
      h.updatePort(p.name, (j) => { j.routes = [...(j.routes ?? []).filter((r) => r.dest !== route.dest), route]; });
      return { added: route.dest };
    });
    this.add("DELETE", "/ports/:name/routes", (_r, p, _b, q) => {
      const dest = q.get("dest");
      if (!dest) throw new HttpError(400, "pass ?dest=<prefix>");
      if (!h.port(p.name).compiled.config.routes.some((r) => r.dest === dest)) throw new NotFound(`no route to ${dest}`);
      h.updatePort(p.name, (j) => { j.routes = (j.routes ?? []).filter((r) => r.dest !== dest); });
      return { removed: dest };
    });
    this.add("PUT", "/ports/:name/external-ips", (_r, p, b) => {
      h.updatePort(p.name, (j) => { j.externalIps = b as never; });
      return h.port(p.name).compiled.config.externalIps;
    });
    // V2P mappings are rack-wide per VNI
    this.add("GET", "/v2p", () => h.listV2p());
    this.add("PUT", "/v2p", (_r, _p, b) => {
      const m = body(V2pMapping, b);
      if (m.vni === undefined) throw new HttpError(400, "vni is required");
      h.setV2p({ vni: m.vni, ip: m.ip, mac: m.mac, underlay: m.underlay });
      return m;
    });
    this.add("DELETE", "/v2p/:vni/:ip", (_r, p) => { h.removeV2p(Number(p.vni), p.ip); return { removed: p.ip }; });
    // multicast: M2P mappings are rack-wide; each port has its groups (and learns them from its guest's reports)
    this.add("GET", "/m2p", () => h.listM2p());
    this.add("PUT", "/m2p", (_r, _p, b) => {
      const m = body(M2pMapping, b);
      h.setM2p(m);
      return m;
    });
    this.add("DELETE", "/m2p/:group", (_r, p) => { h.removeM2p(p.group); return { removed: p.group }; });
    this.add("GET", "/ports/:name/multicast", (_r, p) => h.port(p.name).compiled.config.multicast);
    this.add("PUT", "/ports/:name/multicast", (_r, p, b) => {
      if (!Array.isArray(b)) throw new HttpError(400, "body must be an array of groups");
      return h.setGroups(p.name, b.map((x) => body(MulticastGroup, x))).compiled.config.multicast;
    });
    this.add("POST", "/ports/:name/multicast", (_r, p, b) => {
      const g = body(MulticastGroup, b);
      const same = sameGroup(g.group);
      h.setGroups(p.name, [...h.port(p.name).compiled.config.multicast.filter((x) => !same(x.group)), g]);
      return g;
    });
    this.add("DELETE", "/ports/:name/multicast/:group", (_r, p) => {
      const groups = h.port(p.name).compiled.config.multicast;
      const same = sameGroup(p.group);
      if (!groups.some((x) => same(x.group))) throw new NotFound(`${p.name} has not joined ${p.group}`);
      h.setGroups(p.name, groups.filter((x) => !same(x.group)));
      return { removed: p.group };
    });
    // packet capture: pcapng of what the port sees, before and after the engine
    this.add("GET", "/ports/:name/capture", async (_r, p, _b, q) => {
      const seconds = Number(q.get("seconds") ?? 10), max = Number(q.get("max") ?? 10_000);
      if (!(seconds > 0 && seconds <= 600) || !(max > 0 && max <= 1_000_000)) throw new HttpError(400, "seconds must be 0-600 and max 1-1000000");
      return h.capture(p.name, max, seconds * 1000);
    }, true);
    // flow logs: JSON lines appended to a file on the sled
    this.add("PUT", "/ports/:name/flow-log", (_r, p, b) => {
      const spec = (b ?? {}) as { enabled?: boolean; path?: string };
      if (spec.enabled && typeof spec.path !== "string") throw new HttpError(400, "enabling needs {enabled: true, path: <file>}");
      h.setFlowLog(p.name, spec.enabled ? spec.path : undefined);
      return { enabled: !!spec.enabled, path: spec.enabled ? spec.path : undefined };
    });
    // dumps
    this.add("GET", "/ports/:name/layers", (_r, p) => h.layers(p.name));
    this.add("GET", "/ports/:name/flows", (_r, p) => h.flows(p.name));
    this.add("GET", "/ports/:name/stats", (_r, p) => h.stats(p.name));
    this.add("GET", "/stats", () => [...h.ports.keys()].map((n) => h.stats(n)));
    this.add("GET", "/usage", (_r, _p, _b, q) => {
      if (!this.o.usage) throw new HttpError(404, "usage recording is off on this sled");
      const port = q.get("port") ?? undefined;
      if (port) h.port(port);
      let sinceMs: number | undefined;
      try { sinceMs = q.get("since") ? parseDuration(q.get("since")!) : undefined; } catch (e) { throw new HttpError(400, (e as Error).message); }
      return this.o.usage.query({ port, sinceMs, flows: q.get("flows") === "1" });
    });
    // snapshots (migration)
    this.add("POST", "/ports/:name/snapshot/mark", (_r, p) => ({ generation: markPortSnapshot(h, p.name) }));
    this.add("GET", "/ports/:name/snapshot", (_r, p, _b, q) => {
      const since = q.get("since");
      return exportPortSnapshot(h, p.name, since === null ? undefined : Number(since));
    }, true);
    this.add("PUT", "/ports/:name/snapshot", (_r, p, b) => {
      if (!(b instanceof Uint8Array)) throw new HttpError(400, "send the snapshot as application/octet-stream");
      restorePortSnapshot(h, p.name, b);
      return { restored: p.name, flows: h.engine.flowCount(h.port(p.name).id) };
    });
    this.add("GET", "/metrics", async () => this.registry.metrics());
  }

  private add(method: string, path: string, handler: Handler, raw = false): void {
    const keys: string[] = [];
    const pattern = new RegExp("^" + path.replace(/:(\w+)/g, (_, k) => { keys.push(k); return "([^/]+)"; }) + "$");
    this.routes.push({ method, pattern, keys, handler, raw });
  }

  /** Handle one request (exported for tests and embedding). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sled");
    try {
      const route = this.routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (!route) {
        const pathKnown = this.routes.some((r) => r.pattern.test(url.pathname));
        throw new HttpError(pathKnown ? 405 : 404, pathKnown ? `${req.method} not allowed here` : `no such endpoint ${url.pathname}`);
      }
      const m = route.pattern.exec(url.pathname)!;
      const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
      const body = await readBody(req);
      const result = await route.handler(req, params, body, url.searchParams);
      if (url.pathname === "/metrics") {
        res.writeHead(200, { "content-type": this.registry.contentType }).end(result as string);
      } else if (route.raw && result instanceof Uint8Array) {
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.from(result));
      } else {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result ?? null));
      }
    } catch (err) {
      const [status, message] =
        err instanceof HttpError ? [err.status, err.message] :
        err instanceof NotFound ? [404, err.message] :
        err instanceof Conflict ? [409, err.message] :
        err instanceof ConfigError ? [400, err.message] :
        err instanceof EngineError ? [422, err.message] :
        err instanceof SyntaxError ? [400, `bad JSON: ${err.message}`] :
        [500, String((err as Error)?.message ?? err)];
      if (status === 500) this.o.log?.error({ err }, "api request failed");
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: message }));
    }
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    return new Promise((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => {
        const a = this.server!.address();
        resolve(typeof a === "object" && a ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A test for "the same group as `group`" whatever the spelling (ff0e::1, ff0e:0::1); nothing matches a non-address. */
function sameGroup(group: string): (other: string) => boolean {
  if (!isIP(group)) return () => false;
  const want = ipText(ip16(group));
  return (other) => isIP(other) !== 0 && ipText(ip16(other)) === want;
}

const MAX_BODY = 64 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, "body too large");
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  const buf = Buffer.concat(chunks);
  if ((req.headers["content-type"] ?? "").startsWith("application/octet-stream")) return new Uint8Array(buf);
  return JSON.parse(buf.toString("utf8"));
}
