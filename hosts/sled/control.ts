// SledControl (hosts/sled/migrate.ts) for a sled in this process and for one
// reached over its HTTP API.

import type { SledHost } from "./sled.js";
import type { GuestDevice } from "./devices.js";
import type { SledControl } from "./migrate.js";
import { markPortSnapshot, exportPortSnapshot, restorePortSnapshot } from "./snapshots.js";
import { call, Endpoint } from "../cli/client.js";

export function localControl(h: SledHost, underlay: string, device: (name: string) => GuestDevice): SledControl {
  return {
    name: h.name, underlay,
    async createPort(config, paused) {
      const dev = device(String(config.name));
      try { await h.addPort(config, dev, { state: paused ? "paused" : "running" }); } catch (err) { dev.close(); throw err; }
    },
    async removePort(name) { await h.removePort(name); },
    async setState(name, state) { await h.setPortState(name, state); },
    async mark(name) { return markPortSnapshot(h, name); },
    async exportSnapshot(name, since) { return exportPortSnapshot(h, name, since); },
    async restoreSnapshot(name, bytes) { await restorePortSnapshot(h, name, bytes); },
    async setV2p(m) { await h.setV2p(m); },
  };
}

export function apiControl(base: string | Endpoint, name: string, underlay: string, device: unknown = { type: "memory" }): SledControl {
  const port = (n: string) => `/ports/${encodeURIComponent(n)}`;
  return {
    name, underlay,
    async createPort(config, paused) {
      await call(base, "POST", "/ports", { config, device });
      if (paused) await call(base, "PUT", `${port(String(config.name))}/state`, { state: "paused" });
    },
    async removePort(n) { await call(base, "DELETE", port(n)); },
    async setState(n, state) { await call(base, "PUT", `${port(n)}/state`, { state }); },
    async mark(n) { return (await call<{ generation: number }>(base, "POST", `${port(n)}/snapshot/mark`)).generation; },
    async exportSnapshot(n, since) { return call<Uint8Array>(base, "GET", `${port(n)}/snapshot${since !== undefined ? `?since=${since}` : ""}`); },
    async restoreSnapshot(n, bytes) { await call(base, "PUT", `${port(n)}/snapshot`, bytes); },
    async setV2p(m) { await call(base, "PUT", "/v2p", m); },
  };
}
