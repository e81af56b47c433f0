// The sled host's control API (docs/sled-api.md): its routes as data, served
// by the shared server (hosts/api/server.ts), which checks every path,
// query and body against the strict schemas declared here before a handler
// runs. Metrics for Prometheus at /metrics (hosts/sled/metrics.ts).

import { z } from "zod";
import { join } from "node:path";
import type { Registry } from "prom-client";
import type { Logger } from "pino";
import { SledHost, NotFound } from "./sled.js";
import { PortConfigSchema, FirewallRule, Route, V2pMapping, ExternalIps } from "../../layers/vpc/config.js";
import { name, label, ip, cidr, vni, decimal } from "../../layers/program/fields.js";
import { MemoryDevice, GuestDevice } from "./devices.js";
import { DeviceSpec } from "./config.js";
import { exportPortSnapshot, restorePortSnapshot, markPortSnapshot, checkPortSnapshot } from "./snapshots.js";
import { UsageRecorder, parseDuration } from "./usage.js";
import { sledMetrics } from "./metrics.js";
import { ApiServer, Listening, TcpSettings } from "../api/server.js";
import { route, RawBody, RouteSpec } from "../api/route.js";
import { HttpError } from "../api/errors.js";
import type { Limits } from "../api/config.js";
import { multicastRoutes } from "./api-multicast.js";

export interface ApiOptions {
  host: SledHost;
  usage?: UsageRecorder;
  log?: Logger;
  /** Make a guest device for a port created through the API (default: in-memory). */
  deviceFactory?: (spec: unknown, portName: string) => Promise<GuestDevice> | GuestDevice;
  /** The directory flow logs are written in (a client names only a file in it); without one, flow logs are off. */
  flowLogDir?: string;
  limits?: Partial<Limits>;
}

const Port = z.strictObject({ name });
const seconds = decimal(z.number().int().min(1).max(600));

export class SledApi {
  readonly server: ApiServer;
  readonly registry: Registry;
  private captures = 0;

  constructor(private readonly o: ApiOptions, metrics = sledMetrics(o.host)) {
    this.registry = metrics.registry;
    this.server = new ApiServer({
      kind: "sled", routes: this.routes(), log: o.log, limits: o.limits,
      generation: () => o.host.generation,
    });
  }

  listen(o: { socket?: string | false; tcp?: TcpSettings }): Promise<Listening> { return this.server.listen(o); }
  close(): Promise<void> { return this.server.close(); }

