// Real `wopte sled` and `wopte gateway run` processes for the crash-safety
// test: started on a config and a state directory, reached over their unix
// socket, killed with SIGKILL; and what a client can see of each host's
// desired state, read back through its API alone.
import { call } from "../../hosts/cli/client.js";
export { startHost, kill9, bin } from "../helpers/host-process.js";
export type { HostProcess } from "../helpers/host-process.js";

const sorted = (xs: string[]) => [...xs].sort();

/** A sled's desired state as its API shows it, in a form to compare. */
export async function sledView(api: string) {
  const ports = await call<{ name: string; state: string }[]>(api, "GET", "/ports");
  const details = await Promise.all(ports.map(async (p) => {
    const d = await call<{ state: string; config: Record<string, unknown[]> & { externalIps?: { snat?: { firstPort: number } } } }>(api, "GET", `/ports/${p.name}`);
    return {
      name: p.name, state: d.state,
      firewall: sorted((d.config.firewall as { name: string }[] ?? []).map((r) => r.name)),
      routes: sorted((d.config.routes as { dest: string }[] ?? []).map((r) => r.dest)),
      multicast: sorted((d.config.multicast as { group: string; mode: string }[] ?? []).map((g) => `${g.group}:${g.mode}`)),
      snat: d.config.externalIps?.snat?.firstPort ?? null,
    };
  }));
  const v2p = await call<{ vni: number; ip: string; mac: string }[]>(api, "GET", "/v2p");
  const m2p = await call<{ group: string; underlay: string }[]>(api, "GET", "/m2p");
  const fwd = await call<{ underlay: string; nextHops: { nextHop: string; replication: string }[] }[]>(api, "GET", "/mcast/forwarding");
  return {
    ports: details.sort((a, b) => a.name.localeCompare(b.name)),
    v2p: sorted(v2p.map((m) => `${m.vni}/${m.ip}/${m.mac}`)),
    m2p: sorted(m2p.map((m) => `${m.group}>${m.underlay}`)),
    forwarding: sorted(fwd.map((e) => `${e.underlay}>${sorted(e.nextHops.map((h) => `${h.nextHop}:${h.replication}`)).join(",")}`)),
  };
}
export type SledView = Awaited<ReturnType<typeof sledView>>;

/** A gateway's desired state as its API shows it. */
export async function gatewayView(api: string) {
  const nat = await call<{ ip: string; firstPort: number; lastPort: number; sled: string; vni: number; mac: string }[]>(api, "GET", "/nat");
  return {
    nat: sorted(nat.map((m) => `${m.ip}/${m.firstPort}-${m.lastPort}>${m.sled}/${m.vni}/${m.mac}`)),
    advertised: await call<string[]>(api, "GET", "/advertised"),
  };
}
export type GatewayView = Awaited<ReturnType<typeof gatewayView>>;

/** A small seeded generator (mulberry32): a failing round is replayed from its seed. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] };
}
