// Which underlay sources a sled takes Geneve from. A sled's guests are
// reached only through the sleds its V2P mappings name, its multicast next
// hops, the peers its underlay driver was given, and boundary services (each
// port's boundary.underlay). A frame from any other outer source is someone
// on the underlay network speaking for a guest it does not host — with the
// `udp` driver, anyone who can send a datagram to port 6081 — so it is
// dropped and counted (underlayDrops.unknownSource) before the engine sees
// it. On by default with the `udp` driver (docs/sled-api.md "Underlay


import { ip16, ipText } from "../../layers/program/addr.js";

/** Where the source address sits in an underlay frame: Ethernet (14) + IPv6 source at byte 8. */
const SRC_AT = 14 + 8;

/** 16 address bytes as a map key. */
function keyOf(b: Uint8Array, at: number): string {
  let k = "";
  for (let i = 0; i < 16; i++) k += String.fromCharCode(b[at + i]);
  return k;
}

export class UnderlaySources {
  private known = new Set<string>();
  private builtAt = "";

  /** `addresses()`: every known source now, asked again whenever `version()` (the sled's generation, the driver's peers) moves. */
  constructor(private readonly addresses: () => Iterable<string>, private readonly version: () => string) {}

  /** Is the frame's outer IPv6 source a known sled or boundary services? */
  allows(f: Uint8Array): boolean {
    if (f.length < SRC_AT + 16) return false;
    const v = this.version();
    if (v !== this.builtAt) this.rebuild(v);
    return this.known.has(keyOf(f, SRC_AT));
  }

  /** The known sources as text (health). */
  list(): string[] {
    this.rebuild(this.version());
    return [...this.known].map((k) => ipText(Uint8Array.from(k, (c) => c.charCodeAt(0)))).sort();
  }

  private rebuild(v: string): void {
    const known = new Set<string>();
    for (const a of this.addresses()) {
      try { known.add(keyOf(ip16(a), 0)); } catch { /* not an address: nothing comes from it */ }
    }
    this.known = known;
    this.builtAt = v;
  }
}
