// Sled hosts in this process for end-to-end tests: each with a `udp`
// underlay socket on ::1, and every sled a peer of every other, so Geneve
// between them crosses the kernel's loopback.
import { SledHost } from "../../hosts/sled/sled.js";
import { UdpUnderlay } from "../../hosts/sled/underlay.js";

export interface LoopbackSled { name: string; addr: string; u: UdpUnderlay; h: SledHost }

export async function loopbackSleds(list: [name: string, underlay: string][]): Promise<LoopbackSled[]> {
  const sleds = await Promise.all(list.map(async ([name, addr]) => {
    const u = await UdpUnderlay.open({ address: addr, bind: { host: "::1", port: 0 }, localMac: "02:08:20:01:01:01", nextHopMac: "02:08:20:ff:ff:01" });
    return { name, addr, u, h: await SledHost.create({ name, underlay: u, underlayAddress: addr }) };
  }));
  for (const x of sleds) for (const y of sleds) if (x !== y) x.u.addPeer(y.addr, `[::1]:${y.u.boundPort}`);
  return sleds;
}
