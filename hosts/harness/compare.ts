// Comparing a replay with a fixture's expectations (docs/fixtures.md):
// verdicts, reasons and deciding layers against scenario.json, output frames
// byte for byte against expected.pcap. The one masked field is the outer UDP
// source port of Geneve frames, flow entropy from the engine's hash
// (RFC 8926 §3.3 asks for it; the range is the dynamic ports of RFC 6335):
// it must be in 49152–65535 and the same for every frame of one inner flow.

import type { CapturedFrame, Side } from "../pcap/pcapng.js";
import { FrameResult, InputError, VerdictName } from "./replay.js";

export interface ScenarioFrame { verdict: VerdictName; reason?: string; layer?: string }

export interface ScenarioFile {
  story: string;
  frames: ScenarioFrame[];
  compare?: { maskOuterUdpSrcPort?: boolean };
}

/** Check the shape of a parsed scenario.json. */
export function parseScenario(json: unknown, name = "scenario.json"): ScenarioFile {
  const bad = (what: string) => new InputError(`${name}: ${what}`);
  if (typeof json !== "object" || json === null) throw bad("not an object");
  const s = json as Record<string, unknown>;
  if (typeof s.story !== "string") throw bad("story: expected a string");
  if (!Array.isArray(s.frames)) throw bad("frames: expected an array");
  s.frames.forEach((f: unknown, i) => {
    const v = (f as Record<string, unknown> | null)?.verdict;
    if (v !== "pass" && v !== "drop" && v !== "hairpin" && v !== "host") throw bad(`frames.${i}.verdict: expected "pass", "drop", "hairpin" or "host"`);
  });
  return json as ScenarioFile;
}

/** One input frame's outcome next to what the scenario expects. */
export interface FrameCheck {
  result: FrameResult;
  expected?: ScenarioFrame;
  /** Verdict, reason and layer as the scenario says. */
  verdictOk: boolean;
  /** The output frame equals its expected frame (true when nothing was to come out and nothing did). */
  outputOk: boolean;
  /** The expected frame this one was compared with, when any. */
  expectedOutput?: { side: Side | undefined; bytes: Uint8Array };
}

export interface Comparison {
  frames: FrameCheck[];
  /** Every difference, one message each (output differences carry a hex diff). */
  mismatches: string[];
}

const GENEVE_PORT = 6081;
const EPHEMERAL_LO = 49152;

