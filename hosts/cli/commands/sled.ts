// `wopte sled --config sled.json`: run a sled host until SIGINT/SIGTERM.

import { createLogger, logLevelFrom, LogLevelError } from "../../lib/log.js";
import { SledHost } from "../../sled/sled.js";
import { SledApi } from "../../sled/api.js";
import { sledMetrics } from "../../sled/metrics.js";
import { UdpUnderlay } from "../../sled/underlay.js";
import { TapUnderlay } from "../../sled/underlay-tap.js";
import { loadSledConfig } from "../../sled/config.js";
import { openDevice } from "../../sled/open-device.js";
import { UsageRecorder } from "../../sled/usage.js";
import { parseCommand, required, UsageError, Failure, guard } from "../conventions.js";
import { serveApi, apiPortFlag } from "../../api/start.js";
import { mkdirSync } from "node:fs";

export const USAGE = `usage: wopte sled --config <sled.json> [--api-socket PATH] [--api-port N] [--log-level L]

Runs a sled host: one engine port per guest VNIC, Geneve over IPv6 UDP 6081
on the underlay, and the control API (docs/sled-api.md). Logs go to stdout:
readable lines on a terminal, JSON lines otherwise; --log-level (or
$WOPTE_LOG_LEVEL) is one of fatal, error, warn, info (default), debug, trace, silent.
The API listens on a unix socket (default /run/wopte/sled.sock as root, else
$XDG_RUNTIME_DIR/wopte/sled.sock); --api-socket moves it; --api-port N also
listens on 127.0.0.1:N, where every request needs a bearer token (the token
file is made at first start; see docs/sled-api.md, "Access").`;

const CMD = { name: "sled", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, { config: { type: "string" }, "api-port": { type: "string" }, "api-socket": { type: "string" }, "log-level": { type: "string" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const configPath = required(CMD, "--config <sled.json> (examples/sled.json is one)", values.config);
  let tcpPort;
  try { tcpPort = apiPortFlag(values["api-port"]); } catch (e) { throw new UsageError(`sled: ${(e as Error).message} (0-65535)`); }
  let level;
  try { level = logLevelFrom(values["log-level"]); } catch (e) { if (e instanceof LogLevelError) throw new UsageError(e.message); throw e; }
  const log = createLogger({ name: "wopte-sled", level });
  const cfg = loadSledConfig(configPath);
  const u = cfg.underlay;
  const underlay = u.driver === "tap"
    ? new TapUnderlay({ address: u.address, mac: u.mac, nics: u.nics, probeMs: u.probeMs, log })
    : await UdpUnderlay.open({ address: u.address, bind: u.bind, peers: u.peers, localMac: u.mac, nextHopMac: u.nextHopMac, log }).catch((err: NodeJS.ErrnoException) => {
      const at = u.bind ? `[${u.bind.host}]:${u.bind.port}` : `[${u.address}]:6081`;
      const why = err.code === "EADDRNOTAVAIL" ? "that address is not on this machine; to run on loopback set underlay.bind to {\"host\": \"::1\", \"port\": 0} (examples/sled.json)"
        : err.code === "EADDRINUSE" ? "something else is using that port" : err.code === "EACCES" ? "permission denied" : err.message;
      throw new Failure(`${configPath}: cannot open the underlay on ${at}: ${why}`);
    });
  let metrics: ReturnType<typeof sledMetrics> | undefined;
  const host = await SledHost.create({ name: cfg.name, underlay, underlayAddress: cfg.underlay.address, onBatch: (n, s) => { if (n) metrics?.batchLatency.observe(s); } });
  metrics = sledMetrics(host);
  for (const m of cfg.multicast.m2p) await host.setM2p(m);
  for (const e of cfg.multicast.forwarding) await host.setForwarding(e);
  for (const [i, p] of cfg.ports.entries()) {
    const dev = await openDevice(p.device, String((cfg.portConfigs[i] as { name?: string }).name ?? `port${i}`));
    let port;
    try { port = await host.addPort(cfg.portConfigs[i] as never, dev, { spec: p.device }); } catch (err) {
      const where = typeof p.config === "string" ? `${p.config} (port ${i} of ${configPath})` : `port ${i} of ${configPath}`;
      throw new Failure(`${where}: ${(err as Error).message}`);
    }
    log.info({ port: port.name, id: port.id, device: `${dev.kind}:${dev.name}` }, "port up");
  }
  const usage = new UsageRecorder(host);
  host.faults.log = log;
  const flowLogDir = cfg.flowLogs?.dir;
  if (flowLogDir) mkdirSync(flowLogDir, { recursive: true, mode: 0o750 });
  const api = new SledApi({ host, log, usage, flowLogDir, limits: cfg.api.limits, deviceFactory: (spec, name) => openDevice(spec, name) }, metrics);
  const served = await serveApi(api, "sled", cfg.name, cfg.api, log, { tcpPort, socket: values["api-socket"] });
  log.info({ sled: cfg.name, api: served.socket ? `unix:${served.socket}` : served.url, ...(served.socket && served.url ? { tcp: served.url } : {}),
    ...(served.tokenFile ? { tokenFile: served.tokenFile } : {}), underlay: u.address, driver: u.driver ?? "udp",
    ...(underlay instanceof UdpUnderlay ? { udpPort: underlay.boundPort } : {}) }, "sled host running");
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => { log.info({ signal: sig }, "shutting down"); resolve(); };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  await api.close();
  usage.close();
  await host.close();
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
