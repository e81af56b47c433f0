// `wopte playground [--port 8080]`: serve the browser playground until the
// first Ctrl-C (or SIGTERM), which closes the server and any open browser
// connections at once.

import { parseCommand, numberOption, guard } from "../conventions.js";
import { startPlayground, stopPlayground } from "../../playground/server.js";

export const USAGE = "usage: wopte playground [--port 8080] [--host 127.0.0.1]";
const CMD = { name: "playground", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, { port: { type: "string" }, host: { type: "string" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const port = numberOption(CMD, "--port", values.port, { min: 0, max: 65535, integer: true, fallback: 8080 });
  const { server, url } = await startPlayground(port, values.host ?? "127.0.0.1");
  console.log(`wopte playground at ${url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => { process.once("SIGINT", () => resolve()); process.once("SIGTERM", () => resolve()); });
  await stopPlayground(server);
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
