// The changes the crash-safety test streams at a host: each a request that
// the host accepts in the state `model` describes, and what it does to that
// state (as sledView/gatewayView show it). Chosen at random from what is
// valid: rules, rule sets, routes and SNAT blocks on running ports, pausing
// and resuming, ports made and removed, V2P and M2P mappings, group joins and
// leaves, forwarding entries; NAT mappings and advertised ranges.
import type { SledView, GatewayView, random } from "./hosts.js";

export interface Change<V> { method: string; path: string; body?: unknown; apply: (model: V) => V }

type R = ReturnType<typeof random>;
type PortView = SledView["ports"][number];

const sortedAdd = (xs: string[], x: string) => [...xs.filter((y) => y !== x), x].sort();
const without = (xs: string[], x: string) => xs.filter((y) => y !== x);

/** A change to one port of `m` (replaced by `edit` of it). */
function onPort(m: SledView, name: string, edit: (p: PortView) => PortView): SledView {
  return { ...m, ports: m.ports.map((p) => (p.name === name ? edit(structuredClone(p)) : p)) };
}

export function sledChange(r: R, m: SledView, n: number, example: Record<string, unknown>): Change<SledView> {
  const running = m.ports.filter((p) => p.state === "running");
  const options: (() => Change<SledView> | undefined)[] = [
    () => {
      const p = r.pick(running); if (!p) return;
      const rule = { name: `r${n}`, direction: "in", action: "allow", protocols: ["tcp"], ports: [1000 + (n % 60000)] };
      return { method: "POST", path: `/ports/${p.name}/firewall`, body: rule, apply: (x) => onPort(x, p.name, (q) => ({ ...q, firewall: sortedAdd(q.firewall, rule.name) })) };
    },
    () => {
      const p = r.pick(running.filter((q) => q.firewall.length)); if (!p) return;
      const name = r.pick(p.firewall);
      return { method: "DELETE", path: `/ports/${p.name}/firewall/${encodeURIComponent(name)}`, apply: (x) => onPort(x, p.name, (q) => ({ ...q, firewall: without(q.firewall, name) })) };
    },
    () => {
      // the whole set at once: after a crash it is the old set or the new one, never a mix
      const p = r.pick(running); if (!p) return;
      const rules = [0, 1, 2].map((i) => ({ name: `s${n}-${i}`, direction: i ? "out" : "in", action: "allow", protocols: ["udp"], ports: [2000 + i] }));
      return { method: "PUT", path: `/ports/${p.name}/firewall`, body: rules, apply: (x) => onPort(x, p.name, (q) => ({ ...q, firewall: rules.map((y) => y.name).sort() })) };
    },
    () => {
      const p = r.pick(running); if (!p) return;
      const dest = `10.${r.int(4)}.${r.int(4)}.0/24`;
      return { method: "POST", path: `/ports/${p.name}/routes`, body: { dest, target: { type: "drop" } }, apply: (x) => onPort(x, p.name, (q) => ({ ...q, routes: sortedAdd(q.routes, dest) })) };
    },
    () => {
      const p = r.pick(running.filter((q) => q.routes.length)); if (!p) return;
      const dest = r.pick(p.routes);
      return { method: "DELETE", path: `/ports/${p.name}/routes?dest=${encodeURIComponent(dest)}`, apply: (x) => onPort(x, p.name, (q) => ({ ...q, routes: without(q.routes, dest) })) };
    },
    () => {
      const p = r.pick(running); if (!p) return;
      const firstPort = 1024 * (1 + r.int(60));
      return { method: "PUT", path: `/ports/${p.name}/external-ips`, body: { snat: { ip: "198.51.100.7", firstPort, lastPort: firstPort + 1023 }, floating: [] },
        apply: (x) => onPort(x, p.name, (q) => ({ ...q, snat: firstPort })) };
    },
    () => {
      const p = r.pick(m.ports); if (!p) return;
      const state = p.state === "running" ? "paused" : "running";
      return { method: "PUT", path: `/ports/${p.name}/state`, body: { state }, apply: (x) => onPort(x, p.name, (q) => ({ ...q, state })) };
    },
    () => {
      if (m.ports.length >= 4) return;
      const k = 10 + (n % 80);
      const name = `web-${k}`;
      if (m.ports.some((p) => p.name === name)) return;
      const guest = { mac: `a8:40:25:f1:00:${k.toString(16).padStart(2, "0")}`, ipv4: `172.30.0.${k}`, ipv6: `fd00:1024::${k.toString(16)}` };
      const ex = example as { firewall?: { name: string }[]; routes?: { dest: string }[]; externalIps?: { snat?: { firstPort: number } } };
      const fresh: PortView = { name, state: "running", firewall: (ex.firewall ?? []).map((x) => x.name).sort(), routes: (ex.routes ?? []).map((x) => x.dest).sort(),
        multicast: [], snat: ex.externalIps?.snat?.firstPort ?? null };
      return { method: "POST", path: "/ports", body: { config: { ...example, name, guest } },
        apply: (x) => ({ ...x, ports: [...x.ports, fresh].sort((a, b) => a.name.localeCompare(b.name)) }) };
    },
    () => {
      if (m.ports.length <= 1) return;
      const p = r.pick(m.ports);
      return { method: "DELETE", path: `/ports/${p.name}`, apply: (x) => ({ ...x, ports: x.ports.filter((q) => q.name !== p.name) }) };
    },
    () => {
      const ip = `172.31.${r.int(3)}.${1 + r.int(5)}`, mac = `a8:40:25:f2:00:${(n % 256).toString(16).padStart(2, "0")}`;
      return { method: "PUT", path: "/v2p", body: { vni: 5000, ip, mac, underlay: "fd00:1122:3344:109::1" },
        apply: (x) => ({ ...x, v2p: [...x.v2p.filter((e) => !e.startsWith(`5000/${ip}/`)), `5000/${ip}/${mac}`].sort() }) };
    },
    () => {
      const e = r.pick(m.v2p.filter((x) => x.startsWith("5000/"))); if (!e) return;
      const ip = e.split("/")[1];
      return { method: "DELETE", path: `/v2p/5000/${ip}`, apply: (x) => ({ ...x, v2p: x.v2p.filter((y) => y !== e) }) };
    },
    () => {
      const k = 1 + r.int(4);
      const group = `239.9.0.${k}`, underlay = `ff04::9:${k}`;
      return { method: "PUT", path: "/m2p", body: { group, underlay }, apply: (x) => ({ ...x, m2p: [...x.m2p.filter((e) => !e.startsWith(`${group}>`)), `${group}>${underlay}`].sort() }) };
    },
    () => {
      const e = r.pick(m.m2p.filter((x) => x.startsWith("239.9."))); if (!e) return;
      const group = e.split(">")[0];
      return { method: "DELETE", path: `/m2p/${group}`, apply: (x) => ({ ...x, m2p: x.m2p.filter((y) => y !== e) }) };
    },
    () => {
      const p = r.pick(running); const e = r.pick(m.m2p.filter((x) => x.startsWith("239.9."))); if (!p || !e) return;
      const group = e.split(">")[0];
      return { method: "POST", path: `/ports/${p.name}/multicast`, body: { group, mode: "exclude", sources: [] },
        apply: (x) => onPort(x, p.name, (q) => ({ ...q, multicast: sortedAdd(q.multicast, `${group}:exclude`) })) };
    },
    () => {
      const p = r.pick(running.filter((q) => q.multicast.length)); if (!p) return;
      const g = r.pick(p.multicast).split(":")[0];
      return { method: "DELETE", path: `/ports/${p.name}/multicast/${g}`, apply: (x) => onPort(x, p.name, (q) => ({ ...q, multicast: q.multicast.filter((y) => !y.startsWith(`${g}:`)) })) };
    },
    () => {
      const underlay = `ff04::9:${1 + r.int(3)}`, hop = `fd00:1122:3344:1::${1 + r.int(3)}`, replication = r.pick(["external", "underlay", "both"]);
      return { method: "PUT", path: "/mcast/forwarding", body: { underlay, nextHops: [{ nextHop: hop, replication }] }, apply: (x) => {
        const now = x.forwarding.find((e) => e.startsWith(`${underlay}>`));
        const hops = now ? now.slice(underlay.length + 1).split(",").filter((h) => !h.startsWith(`${hop}:`)) : [];
        const entry = `${underlay}>${[...hops, `${hop}:${replication}`].sort().join(",")}`;
        return { ...x, forwarding: [...x.forwarding.filter((e) => e !== now), entry].sort() };
      } };
    },
    () => {
      const e = r.pick(m.forwarding); if (!e) return;
      const underlay = e.split(">")[0];
      return { method: "DELETE", path: `/mcast/forwarding/${underlay}`, apply: (x) => ({ ...x, forwarding: x.forwarding.filter((y) => y !== e) }) };
    },
  ];
  for (;;) {
    const c = r.pick(options)();
    if (c) return c;
  }
}

