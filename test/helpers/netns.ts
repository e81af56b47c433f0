// Network namespaces for tests that need real interfaces (root only: a suite
// using these declares needs("root", "ip", …) from ./tools.ts).
import { execFileSync } from "node:child_process";

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

/**
 * A guest namespace `ns` around TAP `tap` (created by a sled host in this
 * namespace and moved there): the guest's MAC and IPv4 /24 with the VPC
 * gateway 172.30.0.1 as default route; with `v6`, its /128 and routes to the
 * VPC's fd00:1024::/64 through the gateway fd00:1024::1.
 */
export function guestNs(ns: string, tap: string, mac: string, v4: string, v6?: string): void {
  try { sh("ip", "netns", "del", ns); } catch { /* fresh */ }
  sh("ip", "netns", "add", ns);
  sh("ip", "link", "set", tap, "netns", ns);
  inNs(ns, "ip", "link", "set", "lo", "up");
  inNs(ns, "ip", "link", "set", tap, "address", mac);
  inNs(ns, "ip", "addr", "add", `${v4}/24`, "dev", tap);
  inNs(ns, "ip", "link", "set", tap, "up");
  inNs(ns, "ip", "route", "add", "default", "via", "172.30.0.1");
  if (v6) {
    inNs(ns, "ip", "-6", "addr", "add", `${v6}/128`, "dev", tap, "nodad");
    inNs(ns, "ip", "-6", "route", "add", "fd00:1024::1", "dev", tap);
    inNs(ns, "ip", "-6", "route", "add", "fd00:1024::/64", "via", "fd00:1024::1", "dev", tap);
  }
}
