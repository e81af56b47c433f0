// Programming one sled port's compiled VPC config into the engine, all or
// nothing: every engine step records its inverse, so a step the engine
// refuses (or a ledger that cannot be written) takes the port back to exactly
// where it was. A port moving between two configs has only what differs
// changed: NAT pools softly (bindings that still fit stay), only the layers
// whose bytes changed replaced (hit counters and flow state survive the rest),
// and a layer that only gained or lost a few rules (a firewall rule added)
// edited in place rather than replaced: the engine does not re-read a large
// policy for one rule, and the other rules keep their hit counts.

import type { Engine, PortStateName } from "../engine/engine.js";
import { CompiledPort, LAYER_ORDER } from "../../layers/vpc/compile.js";
import { applyMeters } from "../engine/apply-port.js";
import { encodeLayer, encodeLayerEdit, encodeRuleBytes, LayerDef, EditStep } from "../../layers/program/encode.js";
import type { UndoLog } from "../lib/committer.js";
import type { SledMappings } from "./mappings.js";

export type LayerBytes = Map<string, Uint8Array>;

export const layerBytesOf = (c: CompiledPort): LayerBytes => new Map(c.layers.map((l) => [l.name, encodeLayer(l)]));

/** Create port `id` from `c` in state `state`; throws (having undone its steps) when the engine refuses any of it. */
export function installPort(e: Engine, maps: SledMappings, id: number, c: CompiledPort, state: PortStateName, now: number, undo: UndoLog): void {
  e.createPort(id, c.engineConfig);
  undo.push(() => e.destroyPort(id));
  for (const pool of c.natPools) e.setNatPool(id, pool.pool, pool.ip, pool.firstPort, pool.lastPort);
  e.loadProgram(id, c.program);
  for (const m of c.mappings) maps.set(m, undo);
  applyMeters(e, id, c, now);
  e.setPortState(id, state);
}

/**
 * Move port `id` from config `from` (whose layers are `bytes`) to `to`.
 * Returns the new layer bytes; undo learns how to go back.
 */
export function reprogramPort(e: Engine, maps: SledMappings, id: number, from: CompiledPort, bytes: LayerBytes,
  to: CompiledPort, now: number, undo: UndoLog): LayerBytes {
  const oldPools = new Map(from.natPools.map((x) => [x.pool, x]));
  for (const pool of to.natPools) {
    const old = oldPools.get(pool.pool);
    oldPools.delete(pool.pool);
    if (old && old.ip === pool.ip && old.firstPort === pool.firstPort && old.lastPort === pool.lastPort) continue;
    e.setNatPool(id, pool.pool, pool.ip, pool.firstPort, pool.lastPort);
    undo.push(() => (old ? e.setNatPool(id, old.pool, old.ip, old.firstPort, old.lastPort) : e.removeNatPool(id, pool.pool)));
  }
  for (const gone of oldPools.values()) {
    e.removeNatPool(id, gone.pool);
    undo.push(() => e.setNatPool(id, gone.pool, gone.ip, gone.firstPort, gone.lastPort));
  }
  const next = new Map(bytes);
  const sameLayers = to.layers.length === from.layers.length && to.layers.every((l, i) => l.name === from.layers[i].name);
  if (!sameLayers) {
    // a layer appeared or went away (bandwidth classes): load the whole program
    e.loadProgram(id, to.program);
    undo.push(() => e.loadProgram(id, from.program));
    return finish(e, maps, id, from, to, now, undo, layerBytesOf(to));
  }
  for (const name of LAYER_ORDER) {
    const li = to.layers.findIndex((x) => x.name === name);
    if (li < 0) continue;
    const l = to.layers[li];
    const b = encodeLayer(l);
    const old = bytes.get(name);
    if (old && Buffer.compare(Buffer.from(old), Buffer.from(b)) === 0) continue;
    const steps = old ? ruleEdit(from.layers[li], old, l, b) : undefined;
    if (steps) e.editLayer(id, li, encodeLayerEdit(steps));
    else e.replaceLayer(id, b);
    if (old) undo.push(() => e.replaceLayer(id, old));
    else undo.push(() => e.loadProgram(id, from.program));
    next.set(name, b);
  }
  return finish(e, maps, id, from, to, now, undo, next);
}

/** Most steps an edit may have: more, and replacing the layer is as cheap. */
const MAX_EDIT_STEPS = 256;

/**
 * The edit that turns layer `a` (its bytes `ab`, as the engine has them) into
 * `b` (bytes `bb`): the rules between their common head and tail removed and
 * inserted. Undefined when the layers differ in more than rules (name,
 * defaults) or in too many of them.
 */
function ruleEdit(a: LayerDef, ab: Uint8Array, b: LayerDef, bb: Uint8Array): EditStep[] | undefined {
  // the header but its rule count (offset 28) must be the same
  if (a.name !== b.name || Buffer.compare(Buffer.from(ab.subarray(0, 28)), Buffer.from(bb.subarray(0, 28))) !== 0) return undefined;
  const ra = a.rules.map((r) => Buffer.from(encodeRuleBytes(r))), rb = b.rules.map((r) => Buffer.from(encodeRuleBytes(r)));
  let head = 0;
  while (head < ra.length && head < rb.length && ra[head].equals(rb[head])) head++;
  let tail = 0;
  while (tail < ra.length - head && tail < rb.length - head && ra[ra.length - 1 - tail].equals(rb[rb.length - 1 - tail])) tail++;
  const removed = ra.length - head - tail, added = rb.length - head - tail;
  if (removed + added > MAX_EDIT_STEPS || removed + added >= Math.max(rb.length, 1)) return undefined;
  const steps: EditStep[] = [];
  for (let i = 0; i < removed; i++) steps.push({ op: "remove", position: head });
  for (let i = 0; i < added; i++) steps.push({ op: "insert", position: head + i, rule: b.rules[head + i] });
  return steps;
}

function finish(e: Engine, maps: SledMappings, id: number, from: CompiledPort, to: CompiledPort, now: number, undo: UndoLog, next: LayerBytes): LayerBytes {
  for (const m of to.mappings) maps.set(m, undo);
  undo.push(() => applyMeters(e, id, from, now));
  applyMeters(e, id, to, now);
  return next;
}
