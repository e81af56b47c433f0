// The test harness: frames from a capture through a fresh engine port, and
// the outputs compared with a golden capture (docs/fixtures.md). Used by
// `wopte replay`, the fixture tests and anyone building scenarios.

import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../engine/engine.js";
import { Dir, Verdict } from "../engine/batch.js";
import { reasonName } from "../engine/reasons.js";
import { compilePort, applyPort, CompiledPort } from "../../layers/vpc/compile.js";
import { readCapture, Side, CapturedFrame } from "../pcap/pcapng.js";

export type VerdictName = "pass" | "drop" | "hairpin";

export interface FrameResult {
  index: number;
  side: Side;
  verdict: VerdictName;
  reason: string;
  layer: string | undefined;
  rule: string;
  output?: { side: Side; bytes: Uint8Array };
}

export interface InputFrame { side: Side; timeMs: number; bytes: Uint8Array }

/** Run frames through port 0 of a new engine; frames with the same timestamp share a batch. */
export async function replayFrames(compiled: CompiledPort, frames: InputFrame[], engine?: Engine): Promise<FrameResult[]> {
  const e = engine ?? (await Engine.load());
  applyPort(e, 0, compiled, frames[0]?.timeMs ?? 0);
  const layers = compiled.layers.map((l) => l.name);
  const b = e.newBatch(64, 9216 + 512, 128);
  const out: FrameResult[] = [];
  for (let i = 0; i < frames.length;) {
    let k = 0;
    const t = frames[i].timeMs;
    while (i + k < frames.length && k < b.slots && frames[i + k].timeMs === t) {
      const f = frames[i + k];
      if (f.bytes.length > b.capacity) throw new Error(`frame ${i + k} is ${f.bytes.length} bytes, more than a slot holds`);
      b.set(k, f.bytes, 0, f.side === "guest" ? Dir.Out : Dir.In);
      k++;
    }
    b.run(k, t);
    for (let j = 0; j < k; j++) {
      const f = frames[i + j];
      const v = b.verdict(j);
      const verdict: VerdictName = v === Verdict.Pass ? "pass" : v === Verdict.Hairpin ? "hairpin" : "drop";
      const r: FrameResult = {
        index: i + j, side: f.side, verdict, reason: v === Verdict.Drop ? reasonName(b.reason(j)) : "",
        layer: b.layer(j) === 255 ? undefined : layers[b.layer(j)],
        rule: b.rule(j) === 0xfffffffe ? "default" : b.rule(j) === 0xffffffff ? "-" : String(b.rule(j)),
      };
      if (v !== Verdict.Drop) {
        const toward: Side = (v === Verdict.Pass) === (f.side === "guest") ? "network" : "guest";
        r.output = { side: toward, bytes: Uint8Array.from(b.output(j)) };
      }
      out.push(r);
    }
    i += k;
  }
  return out;
}

/** Frames of a capture with a side each (pcapng interfaces, or `dir` for classic pcap). */
export function framesOf(capture: CapturedFrame[], dir?: "out" | "in"): InputFrame[] {
  return capture.map((f, i) => {
    const side: Side | undefined = dir ? (dir === "out" ? "guest" : "network") : f.side;
    if (!side) throw new Error(`frame ${i} has no side: use a pcapng with interfaces named guest/network, or pass --dir out|in`);
    return { side, timeMs: Math.floor(f.timeMs), bytes: f.bytes };
  });
}

// ---- fixtures

export interface ScenarioFile {
  story: string;
  frames: { verdict: VerdictName; reason?: string; layer?: string }[];
  compare?: { maskOuterUdpSrcPort?: boolean };
}

export interface FixtureReport {
  name: string;
  story: string;
  results: FrameResult[];
  mismatches: string[];
}

const GENEVE = 6081;

/** Offset of the outer UDP source port when the frame is Geneve over IPv6, else -1. */
function outerSportAt(b: Uint8Array): number {
  if (b.length < 70 || b[12] !== 0x86 || b[13] !== 0xdd || b[20] !== 17 || ((b[56] << 8) | b[57]) !== GENEVE) return -1;
  return 54;
}

/** The inner flow a Geneve frame carries (outer destination + inner IP addresses and ports). */
function innerFlowId(b: Uint8Array): string {
  const inner = 70 + (b[62] & 0x3f) * 4 + 14;
  return Buffer.from(b.subarray(38, 54)).toString("hex") + Buffer.from(b.subarray(inner, Math.min(b.length, inner + 44))).toString("hex").slice(24, 88);
}

