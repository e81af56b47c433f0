// Reading the Oxide underlay frames hosts move between engines and the
// rack's links: Ethernet, IPv6, UDP to 6081, Geneve (RFC 8926) with Oxide
// options, then the guest's frame (docs/abi.md). The one place hosts read
// those bytes; writing them is the engine's (engine/packet/), hosts change no
// header. Frames come off the network, so every length is checked and a
// malformed frame answers undefined, never throws.

import { ipText } from "../../layers/program/addr.js";

/** Ethernet (no VLAN tag), IPv6 and UDP in front of the Geneve header. */
export const OUTER_LEN = 14 + 40 + 8;
const OUTER_DST = 14 + 24;
const GENEVE_LEN = 8;
const OXIDE_CLASS = 0x0129;
const OXIDE_MULTICAST = 0x01;

/** How the rack's switches replicate a multicast copy: the Oxide Multicast option's top 2 bits. */
export const REPLICATION = ["external", "underlay", "both", "reserved"] as const;
export type Replication = (typeof REPLICATION)[number];

function isGeneve(f: Uint8Array): boolean {
  return f.length >= OUTER_LEN + GENEVE_LEN && f[12] === 0x86 && f[13] === 0xdd && f[20] === 17 &&
    ((f[56] << 8) | f[57]) === 6081 && OUTER_LEN + GENEVE_LEN + (f[OUTER_LEN] & 0x3f) * 4 <= f.length;
}

/**
 * Is the outer IPv6 destination of the frame at [at, at + len) of `f` a
 * multicast group (ff00::/8): a copy the switches replicate? (Offsets rather
 * than a view: the sled asks this of every frame it sends.)
 */
export function toUnderlayGroup(f: Uint8Array, at = 0, len = f.length - at): boolean {
  return len >= OUTER_DST + 16 && f[at + 12] === 0x86 && f[at + 13] === 0xdd && f[at + OUTER_DST] === 0xff;
}

/** The outer IPv6 destination, canonical text. */
export function outerDestination(f: Uint8Array): string | undefined {
  return f.length >= OUTER_DST + 16 && f[12] === 0x86 && f[13] === 0xdd ? ipText(f.subarray(OUTER_DST, OUTER_DST + 16)) : undefined;
}

/** The Geneve VNI and where the guest's frame starts (after the options). */
export function geneveOf(f: Uint8Array): { vni: number; inner: number } | undefined {
  if (!isGeneve(f)) return undefined;
  const vni = (f[OUTER_LEN + 4] << 16) | (f[OUTER_LEN + 5] << 8) | f[OUTER_LEN + 6];
  return { vni, inner: OUTER_LEN + GENEVE_LEN + (f[OUTER_LEN] & 0x3f) * 4 };
}

/** The replication mode of the frame's Oxide Multicast option; undefined without one. */
export function replicationOf(f: Uint8Array): Replication | undefined {
  const g = geneveOf(f);
  if (!g) return undefined;
  let at = OUTER_LEN + GENEVE_LEN;
  while (at + 4 <= g.inner) {
    const body = (f[at + 3] & 0x1f) * 4;
    if (at + 4 + body > g.inner) return undefined;
    if (((f[at] << 8) | f[at + 1]) === OXIDE_CLASS && (f[at + 2] & 0x7f) === OXIDE_MULTICAST && body >= 4) return REPLICATION[f[at + 4] >> 6];
    at += 4 + body;
  }
  return undefined;
}

const dotted = (f: Uint8Array, at: number) => `${f[at]}.${f[at + 1]}.${f[at + 2]}.${f[at + 3]}`;

/** The guest frame's IP source and destination (canonical text), at most one 802.1Q tag. */
export function innerAddresses(f: Uint8Array): { src: string; dst: string } | undefined {
  const g = geneveOf(f);
  if (!g || f.length < g.inner + 14) return undefined;
  let l3 = g.inner + 14;
  let type = (f[g.inner + 12] << 8) | f[g.inner + 13];
  if (type === 0x8100) {
    l3 += 4;
    if (f.length < l3) return undefined;
    type = (f[l3 - 2] << 8) | f[l3 - 1];
  }
  if (type === 0x0800 && f.length >= l3 + 20 && f[l3] >> 4 === 4) return { src: dotted(f, l3 + 12), dst: dotted(f, l3 + 16) };
  if (type === 0x86dd && f.length >= l3 + 40 && f[l3] >> 4 === 6) return { src: ipText(f.subarray(l3 + 8, l3 + 24)), dst: ipText(f.subarray(l3 + 24, l3 + 40)) };
  return undefined;
}

/** The guest frame's destination when it is an IP multicast group; undefined for anything else. */
export function innerGroupOf(f: Uint8Array): string | undefined {
  const a = innerAddresses(f);
  if (!a) return undefined;
  const first = a.dst.includes(":") ? a.dst.startsWith("ff") : (Number(a.dst.split(".")[0]) & 0xf0) === 0xe0;
  return first ? a.dst : undefined;
}
