// Loads build/engine-testing.wasm (engine internals exported for tests) and
// offers the few helpers packet tests need: copy a frame into the engine's
// scratch buffer, parse it, read PacketMeta back as a plain object.
//
// Build first: npx asc engine/testing.ts --target testing

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { REASONS } from "../../hosts/engine/reasons.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Raw wasm exports; functions take and return numbers (u32/i32/bool as 0|1). */
export type EngineExports = Record<string, any> & { memory: WebAssembly.Memory };

/** PacketMeta fields by name: u32 fields as numbers, u64 fields as bigints. */
export type Meta = Record<string, number | bigint>;

/** Decode an AssemblyScript string (UTF-16, byte length at ptr - 4). */
function readAsString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (!memory || !ptr) return "";
  try {
    const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
    return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
  } catch {
    return `<string at ${ptr}>`;
  }
}

/** Instantiate a wasm file with an env.abort that throws a readable JS Error. */
export async function instantiateEngine(file: string): Promise<EngineExports> {
  const bytes = readFileSync(join(root, file));
  let memory: WebAssembly.Memory | undefined;
  const env = {
    abort(msg: number, fileName: number, line: number, col: number): never {
      throw new Error(`engine abort: ${readAsString(memory, msg)} at ${readAsString(memory, fileName)}:${line}:${col}`);
    },
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  const exports = instance.exports as EngineExports;
  memory = exports.memory;
  return exports;
}

/** Reason numbers by name (abi/reason.ts). */
export const Reason: Record<string, number> = REASONS;

export class PacketEngine {
  constructor(readonly x: EngineExports) {}

  get scratch(): number { return this.x.scratchPtr() >>> 0; }
  get metaPtr(): number { return this.x.metaPtr() >>> 0; }
  u8(): Uint8Array { return new Uint8Array(this.x.memory.buffer); }

  /** Copy `frame` to the scratch buffer (at `at` bytes in) and return its absolute address. */
  write(frame: Uint8Array, at = 0): number {
    this.u8().set(frame, this.scratch + at);
    return this.scratch + at;
  }
  /** Bytes of the scratch buffer. */
  read(len: number, at = 0): Uint8Array {
    return this.u8().slice(this.scratch + at, this.scratch + at + len);
  }
  /** Copy `frame` into scratch and parse it; returns the Reason number. */
  parse(frame: Uint8Array, expectEncap = false): number {
    this.write(frame);
    return this.x.parseFrameAt(frame.length, expectEncap ? 1 : 0) >>> 0;
  }
  /** The static PacketMeta as an object. */
  meta(): Meta {
    const view = new DataView(this.x.memory.buffer, this.metaPtr);
    const out: Meta = {};
    for (const [name, value] of Object.entries(this.x)) {
      if (!(value instanceof WebAssembly.Global)) continue;
      if (name.startsWith("META64_")) out[name.slice(7)] = view.getBigUint64(value.value, true);
      else if (name.startsWith("META_")) out[name.slice(5)] = view.getUint32(value.value, true);
    }
    return out;
  }
}

let cached: Promise<PacketEngine> | undefined;
/** One shared instance of build/engine-testing.wasm per test file. */
export function loadPacketEngine(): Promise<PacketEngine> {
  cached ??= instantiateEngine("build/engine-testing.wasm").then((x) => new PacketEngine(x));
  return cached;
}

// ---- byte helpers for tests

export function hex(h: string): Uint8Array {
  const clean = h.replace(/#.*$/gm, "").replace(/[^0-9a-fA-F]/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
/** A fixture from fixtures/packets/<name>.hex ('#' lines are comments). */
export function fixture(name: string): Uint8Array {
  return hex(readFileSync(join(root, "fixtures/packets", `${name}.hex`), "utf8"));
}
/** 48-bit MAC "aa:bb:..." as the bigint PacketMeta holds. */
export function macBig(s: string): bigint {
  return BigInt("0x" + s.replace(/:/g, ""));
}
/** IPv4 "a.b.c.d" as a number. */
export function v4(s: string): number {
  return s.split(".").reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
}
/** IPv4 as the low half of its IPv4-mapped form (::ffff:a.b.c.d). */
export function v4Lo(s: string): bigint {
  return (0xffffn << 32n) | BigInt(v4(s));
}
/** IPv6 address as 16 bytes (supports "::"). */
export function v6Bytes(s: string): Uint8Array {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 0xff; });
  return out;
}
/** IPv6 address as (hi, lo) bigints like PacketMeta. */
export function v6HiLo(s: string): [bigint, bigint] {
  const b = Buffer.from(v6Bytes(s));
  return [b.readBigUInt64BE(0), b.readBigUInt64BE(8)];
}
