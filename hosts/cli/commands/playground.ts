// `wopte playground [--port 8080]`: serve the browser playground.

import { parseArgs } from "node:util";
import { startPlayground } from "../../playground/server.js";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: "string" }, host: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) { console.log("usage: wopte playground [--port 8080] [--host 127.0.0.1]"); return 0; }
  const { url } = await startPlayground(values.port ? Number(values.port) : 8080, values.host ?? "127.0.0.1");
  console.log(`wopte playground at ${url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => { process.once("SIGINT", () => resolve()); process.once("SIGTERM", () => resolve()); });
  return 0;
}