/** Offset of the outer UDP source port when the frame is Geneve over IPv6 (no VLAN), else -1. */
export function outerSportAt(b: Uint8Array): number {
  if (b.length < 70 || b[12] !== 0x86 || b[13] !== 0xdd || b[20] !== 17 || ((b[56] << 8) | b[57]) !== GENEVE_PORT) return -1;
  return 54;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/**
 * The inner flow a Geneve frame carries: outer destination, inner protocol,
 * addresses and ports (the ICMP echo identifier standing in for ports).
 */
export function innerFlowKey(b: Uint8Array): string {
  const inner = 70 + (b[62] & 0x3f) * 4;
  const outerDst = hex(b.subarray(38, 54));
  let at = inner + 12;
  let type = (b[at] << 8) | b[at + 1];
  at += 2;
  while (type === 0x8100 || type === 0x88a8) { type = (b[at + 2] << 8) | b[at + 3]; at += 4; }
  let proto = -1, addrs = "", l4 = -1;
  if (type === 0x0800 && at + 20 <= b.length) {
    proto = b[at + 9];
    addrs = hex(b.subarray(at + 12, at + 20));
    const fragOffset = ((b[at + 6] & 0x1f) << 8) | b[at + 7];
    if (fragOffset === 0) l4 = at + (b[at] & 0x0f) * 4;
  } else if (type === 0x86dd && at + 40 <= b.length) {
    addrs = hex(b.subarray(at + 8, at + 40));
    proto = b[at + 6];
    l4 = at + 40;
    for (let n = 0; n < 8 && [0, 43, 44, 60].includes(proto) && l4 + 8 <= b.length; n++) {
      const next = b[l4];
      if (proto === 44) {
        if ((((b[l4 + 2] << 8) | b[l4 + 3]) & 0xfff8) !== 0) { proto = next; l4 = -1; break; }
        l4 += 8;
      } else l4 += (b[l4 + 1] + 1) * 8;
      proto = next;
    }
  }
  let ports = "";
  if (l4 >= 0 && l4 + 4 <= b.length) {
    if (proto === 6 || proto === 17) ports = hex(b.subarray(l4, l4 + 4));
    else if ((proto === 1 && (b[l4] === 8 || b[l4] === 0)) || (proto === 58 && (b[l4] === 128 || b[l4] === 129))) {
      ports = l4 + 6 <= b.length ? hex(b.subarray(l4 + 4, l4 + 6)) : "";
    }
  }
  return `${outerDst}/${type.toString(16)}/${proto}/${addrs}/${ports}`;
}

/** Rows of 16 bytes where the two differ: offset, expected, got, and ^^ under each differing byte. */
export function hexDiff(expected: Uint8Array, got: Uint8Array): string {
  const lines: string[] = [`  offset  ${expected.length} bytes expected, ${got.length} bytes got`];
  const n = Math.max(expected.length, got.length);
  for (let at = 0; at < n; at += 16) {
    const row = (b: Uint8Array) => Array.from({ length: 16 }, (_, i) => (at + i < b.length ? b[at + i].toString(16).padStart(2, "0") : "  "));
    const e = row(expected), g = row(got);
    if (e.join("") === g.join("")) continue;
    const mark = e.map((x, i) => (x === g[i] ? "  " : "^^"));
    lines.push(`  ${at.toString(16).padStart(4, "0")}  expected ${e.join(" ")}`,
      `        got      ${g.join(" ")}`,
      `                 ${mark.join(" ")}`.trimEnd());
  }
  return lines.join("\n");
}

function verdictText(v: { verdict: string; reason?: string; layer?: string }): string {
  return `${v.verdict}${v.reason ? ` ${v.reason}` : ""}${v.layer ? ` by ${v.layer}` : ""}`;
}

/** Passed frames and hairpin replies come out of the port; drops and frames for the host do not. */
function emitsFrame(v: VerdictName): boolean { return v === "pass" || v === "hairpin"; }

/** Compare a replay with scenario.json and expected.pcap. */
export function compareFixture(results: FrameResult[], expected: CapturedFrame[], scenario: ScenarioFile): Comparison {
  const mismatches: string[] = [];
  if (scenario.frames.length !== results.length) mismatches.push(`scenario.json describes ${scenario.frames.length} frames, in.pcap has ${results.length}`);

  // Which expected frame belongs to which input frame: by the scenario's verdicts when
  // they account for expected.pcap, else by position among the frames that came out.
  const emitting = scenario.frames.filter((f) => emitsFrame(f.verdict)).length;
  const byScenario = emitting === expected.length && scenario.frames.length === results.length;
  const expectedIndex: (number | undefined)[] = [];
  let n = 0;
  for (let i = 0; i < results.length; i++) {
    const emits = byScenario ? emitsFrame(scenario.frames[i].verdict) : results[i].output !== undefined;
    expectedIndex.push(emits ? n++ : undefined);
  }
  const produced = results.filter((r) => r.output).length;
  if (produced !== expected.length) mismatches.push(`${produced} frames came out, expected.pcap has ${expected.length}`);

  const mask = scenario.compare?.maskOuterUdpSrcPort ?? true;
  const sportOfFlow = new Map<string, { sport: number; frame: number }>();
  const frames = results.map((r, i): FrameCheck => {
    const want = scenario.frames[i];
    let verdictOk = true;
    if (want) {
      const problems: string[] = [];
      if (want.verdict !== r.verdict) problems.push("verdict");
      if (want.reason && want.reason !== r.reason) problems.push("reason");
      if (want.layer && want.layer !== r.layer) problems.push("layer");
      if (problems.length) {
        verdictOk = false;
        mismatches.push(`frame ${i}: ${verdictText(r)}, expected ${verdictText(want)} (${problems.join(", ")} differ)`);
      }
    }
    const e = expectedIndex[i] === undefined ? undefined : expected[expectedIndex[i]!];
    const check: FrameCheck = { result: r, expected: want, verdictOk, outputOk: true, expectedOutput: e && { side: e.side, bytes: e.bytes } };
    if (!r.output && !e) return check;
    if (!r.output) { check.outputOk = false; mismatches.push(`frame ${i}: nothing came out, expected.pcap has frame ${expectedIndex[i]} (${e!.bytes.length} bytes)`); return check; }
    if (!e) { check.outputOk = false; mismatches.push(`frame ${i}: ${r.output.bytes.length} bytes came out towards the ${r.output.side}, expected nothing`); return check; }
    if (e.side && e.side !== r.output.side) { check.outputOk = false; mismatches.push(`frame ${i}: left towards the ${r.output.side}, expected the ${e.side}`); }
    const got = Uint8Array.from(r.output.bytes);
    const at = outerSportAt(got);
    if (mask && at >= 0 && outerSportAt(e.bytes) === at) {
      const sport = (got[at] << 8) | got[at + 1];
      if (sport < EPHEMERAL_LO) { check.outputOk = false; mismatches.push(`frame ${i}: outer UDP source port ${sport} is outside 49152-65535`); }
      const flow = innerFlowKey(got);
      const seen = sportOfFlow.get(flow);
      if (seen && seen.sport !== sport) { check.outputOk = false; mismatches.push(`frame ${i}: outer UDP source port ${sport}, frame ${seen.frame} of the same inner flow had ${seen.sport}`); }
      if (!seen) sportOfFlow.set(flow, { sport, frame: i });
      got[at] = e.bytes[at]; got[at + 1] = e.bytes[at + 1];
    }
    if (Buffer.compare(Buffer.from(got), Buffer.from(e.bytes)) !== 0) {
      check.outputOk = false;
      mismatches.push(`frame ${i}: output differs from expected.pcap frame ${expectedIndex[i]}${mask && at >= 0 ? " (outer UDP source port masked)" : ""}:\n${hexDiff(e.bytes, got)}`);
    }
    return check;
  });
  return { frames, mismatches };
}

/** The per-frame comparison column: "ok", or what was expected. */
export function describeCheck(c: FrameCheck): string {
  if (!c.expected) return "(not in scenario.json)";
  const v = c.verdictOk ? "ok" : `expected ${verdictText(c.expected)}`;
  return c.outputOk ? v : `${v}, output differs`;
}
