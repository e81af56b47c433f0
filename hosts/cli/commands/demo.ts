// `wopte demo` (`npm start`): the rack in a box, no root needed.

import { parseCommand, numberOption, printJson, UsageError, guard } from "../conventions.js";
import { loadTopology } from "../../rack/topology.js";
import { runRack } from "../../rack/rack.js";
import { summary } from "../../rack/view.js";

export const USAGE = `usage: wopte demo [--topology rack.json] [--duration 20] [--no-live] [--tap] [--json]

Runs two sled hosts and a gateway host (worker threads, one engine each)
joined by an underlay switch, with simulated guests and an external server
sending pings, a bulk TCP stream, short connections through SNAT, and probes
the firewall stops. --duration 0 runs until Ctrl-C. --json prints the
summary as data (no live view). The default topology is
examples/rack.json (docs/rack-in-a-box.md): copy it and edit.

--tap (root): the guests are network namespaces behind real TAP devices, with
the kernel's TCP/IP stack, ping and TCP clients and servers.`;

const CMD = { name: "demo", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, {
    topology: { type: "string" }, duration: { type: "string" }, "no-live": { type: "boolean" }, tap: { type: "boolean" }, json: { type: "boolean" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const seconds = numberOption(CMD, "--duration", values.duration, { min: 0, max: 86400, unit: "seconds (0: until Ctrl-C)", fallback: 20 });
  const durationMs = seconds * 1000;
  if (values.tap && process.getuid?.() !== 0) throw new UsageError("demo --tap needs root (TAP devices and network namespaces): run it with sudo, or leave --tap out");
  const topology = loadTopology(values.topology);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  process.once("SIGTERM", () => stop.abort());
  const s = await runRack(topology, { durationMs, live: !values["no-live"] && !values.json, signal: stop.signal, tap: values.tap });
  if (values.json) printJson(s); else console.log(summary(s));
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
