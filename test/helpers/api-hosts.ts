// A sled host and a gateway host with their APIs up, on loopback TCP (with an
// admin and a read-only token) and on a unix socket, for the API tests; and a
// raw HTTP client that sends exactly the bytes a test writes (fetch would
// clean up `//[` or a bad percent-escape before it left).
import { connect, Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SledHost } from "../../hosts/sled/sled.js";
import { SledApi, ApiOptions } from "../../hosts/sled/api.js";
import { GatewayHost } from "../../hosts/gateway/gateway.js";
import { GatewayApi } from "../../hosts/gateway/api.js";
import { MemoryDevice } from "../../hosts/sled/devices.js";
import { MemoryUnderlay } from "./memory-underlay.js";
import { examplePortJson } from "./example-port.js";
import { listenTcp, TestApi } from "./api.js";

export interface Running<H, A> { host: H; api: A; tcp: TestApi; socket: string; dir: string; close(): Promise<void> }

export async function startSled(o: Partial<ApiOptions> = {}): Promise<Running<SledHost, SledApi>> {
  const dir = mkdtempSync(join(tmpdir(), "wopte-sled-api-"));
  const host = await SledHost.create({ name: "sled-a", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:101::1" });
  await host.addPort(examplePortJson(), new MemoryDevice("vnic-a"));
  const api = new SledApi({ host, flowLogDir: dir, ...o });
  const tcp = await listenTcp(api);
  const socket = (await api.listen({ socket: join(dir, "sled.sock") })).socket!;
  return { host, api, tcp, socket, dir, close: async () => { await api.close(); await host.close(); } };
}

export async function startGateway(o: ConstructorParameters<typeof GatewayApi>[2] = {}): Promise<Running<GatewayHost, GatewayApi>> {
  const dir = mkdtempSync(join(tmpdir(), "wopte-gw-api-"));
  const host = await GatewayHost.create({
    name: "gw", underlay: new MemoryUnderlay(), underlayAddress: "fd00:1122:3344:1::1", underlayMac: "02:08:20:bb:00:01", underlayNextHopMac: "02:08:20:ff:ff:01",
    external: new MemoryDevice("ext0"),
    boundary: { externalMac: "02:00:5e:00:53:01", nextHopMac: "02:00:5e:00:53:fe", ownedPrefixes: ["198.51.100.0/24"], externalIpv4: "198.51.100.1" },
  });
  await host.addNat({ ip: "198.51.100.10", firstPort: 16384, lastPort: 32767, sled: "fd00:1122:3344:101::1", vni: 1024, mac: "a8:40:25:f0:00:05" });
  const api = new GatewayApi(host, undefined, o);
  const tcp = await listenTcp(api);
  const socket = (await api.listen({ socket: join(dir, "gw.sock") })).socket!;
  return { host, api, tcp, socket, dir, close: async () => { await api.close(); await host.close(); } };
}

export interface RawAnswer { status: number; headers: Record<string, string>; body: string; closed: boolean }

/**
 * Send `bytes` as they are to a TCP port or a unix socket and read one
 * answer. `trickle` sends them a piece at a time, `hold` keeps the connection
 * open after sending (a slow or stalled client). Resolves with status 0 when
 * the server closed without answering.
 */
export function raw(to: { port: number } | { path: string }, bytes: string | Buffer, o: { timeoutMs?: number; trickleMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s: Socket = "port" in to ? connect(to.port, "127.0.0.1") : connect(to.path);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`)); }, o.timeoutMs ?? 10_000);
    let trickle: NodeJS.Timeout | undefined;
    s.on("connect", () => {
      const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, "latin1");
      if (!o.trickleMs) { s.write(buf); return; }
      let i = 0;
      trickle = setInterval(() => { if (i < buf.length && !s.destroyed) s.write(buf.subarray(i, ++i)); }, o.trickleMs);
    });
    s.on("data", (d) => chunks.push(d));
    s.on("error", () => { /* a reset after the answer is fine; the close handler decides */ });
    s.on("close", () => {
      clearTimeout(timer); if (trickle) clearInterval(trickle);
      let text = Buffer.concat(chunks).toString("latin1");
      // interim answers (100 Continue) come before the real one
      while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes("\r\n\r\n")) text = text.slice(text.indexOf("\r\n\r\n") + 4);
      const head = text.indexOf("\r\n\r\n");
      if (head < 0) { resolve({ status: 0, headers: {}, body: text, closed: true }); return; }
      const [line, ...hs] = text.slice(0, head).split("\r\n");
      const headers = Object.fromEntries(hs.map((h) => [h.slice(0, h.indexOf(":")).toLowerCase(), h.slice(h.indexOf(":") + 1).trim()]));
      resolve({ status: Number(line.split(" ")[1]), headers, body: text.slice(head + 4), closed: true });
    });
  });
}

/** An HTTP/1.1 request's bytes (Connection: close), with a JSON body when one is given. */
export function requestBytes(method: string, target: string, o: { token?: string; body?: string; type?: string; headers?: string[] } = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: x", "Connection: close"];
  if (o.token) lines.push(`Authorization: Bearer ${o.token}`);
  if (o.body !== undefined) lines.push(`Content-Type: ${o.type ?? "application/json"}`, `Content-Length: ${Buffer.byteLength(o.body, "latin1")}`);
  lines.push(...(o.headers ?? []));
  return lines.join("\r\n") + "\r\n\r\n" + (o.body ?? "");
}

/** The port of a TestApi's base URL. */
export const portOf = (t: TestApi): number => Number(new URL(t.base).port);
