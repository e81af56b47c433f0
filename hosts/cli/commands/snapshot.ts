// `wopte snapshot`: the migration-state snapshot tool.
//
//   export  --api <sled> --port <name> [--since G] --out f     from a running sled host
//   export  --config port.json --in in.pcap --out f            after a replay run
//   inspect <file> [--json]     flows with 5-tuples, states, ages, NAT bindings, counters
//   diff    <a> <b> [--json]    flows added, removed, changed; counter deltas
//   verify  <file> [--api <sled> --port <name>]   the checks a restore runs (the engine's own), alone or against a port
//   restore <file> --api <sled> --port <name>                 into a running sled host's port
//   mark    --api <sled> --port <name>                         start a dirty generation (pre-copy)

import { readFileSync, writeFileSync } from "node:fs";
import { decodeSnapshot, diffSnapshots, verifySnapshot, SnapshotError, flowId, Snapshot } from "../../snapshot/format.js";
import { apiBase, call } from "../client.js";
import { parseCommand, choice, required, printJson, Failure, guard } from "../conventions.js";
import { table } from "../table.js";
import { replayFrames, framesOf, loadPortConfig, loadCapture } from "../../harness/replay.js";
import { Engine } from "../../engine/engine.js";
import { exportSnapshot, checkSnapshot } from "../../snapshot/engine.js";

export const USAGE = `usage: wopte snapshot export --api <url> --port <name> [--since G] --out <file> [--json]
       wopte snapshot export --config <port.json> --in <in.pcap> [--dir out|in] --out <file> [--json]
       wopte snapshot inspect <file> [--json]
       wopte snapshot diff <a> <b> [--json]        (exit 1 when they differ)
       wopte snapshot verify <file> [--api <url> --port <name>] [--json]
                                   (the checks a restore runs; exit 1 when one fails)
       wopte snapshot restore <file> --api <url> --port <name> [--json]
       wopte snapshot mark --api <url> --port <name> [--json]`;
const CMD = { name: "snapshot", usage: USAGE };

const PROTO: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6" };

/** Bytes spent on flow entries. */
function flowBytes(s: Snapshot): number {
  return s.flows.reduce((a, f) => a + f.entryBytes, 0);
}

function describe(s: Snapshot): string {
  const head = `snapshot v${s.version} of port ${s.port}: ${s.incremental ? `incremental since generation ${s.since}` : "full"}, generation ${s.generation}, ` +
    `epoch ${s.epoch}, taken ${new Date(s.timeMs).toISOString()}, ${s.flows.length} flows${s.deletions.length ? `, ${s.deletions.length} deletions` : ""}, ` +
    `${s.bytes} bytes (${s.flows.length ? (flowBytes(s) / s.flows.length).toFixed(1) : 0} B per flow beyond the fixed header and counters)`;
  const flows = table(s.flows.map((f) => ({
    origin: f.origin, proto: PROTO[f.key.proto] ?? f.key.proto,
    flow: `${f.key.src}:${f.key.sport} → ${f.key.dst}:${f.key.dport}`,
    reply: f.reply ? `${f.reply.src}:${f.reply.sport} → ${f.reply.dst}:${f.reply.dport}` : "-",
    state: f.key.proto === 6 ? f.tcpState : "-", nat: f.nat ? `pool ${f.nat.pool} port ${f.nat.port}` : "-",
    age: `${f.ageSec}s`, idle: `${(f.idleMs / 1000).toFixed(1)}s`, "pkts out/in": `${f.pktsOut}/${f.pktsIn}`, "bytes out/in": `${f.bytesOut}/${f.bytesIn}`,
  })), undefined, { width: Infinity }); // one line per flow: a dump people grep
  const counters = Object.entries(s.counters).map(([k, v]) => `${k}=${v}`).join(" ");
  const pools = s.pools.map((p) => `pool ${p.id}: ${p.ip} ${p.firstPort}-${p.lastPort}`).join("; ") || "none";
  const dels = s.deletions.map((d) => `- ${d.dir} ${PROTO[d.key.proto] ?? d.key.proto} ${d.key.src}:${d.key.sport} → ${d.key.dst}:${d.key.dport} vni ${d.key.vni}`);
  return `${head}\nNAT pools: ${pools}\ncounters: ${counters}\n\n${flows}${dels.length ? `\n\ndeleted since generation ${s.since}:\n${dels.join("\n")}` : ""}`;
}

