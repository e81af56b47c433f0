// Sleds for OPTE's multicast scenarios (its xde-tests run zones on one
// machine: two or three ports, dual-stack, firewalls open, multicast sent
// with netcat to UDP 9999). Here: guests web-1… on sled hosts, each a
// dual-stack VPC port whose firewall lets UDP 9999 in, a memory device per
// guest, and frames built as a guest's IP stack sends them (to the group's
// MAC, RFC 1112/2464).
import { SledHost } from "../../hosts/sled/sled.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { ForwardingEntry } from "../../hosts/sled/multicast.js";
import { groupMac } from "../../layers/vpc/multicast.js";
import { isV4 } from "../../layers/program/addr.js";
import { examplePortJson } from "./example-port.js";
import { MemoryUnderlay } from "./memory-underlay.js";
import { loopbackSleds } from "./loopback-sleds.js";
import { ipFrame, udp } from "./frames.js";

export const SLED_1 = "fd00:1122:3344:101::1", SLED_2 = "fd00:1122:3344:102::1";
export const MCAST_PORT = 9999;

export interface Guest { name: string; mac: string; ipv4: string; ipv6: string; dev: MemoryDevice }

/** Guest n (1-9) on `sled`: web-n, a8:40:25:f0:00:0n, 172.30.0.n, fd00:1024::n. */
export async function addGuest(sled: SledHost, n: number): Promise<Guest> {
  const g = { name: `web-${n}`, mac: `a8:40:25:f0:00:0${n}`, ipv4: `172.30.0.${n}`, ipv6: `fd00:1024::${n}`, dev: new MemoryDevice(`web-${n}`) };
  const c = examplePortJson();
  Object.assign(c, { name: g.name, guest: { mac: g.mac, ipv4: g.ipv4, ipv6: g.ipv6 }, multicast: [] });
  c.sled.underlay = sled.underlayAddress;
  c.firewall.push({ name: "mcast-in", direction: "in", action: "allow", protocols: ["udp"], ports: [MCAST_PORT] });
  await sled.addPort(c, g.dev);
  return g;
}

/** One sled whose underlay the test holds, with guests 1…n (OPTE's two- and three-node topologies). */
export async function memorySled(n: number): Promise<{ sled: SledHost; u: MemoryUnderlay; guests: Guest[] }> {
  const u = new MemoryUnderlay();
  const sled = await SledHost.create({ name: "sled-1", underlay: u, underlayAddress: SLED_1 });
  const guests: Guest[] = [];
  for (let i = 1; i <= n; i++) guests.push(await addGuest(sled, i));
  return { sled, u, guests };
}

/** Two sleds on the udp underlay over ::1, each the other's peer (the driver replicates Underlay copies as the switches do). */
export async function twoSleds(): Promise<[SledHost, SledHost]> {
  const [a, b] = await loopbackSleds([["sled-1", SLED_1], ["sled-2", SLED_2]]);
  return [a.h, b.h];
}

/** UDP from guest `g` to `group` (its own address of the group's family), as netcat sends it. */
export function toGroup(g: Guest, group: string, payload = "multicast test"): Uint8Array {
  const src = isV4(group) ? g.ipv4 : g.ipv6;
  return ipFrame(groupMac(group), g.mac, src, group, 17, udp(src, group, 40000, MCAST_PORT, new TextEncoder().encode(payload)));
}

/** A forwarding entry, with the API's defaults filled in. */
export const forwarding = (underlay: string, nextHops: { nextHop: string; replication: string; sourceFilter?: { mode: string; sources: string[] } }[]) =>
  ForwardingEntry.parse({ underlay, nextHops });

/** Everything queued has gone through (the memory devices and underlay are synchronous). */
export const settled = () => new Promise((r) => setImmediate(r));

/** Wait for a condition with a generous deadline. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}


/** A port's drops of one reason. */
export const drops = (sled: SledHost, port: string, reason: string) => sled.stats(port).counters.drops[reason] ?? 0;
