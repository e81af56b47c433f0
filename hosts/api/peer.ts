// The uid and pid of a unix-socket peer (SO_PEERCRED through the small
// addon in hosts/native/peer.c). Without the addon the caller is "unix":
// the socket's file mode still decides who may connect.

import { createRequire } from "node:module";
import { join } from "node:path";
import type { Socket } from "node:net";
import { packageRoot } from "../engine/wasm.js";

interface PeerAddon { peerCredentials(fd: number): { pid: number; uid: number; gid: number } }

let addon: PeerAddon | null | undefined;

function load(): PeerAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(join(packageRoot(), "hosts", "native", "build", "Release", "wopte_peer.node")) as PeerAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

const cache = new WeakMap<Socket, { pid: number; uid: number } | null>();

/** The peer's credentials, as the kernel recorded them at connect; null when they cannot be had. */
export function peerOf(socket: Socket): { pid: number; uid: number } | null {
  if (cache.has(socket)) return cache.get(socket)!;
  let cred: { pid: number; uid: number } | null = null;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const a = load();
  if (a && typeof fd === "number" && fd >= 0) {
    try { const c = a.peerCredentials(fd); cred = { pid: c.pid, uid: c.uid }; } catch { cred = null; }
  }
  cache.set(socket, cred);
  return cred;
}
