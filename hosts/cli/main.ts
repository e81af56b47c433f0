// `wopte <command> …`: one module per command under hosts/cli/commands,
// loaded on demand so a command's dependencies cost nothing to the others.
// Help lists only the commands this build has.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

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
  return `usage: wopte <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun \`wopte <command> --help\` for a command's options.`;
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return;
  }
  const entry = available().find(([k]) => k === name)?.[1];
  if (!entry) {
    console.error(`wopte: unknown command "${name}"\n\n${help()}`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(`./commands/${entry.file}.js`)) as Command;
  const code = await mod.run(rest);
  if (typeof code === "number") process.exitCode = code;
}
