// The replay harness: frames from a capture through a fresh engine port, in
// order, acting as a host would (docs/fixtures.md). Used by `wopte replay`,
// `wopte snapshot export`, the fixture tests and anyone building scenarios.
//
// The host clock handed to the engine is the capture's: milliseconds since
// the first frame. Frames of the same millisecond share one batch (at most
// the batch's slots); when the clock moves on, idle flows are expired first,
// as the sled host's timer does.

import { readFileSync } from "node:fs";
import { Engine, EngineError } from "../engine/engine.js";
import { Dir, Verdict } from "../engine/batch.js";
import { reasonName } from "../engine/reasons.js";
import { compilePort, CompiledPort } from "../../layers/vpc/compile.js";
import { applyPort } from "../engine/apply-port.js";
import { ConfigError } from "../../layers/vpc/config.js";
import { ruleName } from "../../layers/vpc/rule-names.js";
import { readCapture, Side, CapturedFrame, CaptureError } from "../pcap/pcapng.js";

/** "host": a ToHost rule gave the frame to the host (a sled learns membership reports this way); nothing comes out. */
export type VerdictName = "pass" | "drop" | "hairpin" | "host";

export interface FrameResult {
  index: number;
  /** The side the frame came from. */
  side: Side;
  verdict: VerdictName;
  /** The drop reason's name (`SpoofedSource`); for a hairpin sent instead of forwarding, why (`TooBig`); else "". */
  reason: string;
  /**
   * Name of the deciding layer: the one that dropped, answered or handed the
   * frame over, or for a frame that passed, the one whose rule allowed its
   * flow; undefined when none did (parser drops, flows no rule allowed).
   */
  layer: string | undefined;
  /** The deciding rule by name (layers/vpc/rule-names.ts): a firewall rule's name, "default", "-" for none. */
  rule: string;
  /** The rule's id as the engine reported it (0xfffffffe a layer default, 0xffffffff none). */
  ruleId: number;
  /** What the port emitted (a copy), and the side it leaves towards. */
  output?: { side: Side; bytes: Uint8Array };
}

export interface InputFrame {
  side: Side;
  /** The engine clock for this frame: whole ms since the capture's first frame. */
  timeMs: number;
  bytes: Uint8Array;
  /** The capture's own timestamp (ms since the epoch), kept for writing outputs. */
  captureMs?: number;
}

/** Something wrong with what the user handed us (files, options); `wopte replay` exits 2. */
export class InputError extends Error {}

const PORT = 0;
const SLOTS = 64, SLOT_SIZE = 9216 + 512, HEADROOM = 128;
const LAYER_NONE = 255;

/** The side a frame leaves towards: passed frames cross the port, hairpin replies go back. */
export function outputSide(from: Side, verdict: VerdictName): Side {
  const crosses = verdict === "pass";
  return (from === "guest") === crosses ? "network" : "guest";
}

/** Run frames through port 0 of a new engine (or the one given, whose port 0 must not exist yet). */
export async function replayFrames(compiled: CompiledPort, frames: InputFrame[], engine?: Engine): Promise<FrameResult[]> {
  const e = engine ?? (await Engine.load());
  applyPort(e, PORT, compiled, frames[0]?.timeMs ?? 0);
  const b = e.newBatch(SLOTS, SLOT_SIZE, HEADROOM);
  const out: FrameResult[] = [];
  let clock = frames[0]?.timeMs ?? 0;
  for (let i = 0; i < frames.length;) {
    const now = frames[i].timeMs;
    if (now !== clock) { e.expire(PORT, now, e.flowCapacity(PORT)); clock = now; }
    let k = 0;
    while (i + k < frames.length && k < b.slots && frames[i + k].timeMs === now) {
      const f = frames[i + k];
      if (f.bytes.length > b.capacity) throw new InputError(`frame ${i + k} is ${f.bytes.length} bytes, more than a batch slot holds (${b.capacity})`);
      b.set(k, f.bytes, PORT, f.side === "guest" ? Dir.Out : Dir.In);
      k++;
    }
    b.run(k, now);
    for (let j = 0; j < k; j++) out.push(resultOf(b, j, i + j, frames[i + j].side, compiled));
    i += k;
  }
  return out;
}

