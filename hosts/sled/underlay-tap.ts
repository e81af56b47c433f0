// The `tap` underlay driver: raw Ethernet frames on one TAP device per
// underlay NIC (the seed's two NICs, one to each switch). The engine's outer
// headers go out as they are, with the destination MAC of the chosen next
// hop: flows are spread over the live next hops by the outer UDP source port
// (the engine's flow hash, so ECMP keeps a flow on one path), and traffic
// fails over when a next hop stops answering neighbor discovery. The driver
// answers neighbor solicitations for the sled's underlay address itself.

import { TapDevice } from "../io/tap.js";
import { ip16, ipText, macBytes, parseMac } from "../../layers/program/addr.js";
import { csum } from "../lib/frames.js";
import type { UnderlayDriver } from "./underlay.js";
import { Logger, silentLogger } from "../lib/log.js";

export interface TapNic {
  /** TAP interface name (created if missing). */
  tap: string;
  /** The next hop's IPv6 address on this link (a switch, or a peer on the same segment). */
  nextHop: string;
}

export interface TapUnderlayOptions {
  address: string;     // this sled's underlay address
  mac: string;         // our MAC on every NIC
  nics: TapNic[];
  /** Neighbor discovery probe interval; a next hop is down after 3 unanswered probes. */
  probeMs?: number;
  /** Where next hops going up and down are told. */
  log?: Logger;
}

interface Path {
  nic: TapNic; dev: TapDevice; mac: Uint8Array | undefined; lastSeen: number; up: boolean; tx: number;
  /** probes that went out (were queued) since the next hop last answered */
  unanswered: number;
}

const GENEVE = 6081;

/** Solicited-node multicast address of an IPv6 address (RFC 4291 §2.7.1). */
function solicitedNode(a: Uint8Array): Uint8Array {
  const s = ip16("ff02::1:ff00:0");
  s[13] = a[13]; s[14] = a[14]; s[15] = a[15];
  return s;
}

/** An ICMPv6 neighbor solicitation or advertisement frame. */
function ndpFrame(type: 135 | 136, srcMac: Uint8Array, dstMac: Uint8Array, src: Uint8Array, dst: Uint8Array, target: Uint8Array, flags = 0): Uint8Array {
  const icmp = new Uint8Array(32);
  icmp[0] = type;
  icmp[4] = flags;
  icmp.set(target, 8);
  icmp[24] = type === 135 ? 1 : 2; icmp[25] = 1; icmp.set(srcMac, 26); // source/target link-layer address option
  const pseudo = new Uint8Array(40 + icmp.length);
  pseudo.set(src, 0); pseudo.set(dst, 16); pseudo[35] = icmp.length; pseudo[39] = 58; pseudo.set(icmp, 40);
  const c = csum(pseudo);
  icmp[2] = c >> 8; icmp[3] = c & 0xff;
  const f = new Uint8Array(14 + 40 + icmp.length);
  f.set(dstMac, 0); f.set(srcMac, 6); f[12] = 0x86; f[13] = 0xdd;
  f[14] = 0x60; f[19] = icmp.length; f[20] = 58; f[21] = 255;
  f.set(src, 22); f.set(dst, 38); f.set(icmp, 54);
  return f;
}

const eq = (a: Uint8Array, b: Uint8Array, off = 0) => b.every((x, i) => a[off + i] === x);
const macString = (m: Uint8Array) => [...m].map((x) => x.toString(16).padStart(2, "0")).join(":");

export class TapUnderlay implements UnderlayDriver {
  private cb: ((frames: Uint8Array[]) => void) | undefined;
  private readonly paths: Path[];
  private readonly self: Uint8Array;
  private readonly mac: Uint8Array;
  private readonly timer: NodeJS.Timeout;
  private readonly counters = { tx: 0, rx: 0, txErrors: 0, rxErrors: 0 };
  private live: Path[] = [];
  private readonly log: Logger;

  constructor(private readonly o: TapUnderlayOptions) {
    this.log = (o.log ?? silentLogger()).child({ underlay: "tap" });
    this.self = ip16(o.address);
    this.mac = macBytes(o.mac);
    this.paths = o.nics.map((nic) => ({ nic, dev: TapDevice.open(nic.tap), mac: undefined, lastSeen: 0, up: false, tx: 0, unanswered: 0 }));
    for (const p of this.paths) p.dev.onFrames((frames) => this.receive(p, frames));
    const every = o.probeMs ?? 500;
    this.timer = setInterval(() => this.probe(), every);
    this.timer.unref();
    this.probe();
  }

