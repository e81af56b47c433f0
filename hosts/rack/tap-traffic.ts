// Traffic for the rack in a box with real guests (`wopte demo --tap`): runs
// inside a guest's network namespace, with the kernel's own TCP/IP stack.
// `node tap-traffic.js '<json>'` where json = {listen: [ports], traffic: [...], seconds}
// It serves the listed TCP ports (a request gets a short HTTP answer, a
// stream is read and discarded) and runs the traffic generators, then prints
// one JSON line with what happened (EndpointStats' shape).

import { createServer, connect, Socket } from "node:net";
import { spawn } from "node:child_process";
import type { Traffic, EndpointStats } from "./endpoint.js";

const spec = JSON.parse(process.argv[2] ?? "{}") as { listen: number[]; traffic: Traffic[]; seconds: number };
const stats: EndpointStats = { pingsSent: 0, pingsAnswered: 0, bulkBytesSent: 0, bulkBytesAcked: 0, shortStarted: 0, shortCompleted: 0,
  probesSent: 0, probesAnswered: 0, bytesReceived: 0, servedFrom: {} };
const end = Date.now() + spec.seconds * 1000;
const timers: NodeJS.Timeout[] = [];

for (const port of spec.listen ?? []) {
  createServer((s) => {
    stats.servedFrom[`${s.remoteAddress}:${s.remotePort}`] = port;
    let answered = false;
    s.on("data", (d) => {
      stats.bytesReceived += d.length;
      if (!answered && d.length < 200) { answered = true; s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); }
    });
    s.on("error", () => {});
  }).listen(port, "0.0.0.0").unref();
}

function every(ms: number, f: () => void): void {
  const t = setInterval(() => { if (Date.now() < end) f(); }, ms);
  timers.push(t);
}

for (const t of spec.traffic ?? []) {
  if (t.kind === "ping") {
    const n = Math.max(1, Math.floor((spec.seconds * 1000 - 500) / t.everyMs));
    const p = spawn("ping", ["-n", "-q", "-i", String(Math.max(0.2, t.everyMs / 1000)), "-c", String(n), "-W", "1", t.to], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => { out += d; });
    p.on("exit", () => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (m) { stats.pingsSent += Number(m[1]); stats.pingsAnswered += Number(m[2]); }
    });
  } else if (t.kind === "short" || t.kind === "probe") {
    every(t.kind === "short" ? 1000 / t.perSecond : t.everyMs, () => {
      if (t.kind === "short") stats.shortStarted++; else stats.probesSent++;
      const s: Socket = connect({ host: t.to, port: t.port, timeout: 1000 });
      s.on("connect", () => {
        if (t.kind === "probe") { stats.probesAnswered++; s.destroy(); return; }
        s.write("GET / HTTP/1.1\r\nHost: demo\r\n\r\n");
      });
      s.on("data", () => {});
      s.on("end", () => { if (t.kind === "short") stats.shortCompleted++; });
      s.on("timeout", () => s.destroy());
      s.on("error", () => {});
    });
  } else if (t.kind === "bulk") {
    // The peer's listener lives in another namespace's process that may start
    // a moment later (a refused connect), so keep dialling until one holds.
    const chunk = Buffer.alloc(64 * 1024);
    const perTick = (t.mbps * 1e6) / 8 / 20;
    let sentBefore = 0;       // bytes written on connections that already ended
    let current: { s: Socket; sent: number } | undefined;
    const dial = (): void => {
      if (Date.now() >= end) return;
      const s = connect({ host: t.to, port: t.port });
      const here = { s, sent: 0 };
      current = here;
      let credit = 0;
      let pump: NodeJS.Timeout | undefined;
      s.on("connect", () => {
        pump = setInterval(() => {
          if (Date.now() >= end) return;
          credit += perTick;
          while (credit >= chunk.length && s.writableLength < 4 * chunk.length) { s.write(chunk); here.sent += chunk.length; stats.bulkBytesSent += chunk.length; credit -= chunk.length; }
        }, 50);
        timers.push(pump);
      });
      s.on("error", () => {});
      s.on("close", () => {
        if (pump) clearInterval(pump);
        sentBefore += here.sent;
        current = undefined;
        setTimeout(dial, 200);
      });
    };
    dial();
    // bytes handed to the kernel and no longer queued in Node: written minus what is still queued
    timers.push(setInterval(() => { stats.bulkBytesAcked = Math.max(0, sentBefore + (current ? current.sent - current.s.writableLength : 0)); }, 100));
  }
}

setTimeout(() => {
  for (const t of timers) clearInterval(t);
  setTimeout(() => { process.stdout.write(JSON.stringify(stats) + "\n"); process.exit(0); }, 700);
}, spec.seconds * 1000);