const ADVERTISABLE = ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/25", "2001:db8:1::/48", "2001:db8:2::/48"];

export function gatewayChange(r: R, m: GatewayView, n: number): Change<GatewayView> {
  const options: (() => Change<GatewayView> | undefined)[] = [
    () => {
      // blocks of 4096 ports: a block put again is replaced (or, identical, changes nothing)
      const ip = `198.51.100.${20 + r.int(4)}`, first = 4096 * r.int(16), last = first + 4095;
      const target = { sled: `fd00:1122:3344:10${1 + r.int(3)}::1`, vni: 1024 + r.int(3), mac: `a8:40:25:f0:00:${(n % 256).toString(16).padStart(2, "0")}` };
      const entry = `${ip}/${first}-${last}>${target.sled}/${target.vni}/${target.mac}`;
      return { method: "PUT", path: `/nat/${ip}/${first}/${last}`, body: target,
        apply: (x) => ({ ...x, nat: [...x.nat.filter((e) => !e.startsWith(`${ip}/${first}-`)), entry].sort() }) };
    },
    () => {
      const e = r.pick(m.nat); if (!e) return;
      const [ip, range] = e.split("/");
      return { method: "DELETE", path: `/nat/${ip}/${range.split("-")[0]}`, apply: (x) => ({ ...x, nat: x.nat.filter((y) => y !== e) }) };
    },
    () => {
      const list = ADVERTISABLE.filter(() => r.next() < 0.5);
      return { method: "PUT", path: "/advertised", body: list, apply: (x) => ({ ...x, advertised: list }) };
    },
  ];
  for (;;) {
    const c = r.pick(options)();
    if (c) return c;
  }
}

