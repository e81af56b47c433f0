// `wopte gateway run --config gateway.json`: run a gateway host (boundary services).
// `wopte gateway nat list|add|rm`: manage its NAT ingress mappings over its API.

import { createLogger, logLevelFrom, LogLevelError } from "../../lib/log.js";
import { GatewayHost } from "../../gateway/gateway.js";
import { GatewayApi } from "../../gateway/api.js";
import { gatewayMetrics } from "../../gateway/metrics.js";
import { loadGatewayConfig } from "../../gateway/config.js";
import { UdpUnderlay } from "../../sled/underlay.js";
import { openDevice } from "../../sled/open-device.js";
import { ApiError, apiBase, call, checked } from "../client.js";
import { NatMapping } from "../../gateway/config.js";
import { cidr, ip as ipAddr, port } from "../../../layers/program/fields.js";
import { z } from "zod";
import { BgpSpeaker } from "../../gateway/bgp.js";
import { serveApi, apiPortFlag } from "../../api/start.js";
import { parseCommand, choice, required, numberOption, printJson, Failure, UsageError, guard } from "../conventions.js";
import { table } from "../table.js";
import { startGateway, GatewayRestoreError } from "../../gateway/startup.js";
import { LedgerError } from "../../lib/ledger.js";

export const USAGE = `usage: wopte gateway run --config <gateway.json> [--state-dir PATH | --no-ledger] [--api-socket PATH] [--api-port N] [--log-level L]
       wopte gateway nat list [<ip>] [--json]
       wopte gateway nat add <ip> <first-port> <last-port> --sled <underlay ipv6> --vni N --mac <guest mac>
       wopte gateway nat rm <ip> <first-port>
       wopte gateway advertise list|add|rm [<prefix>] [--json]   (external ranges: ARP + BGP)
options: --api unix:<path>|http(s)://host:port (default $WOPTE_GATEWAY_API or the gateway's default socket;
           over TCP the token comes from $WOPTE_TOKEN or $WOPTE_TOKEN_FILE, see docs/gateway-api.md)
         --api-socket PATH, --api-port N (run): the API's socket instead of the config's; also TCP on 127.0.0.1:N
         --state-dir PATH (run): the ledger's directory (every acknowledged change survives a restart, kill -9
           included; default the config's stateDir, else /var/lib/wopte/gateway/<name> as root, else
           $XDG_STATE_HOME/wopte/gateway/<name>); --no-ledger keeps none (docs/gateway-api.md, "Durability")
         --log-level fatal|error|warn|info|debug|trace|silent (default $WOPTE_LOG_LEVEL or info;
           logs go to stdout, readable on a terminal, JSON lines otherwise)`;
const CMD = { name: "gateway", usage: USAGE };

async function command(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CMD, args, {
    config: { type: "string" }, api: { type: "string" }, json: { type: "boolean" }, sled: { type: "string" },
    vni: { type: "string" }, mac: { type: "string" }, "log-level": { type: "string" }, "api-port": { type: "string" }, "api-socket": { type: "string" },
    "state-dir": { type: "string" }, "no-ledger": { type: "boolean" } });
  if (values.help) { console.log(USAGE); return 0; }
  const [, action, ...rest] = positionals;
  const sub = choice(CMD, "subcommand", positionals[0], ["run", "nat", "advertise"] as const);
  if (sub === "run") {
    if (values["no-ledger"] && values["state-dir"] !== undefined) throw new UsageError("gateway: --state-dir and --no-ledger exclude each other");
    if (values["state-dir"] === "") throw new UsageError("gateway: --state-dir needs a directory");
    return runHost(values.config, values["log-level"], values["api-port"], values["api-socket"], values["no-ledger"] ? false : values["state-dir"]);
  }
  const base = apiBase(values.api, "gateway");
  /** The gateway's API: errors say which host could not be reached. */
  const gw = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    try {
      return await call<T>(base, method, path, body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 0) {
        throw new Failure(`cannot reach the gateway host at ${base}: is \`wopte gateway run\` running there? (--api or $WOPTE_GATEWAY_API picks it)`);
      }
      throw err;
    }
  };
  if (sub === "advertise") {
    const act = choice(CMD, "advertise action", action ?? "list", ["list", "add", "rm"] as const);
    const prefix = act === "list" ? undefined : checked(cidr, required(CMD, `<prefix> to ${act}`, rest[0]), `advertise ${act}`);
    const now = await gw<string[]>("GET", "/advertised");
    if (act === "add") await gw("PUT", "/advertised", [...new Set([...now, prefix])]);
    else if (act === "rm") {
      if (!now.includes(prefix!)) throw new Failure(`${prefix} is not advertised (advertised: ${now.join(", ") || "none"})`);
      await gw("PUT", "/advertised", now.filter((p) => p !== prefix));
    }
    const list = await gw<string[]>("GET", "/advertised");
    if (values.json) printJson(list);
    else console.log(list.length ? list.join("\n") : "(none)");
    return 0;
  }
  const act = choice(CMD, "nat action", action ?? "list", ["list", "add", "rm"] as const);
  if (act === "list") {
    const ip = rest[0] === undefined ? undefined : checked(ipAddr, rest[0], "nat list");
    const list = await gw<Record<string, unknown>[]>("GET", `/nat${ip ? "/" + encodeURIComponent(ip) : ""}`);
    if (values.json) printJson(list);
    else console.log(table(list, ["ip", "firstPort", "lastPort", "sled", "vni", "mac"], { titles: { firstPort: "FIRST", lastPort: "LAST" } }));
  } else if (act === "add") {
    const [ip, lo, hi] = rest;
    const m = checked(NatMapping, {
      ip: required(CMD, "<ip>", ip),
      firstPort: numberOption(CMD, "<first-port>", required(CMD, "<first-port>", lo), { min: 0, max: 65535, integer: true }),
      lastPort: numberOption(CMD, "<last-port>", required(CMD, "<last-port>", hi), { min: 0, max: 65535, integer: true }),
      sled: required(CMD, "--sled <underlay ipv6>", values.sled),
      vni: numberOption(CMD, "--vni", required(CMD, "--vni", values.vni), { min: 0, max: 0xffffff, integer: true }),
      mac: required(CMD, "--mac <guest mac>", values.mac),
    }, "nat add");
    const r = await gw<{ changed: boolean }>("PUT", `/nat/${encodeURIComponent(m.ip)}/${m.firstPort}/${m.lastPort}`, { sled: m.sled, vni: m.vni, mac: m.mac });
    console.log(r.changed ? `mapped ${m.ip} ${m.firstPort}-${m.lastPort} → ${m.sled} vni ${m.vni}` : "unchanged (identical mapping exists)");
  } else {
    const [ip, lo] = rest;
    if (rest.length > 2) throw new UsageError(`gateway nat rm: unexpected argument "${rest[2]}"`);
    const m = checked(z.object({ ip: ipAddr, firstPort: port }), {
      ip: required(CMD, "<ip>", ip),
      firstPort: numberOption(CMD, "<first-port>", required(CMD, "<first-port>", lo), { min: 0, max: 65535, integer: true }),
    }, "nat rm");
    await gw("DELETE", `/nat/${encodeURIComponent(m.ip)}/${m.firstPort}`);
    console.log(`removed ${m.ip} from ${m.firstPort}`);
  }
  return 0;
}

