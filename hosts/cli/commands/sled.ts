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
import { startSled } from "../../sled/startup.js";
import { RestoreError } from "../../sled/desired.js";
import { LedgerError } from "../../lib/ledger.js";
import { FlowCheckpoints } from "../../sled/checkpoints.js";
import { parseDuration } from "../../sled/usage.js";

export const USAGE = `usage: wopte sled --config <sled.json> [--state-dir PATH | --no-ledger] [--api-socket PATH] [--api-port N] [--log-level L]
                  [--checkpoint-interval D]

Runs a sled host: one engine port per guest VNIC, Geneve over IPv6 UDP 6081
on the underlay, and the control API (docs/sled-api.md). Logs go to stdout:
readable lines on a terminal, JSON lines otherwise; --log-level (or
$WOPTE_LOG_LEVEL) is one of fatal, error, warn, info (default), debug, trace, silent.
The API listens on a unix socket (default /run/wopte/sled.sock as root, else
$XDG_RUNTIME_DIR/wopte/sled.sock); --api-socket moves it; --api-port N also
listens on 127.0.0.1:N, where every request needs a bearer token (the token
file is made at first start; see docs/sled-api.md, "Access").
Every change made through the API is written to a ledger before it is
acknowledged, and a restart (even after kill -9) comes back to it: the ledger
is in --state-dir (default the config's stateDir, else /var/lib/wopte/sled/<name>
as root, else $XDG_STATE_HOME/wopte/sled/<name>); --no-ledger keeps none
(docs/sled-api.md, "Durability"). Every port's flows (NAT bindings, TCP state)
are checkpointed into the same directory every 10s (--checkpoint-interval
500ms, 30s, 0 for only at a clean stop; the config's checkpoints.intervalMs)
and on SIGTERM/SIGINT, and restored at start; --no-ledger keeps no flows either.`;

const CMD = { name: "sled", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values } = parseCommand(CMD, args, { config: { type: "string" }, "api-port": { type: "string" }, "api-socket": { type: "string" }, "log-level": { type: "string" },
    "state-dir": { type: "string" }, "no-ledger": { type: "boolean" }, "checkpoint-interval": { type: "string" } }, 0);
  if (values.help) { console.log(USAGE); return 0; }
  const configPath = required(CMD, "--config <sled.json> (examples/sled.json is one)", values.config);
  if (values["no-ledger"] && values["state-dir"] !== undefined) throw new UsageError("sled: --state-dir and --no-ledger exclude each other");
  if (values["state-dir"] === "") throw new UsageError("sled: --state-dir needs a directory");
  let tcpPort;
  try { tcpPort = apiPortFlag(values["api-port"]); } catch (e) { throw new UsageError(`sled: ${(e as Error).message} (0-65535)`); }
  let level;
  try { level = logLevelFrom(values["log-level"]); } catch (e) { if (e instanceof LogLevelError) throw new UsageError(e.message); throw e; }
  let intervalFlag: number | undefined;
  if (values["checkpoint-interval"] !== undefined) {
    const v = values["checkpoint-interval"];
    try { intervalFlag = v === "0" ? 0 : parseDuration(v); } catch { throw new UsageError(`sled: --checkpoint-interval ${JSON.stringify(v)} is not a duration (500ms, 10s, 5m; 0: only at a clean stop)`); }
    if (intervalFlag > 86_400_000) throw new UsageError("sled: --checkpoint-interval is at most 24h");
  }
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
  const host = await SledHost.create({ name: cfg.name, underlay, underlayAddress: cfg.underlay.address, dropUnknownSources: u.dropUnknownSources,
    onBatch: (n, s) => { if (n) metrics?.batchLatency.observe(s); } });
  metrics = sledMetrics(host);
  const flowLogDir = cfg.flowLogs?.dir;
  if (flowLogDir) mkdirSync(flowLogDir, { recursive: true, mode: 0o750 });
  // the desired state: config + ledger, ports first; then what needs the ports (docs/sled-api.md, "Durability")
  let started;
  let checkpoints: FlowCheckpoints | undefined;
  try {
    started = await startSled({
      host, config: cfg, configPath, log, openDevice,
      stateDir: values["no-ledger"] ? false : values["state-dir"] ?? cfg.stateDir,
      // once the ports are up: their flows as the last checkpoint left them, then checkpoints from now on
      afterPorts: [async (h, dir) => {
        if (!dir) return;
        checkpoints = new FlowCheckpoints(h, { dir, intervalMs: intervalFlag ?? cfg.checkpoints.intervalMs, log });
        await checkpoints.restore();
        checkpoints.start();
        h.checkpoints = checkpoints;
      }],
    });
  } catch (err) {
    if (err instanceof LedgerError || err instanceof RestoreError) { await host.close(); throw new Failure(err.message); }
    throw err;
  }
  for (const p of host.ports.values()) log.info({ port: p.name, id: p.id, device: `${p.device.kind}:${p.device.name}` }, "port up");
  const usage = new UsageRecorder(host);
  host.faults.log = log;
  const api = new SledApi({ host, log, usage, flowLogDir, limits: cfg.api.limits, deviceFactory: (spec, name) => openDevice(spec, name) }, metrics);
  const served = await serveApi(api, "sled", cfg.name, cfg.api, log, { tcpPort, socket: values["api-socket"] });
  log.info({ sled: cfg.name, api: served.socket ? `unix:${served.socket}` : served.url, ...(served.socket && served.url ? { tcp: served.url } : {}),
    ...(served.tokenFile ? { tokenFile: served.tokenFile } : {}), ledger: started.ledger?.file ?? "off", generation: host.generation, underlay: u.address, driver: u.driver ?? "udp",
    ...(underlay instanceof UdpUnderlay ? { udpPort: underlay.boundPort } : {}), checkpoints: checkpoints?.dir ?? "off", checkpointIntervalMs: checkpoints?.intervalMs }, "sled host running");
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => { log.info({ signal: sig }, "shutting down"); resolve(); };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  await api.close();
  usage.close();
  checkpoints?.stop();
  // the last checkpoint once nothing comes in: a clean stop keeps every flow
  await host.close({ quiet: async () => {
    if (await checkpoints?.checkpoint(true)) log.info({ ...checkpoints!.stats.last }, "flows checkpointed");
  } });
  started.ledger?.unlock();
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
