// Building the native host: wasm2c translates build/engine.wasm to C, the C
// compiler builds it with replay.c and wabt's runtime into
// build/native/wopte-native. Rebuilt only when engine.wasm or replay.c changed.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../engine/wasm.js";

const RUNTIME_DIRS = ["/usr/share/wabt/wasm2c", "/usr/src/wasm2c"];

export function nativeToolsAvailable(): boolean {
  try {
    execFileSync("wasm2c", ["--version"], { stdio: "ignore" });
    execFileSync("cc", ["--version"], { stdio: "ignore" });
  } catch {
    return false;
  }
  return RUNTIME_DIRS.some((d) => existsSync(join(d, "wasm-rt-impl.c")));
}

export function buildNative(): string {
  const root = packageRoot();
  const out = join(root, "build", "native");
  const bin = join(out, "wopte-native");
  const wasm = join(root, "build", "engine.wasm");
  const src = join(root, "hosts", "native-c", "replay.c");
  if (existsSync(bin) && statSync(bin).mtimeMs > Math.max(statSync(wasm).mtimeMs, statSync(src).mtimeMs)) return bin;
  const rt = RUNTIME_DIRS.find((d) => existsSync(join(d, "wasm-rt-impl.c")));
  if (!rt) throw new Error("wabt's wasm2c runtime (wasm-rt-impl.c) is not installed: apt-get install wabt");
  mkdirSync(out, { recursive: true });
  execFileSync("wasm2c", [wasm, "-n", "engine", "-o", join(out, "engine.c")]);
  execFileSync("cc", ["-O2", "-std=gnu11", "-I", out, "-I", rt, "-o", bin, src, join(out, "engine.c"), join(rt, "wasm-rt-impl.c"), "-lm"], { stdio: "inherit" });
  return bin;
}
