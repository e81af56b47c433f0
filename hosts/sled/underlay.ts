// The underlay: Geneve over IPv6 UDP 6081 between sleds and boundary services.
//
// The `udp` driver uses a kernel UDP socket bound to the sled's underlay
// address: the engine's outer Ethernet/IPv6/UDP headers are checked and
// stripped on send (the kernel builds its own) and rebuilt on receive, so the
// engine always sees whole frames. For development without root, `peers` maps
// underlay addresses to loopback sockets, so several sleds can share ::1.
// The kernel picks one source port per socket, so ECMP entropy from the outer
// source port is lost with this driver (the `tap` driver keeps it). With
// peers, the driver stands in for the rack's switches for a frame to an
// underlay multicast group: every peer gets it when its Oxide Multicast option
// asks for Underlay or Both replication, none when it asks for External only
// (front-panel ports, which this driver has not: counted in notReplicated).
// Without peers it goes to the group address, but the driver joins no groups,
// so it receives none.

import { createSocket, Socket, RemoteInfo } from "node:dgram";
import { ip16, ipText } from "../../layers/program/addr.js";
import { Logger, Throttled, silentLogger } from "../lib/log.js";
import { toUnderlayGroup, replicationOf } from "../lib/underlay-frame.js";

export const GENEVE_PORT = 6081;
export const OUTER_LEN = 14 + 40 + 8; // Ethernet + IPv6 + UDP before the Geneve header

export interface UnderlayDriver {
  /** Send whole frames the engine emitted (outer Ethernet/IPv6/UDP/Geneve + inner). */
  send(frames: Uint8Array[]): void;
  /**
   * Optional copy-free path: take frame [off, off+len) of `buf` (engine memory,
   * valid only during the call; the driver may rewrite its outer MACs in place),
   * and send everything staged at `commit`.
   */
  stage?(buf: Uint8Array, off: number, len: number): void;
  commit?(): void;
  onFrames(cb: (frames: Uint8Array[]) => void): void;
  close(): Promise<void>;
  stats(): { tx: number; rx: number; txErrors: number; rxErrors: number };
  /** Underlay addresses the driver was told of (the `udp` driver's peers): sources a sled takes Geneve from. */
  peerAddresses?(): string[];
  /** Moves whenever peerAddresses() changes. */
  peersVersion?(): number;
}

export interface UdpUnderlayOptions {
  /** This sled's underlay IPv6 address (bound unless `bind` says otherwise). */
  address: string;
  /** Bind address and port; default [address]:6081. */
  bind?: { host: string; port: number };
  /** Underlay address → "host:port" to reach it (development on one machine). */
  peers?: Record<string, string>;
  /** MACs used in the rebuilt outer Ethernet header. */
  localMac: string;
  nextHopMac: string;
  /** Where the driver says what happened: bound, peers, socket errors (throttled). */
  log?: Logger;
}

function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(s);
  if (!m) throw new Error(`expected host:port, got ${s}`);
  return { host: m[1], port: Number(m[2]) };
}

export class UdpUnderlay implements UnderlayDriver {
  private readonly sock: Socket;
  private cb: ((frames: Uint8Array[]) => void) | undefined;
  private readonly local: Uint8Array;
  private readonly peers = new Map<string, { host: string; port: number }>();
  private readonly reverse = new Map<string, string>();
  /** notReplicated: group frames no peer takes (External replication, no Multicast option) */
  private readonly counters = { tx: 0, rx: 0, txErrors: 0, rxErrors: 0, notReplicated: 0 };
  private readonly macs: Uint8Array;
  private pending: Uint8Array[] = [];
  private flushQueued = false;
  private readonly log: Logger;
  private readonly warn: Throttled;

  private constructor(private readonly o: UdpUnderlayOptions) {
    this.log = (o.log ?? silentLogger()).child({ underlay: "udp" });
    this.warn = new Throttled(this.log);
    this.local = ip16(o.address);
    for (const [addr, hp] of Object.entries(o.peers ?? {})) this.addPeer(addr, hp);
    this.macs = new Uint8Array(12);
    this.macs.set(Buffer.from(o.localMac.replace(/:/g, ""), "hex"), 0);
    this.macs.set(Buffer.from(o.nextHopMac.replace(/:/g, ""), "hex"), 6);
    this.sock = createSocket({ type: "udp6", reuseAddr: false });
    this.sock.on("message", (msg, rinfo) => this.receive(msg, rinfo));
    this.sock.on("error", (err) => { this.counters.rxErrors++; this.warn.warn("socket", { err }, "underlay socket error"); });
  }