  private routes(): RouteSpec[] {
    const h = this.o.host;
    // every change goes through the host's commit path, which moves its generation
    const update = async (port: string, edit: Parameters<SledHost["updatePort"]>[1]) => { await h.updatePort(port, edit); };
    return [
      route({
        method: "GET", path: "/health", summary: "liveness, drops outside the engine, API and fault counters, the generation",
        handler: () => ({
          ok: true, sled: h.name, underlay: h.underlayAddress, ports: h.ports.size, generation: h.generation,
          underlayDrops: h.underlayDrops, ...(h.sources ? { underlaySources: h.sources.list() } : {}), pumpDrops: h.pumpDrops, underlayDriver: h.underlayStats(), multicast: h.multicastCounters,
          faults: h.faults, ...(h.checkpoints ? { checkpoints: h.checkpoints } : {}), flowLogs: Object.fromEntries([...h.ports.values()].filter((p) => p.flowLog).map((p) => [p.name, p.flowLog!])),
          api: this.server.stats,
        }),
      }),
      route({ method: "GET", path: "/ports", summary: "one row per port", handler: () => h.summary() }),
      route({
        method: "POST", path: "/ports", summary: "create a port from a VPC port config and attach its guest device",
        body: z.strictObject({ config: PortConfigSchema, device: DeviceSpec.optional() }),
        handler: async ({ body }) => {
          const device = this.o.deviceFactory ? await this.o.deviceFactory(body.device, body.config.name) : new MemoryDevice(body.config.name);
          try {
            const p = await h.addPort(body.config, device, { spec: body.device });
            return { name: p.name, id: p.id };
          } catch (err) {
            device.close();
            throw err;
          }
        },
      }),
      route({ method: "GET", path: "/ports/{name}", summary: "a port's stats and config", params: Port,
        handler: ({ params }) => ({ ...h.stats(params.name), config: h.port(params.name).json }) }),
      route({ method: "DELETE", path: "/ports/{name}", summary: "remove a port", params: Port,
        handler: async ({ params }) => { await h.removePort(params.name); return { removed: params.name }; } }),
      route({
        method: "PUT", path: "/ports/{name}/state", summary: "running, paused, ready, or reset (flows and counters cleared, then ready)", params: Port,
        body: z.strictObject({ state: z.enum(["running", "paused", "ready", "reset"]) }),
        handler: async ({ params, body }) => {
          await h.setPortState(params.name, body.state);
          return { state: h.engine.portState(h.port(params.name).id) };
        },
      }),
      // firewall: the whole set (atomic), or one rule at a time by name
      route({ method: "GET", path: "/ports/{name}/firewall", summary: "the port's firewall rules", params: Port,
        handler: ({ params }) => h.port(params.name).compiled.config.firewall }),
      route({
        method: "PUT", path: "/ports/{name}/firewall", summary: "replace the whole rule set atomically", params: Port, body: z.array(FirewallRule),
        handler: async ({ params, body }) => { await update(params.name, (j) => { j.firewall = body; }); return { rules: body.length }; },
      }),
      route({
        method: "POST", path: "/ports/{name}/firewall", summary: "add one rule (or replace the rule of that name)", params: Port, body: FirewallRule,
        handler: async ({ params, body }) => {
          await update(params.name, (j) => { j.firewall = [...(j.firewall ?? []).filter((r) => r.name !== body.name), body]; });
          return { added: body.name };
        },
      }),
      route({
        method: "DELETE", path: "/ports/{name}/firewall/{rule}", summary: "remove a rule by name", params: z.strictObject({ name, rule: label }),
        handler: async ({ params }) => {
          // checked inside the change, so a concurrent change cannot remove it in between
          await update(params.name, (j) => {
            if (!(j.firewall ?? []).some((r) => r.name === params.rule)) throw new NotFound(`no firewall rule ${params.rule}`);
            j.firewall = (j.firewall ?? []).filter((r) => r.name !== params.rule);
          });
          return { removed: params.rule };
        },
      }),
      // routes (custom table; the VPC subnets are system routes)
      route({ method: "GET", path: "/ports/{name}/routes", summary: "the port's custom routes", params: Port,
        handler: ({ params }) => h.port(params.name).compiled.config.routes }),
      route({
        method: "POST", path: "/ports/{name}/routes", summary: "add a route (or replace the route to that destination)", params: Port, body: Route,
        handler: async ({ params, body }) => {
          await update(params.name, (j) => { j.routes = [...(j.routes ?? []).filter((r) => r.dest !== body.dest), body]; });
          return { added: body.dest };
        },
      }),
      route({
        method: "DELETE", path: "/ports/{name}/routes", summary: "remove the route to ?dest=<prefix>", params: Port, query: z.strictObject({ dest: cidr }),
        handler: async ({ params, query }) => {
          await update(params.name, (j) => {
            if (!(j.routes ?? []).some((r) => r.dest === query.dest)) throw new NotFound(`no route to ${query.dest}`);
            j.routes = (j.routes ?? []).filter((r) => r.dest !== query.dest);
          });
          return { removed: query.dest };
        },
      }),
      route({
        method: "PUT", path: "/ports/{name}/external-ips", summary: "the port's SNAT, ephemeral and floating IPs (open flows keep their external address while the port still has it)",
        params: Port, body: ExternalIps,
        handler: async ({ params, body }) => {
          await update(params.name, (j) => { j.externalIps = body; });
          return { externalIps: h.port(params.name).compiled.config.externalIps };
        },
      }),
      // V2P mappings are rack-wide per VNI
      route({ method: "GET", path: "/v2p", summary: "the rack-wide V2P mappings", handler: () => h.listV2p() }),
      route({
        method: "PUT", path: "/v2p", summary: "add or replace a V2P mapping (cached flows are re-steered)", body: V2pMapping.required({ vni: true }),
        handler: async ({ body }) => { await h.setV2p(body); return { ...body }; },
      }),
      route({
        method: "DELETE", path: "/v2p/{vni}/{ip}", summary: "remove a V2P mapping", params: z.strictObject({ vni: decimal(vni), ip }),
        handler: async ({ params }) => { await h.removeV2p(params.vni, params.ip); return { removed: params.ip, vni: params.vni }; },
      }),
      // multicast: M2P (rack-wide), each port's groups (also learned from its guest's reports), the forwarding table
      ...multicastRoutes(h),
      // packet capture: pcapng of what the port sees, before and after the engine
      route({
        method: "GET", path: "/ports/{name}/capture", summary: "capture what the port sees (pcapng), up to ?seconds, ?max frames and the host's byte cap",
        access: "admin", produces: "pcapng", params: Port,
        query: z.strictObject({ seconds: seconds.optional(), max: decimal(z.number().int().min(1).max(1_000_000)).optional() }),
        handler: async ({ params, query, signal }) => {
          const limits = this.server.limits;
          if (this.captures >= limits.captures) throw new HttpError(503, `${limits.captures} captures are running on this sled; retry when one ends`, { "retry-after": "5" });
          const done = h.capture(params.name, query.max ?? 10_000, (query.seconds ?? 10) * 1000, limits.captureBytes);
          this.captures++;
          // a client that goes away ends its capture, so it holds neither memory nor a slot
          const stop = () => h.ports.get(params.name)?.capture?.end();
          signal.addEventListener("abort", stop);
          try { return new RawBody("application/octet-stream", await done); } finally { this.captures--; signal.removeEventListener("abort", stop); }
        },
      }),
      // flow logs: JSON lines appended to a file in the sled's flow log directory
      route({
        method: "PUT", path: "/ports/{name}/flow-log", summary: "turn the port's flow log on (a file in the sled's flow log directory) or off", params: Port,
        body: z.strictObject({ enabled: z.boolean(), file: name.optional() }),
        handler: async ({ params, body }) => {
          h.port(params.name);
          if (!body.enabled) { await h.setFlowLog(params.name, undefined); return { enabled: false }; }
          if (!this.o.flowLogDir) throw new HttpError(409, "flow logs are off on this sled: give it a flow log directory (flowLogs.dir in its config)");
          const file = body.file ?? `${params.name}.flows.log`;
          await h.setFlowLog(params.name, join(this.o.flowLogDir, file));
          return { enabled: true, file };
        },
      }),
      // dumps
      route({ method: "GET", path: "/ports/{name}/layers", summary: "layers in order with per-rule hits", params: Port, handler: ({ params }) => h.layers(params.name) }),
      route({ method: "GET", path: "/ports/{name}/flows", summary: "the flow table, decoded", params: Port, handler: ({ params }) => h.flows(params.name) }),
      route({ method: "GET", path: "/ports/{name}/stats", summary: "counters, drops by reason, flows, NAT use", params: Port, handler: ({ params }) => h.stats(params.name) }),
      route({ method: "GET", path: "/stats", summary: "every port's stats", handler: () => [...h.ports.keys()].map((n) => h.stats(n)) }),
      route({
        method: "GET", path: "/usage", summary: "usage records per port (and top flows with ?flows=1)",
        query: z.strictObject({
          port: name.optional(),
          since: z.string().superRefine((s, ctx) => { try { parseDuration(s); } catch (e) { ctx.addIssue({ code: "custom", message: (e as Error).message }); } }).optional(),
          flows: z.enum(["0", "1"]).optional(),
        }),
        handler: ({ query }) => {
          if (!this.o.usage) throw new HttpError(404, "usage recording is off on this sled");
          if (query.port) h.port(query.port);
          return this.o.usage.query({ port: query.port, sinceMs: query.since ? parseDuration(query.since) : undefined, flows: query.flows === "1" });
        },
      }),
      // snapshots (migration)
      route({
        method: "POST", path: "/ports/{name}/snapshot/mark", summary: "start a dirty generation for pre-copy", params: Port, change: false,
        handler: ({ params }) => ({ generation: markPortSnapshot(h, params.name) }),
      }),
      route({
        method: "GET", path: "/ports/{name}/snapshot", summary: "the port's flow state (snapshot bytes); only what changed since ?since=<mark>",
        access: "admin", produces: "octet-stream", params: Port, query: z.strictObject({ since: decimal(z.number().int().min(0).max(0xffffffff)).optional() }),
        handler: ({ params, query }) => new RawBody("application/octet-stream", exportPortSnapshot(h, params.name, query.since)),
      }),
      route({
        method: "PUT", path: "/ports/{name}/snapshot", summary: "restore flow state into the port (octet-stream)", params: Port, upload: "snapshot",
        handler: async ({ params, body }) => {
          await restorePortSnapshot(h, params.name, body as Uint8Array);
          return { restored: params.name, flows: h.engine.flowCount(h.port(params.name).id) };
        },
      }),
      route({
        method: "POST", path: "/ports/{name}/snapshot/check", summary: "run the checks a restore into the port would run, changing nothing (octet-stream)",
        params: Port, upload: "snapshot", change: false,
        handler: async ({ params, body }) => {
          const v = await checkPortSnapshot(h, params.name, body as Uint8Array);
          return v.ok ? { ok: true } : { ok: false, check: v.detail.check, error: `could not restore the snapshot: ${v.message}`, detail: v.detail };
        },
      }),
      route({
        method: "GET", path: "/metrics", summary: "Prometheus metrics", produces: "text",
        handler: async () => new RawBody(this.registry.contentType, await this.registry.metrics()),
      }),
    ];
  }
}