async function runHost(path: string | undefined, logLevel: string | undefined, apiPort: string | undefined, apiSocket: string | undefined,
  stateDir: string | false | undefined): Promise<number> {
  required(CMD, "--config <gateway.json> (examples/gateway.json is one)", path);
  let level;
  try { level = logLevelFrom(logLevel); } catch (e) { if (e instanceof LogLevelError) throw new UsageError(e.message); throw e; }
  let tcpPort;
  try { tcpPort = apiPortFlag(apiPort); } catch (e) { throw new UsageError(`gateway: ${(e as Error).message} (0-65535)`); }
  const log = createLogger({ name: "wopte-gateway", level });
  const c = loadGatewayConfig(path!);
  const underlay = await UdpUnderlay.open({ address: c.underlay.address, bind: c.underlay.bind, peers: c.underlay.peers, localMac: c.underlay.mac, nextHopMac: c.underlay.nextHopMac, log });
  const external = await openDevice(c.external.device, "external");
  let metrics: ReturnType<typeof gatewayMetrics> | undefined;
  const gw = await GatewayHost.create({
    onBatch: (n, s) => { if (n) metrics?.batchLatency.observe(s); },
    name: c.name, underlay, underlayAddress: c.underlay.address, underlayMac: c.underlay.mac, underlayNextHopMac: c.underlay.nextHopMac, external,
    boundary: { externalMac: c.external.mac, nextHopMac: c.external.nextHopMac, ownedPrefixes: c.external.ownedPrefixes,
      externalIpv4: c.external.ipv4, externalIpv6: c.external.ipv6, underlayMtu: c.underlay.mtu },
  });
  // the desired state: config + ledger (docs/gateway-api.md, "Durability"), before BGP advertises anything
  let started;
  try {
    started = await startGateway({ gw, config: c, configPath: path!, log, stateDir: stateDir ?? c.stateDir });
  } catch (err) {
    if (err instanceof LedgerError || err instanceof GatewayRestoreError) { await gw.close(); throw new Failure(err.message); }
    throw err;
  }
  let bgp: BgpSpeaker | undefined;
  if (c.bgp) {
    bgp = new BgpSpeaker(c.bgp);
    await bgp.start(gw.ownedPrefixes);
    gw.onOwnedPrefixes((p) => bgp!.update(p));
    log.info({ neighbor: c.bgp.neighbor, prefixes: gw.ownedPrefixes }, "advertising by BGP");
  }
  metrics = gatewayMetrics(gw);
  gw.faults.log = log;
  const api = new GatewayApi(gw, metrics, { log, limits: c.api.limits });
  const served = await serveApi(api, "gateway", c.name, c.api, log, { tcpPort, socket: apiSocket });
  log.info({ gateway: c.name, api: served.socket ? `unix:${served.socket}` : served.url, ...(served.socket && served.url ? { tcp: served.url } : {}),
    ...(served.tokenFile ? { tokenFile: served.tokenFile } : {}), mappings: gw.listNat().length, ledger: started.ledger?.file ?? "off", generation: gw.generation }, "gateway host running");
  await new Promise<void>((resolve) => { process.once("SIGINT", () => resolve()); process.once("SIGTERM", () => resolve()); });
  await api.close();
  await bgp?.stop();
  await gw.close();
  started.ledger?.unlock();
  return 0;
}

export const run = (args: string[]): Promise<number> => guard(CMD, () => command(args));