function resultOf(b: ReturnType<Engine["newBatch"]>, j: number, index: number, side: Side, compiled: CompiledPort): FrameResult {
  const v = b.verdict(j);
  const verdict: VerdictName = v === Verdict.Pass ? "pass" : v === Verdict.Hairpin ? "hairpin" : v === Verdict.ToHost ? "host" : "drop";
  const rule = b.rule(j), layer = b.layer(j);
  const r: FrameResult = {
    index, side, verdict,
    reason: verdict === "drop" || b.reason(j) !== 0 ? reasonName(b.reason(j)) : "",
    layer: layer === LAYER_NONE ? undefined : compiled.layers[layer]?.name ?? `layer${layer}`,
    rule: layer === LAYER_NONE ? "-" : ruleName(compiled, layer, rule), ruleId: rule,
  };
  if (verdict === "pass" || verdict === "hairpin") r.output = { side: outputSide(side, verdict), bytes: Uint8Array.from(b.output(j)) };
  return r;
}

/**
 * Frames of a capture with a side each (pcapng interfaces named guest/network,
 * or `dir` for every frame) and the engine clock (ms since the first frame).
 */
export function framesOf(all: CapturedFrame[], dir?: "out" | "in"): InputFrame[] {
  // a `wopte capture` file also holds what the port emitted: those are results, not inputs
  const capture = all.filter((f) => !f.emitted);
  const base = Math.floor(capture[0]?.timeMs ?? 0);
  return capture.map((f, i) => {
    const side: Side | undefined = dir ? (dir === "out" ? "guest" : "network") : f.side;
    if (!side) {
      const what = f.interfaceName !== undefined ? `comes from interface "${f.interfaceName}"` : "has no side (classic pcap)";
      throw new InputError(`frame ${i} ${what}: use a pcapng with interfaces named guest/network (or from-guest/from-network, as wopte capture writes), or pass --dir out|in`);
    }
    const now = Math.floor(f.timeMs) - base;
    if (now < 0) throw new InputError(`frame ${i} is older than the first frame: the capture's clock must not go back`);
    return { side, timeMs: now, bytes: f.bytes, captureMs: f.timeMs };
  });
}

/** Read and compile a port config file; errors name the file (ConfigError keeps its list of paths). */
export function loadPortConfig(path: string): CompiledPort {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new InputError(`${path}: ${err instanceof SyntaxError ? `not JSON (${err.message})` : (err as Error).message}`);
  }
  try {
    return compilePort(json);
  } catch (err) {
    if (err instanceof ConfigError) throw new InputError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Read a capture file; errors name the file. */
export function loadCapture(path: string): CapturedFrame[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`);
  }
  try {
    return readCapture(bytes);
  } catch (err) {
    if (err instanceof CaptureError) throw new InputError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Errors a replay should report as bad input (exit 2) rather than as a bug. */
export function isInputError(err: unknown): boolean {
  return err instanceof InputError || err instanceof ConfigError || err instanceof CaptureError || err instanceof EngineError;
}

/** Column header for `describeResult` lines. */
export const RESULT_HEADER = `${"#".padStart(4)}  ${"from".padEnd(7)}  ${"verdict".padEnd(7)}  ${"reason".padEnd(21)}  ${"output".padEnd(13)}  decided by`;

/** "firewall: allow-ssh" (for a pass: the rule that allowed its flow), "-" when no layer decided. */
export function decidedBy(r: FrameResult): string {
  return r.layer ? `${r.layer}: ${r.rule}` : "-";
}

/** The fixed-width part of a result line: index, side, verdict, drop reason, output side and length. */
export function describeFixed(r: FrameResult): string {
  const out = r.output ? `${r.output.side} ${r.output.bytes.length} B` : "-";
  return `${String(r.index).padStart(4)}  ${r.side.padEnd(7)}  ${r.verdict.padEnd(7)}  ${(r.reason || "-").padEnd(21)}  ${out.padEnd(13)}`;
}

/** One line per frame: the fixed part, then the layer and rule that decided, by name. */
export function describeResult(r: FrameResult): string {
  return `${describeFixed(r)}  ${decidedBy(r)}`;
}

/** A result as JSON for scripts: the output's bytes as hex. */
export function resultJson(r: FrameResult): object {
  return {
    index: r.index, side: r.side, verdict: r.verdict, reason: r.reason || undefined, layer: r.layer, rule: r.layer ? r.rule : undefined, ruleId: r.layer ? r.ruleId : undefined,
    output: r.output ? { side: r.output.side, length: r.output.bytes.length, hex: Buffer.from(r.output.bytes).toString("hex") } : undefined,
  };
}
