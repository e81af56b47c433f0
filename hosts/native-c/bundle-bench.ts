// The native host's fast-path figure for the benchmark suite.

import { writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { compilePort } from "../../layers/vpc/compile.js";
import { writeBundle, BundleFrame } from "./bundle.js";
import { buildNative as build, nativeToolsAvailable } from "./build.js";
import { packageRoot } from "../engine/wasm.js";
import { ipFrame, tcp, TCP_FLAGS } from "../lib/frames.js";

export { nativeToolsAvailable };

/** Build the native host and run `flows` 64-byte frames through it `passes` times. */
export function buildNative(flows: number, frameBytes: number, passes: number): { mpps: number; nsPerPacket: number; packets: number } {
  const bin = build();
  const cfg = JSON.parse(readFileSync(join(packageRoot(), "examples", "port-a.json"), "utf8"));
  const frames: BundleFrame[] = Array.from({ length: flows }, (_, i) => ({
    dir: 2, timeMs: 1, bytes: ipFrame("a8:40:25:ff:77:77", "a8:40:25:f0:00:05", "172.30.0.5", "172.30.0.6", 6,
      tcp("172.30.0.5", "172.30.0.6", 1024 + i, 80, TCP_FLAGS.ACK, new Uint8Array(Math.max(0, frameBytes - 54)))),
  }));
  const path = join(mkdtempSync(join(tmpdir(), "wopte-native-bench-")), "bundle.bin");
  writeFileSync(path, writeBundle(compilePort(cfg), frames));
  return JSON.parse(execFileSync(bin, [path, "--bench", String(passes)], { encoding: "utf8" }));
}
