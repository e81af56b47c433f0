// Finding and instantiating engine.wasm. Every host loads the same file.
//
// We instantiate with @assemblyscript/loader (it supplies `abort` with a
// readable message and the memory helpers the control plane may use), but
// call the raw `instance.exports` on the hot path: the loader's demangling
// wrappers cost ~2 ns per call (shared/ENGINE-NOTES.md), and the batch ABI is
// all plain numbers anyway.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as loader from "@assemblyscript/loader";

/** The directory holding package.json of wopte (works from sources and from dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "engine"))) return dir;
    dir = resolve(dir, "..");
  }
  throw new Error("cannot find the wopte package root");
}

export function defaultWasmPath(): string {
  return join(packageRoot(), "build", "engine.wasm");
}

/** The raw exports of an instantiated engine.wasm. */
export interface EngineExports {
  memory: WebAssembly.Memory;
  [name: string]: unknown;
}

export async function instantiateEngine(wasm?: string | Uint8Array): Promise<EngineExports> {
  const bytes = typeof wasm === "string" || wasm === undefined ? readFileSync(wasm ?? defaultWasmPath()) : wasm;
  const { instance } = await loader.instantiate<Record<string, unknown>>(bytes, {});
  return instance.exports as unknown as EngineExports;
}
