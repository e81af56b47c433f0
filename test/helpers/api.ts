// Reaching a host's API from a test: on loopback TCP with a token made for
// the test (the shape of a real TCP listener), or on a unix socket in a
// temporary directory.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Listening, TcpSettings } from "../../hosts/api/server.js";
import { TokenSet, newToken } from "../../hosts/api/tokens.js";
import type { Endpoint } from "../../hosts/cli/client.js";

interface Listener { listen(o: { socket?: string | false; tcp?: TcpSettings }): Promise<Listening> }

export interface TestApi {
  /** http://127.0.0.1:<port> */
  base: string;
  /** The base with its admin token, for hosts/cli/client.ts's call(). */
  endpoint: Endpoint;
  admin: string;
  read: string;
  /** fetch with the admin token, and application/json on string bodies. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

export async function listenTcp(api: Listener, o: Partial<TcpSettings> = {}): Promise<TestApi> {
  const admin = newToken(), read = newToken();
  const tokens = new TokenSet([{ name: "test-admin", role: "admin", token: admin }, { name: "test-read", role: "read", token: read }]);
  const l = await api.listen({ socket: false, tcp: { host: "127.0.0.1", port: 0, tokens, ...o } });
  const base = l.url!;
  return {
    base, admin, read, endpoint: { url: base, token: admin },
    fetch: (url, init = {}) => fetch(url, {
      ...init,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(typeof init.body === "string" ? { "content-type": "application/json" } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    }),
  };
}

/** A socket path in a fresh temporary directory. */
export function tempSocket(name = "api.sock"): string {
  return join(mkdtempSync(join(tmpdir(), "wopte-api-")), name);
}
