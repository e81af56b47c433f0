// `wopte playground [--port 8080]`: serve the browser playground until the
// first Ctrl-C (or SIGTERM), which closes the server and any open browser
// connections at once.

import { parseArgs } from "node:util";
import { startPlayground, stopPlayground } from "../../playground/server.js";

const HELP = "usage: wopte playground [--port 8080] [--host 127.0.0.1]";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: "string" }, host: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) { console.log(HELP); return 0; }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`wopte: --port ${JSON.stringify(values.port)} is not a TCP port (0-65535)\n${HELP}`); return 2; }
  const { server, url } = await startPlayground(port, values.host ?? "127.0.0.1");
  console.log(`wopte playground at ${url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => { process.once("SIGINT", () => resolve()); process.once("SIGTERM", () => resolve()); });
  await stopPlayground(server);
  return 0;
}