/** Read a snapshot file, naming it when it cannot be read. */
function readSnapshotFile(path: string): Uint8Array {
  try { return readFileSync(path); } catch (err) {
    throw new Failure(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

/** Snapshot format errors name the file they are about. */
function about<T>(path: string, f: () => T): T {
  try { return f(); } catch (err) {
    if (err instanceof SnapshotError) throw new Failure(`${path}: ${err.message}`);
    throw err;
  }
}

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    api: { type: "string" }, port: { type: "string" }, since: { type: "string" }, out: { type: "string" },
    config: { type: "string" }, in: { type: "string" }, dir: { type: "string" }, json: { type: "boolean" } }, 3);
  if (values.help) { console.log(USAGE); return 0; }
  const sub = choice(CMD, "subcommand", positionals[0], ["export", "inspect", "diff", "verify", "restore", "mark"] as const);
  const [, a, b] = positionals;
  // large snapshots take a while to decode: say how far along (stderr, so --json stays clean)
  const progress = (done: number, total: number) => process.stderr.write(`\rdecoding flows: ${done}/${total}`);
  switch (sub) {
    case "verify": {
      // The engine's own checks, the ones a restore runs: on the file alone (its
      // own pools, one VNI, the largest table), or with --port by the sled
      // against that port (its pools, VNI, table and, for an incremental, the flows it keeps).
      const file = required(CMD, "<file>", a);
      const bytes = readSnapshotFile(file);
      let error: string | undefined;
      if (values.port !== undefined) {
        const r = await call<{ ok: boolean; error?: string }>(apiBase(values.api), "POST", `/ports/${encodeURIComponent(values.port)}/snapshot/check`, new Uint8Array(bytes));
        if (!r.ok) error = r.error?.replace(/^could not restore the snapshot: /, "") ?? "refused";
      } else {
        const v = checkSnapshot(await Engine.load(), undefined, bytes);
        if (!v.ok) error = v.message;
      }
      if (error !== undefined) {
        if (values.json) printJson({ file, ok: false, error, ...(values.port !== undefined ? { port: values.port } : {}) });
        else process.stderr.write(`wopte: ${file}: ${error}${values.port !== undefined ? ` (for port ${values.port})` : ""}\n`);
        return 1;
      }
      const v = verifySnapshot(bytes);
      if (values.json) printJson({ file, ok: true, ...v, ...(values.port !== undefined ? { port: values.port } : {}) });
      else console.log(`ok: snapshot version ${v.version}, ${v.incremental ? "incremental" : "full"}, ${v.flows} flows, ${v.deletions} deletions, checksum matches, ` +
        (values.port !== undefined ? `port ${values.port} would take it` : "every check passes"));
      return 0;
    }
    case "inspect": {
      const file = required(CMD, "<file>", a);
      const s = about(file, () => decodeSnapshot(readSnapshotFile(file), progress));
      if (s.flows.length >= 100_000) process.stderr.write("\n");
      if (values.json) printJson(s); else console.log(describe(s));
      return 0;
    }
    case "diff": {
      const fa = required(CMD, "two files to compare", a), fb = required(CMD, "a second file to compare", b);
      const d = diffSnapshots(about(fa, () => decodeSnapshot(readSnapshotFile(fa))), about(fb, () => decodeSnapshot(readSnapshotFile(fb))));
      const same = d.added.length + d.removed.length + d.changed.length === 0 && Object.keys(d.counters).length === 0;
      if (values.json) { printJson({ same, ...d }); return same ? 0 : 1; }
      console.log(`${d.added.length} flows added, ${d.removed.length} removed, ${d.changed.length} changed`);
      for (const f of d.added) console.log(`+ ${flowId(f)}`);
      for (const f of d.removed) console.log(`- ${flowId(f)}`);
      for (const c of d.changed) console.log(`~ ${c.id}: ${Object.entries(c.changes).map(([k, [x, y]]) => `${k} ${JSON.stringify(x)} → ${JSON.stringify(y)}`).join(", ")}`);
      const counters = Object.entries(d.counters);
      if (counters.length) console.log(`counters: ${counters.map(([k, v]) => `${k} ${v > 0 ? "+" : ""}${v}`).join(" ")}`);
      return same ? 0 : 1;
    }
    case "export": {
      const out = required(CMD, "--out <file>", values.out);
      let bytes: Uint8Array;
      if (values.config) {
        const compiled = loadPortConfig(values.config);
        const dir = values.dir === undefined ? undefined : choice(CMD, "--dir", values.dir, ["out", "in"] as const);
        const frames = framesOf(loadCapture(required(CMD, "--in <capture>", values.in)), dir);
        const e = await Engine.load();
        await replayFrames(compiled, frames, e);
        bytes = exportSnapshot(e, 0, { now: frames.length ? frames[frames.length - 1].timeMs : Date.now() });
      } else {
        const port = required(CMD, "--port <name> (or --config and --in to build one from a capture)", values.port);
        if (values.since !== undefined && !/^\d+$/.test(values.since)) throw new Failure(`snapshot: --since wants a generation number (from wopte snapshot mark), not "${values.since}"`);
        bytes = await call<Uint8Array>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/snapshot${values.since ? `?since=${values.since}` : ""}`);
      }
      try { writeFileSync(out, bytes); } catch (err) { throw new Failure(`cannot write ${out}: ${(err as Error).message}`); }
      const v = verifySnapshot(bytes);
      if (values.json) printJson({ file: out, bytes: bytes.length, ...v });
      else console.log(`wrote ${out}: ${v.flows} flows, ${bytes.length} bytes`);
      return 0;
    }
    case "restore": {
      const file = required(CMD, "<file>", a);
      const port = required(CMD, "--port <name>", values.port);
      const bytes = readSnapshotFile(file);
      about(file, () => verifySnapshot(bytes));
      const r = await call<{ flows: number }>(apiBase(values.api), "PUT", `/ports/${encodeURIComponent(port)}/snapshot`, new Uint8Array(bytes));
      if (values.json) printJson({ port, ...r });
      else console.log(`restored into ${port}: it now has ${r.flows} flows`);
      return 0;
    }
    case "mark": {
      const port = required(CMD, "--port <name>", values.port);
      const r = await call<{ generation: number }>(apiBase(values.api), "POST", `/ports/${encodeURIComponent(port)}/snapshot/mark`);
      if (values.json) printJson({ port, ...r }); else console.log(`generation ${r.generation}`);
      return 0;
    }
  }
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
