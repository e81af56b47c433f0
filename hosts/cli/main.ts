// `wopte <command> …`: one module per command under hosts/cli/commands,
// loaded on demand so a command's dependencies cost nothing to the others.
// Help lists only the commands this build has.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { report, UsageError } from "./conventions.js";

const COMMANDS: Record<string, { file: string; summary: string }> = {
  demo: { file: "demo", summary: "run the rack-in-a-box demo (the default `npm start`)" },
  replay: { file: "replay", summary: "run pcap frames through a port, or check a fixture" },
  snapshot: { file: "snapshot", summary: "export, inspect, diff, verify and restore flow-state snapshots" },
  migrate: { file: "migrate", summary: "live-migrate a guest's port between two sled hosts" },
  sled: { file: "sled", summary: "run a sled host (guest VNICs, Geneve underlay, control API)" },
  gateway: { file: "gateway", summary: "run a gateway host (boundary services)" },
  port: { file: "port", summary: "list, create and remove ports of a running sled host" },
  fw: { file: "fw", summary: "list, add and remove firewall rules of a port" },
  route: { file: "route", summary: "list, add and remove routes of a port" },
  v2p: { file: "v2p", summary: "list, set and remove virtual-to-physical mappings" },
  mcast: { file: "mcast", summary: "multicast: M2P mappings and the groups ports have joined" },
  flows: { file: "flows", summary: "dump a port's flow table" },
  layers: { file: "layers", summary: "dump a port's layers and rule hit counts" },
  stats: { file: "stats", summary: "show a port's counters and drops by reason" },
  top: { file: "top", summary: "live view of every port of a sled, by bandwidth" },
  usage: { file: "usage", summary: "bandwidth usage records per port and flow" },
  capture: { file: "capture", summary: "write what a port sees to a pcap file" },
  playground: { file: "playground", summary: "serve the browser playground" },
};

export interface Command { run(args: string[]): Promise<number | void> }

function available(): [string, { file: string; summary: string }][] {
  return Object.entries(COMMANDS).filter(([, v]) =>
    existsSync(fileURLToPath(new URL(`./commands/${v.file}.js`, import.meta.url))) ||
    existsSync(fileURLToPath(new URL(`./commands/${v.file}.ts`, import.meta.url))));
}

function help(): string {
  const cmds = available();
  const width = Math.max(...cmds.map(([k]) => k.length));
  const lines = cmds.map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`);
  return `usage: wopte <command> [options]\n       wopte --version\n\ncommands:\n${lines.join("\n")}\n\n` +
    `Run \`wopte <command> --help\` for a command's options. Exit status: 0 success,\n1 failure or a difference found, 2 usage (README, "The wopte command").`;
}

/** The package's version, from package.json beside dist/ or the source tree. */
function version(): string {
  for (const up of ["../../../package.json", "../../package.json"]) {
    const p = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "wopte") return pkg.version ?? "unknown";
    }
  }
  return "unknown";
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(`wopte ${version()}`);
    return;
  }
  const entry = available().find(([k]) => k === name)?.[1];
  if (!entry) {
    const what = name.startsWith("-") ? `unknown option ${name}` : `unknown command "${name}"`;
    process.exitCode = report(new UsageError(`${what} (commands: ${available().map(([k]) => k).join(", ")})`), help());
    return;
  }
  const mod = (await import(`./commands/${entry.file}.js`)) as Command & { USAGE?: string };
  try {
    const code = await mod.run(rest);
    if (typeof code === "number") process.exitCode = code;
  } catch (err) {
    process.exitCode = report(err, mod.USAGE);
  }
}
