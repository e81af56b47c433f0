// The gateway host's API (docs/gateway-api.md), in the shape of dendrite's
// NAT API: PUT /nat/{ip}/{low}/{high} {sled, vni, mac}, GET /nat[/{ip}],
// DELETE /nat/{ip}/{low}; plus /health, /stats and /metrics (hosts/gateway/metrics.ts).

import { createServer, IncomingMessage, ServerResponse, Server } from "node:http";
import type { Registry } from "prom-client";
import { GatewayHost } from "./gateway.js";
import { gatewayMetrics, GatewayMetrics } from "./metrics.js";
import { Conflict, NotFound } from "../sled/sled.js";
import { prefix16 } from "../../layers/program/addr.js";

export class GatewayApi {
  private server: Server | undefined;
  readonly registry: Registry;

  constructor(private readonly gw: GatewayHost, metrics: GatewayMetrics = gatewayMetrics(gw)) {
    this.registry = metrics.registry;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://gateway");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const send = (status: number, body: unknown, type = "application/json"): void => {
      res.writeHead(status, { "content-type": type }).end(type === "application/json" ? JSON.stringify(body) : String(body));
    };
    try {
      if (parts[0] === "health") return send(200, { ok: true });
      if (parts[0] === "stats") return send(200, this.gw.stats());
      if (parts[0] === "metrics") return send(200, await this.registry.metrics(), this.registry.contentType);
      if (parts[0] === "advertised") {
        if (req.method === "GET") return send(200, this.gw.ownedPrefixes);
        if (req.method === "PUT") {
          const list = JSON.parse((await text(req)) || "null");
          if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || !x.includes("/"))) return send(400, { error: "body must be a list of prefixes like 198.51.100.0/24" });
          for (const p of list) prefix16(p);
          await this.gw.setOwnedPrefixes(list);
          return send(200, this.gw.ownedPrefixes);
        }
      }
      if (parts[0] === "nat") {
        const [, ip, low, high] = parts;
        if (req.method === "GET") return send(200, this.gw.listNat(ip));
        if (req.method === "PUT" && ip && low && high) {
          const body = JSON.parse((await text(req)) || "{}");
          if (typeof body.sled !== "string" || typeof body.vni !== "number" || typeof body.mac !== "string") {
            return send(400, { error: "body needs {sled: <underlay ipv6>, vni: <number>, mac: <guest mac>}" });
          }
          const changed = this.gw.addNat({ ip, firstPort: Number(low), lastPort: Number(high), sled: body.sled, vni: body.vni, mac: body.mac });
          return send(200, { changed });
        }
        if (req.method === "DELETE" && ip && low) { this.gw.removeNat(ip, Number(low)); return send(200, { removed: `${ip}/${low}` }); }
      }
      return send(404, { error: `no such endpoint ${req.method} ${url.pathname}` });
    } catch (err) {
      const status = err instanceof Conflict ? 409 : err instanceof NotFound ? 404 : err instanceof SyntaxError || err instanceof Error && /not an IP|prefix/.test(err.message) ? 400 : 500;
      return send(status, { error: (err as Error).message });
    }
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    return new Promise((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => { const a = this.server!.address(); resolve(typeof a === "object" && a ? a.port : port); });
    });
  }
  close(): Promise<void> { return new Promise((r) => (this.server ? this.server.close(() => r()) : r())); }
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
