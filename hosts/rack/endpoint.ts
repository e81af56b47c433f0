// A simulated host on one side of a port: a guest behind its VNIC, or the
// external server behind the customer's router. A guest first ARPs for its
// gateway (RFC 826; the engine answers for the gateway) and sends nothing
// else until it has the answer. It answers ARP for itself, pings and TCP the
// way a small stack would (SYN → SYN-ACK, data → ACK, FIN → FIN-ACK) and runs
// traffic generators: pings, a bulk TCP stream, many short TCP requests, and
// probes a firewall should stop. Frames are built by hand (hosts/lib/frames).

import { eth, ipFrame, tcp, icmpEcho, TCP_FLAGS } from "../lib/frames.js";
import { ipText, macBytes, parseIpv4 } from "../../layers/program/addr.js";

export type Traffic =
  | { kind: "ping"; to: string; everyMs: number }
  | { kind: "bulk"; to: string; port: number; mbps: number }
  | { kind: "short"; to: string; port: number; perSecond: number }
  | { kind: "probe"; to: string; port: number; everyMs: number };

export interface EndpointStats {
  /** ms from the first ARP request for the gateway to its answer (guests; -1 while unanswered) */
  arpResolvedMs?: number;
  pingsSent: number; pingsAnswered: number;
  bulkBytesSent: number; bulkBytesAcked: number;
  shortStarted: number; shortCompleted: number;
  probesSent: number; probesAnswered: number;
  bytesReceived: number;
  /** Sources of connections this endpoint served (for "the server sees the SNAT address"). */
  servedFrom: Record<string, number>;
  /** Sources of echo requests this endpoint answered, with how many. */
  pingedFrom?: Record<string, number>;
}

interface Conn { role: "client" | "server"; peer: string; sport: number; dport: number; seq: number; ack: number; state: string; kind?: "bulk" | "short" | "probe" }

const SEGMENT = 1400;
const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

export class Endpoint {
  readonly stats: EndpointStats = { pingsSent: 0, pingsAnswered: 0, bulkBytesSent: 0, bulkBytesAcked: 0, shortStarted: 0, shortCompleted: 0,
    probesSent: 0, probesAnswered: 0, bytesReceived: 0, servedFrom: {}, pingedFrom: {} };
  private readonly conns = new Map<string, Conn>();
  private nextPort = 40000;
  private pingSeq = 0;
  private last = new Map<Traffic, number>();
  private bulk: Conn | undefined;
  private bulkCredit = 0;

  private nextHopMac: string | undefined;
  private arpSentAt = 0;
  private arpFirstAt = 0;

  /** `nextHop`: a known MAC, or an address to ARP for first. */
  constructor(readonly name: string, readonly mac: string, readonly ip: string, private readonly nextHop: { mac: string } | { arpFor: string },
              private readonly out: (frames: Uint8Array[]) => void, readonly traffic: Traffic[] = []) {
    if ("mac" in nextHop) this.nextHopMac = nextHop.mac;
    else this.stats.arpResolvedMs = -1;
  }

  private arp(op: 1 | 2, targetMac: string, targetIp: string): Uint8Array {
    const a = new Uint8Array(28);
    a.set([0, 1, 8, 0, 6, 4, 0, op]);
    a.set(macBytes(this.mac), 8); a.set(parseIpv4(this.ip), 14);
    a.set(op === 1 ? new Uint8Array(6) : macBytes(targetMac), 18); a.set(parseIpv4(targetIp), 24);
    return eth(op === 1 ? "ff:ff:ff:ff:ff:ff" : targetMac, this.mac, 0x0806, a);
  }

  private frame(dst: string, proto: number, l4: Uint8Array): Uint8Array {
    return ipFrame(this.nextHopMac!, this.mac, this.ip, dst, proto, l4);
  }
  private seg(c: Conn, flags: number, payload = new Uint8Array()): Uint8Array {
    return this.frame(c.peer, 6, tcp(this.ip, c.peer, c.sport, c.dport, flags, payload, c.seq, c.ack));
  }
  private key(peer: string, local: number, remote: number): string { return `${peer}|${local}|${remote}`; }

