// Reading engine memory as the engine lays values out (abi/): addresses as
// two little-endian u64 halves of the 128-bit number, MACs in wire order;
// and what a batch needs of an engine, so batch.ts need not know Engine.

import { macText } from "../../layers/program/addr.js";

/** An address the engine holds as two little-endian u64 numbers (hi, lo) → 16 wire bytes. */
export function addrAt(dv: DataView, at: number): Uint8Array {
  const out = new Uint8Array(16);
  const o = new DataView(out.buffer);
  o.setBigUint64(0, dv.getBigUint64(at, true));
  o.setBigUint64(8, dv.getBigUint64(at + 8, true));
  return out;
}

/** Six bytes of a MAC address in wire order, as text. */
export function wireMac(dv: DataView, at: number): string {
  let v = 0n;
  for (let i = 0; i < 6; i++) v = (v << 8n) | BigInt(dv.getUint8(at + i));
  return macText(v);
}

export type EngineFn = (...args: number[]) => number;

/** An engine's exports and its memory, refreshed after growth (Engine is one). */
export interface EngineMemory {
  fn(name: string): EngineFn;
  readonly u8: Uint8Array;
  readonly dv: DataView;
}
