// `wopte snapshot`: the migration-state snapshot tool.
//
//   export  --api <sled> --port <name> [--since G] --out f     from a running sled host
//   export  --config port.json --in in.pcap --out f            after a replay run
//   inspect <file> [--json]     flows with 5-tuples, states, ages, NAT bindings, counters
//   diff    <a> <b> [--json]    flows added, removed, changed; counter deltas
//   verify  <file>              version and checksum
//   restore <file> --api <sled> --port <name>                 into a running sled host's port
//   mark    --api <sled> --port <name>                         start a dirty generation (pre-copy)

import { parseArgs } from "node:util";
import { readFileSync, writeFileSync } from "node:fs";
import { decodeSnapshot, diffSnapshots, verifySnapshot, SnapshotError, flowId, Snapshot } from "../../snapshot/format.js";
import { apiBase, call, table, guarded } from "../client.js";
import { compilePort } from "../../../layers/vpc/compile.js";
import { readCapture } from "../../pcap/pcapng.js";
import { replayFrames, framesOf } from "../../harness/replay.js";
import { Engine } from "../../engine/engine.js";
import { exportSnapshot } from "../../snapshot/engine.js";

const HELP = `usage: wopte snapshot export --api <url> --port <name> [--since G] --out <file>
       wopte snapshot export --config <port.json> --in <in.pcap> [--dir out|in] --out <file>
       wopte snapshot inspect <file> [--json]
       wopte snapshot diff <a> <b> [--json]
       wopte snapshot verify <file>
       wopte snapshot restore <file> --api <url> --port <name>
       wopte snapshot mark --api <url> --port <name>`;

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
  })));
  const counters = Object.entries(s.counters).map(([k, v]) => `${k}=${v}`).join(" ");
  const pools = s.pools.map((p) => `pool ${p.id}: ${p.ip} ${p.firstPort}-${p.lastPort}`).join("; ") || "none";
  const dels = s.deletions.map((d) => `- ${d.dir} ${PROTO[d.key.proto] ?? d.key.proto} ${d.key.src}:${d.key.sport} → ${d.key.dst}:${d.key.dport} vni ${d.key.vni}`);
  return `${head}\nNAT pools: ${pools}\ncounters: ${counters}\n\n${flows}${dels.length ? `\n\ndeleted since generation ${s.since}:\n${dels.join("\n")}` : ""}`;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    api: { type: "string" }, port: { type: "string" }, since: { type: "string" }, out: { type: "string" },
    config: { type: "string" }, in: { type: "string" }, dir: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } } });
  const [sub, a, b] = positionals;
  if (values.help || !sub) { console.log(HELP); return values.help ? 0 : 2; }
  // large snapshots take a while to decode: say how far along (stderr, so --json stays clean)
  const progress = (done: number, total: number) => process.stderr.write(`\rdecoding flows: ${done}/${total}`);
  try {
    switch (sub) {
      case "verify": {
        const v = verifySnapshot(readFileSync(need(a, "a file")));
        console.log(`ok: snapshot version ${v.version}, ${v.incremental ? "incremental" : "full"}, ${v.flows} flows, ${v.deletions} deletions, checksum matches`);
        return 0;
      }
      case "inspect": {
        const s = decodeSnapshot(readFileSync(need(a, "a file")), progress);
        if (s.flows.length >= 100_000) process.stderr.write("\n");
        console.log(values.json ? JSON.stringify(s, null, 2) : describe(s));
        return 0;
      }
      case "diff": {
        const d = diffSnapshots(decodeSnapshot(readFileSync(need(a, "two files"))), decodeSnapshot(readFileSync(need(b, "two files"))));
        if (values.json) { console.log(JSON.stringify(d, null, 2)); return 0; }
        console.log(`${d.added.length} flows added, ${d.removed.length} removed, ${d.changed.length} changed`);
        for (const f of d.added) console.log(`+ ${flowId(f)}`);
        for (const f of d.removed) console.log(`- ${flowId(f)}`);
        for (const c of d.changed) console.log(`~ ${c.id}: ${Object.entries(c.changes).map(([k, [x, y]]) => `${k} ${JSON.stringify(x)} → ${JSON.stringify(y)}`).join(", ")}`);
        const counters = Object.entries(d.counters);
        if (counters.length) console.log(`counters: ${counters.map(([k, v]) => `${k} ${v > 0 ? "+" : ""}${v}`).join(" ")}`);
        return 0;
      }
      case "export": {
        const out = need(values.out, "--out <file>");
        let bytes: Uint8Array;
        if (values.config) {
          const compiled = compilePort(JSON.parse(readFileSync(values.config, "utf8")));
          const frames = framesOf(readCapture(readFileSync(need(values.in, "--in <pcap>"))), values.dir as "out" | "in" | undefined);
          const e = await Engine.load();
          await replayFrames(compiled, frames, e);
          bytes = exportSnapshot(e, 0, { now: frames.length ? frames[frames.length - 1].timeMs : Date.now() });
        } else {
          const port = need(values.port, "--port <name>");
          bytes = await call<Uint8Array>(apiBase(values.api), "GET", `/ports/${encodeURIComponent(port)}/snapshot${values.since ? `?since=${values.since}` : ""}`);
        }
        writeFileSync(out, bytes);
        const v = verifySnapshot(bytes);
        console.log(`wrote ${out}: ${v.flows} flows, ${bytes.length} bytes`);
        return 0;
      }
      case "restore": {
        const bytes = readFileSync(need(a, "a file"));
        verifySnapshot(bytes);
        return guarded(async () => {
          const r = await call<{ flows: number }>(apiBase(values.api), "PUT", `/ports/${encodeURIComponent(need(values.port, "--port <name>"))}/snapshot`, new Uint8Array(bytes));
          console.log(`restored into ${values.port}: it now has ${r.flows} flows`);
        });
      }
      case "mark":
        return guarded(async () => {
          const r = await call<{ generation: number }>(apiBase(values.api), "POST", `/ports/${encodeURIComponent(need(values.port, "--port <name>"))}/snapshot/mark`);
          console.log(`generation ${r.generation}`);
        });
      default:
        console.error(HELP);
        return 2;
    }
  } catch (err) {
    if (err instanceof SnapshotError || err instanceof Error) { console.error(`wopte snapshot: ${err.message}`); return 1; }
    throw err;
  }
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === "") throw new Error(`missing ${what}`);
  return v;
}
