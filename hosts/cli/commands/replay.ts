// `wopte replay`: run captured frames through a fresh port, or check a
// golden-packet fixture (docs/fixtures.md).
//
//   wopte replay --config port.json --in in.pcap [--out out.pcap] [--dir out|in] [--json]
//   wopte replay fixtures/<scenario> [--out got.pcap] [--json]
//
// Exit codes: 0 ok, 1 fixture mismatch, 2 bad input (usage, config, capture).

import { parseCommand, choice, printJson, UsageError, guard } from "../conventions.js";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { RESULT_HEADER, describeResult, describeFixed, decidedBy, framesOf, isInputError, loadCapture, loadPortConfig, replayFrames, resultJson, InputError } from "../../harness/replay.js";
import { checkFixture, outputCapture } from "../../harness/fixture.js";
import { describeCheck } from "../../harness/compare.js";

export const USAGE = `usage: wopte replay --config <port.json> --in <in.pcap> [--out <out.pcap>] [--dir out|in] [--json]
       wopte replay <fixture-dir> [--out <got.pcap>] [--json]

Runs the frames of a capture through a fresh port and prints one line per
frame: index, side it came from, verdict, drop reason, output side and
length, and the layer and rule that decided, by name: for a drop or a reply
the rule that made it, for a frame that passed the rule that allowed its
flow ("default" for a layer's default action; a firewall rule by its name).
--out writes what the port emitted (pcapng, interfaces guest and network).

Captures are pcapng with interfaces named "guest" (frames from the guest)
and "network" (frames from the underlay), as fixtures have them, or what
\`wopte capture\` writes (its from-guest and from-network frames are the
inputs; what the port emitted, to-guest and to-network, is left out), or
classic pcap with --dir (out: every frame from the guest, in: every frame
from the network).

Given a fixture directory (port.json, in.pcap, expected.pcap, scenario.json)
it checks the fixture: exit 0 when everything matches, 1 with the
differences and a hex diff otherwise. Bad input exits 2. See docs/fixtures.md.`;

const CMD = { name: "replay", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    config: { type: "string" }, in: { type: "string" }, out: { type: "string" }, dir: { type: "string" }, json: { type: "boolean" } }, 1);
  if (values.help) { console.log(USAGE); return 0; }
  const dir = values.dir === undefined ? undefined : choice(CMD, "--dir", values.dir, ["out", "in"] as const);
  try {
    if (positionals.length === 1 && !values.config && !values.in) return await fixture(positionals[0], values.out, values.json);
    if (positionals.length || !values.config || !values.in) throw new UsageError("replay: give --config and --in, or a fixture directory");
    return await replay(values.config, values.in, values.out, dir, values.json);
  } catch (err) {
    if (isInputError(err) && !(err instanceof InputError)) throw new InputError((err as Error).message);
    throw err;
  }
}

async function replay(config: string, input: string, out: string | undefined, dir: "out" | "in" | undefined, json?: boolean): Promise<number> {
  const compiled = loadPortConfig(config);
  const capture = loadCapture(input);
  const emitted = capture.filter((f) => f.emitted).length;
  const frames = framesOf(capture, dir);
  const results = await replayFrames(compiled, frames);
  if (out) writeFileSync(out, outputCapture(frames, results));
  if (json) {
    printJson(results.map(resultJson));
    return 0;
  }
  console.log(RESULT_HEADER);
  for (const r of results) console.log(describeResult(r));
  const passed = results.filter((r) => r.output).length;
  console.log(`\n${results.length} frames: ${passed} out, ${results.length - passed} dropped${out ? `; wrote ${out}` : ""}` +
    (emitted ? `\n(${emitted} frames the port emitted in the capture, to-guest/to-network, were left out: they are results, not inputs)` : ""));
  return 0;
}

async function fixture(dir: string, out: string | undefined, json?: boolean): Promise<number> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir} is not a fixture directory (or pass --config and --in)`);
  const report = await checkFixture(dir);
  if (out) writeFileSync(out, outputCapture(report.inputs, report.results));
  if (json) {
    console.log(JSON.stringify({
      name: report.name, story: report.story, ok: report.mismatches.length === 0, mismatches: report.mismatches,
      frames: report.frames.map((c) => ({ ...resultJson(c.result), expected: c.expected, verdictOk: c.verdictOk, outputOk: c.outputOk })),
    }, null, 2));
    return report.mismatches.length ? 1 : 0;
  }
  console.log(`${report.name}: ${report.story}\n`);
  const byWidth = Math.max("decided by".length, ...report.frames.map((c) => decidedBy(c.result).length));
  console.log(`${RESULT_HEADER.padEnd(RESULT_HEADER.length - "decided by".length + byWidth)}  check`);
  for (const c of report.frames) console.log(`${describeFixed(c.result)}  ${decidedBy(c.result).padEnd(byWidth)}  ${describeCheck(c)}`);
  if (report.mismatches.length) {
    console.log(`\nMISMATCH: ${report.mismatches.length} difference${report.mismatches.length === 1 ? "" : "s"}`);
    for (const m of report.mismatches) console.log(`- ${m}`);
    return 1;
  }
  console.log(`\nok: ${report.results.length} frames as scenario.json and expected.pcap say`);
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
