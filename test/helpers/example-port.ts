// The example VPC port (examples/port-a.json) in a fresh engine, edited per test.
import { readFileSync } from "node:fs";
import { Engine } from "../../hosts/engine/engine.js";
import { compilePort, applyPort } from "../../layers/vpc/compile.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PortJson = any;

export const examplePortJson = (): PortJson =>
  JSON.parse(readFileSync(new URL("../../examples/port-a.json", import.meta.url), "utf8"));

/** Port 0 of a new engine from the example config after `edit`, and a batch of `slots`. */
export async function examplePort(edit: (c: PortJson) => void = () => {}, slots = 8, now = 0) {
  const c = examplePortJson();
  edit(c);
  const e = await Engine.load();
  applyPort(e, 0, compilePort(c), now);
  return { e, b: e.newBatch(slots) };
}

export const GUEST_MAC = "a8:40:25:f0:00:05";
export const GATEWAY_MAC = "a8:40:25:ff:77:77";
