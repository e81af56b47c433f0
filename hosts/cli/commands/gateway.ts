// `wopte gateway run --config gateway.json`: run a gateway host (boundary services).
// `wopte gateway nat list|add|rm`: manage its NAT ingress mappings over its API.

import { parseArgs } from "node:util";
import { createLogger, logLevelFrom, LogLevelError } from "../../lib/log.js";
import { GatewayHost } from "../../gateway/gateway.js";
import { GatewayApi } from "../../gateway/api.js";
import { gatewayMetrics } from "../../gateway/metrics.js";
import { loadGatewayConfig } from "../../gateway/config.js";
import { UdpUnderlay } from "../../sled/underlay.js";
import { openDevice } from "../../sled/open-device.js";
import { apiBase, call, table, guarded, checked } from "../client.js";
import { NatMapping } from "../../gateway/config.js";
import { cidr, ip as ipAddr, port } from "../../../layers/program/fields.js";
import { z } from "zod";
import { BgpSpeaker } from "../../gateway/bgp.js";
import { serveApi, apiPortFlag } from "../../api/start.js";

const HELP = `usage: wopte gateway run --config <gateway.json> [--api-socket PATH] [--api-port N] [--log-level L]
       wopte gateway nat list [<ip>] [--json]
       wopte gateway nat add <ip> <first-port> <last-port> --sled <underlay ipv6> --vni N --mac <guest mac>
       wopte gateway nat rm <ip> <first-port>
       wopte gateway advertise list|add|rm [<prefix>]   (external ranges: ARP + BGP)
options: --api unix:<path>|http(s)://host:port (default $WOPTE_GATEWAY_API or the gateway's default socket;
           over TCP the token comes from $WOPTE_TOKEN or $WOPTE_TOKEN_FILE, see docs/gateway-api.md)
         --api-socket PATH, --api-port N (run): the API's socket instead of the config's; also TCP on 127.0.0.1:N
         --log-level fatal|error|warn|info|debug|trace|silent (default $WOPTE_LOG_LEVEL or info;
           logs go to stdout, readable on a terminal, JSON lines otherwise)`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    config: { type: "string" }, api: { type: "string" }, json: { type: "boolean" }, sled: { type: "string" },
    vni: { type: "string" }, mac: { type: "string" }, "log-level": { type: "string" }, "api-port": { type: "string" }, "api-socket": { type: "string" }, help: { type: "boolean" } } });
  const [sub, action, ...rest] = positionals;
  if (values.help || !sub) { console.log(HELP); return values.help ? 0 : 2; }
  if (sub === "run") return runHost(values.config, values["log-level"], values["api-port"], values["api-socket"]);
  const base = apiBase(values.api, "gateway");
  if (sub === "advertise") {
    return guarded(async () => {
      const now = await call<string[]>(base, "GET", "/advertised");
      const prefix = rest[0] === undefined ? undefined : checked(cidr, rest[0], `advertise ${action}`);
      if (action === "add" && prefix) await call(base, "PUT", "/advertised", [...new Set([...now, prefix])]);
      else if (action === "rm" && prefix) await call(base, "PUT", "/advertised", now.filter((p) => p !== prefix));
      else if (action && action !== "list") throw new Error("advertise list | add <prefix> | rm <prefix>");
      console.log((await call<string[]>(base, "GET", "/advertised")).join("\n"));
    });
  }
  if (sub !== "nat") { console.error(HELP); return 2; }
  return guarded(async () => {
    if (action === "list" || !action) {
      const list = await call<Record<string, unknown>[]>(base, "GET", `/nat${rest[0] ? "/" + rest[0] : ""}`);
      console.log(values.json ? JSON.stringify(list, null, 2) : table(list, ["ip", "firstPort", "lastPort", "sled", "vni", "mac"]));
    } else if (action === "add") {
      const [ip, lo, hi] = rest;
      if (!ip || !lo || !hi || !values.sled || !values.vni || !values.mac) throw new Error("add needs <ip> <first> <last> --sled --vni --mac");
      const m = checked(NatMapping, { ip, firstPort: Number(lo), lastPort: Number(hi), sled: values.sled, vni: Number(values.vni), mac: values.mac }, "nat add");
      const r = await call<{ changed: boolean }>(base, "PUT", `/nat/${encodeURIComponent(m.ip)}/${m.firstPort}/${m.lastPort}`, { sled: m.sled, vni: m.vni, mac: m.mac });
      console.log(r.changed ? `mapped ${ip} ${lo}-${hi} → ${values.sled} vni ${values.vni}` : "unchanged (identical mapping exists)");
    } else if (action === "rm") {
      const [ip, lo] = rest;
      const m = checked(z.object({ ip: ipAddr, firstPort: port }), { ip, firstPort: Number(lo) }, "nat rm");
      await call(base, "DELETE", `/nat/${encodeURIComponent(m.ip)}/${m.firstPort}`);
      console.log(`removed ${ip} from ${lo}`);
    } else {
      console.error(HELP); process.exitCode = 2;
    }
  });
}

async function runHost(path: string | undefined, logLevel: string | undefined, apiPort: string | undefined, apiSocket: string | undefined): Promise<number> {
  if (!path) { console.error(HELP); return 2; }
  let level;
  try { level = logLevelFrom(logLevel); } catch (e) { if (e instanceof LogLevelError) { console.error(`wopte: ${e.message}`); return 2; } throw e; }
  const log = createLogger({ name: "wopte-gateway", level });
  const c = loadGatewayConfig(path);
  const underlay = await UdpUnderlay.open({ address: c.underlay.address, bind: c.underlay.bind, peers: c.underlay.peers, localMac: c.underlay.mac, nextHopMac: c.underlay.nextHopMac, log });
  const external = await openDevice(c.external.device, "external");
  let metrics: ReturnType<typeof gatewayMetrics> | undefined;
  const gw = await GatewayHost.create({
    onBatch: (n, s) => { if (n) metrics?.batchLatency.observe(s); },
    name: c.name, underlay, underlayAddress: c.underlay.address, underlayMac: c.underlay.mac, underlayNextHopMac: c.underlay.nextHopMac, external,
    boundary: { externalMac: c.external.mac, nextHopMac: c.external.nextHopMac, ownedPrefixes: c.external.ownedPrefixes,
      externalIpv4: c.external.ipv4, externalIpv6: c.external.ipv6, underlayMtu: c.underlay.mtu },
  });
  for (const m of c.nat) gw.addNat(m);
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
  const served = await serveApi(api, "gateway", c.name, c.api, log, { tcpPort: apiPortFlag(apiPort), socket: apiSocket });
  log.info({ gateway: c.name, api: served.socket ? `unix:${served.socket}` : served.url, ...(served.socket && served.url ? { tcp: served.url } : {}),
    ...(served.tokenFile ? { tokenFile: served.tokenFile } : {}), mappings: c.nat.length }, "gateway host running");
  await new Promise<void>((resolve) => { process.once("SIGINT", () => resolve()); process.once("SIGTERM", () => resolve()); });
  await api.close();
  await bgp?.stop();
  await gw.close();
  return 0;
}
