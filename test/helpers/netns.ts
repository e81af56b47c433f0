// Network namespaces for tests that need real interfaces (root only).
import { execFileSync } from "node:child_process";

export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function sh(...args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** In namespace `ns`, run a command. */
export function inNs(ns: string, ...args: string[]): string {
  return sh("ip", "netns", "exec", ns, ...args);
}

/** A pair of namespaces joined by a veth pair with the given addresses; returns a cleanup. */
export function veth(a: { ns: string; dev: string; addr: string }, b: { ns: string; dev: string; addr: string }): () => void {
  for (const x of [a, b]) {
    try { sh("ip", "netns", "del", x.ns); } catch { /* not there */ }
    sh("ip", "netns", "add", x.ns);
    inNs(x.ns, "ip", "link", "set", "lo", "up");
  }
  sh("ip", "link", "add", a.dev, "netns", a.ns, "type", "veth", "peer", "name", b.dev, "netns", b.ns);
  for (const x of [a, b]) {
    inNs(x.ns, "ip", "addr", "add", x.addr, "dev", x.dev);
    inNs(x.ns, "ip", "link", "set", x.dev, "up");
  }
  return () => { for (const x of [a, b]) { try { sh("ip", "netns", "del", x.ns); } catch { /* gone */ } } };
}
