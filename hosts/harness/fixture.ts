// A golden-packet fixture (docs/fixtures.md): port.json, in.pcap,
// expected.pcap and scenario.json in one directory, checked by replaying
// in.pcap through a fresh port and comparing with the rest.

import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Engine } from "../engine/engine.js";
import { writeCapture } from "../pcap/pcapng.js";
import { FrameResult, InputError, InputFrame, framesOf, loadCapture, loadPortConfig, replayFrames } from "./replay.js";
import { FrameCheck, ScenarioFile, compareFixture, parseScenario } from "./compare.js";

export interface FixtureReport {
  name: string;
  story: string;
  inputs: InputFrame[];
  results: FrameResult[];
  /** Per input frame: the result next to the scenario's expectation and the expected output. */
  frames: FrameCheck[];
  /** Empty when the fixture passes. */
  mismatches: string[];
}

export const FIXTURE_FILES = ["port.json", "in.pcap", "expected.pcap", "scenario.json"] as const;

/** Is `dir` a fixture (it has a scenario.json)? */
export function isFixture(dir: string): boolean {
  return existsSync(join(dir, "scenario.json"));
}

/** Replay a fixture and compare; throws InputError for missing or unreadable files. */
export async function checkFixture(dir: string, engine?: Engine): Promise<FixtureReport> {
  for (const f of FIXTURE_FILES) if (!existsSync(join(dir, f))) throw new InputError(`${dir} has no ${f} (a fixture needs ${FIXTURE_FILES.join(", ")})`);
  const scenarioPath = join(dir, "scenario.json");
  let scenario: ScenarioFile;
  try {
    scenario = parseScenario(JSON.parse(readFileSync(scenarioPath, "utf8")), scenarioPath);
  } catch (err) {
    if (err instanceof SyntaxError) throw new InputError(`${scenarioPath}: not JSON (${err.message})`);
    throw err;
  }
  const compiled = loadPortConfig(join(dir, "port.json"));
  const inputs = framesOf(loadCapture(join(dir, "in.pcap")));
  const expected = loadCapture(join(dir, "expected.pcap"));
  const results = await replayFrames(compiled, inputs, engine);
  const { frames, mismatches } = compareFixture(results, expected, scenario);
  return { name: basename(resolve(dir)), story: scenario.story, inputs, results, frames, mismatches };
}

/** What the port emitted, as pcapng with the guest/network interfaces, stamped with the input frames' times. */
export function outputCapture(inputs: InputFrame[], results: FrameResult[]): Uint8Array {
  return writeCapture(results.filter((r) => r.output).map((r) => ({
    side: r.output!.side, timeMs: inputs[r.index]?.captureMs ?? inputs[r.index]?.timeMs ?? 0, bytes: r.output!.bytes,
  })));
}
