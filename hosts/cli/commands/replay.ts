// `wopte replay`: run captured frames through a port, or check a fixture.
//
//   wopte replay --config port.json --in in.pcap --out out.pcap [--dir out|in] [--json]
//   wopte replay fixtures/<scenario>
//
// Exit codes: 0 ok, 1 fixture mismatch, 2 bad input (config, capture, usage).

import { parseArgs } from "node:util";
import { readFileSync, writeFileSync, statSync } from "node:fs";
import { compilePort } from "../../../layers/vpc/compile.js";
import { ConfigError } from "../../../layers/vpc/config.js";
import { readCapture, writeCapture, CaptureError } from "../../pcap/pcapng.js";
import { replayFrames, framesOf, checkFixture, describeResult } from "../../harness/replay.js";

const HELP = `usage: wopte replay --config <port.json> --in <in.pcap> [--out <out.pcap>] [--dir out|in] [--json]
       wopte replay <fixture-dir>

Captures are pcapng with interfaces named "guest" (frames from the guest) and
"network" (frames from the underlay), or classic pcap with --dir.
See docs/fixtures.md.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    config: { type: "string" }, in: { type: "string" }, out: { type: "string" }, dir: { type: "string" },
    json: { type: "boolean" }, help: { type: "boolean" } } });
  if (values.help) { console.log(HELP); return 0; }
  try {
    if (positionals.length === 1 && !values.config) {
      const dir = positionals[0];
      if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a fixture directory`);
      const report = await checkFixture(dir);
      console.log(`${report.name}: ${report.story}`);
      for (const r of report.results) console.log(describeResult(r));
      if (report.mismatches.length) {
        console.log(`\nMISMATCH (${report.mismatches.length}):\n${report.mismatches.join("\n")}`);
        return 1;
      }
      console.log(`\nok: ${report.results.length} frames as expected`);
      return 0;
    }
    if (!values.config || !values.in) { console.error(HELP); return 2; }
    if (values.dir && values.dir !== "out" && values.dir !== "in") throw new Error("--dir is out (from the guest) or in (from the network)");
    const compiled = compilePort(JSON.parse(readFileSync(values.config, "utf8")));
    const frames = framesOf(readCapture(readFileSync(values.in)), values.dir as "out" | "in" | undefined);
    const results = await replayFrames(compiled, frames);
    if (values.out) {
      writeFileSync(values.out, writeCapture(results.filter((r) => r.output).map((r) => ({ side: r.output!.side, timeMs: frames[r.index].timeMs, bytes: r.output!.bytes }))));
    }
    if (values.json) {
      console.log(JSON.stringify(results.map((r) => ({ ...r, output: r.output ? { side: r.output.side, length: r.output.bytes.length } : undefined })), null, 2));
    } else {
      for (const r of results) console.log(describeResult(r));
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CaptureError || err instanceof SyntaxError || (err as NodeJS.ErrnoException).code === "ENOENT" || err instanceof Error) {
      console.error(`wopte replay: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}
