// The rack's underlay switch: one port per machine (a sled or the gateway),
// each a pair of vhost-style rings (hosts/io/ring.ts) shared with that
// machine's worker thread. It forwards Geneve frames by outer IPv6
// destination (the seed's sled addresses, fd00:1122:3344:<rack><sled>::1),
// a whole batch per wake-up and one doorbell per destination per batch, as
// the rack's switches do minus ECMP. A frame to an underlay multicast group
// (ff04::/16: multicast-to-physical mappings) is replicated as its Oxide
// Multicast option says: Underlay or Both, to every sled but the sender
// (each sled then delivers it to its member ports); External or Both, to the
// front-panel ports, which the rack in a box has none of (counted). The
// machine's end of a link is a RingDevice (its underlay NIC); the switch
// holds the far end, the way a guest holds its VNIC's.

import { createVnicRings, GuestRings, VnicRings } from "../io/ring-device.js";
import { ip16 } from "../../layers/program/addr.js";
import { toUnderlayGroup, replicationOf } from "../lib/underlay-frame.js";

/** Outer IPv6 destination: Ethernet 14 + IPv6 fixed header offset 24. */
const OUTER_DST = 14 + 24;

interface SwitchPort { name: string; address: Uint8Array; link: GuestRings; groups: boolean }

export interface SwitchCounters {
  /** frames delivered to a machine's ring */
  switched: number;
  /** frames whose outer destination no port owns */
  unroutable: number;
  /** frames the destination's ring had no room for */
  ringFull: number;
  /** copies made of underlay multicast frames (one per receiving sled) */
  replicated: number;
  /** multicast frames for the front panel (External or Both replication): the rack in a box has no such ports */
  frontPanel: number;
  /** multicast frames without a replication to follow (no Multicast option, or Reserved) */
  unreplicable: number;
}

export class UnderlaySwitch {
  readonly counters: SwitchCounters = { switched: 0, unroutable: 0, ringFull: 0, replicated: 0, frontPanel: 0, unreplicable: 0 };
  private readonly ports: SwitchPort[] = [];

  /** A port for the machine at `underlay`; hand the rings to its worker. `groups`: it receives underlay multicast (sleds do, boundary services not). */
  attach(name: string, underlay: string, groups = true): VnicRings {
    const rings = createVnicRings(2048, 2048);
    this.ports.push({ name, address: ip16(underlay), link: new GuestRings(rings), groups });
    return rings;
  }

  /** Start forwarding: each port's incoming batches go out by destination. */
  start(): void {
    for (const p of this.ports) p.link.onFrames((frames) => this.forward(p, frames));
  }

  private forward(from: SwitchPort, frames: Uint8Array[]): void {
    const byPort = new Map<SwitchPort, Uint8Array[]>();
    const add = (to: SwitchPort, f: Uint8Array) => { const list = byPort.get(to); if (list) list.push(f); else byPort.set(to, [f]); };
    for (const f of frames) {
      if (toUnderlayGroup(f)) {
        const r = replicationOf(f);
        if (r === "external" || r === "both") this.counters.frontPanel++;
        if (r === "underlay" || r === "both") {
          for (const p of this.ports) if (p !== from && p.groups) { add(p, f); this.counters.replicated++; }
        } else if (r !== "external") this.counters.unreplicable++;
        continue;
      }
      const to = this.portFor(f);
      if (!to) { this.counters.unroutable++; continue; }
      add(to, f);
    }
    for (const [to, list] of byPort) {
      const queued = to.link.send(list);
      this.counters.switched += queued;
      this.counters.ringFull += list.length - queued;
    }
  }

  /** A handful of ports: compare addresses directly. */
  private portFor(f: Uint8Array): SwitchPort | undefined {
    if (f.length < OUTER_DST + 16 || f[12] !== 0x86 || f[13] !== 0xdd) return undefined;
    next: for (const p of this.ports) {
      for (let i = 0; i < 16; i++) if (f[OUTER_DST + i] !== p.address[i]) continue next;
      return p;
    }
    return undefined;
  }

  close(): void { for (const p of this.ports) p.link.close(); }
}