  static async open(o: UdpUnderlayOptions): Promise<UdpUnderlay> {
    const u = new UdpUnderlay(o);
    const b = o.bind ?? { host: o.address, port: GENEVE_PORT };
    await new Promise<void>((resolve, reject) => {
      u.sock.once("error", reject);
      u.sock.bind(b.port, b.host, () => { u.sock.off("error", reject); resolve(); });
    });
    u.log.info({ address: o.address, bind: `[${b.host}]:${u.boundPort}`, peers: Object.keys(o.peers ?? {}).length }, "underlay up");
    return u;
  }

  /** Reach underlay address `address` at "host:port" (a peer sled sharing this machine). */
  addPeer(address: string, hostPort: string): void {
    const t = parseHostPort(hostPort);
    this.peersChanged++;
    this.peers.set(ipText(ip16(address)), t);
    this.reverse.set(`${t.host}|${t.port}`, ipText(ip16(address)));
    this.log.debug({ peer: ipText(ip16(address)), at: hostPort }, "underlay peer");
  }

  get boundPort(): number { return this.sock.address().port; }
  private peersChanged = 0;
  peerAddresses(): string[] { return [...this.peers.keys()]; }
  peersVersion(): number { return this.peersChanged; }

  onFrames(cb: (frames: Uint8Array[]) => void): void { this.cb = cb; }

  send(frames: Uint8Array[]): void {
    for (const f of frames) this.sendOne(f, 0, f.length, false);
  }

  /** The frame is engine memory: the datagram is copied out, as the socket sends it later. */
  stage(buf: Uint8Array, off: number, len: number): void { this.sendOne(buf, off, len, true); }

  private sendOne(f: Uint8Array, off: number, len: number, copy: boolean): void {
    // outer Ethernet type IPv6, next header UDP, destination port 6081
    if (len < OUTER_LEN + 8 || f[off + 12] !== 0x86 || f[off + 13] !== 0xdd || f[off + 20] !== 17 || ((f[off + 56] << 8) | f[off + 57]) !== GENEVE_PORT) {
      this.counters.txErrors++;
      this.warn.warn("not-geneve", { length: len }, "underlay refused a frame that is not Geneve over IPv6");
      return;
    }
    const dst = ipText(f.subarray(off + 38, off + 54));
    const datagram = copy ? f.slice(off + OUTER_LEN, off + len) : f.subarray(off + OUTER_LEN, off + len);
    const peer = this.peers.get(dst);
    if (peer) this.sendTo(datagram, peer.host, peer.port);
    else if (toUnderlayGroup(f, off, len) && this.peers.size) this.replicate(f.subarray(off, off + len), datagram);
    else this.sendTo(datagram, dst, GENEVE_PORT);
  }

  /** An underlay group with peers configured: the sleds get a copy when the switches would give them one. */
  private replicate(frame: Uint8Array, datagram: Uint8Array): void {
    const r = replicationOf(frame);
    if (r !== "underlay" && r !== "both") { this.counters.notReplicated++; return; }
    for (const t of this.peers.values()) this.sendTo(datagram, t.host, t.port);
  }

  private sendTo(datagram: Uint8Array, host: string, port: number): void {
    this.sock.send(datagram, port, host, this.onSent);
    this.counters.tx++;
  }

  private readonly onSent = (err: Error | null): void => {
    if (!err) return;
    this.counters.txErrors++;
    this.warn.warn(`send:${(err as NodeJS.ErrnoException).code ?? err.message}`, { err }, "underlay send failed");
  };

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    const src = this.reverse.get(`${rinfo.address}|${rinfo.port}`) ?? rinfo.address.replace(/%.*$/, "");
    let srcBytes: Uint8Array;
    try { srcBytes = ip16(src); } catch { this.counters.rxErrors++; this.warn.warn("source", { from: rinfo.address }, "underlay datagram from a source that is not an IPv6 address"); return; }
    const f = new Uint8Array(OUTER_LEN + msg.length);
    f.set(this.macs.subarray(0, 6), 0); // to us
    f.set(this.macs.subarray(6, 12), 6); // from the next hop
    f[12] = 0x86; f[13] = 0xdd;
    const udpLen = 8 + msg.length;
    f[14] = 0x60; f[18] = udpLen >> 8; f[19] = udpLen & 0xff; f[20] = 17; f[21] = 255;
    f.set(srcBytes, 22); f.set(this.local, 38);
    f[54] = rinfo.port >> 8; f[55] = rinfo.port & 0xff; f[56] = GENEVE_PORT >> 8; f[57] = GENEVE_PORT & 0xff;
    f[58] = udpLen >> 8; f[59] = udpLen & 0xff;
    f.set(msg, OUTER_LEN);
    this.counters.rx++;
    // Hand frames over in batches: everything that arrived before the next turn of the loop.
    this.pending.push(f);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        const batch = this.pending; this.pending = [];
        this.cb?.(batch);
      });
    }
  }

  stats() { return { ...this.counters }; }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}
