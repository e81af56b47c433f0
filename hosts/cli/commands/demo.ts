// `wopte demo` (`npm start`): the rack in a box, no root needed.

import { parseArgs } from "node:util";
import { loadTopology } from "../../rack/topology.js";
import { runRack } from "../../rack/rack.js";
import { summary } from "../../rack/view.js";

const HELP = `usage: wopte demo [--topology rack.json] [--duration 20] [--no-live] [--tap]

Runs two sled hosts and a gateway host (worker threads, one engine each)
joined by an underlay switch, with simulated guests and an external server
sending pings, a bulk TCP stream, short connections through SNAT, and probes
the firewall stops. --duration 0 runs until Ctrl-C. The default topology is
examples/rack.json (docs/rack-in-a-box.md): copy it and edit.

--tap (root): the guests are network namespaces behind real TAP devices, with
the kernel's TCP/IP stack, ping and TCP clients and servers.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    topology: { type: "string" }, duration: { type: "string" }, "no-live": { type: "boolean" }, tap: { type: "boolean" }, help: { type: "boolean" } } });
  if (values.help) { console.log(HELP); return 0; }
  const topology = loadTopology(values.topology);
  const seconds = Number(values.duration ?? 20);
  if (!Number.isFinite(seconds) || seconds < 0) { console.error(`--duration wants seconds (0 = until Ctrl-C), not ${values.duration}`); return 2; }
  const durationMs = seconds * 1000;
  if (values.tap && process.getuid?.() !== 0) { console.error("wopte demo --tap needs root (TAP devices and network namespaces)"); return 2; }
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  process.once("SIGTERM", () => stop.abort());
  const s = await runRack(topology, { durationMs, live: !values["no-live"], signal: stop.signal, tap: values.tap });
  console.log(summary(s));
  return 0;
}