export function hexDiff(expected: Uint8Array, got: Uint8Array): string {
  const lines: string[] = [];
  const n = Math.max(expected.length, got.length);
  for (let at = 0; at < n; at += 16) {
    const row = (b: Uint8Array) => Array.from({ length: 16 }, (_, i) => at + i < b.length ? b[at + i].toString(16).padStart(2, "0") : "  ");
    const e = row(expected), g = row(got);
    if (e.join("") === g.join("")) continue;
    const mark = e.map((x, i) => (x === g[i] ? "  " : "^^"));
    lines.push(`  ${at.toString(16).padStart(4, "0")}  expected ${e.join(" ")}`, `        got      ${g.join(" ")}`, `                 ${mark.join(" ")}`);
  }
  return lines.join("\n");
}

/** Compare outputs (masking the outer UDP source port) and verdicts with a fixture's expectations. */
export function compareFixture(results: FrameResult[], expected: CapturedFrame[], scenario: ScenarioFile): string[] {
  const problems: string[] = [];
  if (scenario.frames.length !== results.length) problems.push(`scenario.json describes ${scenario.frames.length} frames, in.pcap has ${results.length}`);
  results.forEach((r, i) => {
    const want = scenario.frames[i];
    if (!want) return;
    if (want.verdict !== r.verdict) problems.push(`frame ${i}: verdict ${r.verdict} (${r.reason || "no reason"}, layer ${r.layer ?? "-"}), expected ${want.verdict}${want.reason ? ` (${want.reason})` : ""}`);
    else if (want.reason && want.reason !== r.reason) problems.push(`frame ${i}: reason ${r.reason}, expected ${want.reason}`);
    if (want.layer && want.layer !== r.layer) problems.push(`frame ${i}: decided by layer ${r.layer ?? "-"}, expected ${want.layer}`);
  });
  const outputs = results.filter((r) => r.output);
  if (outputs.length !== expected.length) problems.push(`${outputs.length} frames came out, expected.pcap has ${expected.length}`);
  const mask = scenario.compare?.maskOuterUdpSrcPort ?? true;
  const sportOfFlow = new Map<string, number>();
  outputs.forEach((r, i) => {
    const e = expected[i];
    if (!e) return;
    const got = Uint8Array.from(r.output!.bytes);
    const want = Uint8Array.from(e.bytes);
    if (e.side && e.side !== r.output!.side) problems.push(`output ${i} (frame ${r.index}) left toward the ${r.output!.side}, expected the ${e.side}`);
    const at = outerSportAt(got);
    if (mask && at >= 0 && outerSportAt(want) === at) {
      const sport = (got[at] << 8) | got[at + 1];
      if (sport < 0xc000) problems.push(`output ${i} (frame ${r.index}): outer UDP source port ${sport} is outside 49152-65535`);
      const flow = innerFlowId(got);
      const seen = sportOfFlow.get(flow);
      if (seen !== undefined && seen !== sport) problems.push(`output ${i} (frame ${r.index}): outer UDP source port ${sport} differs from ${seen} for the same flow`);
      sportOfFlow.set(flow, sport);
      got[at] = want[at]; got[at + 1] = want[at + 1];
    }
    if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0) {
      problems.push(`output ${i} (frame ${r.index}) differs (${got.length} bytes, expected ${want.length}):\n${hexDiff(want, got)}`);
    }
  });
  return problems;
}

export async function checkFixture(dir: string): Promise<FixtureReport> {
  const read = (f: string) => {
    const p = join(dir, f);
    if (!existsSync(p)) throw new Error(`${dir} has no ${f}`);
    return readFileSync(p);
  };
  const compiled = compilePort(JSON.parse(read("port.json").toString("utf8")));
  const scenario = JSON.parse(read("scenario.json").toString("utf8")) as ScenarioFile;
  const results = await replayFrames(compiled, framesOf(readCapture(read("in.pcap"))));
  const expected = readCapture(read("expected.pcap"));
  return { name: dir.split("/").filter(Boolean).pop()!, story: scenario.story, results, mismatches: compareFixture(results, expected, scenario) };
}

export function describeResult(r: FrameResult): string {
  const what = r.verdict === "drop" ? `DROP ${r.reason}` : r.verdict === "hairpin" ? "HAIRPIN" : "PASS";
  const by = r.layer ? ` by ${r.layer}/${r.rule}` : "";
  const out = r.output ? ` → ${r.output.side} ${r.output.bytes.length}B` : "";
  return `#${String(r.index).padEnd(3)} from ${r.side.padEnd(7)} ${what}${by}${out}`;
}