  /** Traffic generators, called every tick with the host clock. */
  tick(now: number): void {
    if (this.nextHopMac === undefined) {
      // no gateway MAC yet: ask (again, every half second) and wait
      if ("arpFor" in this.nextHop && now - this.arpSentAt >= 500) {
        this.arpFirstAt ||= now;
        this.arpSentAt = now;
        this.out([this.arp(1, "", this.nextHop.arpFor)]);
      }
      return;
    }
    const out: Uint8Array[] = [];
    for (const t of this.traffic) {
      const last = this.last.get(t) ?? 0;
      if (t.kind === "ping" && now - last >= t.everyMs) {
        this.last.set(t, now);
        this.stats.pingsSent++;
        out.push(this.frame(t.to, 1, icmpEcho(this.ip, t.to, true, 0x100 + (this.pingSeq & 0xff), ++this.pingSeq & 0xffff)));
      } else if (t.kind === "probe" && now - last >= t.everyMs) {
        this.last.set(t, now);
        this.stats.probesSent++;
        out.push(this.open(t.to, t.port, "probe"));
      } else if (t.kind === "short" && now - last >= 1000 / t.perSecond) {
        this.last.set(t, now);
        this.stats.shortStarted++;
        out.push(this.open(t.to, t.port, "short"));
      } else if (t.kind === "bulk") {
        if (!this.bulk || this.bulk.state === "closed" || (this.bulk.state === "syn-sent" && now - last >= 1000)) {
          // (re)open; a SYN that got no answer within a second is retried on a new port
          if (!this.bulk || now - last >= 1000) { this.last.set(t, now); this.bulk = undefined; out.push(this.open(t.to, t.port, "bulk")); }
        } else if (this.bulk.state === "established") {
          this.bulkCredit += ((t.mbps * 1e6) / 8) * ((now - (this.last.get(t) ?? now)) / 1000);
          this.last.set(t, now);
          while (this.bulkCredit >= SEGMENT && out.length < 64) {
            const c = this.bulk;
            out.push(this.seg(c, TCP_FLAGS.ACK | TCP_FLAGS.PSH, new Uint8Array(SEGMENT)));
            c.seq = (c.seq + SEGMENT) >>> 0;
            this.stats.bulkBytesSent += SEGMENT;
            this.bulkCredit -= SEGMENT;
          }
        }
      }
    }
    if (out.length) this.out(out);
  }

  private open(to: string, port: number, kind: Conn["kind"]): Uint8Array {
    const sport = this.nextPort++;
    if (this.nextPort > 60999) this.nextPort = 40000;
    const c: Conn = { role: "client", peer: to, sport, dport: port, seq: 1000, ack: 0, state: "syn-sent", kind };
    this.conns.set(this.key(to, sport, port), c);
    if (kind === "bulk") this.bulk = c;
    const f = this.seg(c, TCP_FLAGS.SYN);
    c.seq++;
    return f;
  }

  /** ARP: learn the gateway's MAC from its reply; answer requests for this endpoint's address. */
  private receiveArp(f: Uint8Array, out: Uint8Array[]): void {
    const op = f[21], senderMac = [...f.subarray(22, 28)].map((b) => b.toString(16).padStart(2, "0")).join(":"), senderIp = ipText(Uint8Array.from([...V4_MAPPED, ...f.subarray(28, 32)]));
    const target = ipText(Uint8Array.from([...V4_MAPPED, ...f.subarray(38, 42)]));
    if (op === 2 && "arpFor" in this.nextHop && senderIp === this.nextHop.arpFor && this.nextHopMac === undefined) {
      this.nextHopMac = senderMac;
      this.stats.arpResolvedMs = Date.now() - this.arpFirstAt;
    } else if (op === 1 && target === this.ip) {
      out.push(this.arp(2, senderMac, senderIp));
    }
  }

