// A real `wopte` host process (sled or gateway) for tests that need the
// whole program: started with its arguments, ready once it prints its
// "… host running" line (which names its API), and killed or stopped by the
// test. One helper so every test waits for readiness, and fails with the
// host's own output, the same way.
import { spawn, ChildProcess } from "node:child_process";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
export const bin = join(root, "bin", "wopte.js");

export interface HostProcess { p: ChildProcess; api: string; exited: Promise<number | null>; log: () => string }

/**
 * Start `wopte <args>` and wait for its "… host running" line. Rejects with
 * its output when it exits first or is not running within `timeoutMs`.
 */
export function startHost(args: string[], timeoutMs = 15_000): Promise<HostProcess> {
  const p = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout!.on("data", (d) => { out += d; });
  p.stderr!.on("data", (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => p.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { p.kill("SIGKILL"); reject(new Error(`wopte ${args[0]}: no "host running" line within ${timeoutMs / 1000} s: ${out}`)); }, timeoutMs);
    const onData = () => {
      const line = out.split("\n").find((l) => l.includes("host running"));
      if (!line) return;
      clearTimeout(timer);
      p.stdout!.off("data", onData);
      resolve({ p, api: JSON.parse(line).api, exited, log: () => out });
    };
    p.stdout!.on("data", onData);
    exited.then((code) => { clearTimeout(timer); reject(new Error(`wopte ${args[0]} exited ${code} before it was running: ${out}`)); });
  });
}

/** SIGKILL, and wait until the process is gone (reaped: its ledger lock is free). */
export async function kill9(h: HostProcess): Promise<void> {
  h.p.kill("SIGKILL");
  await h.exited;
}
