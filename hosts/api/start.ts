// Opening a host's API as its config says (the `api` section, hosts/api/config.ts):
// the unix socket unless turned off, and TCP when configured, with the token
// file read or made at first start. Shared by `wopte sled` and `wopte gateway run`.

import type { Logger } from "pino";
import type { Listening, TcpSettings } from "./server.js";
import { ApiSettings, defaultSocket, defaultTokenFile } from "./config.js";
import { loadOrCreateTokens } from "./tokens.js";

export interface Served extends Listening { tokenFile?: string }

export async function serveApi(
  api: { listen(o: { socket?: string | false; tcp?: TcpSettings }): Promise<Listening> },
  kind: "sled" | "gateway", hostName: string, cfg: ApiSettings, log: Logger, flags: { tcpPort?: number; socket?: string } = {},
): Promise<Served> {
  const tcpPortFlag = flags.tcpPort;
  const socket = flags.socket ?? (cfg.socket === false ? false : cfg.socket ?? defaultSocket(kind));
  const tcpCfg = tcpPortFlag !== undefined ? { ...(cfg.tcp ?? { host: "127.0.0.1", insecurePlaintext: false, openMetrics: false }), port: tcpPortFlag } : cfg.tcp;
  let tcp: TcpSettings | undefined;
  let tokenFile: string | undefined;
  if (tcpCfg) {
    tokenFile = tcpCfg.tokenFile ?? defaultTokenFile(hostName);
    const { tokens, created } = loadOrCreateTokens(tokenFile);
    if (created) log.info({ tokenFile }, "API tokens created (an admin and a read-only token; mode 0600)");
    tcp = { host: tcpCfg.host, port: tcpCfg.port, tokens, openMetrics: tcpCfg.openMetrics, tls: tcpCfg.tls, insecurePlaintext: tcpCfg.insecurePlaintext };
  }
  if (!socket && !tcp) throw new Error("the API would have no listener: keep api.socket or give api.tcp");
  const l = await api.listen({ socket, tcp });
  return { ...l, tokenFile };
}

/** `--api-port N`: also listen on 127.0.0.1:N (with tokens); undefined when absent. */
export function apiPortFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0|[1-9]\d{0,4})$/.test(v) || Number(v) > 65535) throw new Error(`--api-port ${JSON.stringify(v)} is not a TCP port`);
  return Number(v);
}
