// `wopte playground`: a static page and the scenarios it offers. The page
// loads build/engine.wasm itself (the same bytes every host runs) and the
// bundled build/playground/app.js (`npm run build:playground`).

import { createServer, Server } from "node:http";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { packageRoot } from "../engine/wasm.js";

const TYPES: Record<string, string> = { html: "text/html", css: "text/css", js: "text/javascript", wasm: "application/wasm", json: "application/json" };

/** Scenarios from examples/playground/*.json: {story, config: <path or object>, frames: [{side, hex}]}. */
export function loadScenarios(root = packageRoot()): unknown[] {
  const dir = join(root, "examples", "playground");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => {
    const s = JSON.parse(readFileSync(join(dir, f), "utf8"));
    const config = typeof s.config === "string" ? JSON.parse(readFileSync(resolve(dir, s.config), "utf8")) : s.config;
    return { name: f.replace(/\.json$/, ""), story: s.story, config, frames: s.frames };
  });
}

export function startPlayground(port: number, host = "127.0.0.1"): Promise<{ server: Server; url: string }> {
  const root = packageRoot();
  const files: Record<string, string> = {
    "/": join(root, "hosts", "playground", "static", "index.html"),
    "/style.css": join(root, "hosts", "playground", "static", "style.css"),
    "/app.js": join(root, "build", "playground", "app.js"),
    "/engine.wasm": join(root, "build", "engine.wasm"),
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/api/scenarios") {
      res.writeHead(200, { "content-type": TYPES.json }).end(JSON.stringify(loadScenarios(root)));
      return;
    }
    const file = files[path];
    if (!file || !existsSync(file)) {
      res.writeHead(404, { "content-type": "text/plain" }).end(file ? `${file} is missing: run npm run build` : "not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[file.split(".").pop()!] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const a = server.address();
      ok({ server, url: `http://${host}:${typeof a === "object" && a ? a.port : port}/` });
    });
  });
}