  /** Frames delivered to this endpoint. */
  receive(frames: Uint8Array[]): void {
    const out: Uint8Array[] = [];
    for (const f of frames) {
      if (f.length >= 42 && f[12] === 0x08 && f[13] === 0x06) { this.receiveArp(f, out); continue; }
      if (this.nextHopMac === undefined) continue; // cannot answer anyone before the gateway is resolved
      if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) continue; // the demo speaks IPv4
      const ihl = (f[14] & 0xf) * 4;
      const src = ipText(Uint8Array.from([...V4_MAPPED, ...f.subarray(26, 30)]));
      const proto = f[23];
      const l4 = 14 + ihl;
      const payloadEnd = 14 + ((f[16] << 8) | f[17]);
      this.stats.bytesReceived += f.length;
      if (proto === 1 && f.length >= l4 + 8) {
        const type = f[l4], id = (f[l4 + 4] << 8) | f[l4 + 5], seq = (f[l4 + 6] << 8) | f[l4 + 7];
        if (type === 8) {
          this.stats.pingedFrom![src] = (this.stats.pingedFrom![src] ?? 0) + 1;
          out.push(this.frame(src, 1, icmpEcho(this.ip, src, false, id, seq, f.slice(l4 + 8, payloadEnd))));
        }
        else if (type === 0) this.stats.pingsAnswered++;
      } else if (proto === 6 && f.length >= l4 + 20) {
        const sport = (f[l4] << 8) | f[l4 + 1], dport = (f[l4 + 2] << 8) | f[l4 + 3];
        const seq = ((f[l4 + 4] << 24) >>> 0) + (f[l4 + 5] << 16) + (f[l4 + 6] << 8) + f[l4 + 7];
        const flags = f[l4 + 13];
        const dataLen = payloadEnd - (l4 + (f[l4 + 12] >> 4) * 4);
        const k = this.key(src, dport, sport);
        let c = this.conns.get(k);
        if (!c && (flags & (TCP_FLAGS.SYN | TCP_FLAGS.ACK)) === TCP_FLAGS.SYN) {
          c = { role: "server", peer: src, sport: dport, dport: sport, seq: 5000, ack: (seq + 1) >>> 0, state: "syn-rcvd" };
          this.conns.set(k, c);
          this.stats.servedFrom[`${src}:${sport}`] = dport;
          out.push(this.seg(c, TCP_FLAGS.SYN | TCP_FLAGS.ACK));
          c.seq++;
          continue;
        }
        if (!c) continue;
        if (flags & TCP_FLAGS.RST) { this.conns.delete(k); continue; }
        if (c.role === "client" && c.state === "syn-sent" && (flags & TCP_FLAGS.SYN) && (flags & TCP_FLAGS.ACK)) {
          c.ack = (seq + 1) >>> 0;
          c.state = "established";
          if (c.kind === "probe") { this.stats.probesAnswered++; out.push(this.seg(c, TCP_FLAGS.RST | TCP_FLAGS.ACK)); this.conns.delete(k); continue; }
          if (c.kind === "short") {
            const req = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: demo\r\n\r\n");
            out.push(this.seg(c, TCP_FLAGS.ACK | TCP_FLAGS.PSH, req));
            c.seq = (c.seq + req.length) >>> 0;
          } else {
            out.push(this.seg(c, TCP_FLAGS.ACK));
          }
          continue;
        }
        if (c.role === "client" && c.kind === "bulk" && (flags & TCP_FLAGS.ACK)) {
          const acked = (((f[l4 + 8] << 24) >>> 0) + (f[l4 + 9] << 16) + (f[l4 + 10] << 8) + f[l4 + 11] - 1001) >>> 0;
          if (acked > this.stats.bulkBytesAcked && acked <= this.stats.bulkBytesSent + 1) this.stats.bulkBytesAcked = acked;
        }
        if (dataLen > 0) {
          c.ack = (seq + dataLen) >>> 0;
          if (c.role === "server" && c.state !== "bulk-rx" && dataLen < 200) {
            // a request: answer and close
            const body = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            out.push(this.seg(c, TCP_FLAGS.ACK | TCP_FLAGS.PSH | TCP_FLAGS.FIN, body));
            c.seq = (c.seq + body.length + 1) >>> 0;
            c.state = "fin-sent";
          } else {
            if (c.role === "server") c.state = "bulk-rx";
            out.push(this.seg(c, TCP_FLAGS.ACK));
          }
        }
        if (flags & TCP_FLAGS.FIN) {
          c.ack = (seq + Math.max(dataLen, 0) + 1) >>> 0;
          if (c.role === "client") {
            if (c.kind === "short") this.stats.shortCompleted++;
            out.push(this.seg(c, TCP_FLAGS.ACK | TCP_FLAGS.FIN));
            c.state = "closed";
            this.conns.delete(k);
          } else {
            out.push(this.seg(c, TCP_FLAGS.ACK));
            this.conns.delete(k);
          }
        } else if (c.role === "server" && c.state === "fin-sent" && (flags & TCP_FLAGS.ACK) && dataLen === 0) {
          // the client's last ACK
        }
      }
    }
    if (out.length) this.out(out);
  }
}
