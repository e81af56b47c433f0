// A host's API as an OpenAPI 3.1 document (GET /openapi.json), written from
// the route declarations the server enforces: the path, query and body
// schemas are the same zod schemas, turned into JSON Schema by zod's own
// z.toJSONSchema, so the document says what the host accepts.

import { z } from "zod";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../engine/wasm.js";
import { RouteSpec, accessOf, isChange } from "./route.js";

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };

let version: string | undefined;
function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
  return version;
}

function schemaOf(s: z.ZodType): JsonSchema {
  const j = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as JsonSchema;
  delete j.$schema;
  return j;
}

const CONTENT_TYPES = { json: "application/json", "octet-stream": "application/octet-stream", text: "text/plain", pcapng: "application/vnd.tcpdump.pcap" } as const;

export function openApiDocument(kind: string, routes: readonly RouteSpec[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [];
    for (const [where, s] of [["path", r.params], ["query", r.query]] as const) {
      if (!s) continue;
      const j = schemaOf(s);
      for (const [name, prop] of Object.entries(j.properties ?? {})) {
        parameters.push({ name, in: where, required: where === "path" || (j.required ?? []).includes(name), schema: prop, ...(prop.description ? { description: prop.description } : {}) });
      }
    }
    const ok = r.produces === undefined || r.produces === "json"
      ? { "application/json": { schema: isChange(r) ? { type: "object", properties: { generation: { type: "integer", description: "the host's generation after this change" } } } : {} } }
      : { [CONTENT_TYPES[r.produces]]: { schema: { type: "string", format: r.produces === "text" ? undefined : "binary" } } };
    paths[r.path] ??= {};
    paths[r.path][r.method.toLowerCase()] = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{(\w+)\}/g, "By_$1").split(/[/._-]/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join("")}`,
      summary: r.summary,
      "x-wopte-access": accessOf(r),
      ...(isChange(r) ? { "x-wopte-change": true } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(r.body) } } } } : {}),
      ...(r.upload ? { requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } } } : {}),
      responses: {
        200: { description: "done", content: ok },
        default: { description: "an error: 400 bad input (the field named), 401/403 access, 404, 405, 408/413/415 limits, 409 conflict, 422 the engine refused, 503 busy, 500 a bug (logged with the request id)",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: `wopte ${kind} host API`, version: packageVersion(),
      description: `The control API of a wopte ${kind} host (docs/${kind}-api.md). On the unix socket the file mode is the credential; over TCP send a bearer token.` },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: { type: "object", properties: { error: { type: "string" } }, required: ["error"] } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