  /**
   * Solicit every next hop; one that has not answered three probes that
   * actually went out is down. A probe the NIC's full transmit ring refused
   * says nothing about the next hop: under load, counting it took a healthy
   * path down and refused every frame until a probe got through.
   */
  private probe(): void {
    for (const p of this.paths) {
      const up = p.mac !== undefined && p.unanswered < 3;
      if (p.up && !up) this.log.warn({ tap: p.nic.tap, nextHop: p.nic.nextHop, unanswered: p.unanswered }, "underlay next hop down");
      p.up = up;
      const target = ip16(p.nic.nextHop);
      const dstMac = new Uint8Array([0x33, 0x33, 0xff, target[13], target[14], target[15]]);
      if (p.dev.send([ndpFrame(135, this.mac, dstMac, this.self, solicitedNode(target), target)]) === 1) p.unanswered++;
    }
    this.refreshLive();
  }

  private receive(p: Path, frames: Uint8Array[]): void {
    const deliver: Uint8Array[] = [];
    for (const f of frames) {
      if (f.length < 54 || f[12] !== 0x86 || f[13] !== 0xdd) continue;
      const next = f[20];
      if (next === 58 && f.length >= 54 + 24) {
        const type = f[54];
        if (type === 136 && eq(f, ip16(p.nic.nextHop), 62)) {
          // an advertisement from our next hop: learn (or refresh) its MAC
          p.mac = f.length >= 54 + 32 && f[78] === 2 ? f.slice(80, 86) : f.slice(6, 12);
          p.lastSeen = Date.now();
          p.unanswered = 0;
          if (!p.up) {
            p.up = true;
            this.log.info({ tap: p.nic.tap, nextHop: p.nic.nextHop, mac: macString(p.mac) }, "underlay next hop up");
            this.refreshLive();
          }
        } else if (type === 135 && eq(f, this.self, 62)) {
          // someone asks for our underlay address
          p.dev.send([ndpFrame(136, this.mac, f.slice(6, 12), this.self, f.slice(22, 38), this.self, 0x60)]);
        }
        continue;
      }
      if (next === 17 && f.length >= 70 && eq(f, this.self, 38) && ((f[56] << 8) | f[57]) === GENEVE) {
        this.counters.rx++;
        deliver.push(f);
      }
    }
    if (deliver.length) this.cb?.(deliver);
  }

  onFrames(cb: (frames: Uint8Array[]) => void): void { this.cb = cb; }

  send(frames: Uint8Array[]): void {
    for (const f of frames) this.stage(f, 0, f.length);
    this.commit();
  }

  /** Queue one frame on the next hop its flow hashes to, rewriting its outer MACs in place. */
  stage(buf: Uint8Array, off: number, len: number): void {
    const live = this.live;
    if (live.length === 0 || len < 58) { this.counters.txErrors++; return; }
    // ECMP: the outer UDP source port carries the flow hash
    const p = live[((buf[off + 54] << 8) | buf[off + 55]) % live.length];
    // an underlay group keeps the group MAC the engine derived (RFC 2464); the switch replicates it
    if (buf[off + 38] !== 0xff) buf.set(p.mac!, off);
    buf.set(this.mac, off + 6);
    if (!p.dev.stage(buf, off, len)) { this.counters.txErrors++; return; }
    p.tx++;
    this.counters.tx++;
  }

  commit(): void { for (const p of this.paths) p.dev.commit(); }

  /** The next hops that are up, in NIC order (kept current so staging allocates nothing). */
  private refreshLive(): void {
    const had = this.live.length;
    this.live = this.paths.filter((p) => p.up && p.mac);
    if (had && !this.live.length) this.log.error({ nics: this.paths.length }, "no underlay next hop is up: frames to other sleds are refused");
  }

  /** Per next hop: is it up, and how many frames went its way. */
  paths_(): { tap: string; nextHop: string; mac?: string; up: boolean; tx: number }[] {
    return this.paths.map((p) => ({ tap: p.nic.tap, nextHop: ipText(ip16(p.nic.nextHop)), mac: p.mac ? macString(p.mac) : undefined, up: p.up, tx: p.tx }));
  }

  stats() { return { ...this.counters }; }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const p of this.paths) p.dev.close();
  }
}

export const _mac = parseMac;