/**
 * Changes to send at once, that commute (no two touch the same thing, each
 * changes something): after a crash any subset of them may be there, and
 * each that is there is there whole. Several changes in flight together are
 * written together (group commit).
 */
export function sledBurst(r: R, m: SledView, n: number): Change<SledView>[] {
  const running = m.ports.filter((p) => p.state === "running");
  return Array.from({ length: 2 + r.int(3) }, (_, i): Change<SledView> => {
    const k = (n + i) % 250;
    const p = r.pick(running);
    if (p && r.next() < 0.5) {
      const rule = { name: `b${n}-${i}`, direction: "out", action: "deny", protocols: ["udp"], ports: [3000 + i] };
      return { method: "POST", path: `/ports/${p.name}/firewall`, body: rule, apply: (x) => onPort(x, p.name, (q) => ({ ...q, firewall: sortedAdd(q.firewall, rule.name) })) };
    }
    const ip = `172.31.9.${k}`, mac = "a8:40:25:f3:00:01";
    return { method: "PUT", path: "/v2p", body: { vni: 5001, ip, mac, underlay: "fd00:1122:3344:109::1" },
      apply: (x) => ({ ...x, v2p: [...x.v2p.filter((e) => !e.startsWith(`5001/${ip}/`)), `5001/${ip}/${mac}`].sort() }) };
  }).filter((c, i, all) => all.findIndex((d) => d.path === c.path && JSON.stringify(d.body) === JSON.stringify(c.body)) === i);
}

export function gatewayBurst(r: R, m: GatewayView, n: number): Change<GatewayView>[] {
  return Array.from({ length: 2 + r.int(3) }, (_, i): Change<GatewayView> => {
    const ip = `198.51.100.${100 + ((n + i) % 100)}`, first = 4096 * (n % 16), last = first + 4095;
    const target = { sled: "fd00:1122:3344:101::1", vni: 2000 + (n % 1000), mac: "a8:40:25:f4:00:01" };
    const entry = `${ip}/${first}-${last}>${target.sled}/${target.vni}/${target.mac}`;
    return { method: "PUT", path: `/nat/${ip}/${first}/${last}`, body: target,
      apply: (x) => ({ ...x, nat: [...x.nat.filter((e) => !e.startsWith(`${ip}/${first}-`)), entry].sort() }) };
  }).filter((c) => !m.nat.some((e) => e.startsWith(c.path.split("/").slice(2, 4).join("/") + "-")));
}
