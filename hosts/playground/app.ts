// The browser playground: the same engine.wasm the hosts run, in a page.
// Pick a fixture (every golden scenario of fixtures/) or paste frames (hex),
// edit the port config, run: every frame is shown before and after, decoded
// field by field with what the engine changed highlighted, the layer and rule
// that decided by name, what the fixture expects, and the flow table after.
// Frames run on the fixture's clock, as `wopte replay` runs them.

import { Engine } from "../engine/engine.js";
import { Dir, Verdict } from "../engine/batch.js";
import { reasonName } from "../engine/reasons.js";
import { compilePort } from "../../layers/vpc/compile.js";
import { applyPort } from "../engine/apply-port.js";
import { ConfigError } from "../../layers/vpc/config.js";
import { ruleName } from "../../layers/vpc/rule-names.js";
import { el, frameCard, flowTable, FrameOutcome } from "./render.js";

type Side = "guest" | "network";
interface Scenario {
  name: string; story: string; config: unknown;
  frames: { side: Side; hex: string; timeMs: number }[];
  expect: { verdict: string; reason?: string; layer?: string }[];
}
type Offered = Scenario | { name: string; error: string };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const LAYER_NONE = 255;
let wasmBytes: ArrayBuffer;
/** The loaded scenario and its frames' text: expectations apply while the frames are as loaded. */
let loaded: { scenario: Scenario; framesText: string } | undefined;

/** Lines of `<side> <hex> [<ms>]`; without a time a frame shares the previous one's. */
function parseFrames(text: string): { side: Side; bytes: Uint8Array; timeMs: number }[] {
  let clock = 0;
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l, i) => {
    const [side, hex, time, extra] = l.split(/\s+/);
    if ((side !== "guest" && side !== "network") || !hex || !/^([0-9a-fA-F]{2})+$/.test(hex) || extra !== undefined) {
      throw new Error(`frame ${i + 1}: expected "guest <hex> [ms]" or "network <hex> [ms]"`);
    }
    if (time !== undefined) {
      const t = Number(time);
      if (!Number.isInteger(t) || t < clock) throw new Error(`frame ${i + 1}: the time must be whole milliseconds, not before the frame above (${clock})`);
      clock = t;
    }
    return { side, bytes: Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16))), timeMs: clock };
  });
}

async function run(): Promise<void> {
  const results = $("results");
  results.replaceChildren();
  $("flows").replaceChildren();
  $("error").textContent = "";
  let compiled;
  try {
    compiled = compilePort(JSON.parse(($("config") as HTMLTextAreaElement).value));
  } catch (err) {
    $("error").textContent = err instanceof ConfigError ? err.message : `config: ${(err as Error).message}`;
    return;
  }
  const framesText = ($("frames") as HTMLTextAreaElement).value;
  let frames;
  try { frames = parseFrames(framesText); } catch (err) { $("error").textContent = (err as Error).message; return; }
  const expect = loaded && loaded.framesText === framesText ? loaded.scenario.expect : [];
  const { instance } = await WebAssembly.instantiate(wasmBytes, { env: { abort: () => { throw new Error("engine abort"); } } });
  const engine = Engine.fromExports(instance.exports as never);
  applyPort(engine, 0, compiled, frames[0]?.timeMs ?? 0);
  const layers = compiled.layers.map((l) => l.name);
  const b = engine.newBatch(1);
  let clock = frames[0]?.timeMs ?? 0;
  frames.forEach((f, i) => {
    // idle flows expire when the clock moves on, as the sled's timer and `wopte replay` do
    if (f.timeMs !== clock) { engine.expire(0, f.timeMs, engine.flowCapacity(0)); clock = f.timeMs; }
    b.set(0, f.bytes, 0, f.side === "guest" ? Dir.Out : Dir.In);
    b.run(1, f.timeMs);
    const v = b.verdict(0);
    const verdict = v === Verdict.Pass ? "pass" : v === Verdict.Hairpin ? "hairpin" : v === Verdict.ToHost ? "host" : "drop";
    const layer = b.layer(0) === LAYER_NONE ? "-" : layers[b.layer(0)] ?? `layer ${b.layer(0)}`;
    const emitted = v === Verdict.Pass || v === Verdict.Hairpin;
    const outcome: FrameOutcome = {
      index: i, side: f.side, verdict, layer,
      rule: b.layer(0) === LAYER_NONE ? "-" : ruleName(compiled, b.layer(0), b.rule(0)),
      reason: v === Verdict.Drop || b.reason(0) !== 0 ? reasonName(b.reason(0)) : "", // a hairpin in place of the frame (TooBig) says why
      walked: f.side === "guest" ? layers : [...layers].reverse(),
      input: f.bytes, output: emitted ? Uint8Array.from(b.output(0)) : undefined,
      toward: v === Verdict.ToHost ? "host" : !emitted ? "" : (v === Verdict.Pass) === (f.side === "guest") ? "network" : "guest",
      expected: expect[i],
    };
    results.append(frameCard(outcome));
  });
  $("flows").append(flowTable(engine.flows(0)));
}

async function load(s: Scenario): Promise<void> {
  $("story").textContent = s.story;
  ($("config") as HTMLTextAreaElement).value = JSON.stringify(s.config, null, 2);
  const framesText = s.frames.map((f) => `${f.side} ${f.hex} ${f.timeMs}`).join("\n");
  ($("frames") as HTMLTextAreaElement).value = framesText;
  loaded = { scenario: s, framesText };
  await run();
}

async function main(): Promise<void> {
  wasmBytes = await (await fetch("engine.wasm")).arrayBuffer();
  const offered: Offered[] = await (await fetch("api/scenarios")).json();
  const scenarios = offered.filter((s): s is Scenario => !("error" in s));
  const pick = $("scenario") as HTMLSelectElement;
  for (const s of offered) {
    pick.append("error" in s ? el("option", { value: s.name, disabled: "" }, `${s.name} (unreadable: ${s.error})`) : el("option", { value: s.name }, s.name));
  }
  pick.addEventListener("change", () => void load(scenarios.find((x) => x.name === pick.value)!));
  $("run").addEventListener("click", () => void run());
  if (scenarios.length) await load(scenarios[0]);
  document.body.dataset.ready = "1";
}

void main();
