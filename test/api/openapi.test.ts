// Each host's OpenAPI document (GET /openapi.json) is written from the routes
// it serves: every route is in it with its parameters, and nothing else is;
// and every route is described in the host's API doc under docs/.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { startSled, startGateway, Running } from "../helpers/api-hosts.js";
import { call } from "../../hosts/cli/client.js";
import type { RouteSpec } from "../../hosts/api/route.js";

type Doc = { openapi: string; paths: Record<string, Record<string, { summary: string; parameters?: { name: string; in: string }[]; requestBody?: unknown; "x-wopte-access": string }>> };

const hosts: [string, () => Promise<Running<unknown, { server: { routeList: readonly RouteSpec[] } }>>, string][] = [
  ["sled", startSled as never, "docs/sled-api.md"],
  ["gateway", startGateway as never, "docs/gateway-api.md"],
];

describe.each(hosts)("the %s host's OpenAPI document", (_kind, start, docPath) => {
  let h: Running<unknown, { server: { routeList: readonly RouteSpec[] } }>;
  let doc: Doc;
  beforeAll(async () => {
    h = await start();
    doc = await call<Doc>(`unix:${h.socket}`, "GET", "/openapi.json");
  });
  afterAll(async () => { await h.close(); });

  it("lists every route the host serves, with its path and query parameters and body, and nothing else", () => {
    expect(doc.openapi).toBe("3.1.0");
    const routes = h.api.server.routeList;
    for (const r of routes) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op.summary).toBe(r.summary);
      const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect((op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort()).toEqual(pathParams.sort());
      expect(!!op.requestBody).toBe(!!(r.body || r.upload));
      expect(op["x-wopte-access"]).toBe(r.access ?? (r.method === "GET" ? "read" : "admin"));
    }
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(listed).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("describes strict bodies: unknown fields are refused in the schema too", () => {
    const withBodies = Object.values(doc.paths).flatMap((ops) => Object.values(ops)).filter((op) => op.requestBody);
    expect(withBodies.length).toBeGreaterThan(0);
    expect(JSON.stringify(doc)).toContain('"additionalProperties":false');
  });

  it(`every route is documented in ${docPath}`, () => {
    const text = readFileSync(new URL(`../../${docPath}`, import.meta.url), "utf8");
    const missing = h.api.server.routeList.map((r) => `${r.method} ${r.path}`).filter((r) => !text.includes(r));
    expect(missing).toEqual([]);
  });
});
