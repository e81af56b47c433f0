// Opening a host's listeners. The unix socket is made in a directory only its
// user can enter (0700 when we create it) and set to mode 0600, so only that
// user and root reach it; a socket file left by a host that died is replaced,
// one a live host still answers on is not.

import type { Server } from "node:http";
import { connect } from "node:net";
import { mkdirSync, statSync, unlinkSync, chmodSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import { isIP, ip16 } from "../../layers/program/addr.js";

export async function listenUnix(server: Server, path: string): Promise<string> {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    if (!statSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
    if (await answers(path)) throw new Error(`another host is listening on ${path}`);
    unlinkSync(path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => { server.off("error", reject); resolve(); });
  });
  chmodSync(path, 0o600);
  return path;
}

export async function listenTcp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : port);
    });
  });
}

/** Whether something accepts connections on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost": reachable from this machine only. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (!isIP(host)) return false;
  const b = ip16(host);
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return b[12] === 127;
  return b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
}
