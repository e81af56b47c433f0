// `wopte playground`: a static page and the scenarios it offers. The page
// loads build/engine.wasm itself (the same bytes every host runs) and the
// bundled build/playground/app.js (`npm run build:playground`). Its
// scenarios are the golden fixtures (fixtures/*, docs/fixtures.md), read
// from that folder on every request: the port config, the input frames with
// their side and time, the story and what the fixture expects of each frame.

import { createServer, Server } from "node:http";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../engine/wasm.js";
import { isFixture } from "../harness/fixture.js";
import { parseScenario, ScenarioFrame } from "../harness/compare.js";
import { loadCapture, framesOf } from "../harness/replay.js";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8", css: "text/css", js: "text/javascript", wasm: "application/wasm", json: "application/json", ico: "image/x-icon",
};

export interface PlaygroundScenario {
  name: string;
  story: string;
  config: unknown;
  /** Input frames: the side each came from, its bytes as hex, the engine clock (ms since the first frame). */
  frames: { side: "guest" | "network"; hex: string; timeMs: number }[];
  /** What the fixture expects of each frame (scenario.json). */
  expect: ScenarioFrame[];
}

/** A fixture that could not be read: offered with the reason instead of breaking the page. */
export interface BrokenScenario { name: string; error: string }

/** Every fixture under fixtures/ as a scenario, in name order. */
export function loadScenarios(root = packageRoot()): (PlaygroundScenario | BrokenScenario)[] {
  const dir = join(root, "fixtures");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().filter((name) => isFixture(join(dir, name))).map((name) => {
    const at = join(dir, name);
    try {
      const scenario = parseScenario(JSON.parse(readFileSync(join(at, "scenario.json"), "utf8")), `${name}/scenario.json`);
      const config = JSON.parse(readFileSync(join(at, "port.json"), "utf8"));
      const frames = framesOf(loadCapture(join(at, "in.pcap"))).map((f) => ({ side: f.side, hex: Buffer.from(f.bytes).toString("hex"), timeMs: f.timeMs }));
      return { name, story: scenario.story, config, frames, expect: scenario.frames };
    } catch (err) {
      return { name, error: (err as Error).message };
    }
  });
}

export function startPlayground(port: number, host = "127.0.0.1"): Promise<{ server: Server; url: string }> {
  const root = packageRoot();
  const stat = (f: string) => join(root, "hosts", "playground", "static", f);
  const files: Record<string, string> = {
    "/": stat("index.html"),
    "/style.css": stat("style.css"),
    "/favicon.ico": stat("favicon.ico"),
    "/app.js": join(root, "build", "playground", "app.js"),
    "/engine.wasm": join(root, "build", "engine.wasm"),
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" }).end("the playground only serves GET");
      return;
    }
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

/** Stop serving now: open keep-alive connections (a browser tab) would otherwise hold the process. */
export function stopPlayground(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}
