// Who may do what: the access matrix of issue 15. The unix socket (mode 0600)
// is the local operator's; over TCP nothing happens without a bearer token,
// a read-only token reads, only an admin token changes or exports; metrics
// can be opened to scrapers alone; off loopback the listener needs TLS.
// Every change is in the audit log with who made it and the generation.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { statSync, writeFileSync, chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { tmpdir } from "node:os";
import { spawn, execFileSync } from "node:child_process";
import { Writable } from "node:stream";
import pino from "pino";
import { startSled, raw, requestBytes, portOf, Running } from "../helpers/api-hosts.js";
import { listenTcp } from "../helpers/api.js";
import { needs, has } from "../helpers/tools.js";
import { loadOrCreateTokens, readTokens, TokenSet } from "../../hosts/api/tokens.js";
import { call } from "../../hosts/cli/client.js";
import { SledApi } from "../../hosts/sled/api.js";
import type { SledHost } from "../../hosts/sled/sled.js";

const rule = JSON.stringify({ name: "ssh", direction: "in", action: "allow", protocols: ["tcp"], ports: [22] });

describe("the access matrix", () => {
  let s: Running<SledHost, SledApi>;
  const records: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split("\n")) if (l) records.push(JSON.parse(l)); cb(); } });
    s = await startSled({ log: pino({ level: "info" }, sink) });
  });
  afterAll(async () => { await s.close(); });
  const tcp = (method: string, target: string, token?: string, body?: string) => raw({ port: portOf(s.tcp) }, requestBytes(method, target, { token, body }));

  it("TCP without a token, or with a wrong one: 401 with a Bearer challenge, for reads and changes alike", async () => {
    for (const [m, t, b] of [["GET", "/health"], ["GET", "/ports"], ["POST", "/ports/web-a/firewall", rule], ["GET", "/nope"]] as const) {
      const r = await tcp(m, t, undefined, b);
      expect(r.status, `${m} ${t}`).toBe(401);
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    expect((await tcp("GET", "/ports", "wopte_" + "x".repeat(43))).status).toBe(401);
    expect((await raw({ port: portOf(s.tcp) }, requestBytes("GET", "/ports", { headers: [`Authorization: Basic ${s.tcp.admin}`] }))).status).toBe(401);
  });

  it("a read-only token reads, and may not change, export snapshots or capture", async () => {
    expect((await tcp("GET", "/ports", s.tcp.read)).status).toBe(200);
    expect((await tcp("GET", "/ports/web-a/flows", s.tcp.read)).status).toBe(200);
    expect((await tcp("GET", "/openapi.json", s.tcp.read)).status).toBe(200);
    for (const [m, t, b] of [["POST", "/ports/web-a/firewall", rule], ["DELETE", "/ports/web-a"], ["GET", "/ports/web-a/snapshot"],
      ["GET", "/ports/web-a/capture?seconds=1"], ["PUT", "/ports/web-a/snapshot"], ["POST", "/ports/web-a/snapshot/mark"]] as const) {
      const r = await tcp(m, t, s.tcp.read, b);
      expect(r.status, `${m} ${t}`).toBe(403);
      expect(JSON.parse(r.body).error).toMatch(/read-only/);
    }
    expect(s.host.ports.has("web-a")).toBe(true);
  });

  it("an admin token changes, and the answer carries the new generation; the audit log names the token", async () => {
    const before = s.host.generation;
    const r = await tcp("POST", "/ports/web-a/firewall", s.tcp.admin, rule);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ added: "ssh", generation: before + 1 });
    expect(r.headers["wopte-generation"]).toBe(String(before + 1));
    const audit = records.find((x) => x.audit && x.what === "POST /ports/web-a/firewall" && x.result === "ok");
    expect(audit).toMatchObject({ who: { via: "tcp", name: "test-admin", address: "127.0.0.1" }, status: 200, generation: before + 1, body: { name: "ssh" } });
    const refused = await tcp("POST", "/ports/web-a/routes", s.tcp.admin, JSON.stringify({ dest: "10.0.0.0/8/x", target: { type: "drop" } }));
    expect(refused.status).toBe(400);
    expect(records.find((x) => x.audit && x.what === "POST /ports/web-a/routes")).toMatchObject({ result: "refused", status: 400, generation: before + 1, error: expect.stringMatching(/dest/) });
  });

  it("the unix socket needs no token; it is mode 0600 and the caller is known by uid", async () => {
    expect(statSync(s.socket).mode & 0o777).toBe(0o600);
    expect(statSync(s.socket).isSocket()).toBe(true);
    const r = await raw({ path: s.socket }, requestBytes("DELETE", "/ports/web-a/firewall/ssh"));
    expect(r.status).toBe(200);
    const audit = records.find((x) => x.audit && x.what === "DELETE /ports/web-a/firewall/ssh");
    const uid = process.getuid!();
    // the peer's uid comes from SO_PEERCRED (hosts/native/peer.c); without the addon the caller is "unix"
    expect(audit).toMatchObject({ who: has("addon") ? { via: "unix", name: `uid ${uid}`, uid, pid: process.pid } : { via: "unix", name: "unix" }, result: "ok" });
  });

  const asRoot = needs("root", "addon");
  it.skipIf(!asRoot.ready)(asRoot.title("refuses a socket peer of another uid even when the file mode would let it in"), { meta: { needs: asRoot.lacking } }, async () => {
    chmodSync(s.socket, 0o666);
    chmodSync(dirname(s.socket), 0o755);
    try {
      const code = `const s=require("net").connect(${JSON.stringify(s.socket)});s.on("connect",()=>s.write("GET /ports HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"));let o="";s.on("data",d=>o+=d);s.on("close",()=>console.log(o.split(" ")[1]));s.on("error",e=>console.log(e.code))`;
      // not spawnSync: the host answering it lives in this process's event loop
      const out = await new Promise<string>((resolve) => {
        const p = spawn(process.execPath, ["-e", code], { uid: 65534, gid: 65534 });
        let o = ""; p.stdout.on("data", (d) => { o += d; }); p.on("close", () => resolve(o));
      });
      expect(out.trim()).toBe("403");
    } finally { chmodSync(s.socket, 0o600); chmodSync(dirname(s.socket), 0o700); }
  });

  it("metrics can be opened to scrapers alone; everything else still needs a token", async () => {
    const api = new SledApi({ host: s.host });
    const t = await listenTcp(api, { openMetrics: true });
    try {
      const port = Number(new URL(t.base).port);
      expect((await raw({ port }, requestBytes("GET", "/metrics"))).status).toBe(200);
      expect((await raw({ port }, requestBytes("GET", "/health"))).status).toBe(401);
      expect((await raw({ port }, requestBytes("GET", "/metrics?x=1"))).status).toBe(400);
    } finally { await api.close(); }
  });

  it("a listener off loopback needs TLS unless the operator says insecurePlaintext", async () => {
    const api = new SledApi({ host: s.host });
    const tokens = new TokenSet([{ name: "a", role: "admin", token: "t".repeat(32) }]);
    await expect(api.listen({ tcp: { host: "0.0.0.0", port: 0, tokens } })).rejects.toThrow(/without TLS/);
    const l = await api.listen({ tcp: { host: "0.0.0.0", port: 0, tokens, insecurePlaintext: true } });
    expect(l.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await api.close();
  });

  const tls = needs("openssl");
  it.skipIf(!tls.ready)(tls.title("serves HTTPS with the operator's certificate, and the CLI client reaches it with the token"), { meta: { needs: tls.lacking } }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    const api = new SledApi({ host: s.host });
    const t = await listenTcp(api, { tls: { cert: join(dir, "cert.pem"), key: join(dir, "key.pem") } });
    try {
      expect(t.base).toMatch(/^https:/);
      const ca = readFileSync(join(dir, "cert.pem"));
      expect(await call({ ...t.endpoint, ca }, "GET", "/health")).toMatchObject({ ok: true });
      await expect(call({ url: t.base, token: t.read, ca }, "DELETE", "/ports/web-a")).rejects.toMatchObject({ status: 403 });
      await expect(call({ url: t.base, token: t.admin }, "GET", "/health")).rejects.toThrow(/certificate/);
      // plain HTTP to the TLS port gets no answer
      expect((await raw({ port: Number(new URL(t.base).port) }, requestBytes("GET", "/health", { token: t.admin }))).status).not.toBe(200);
    } finally { await api.close(); }
  });
});

describe("the token file", () => {
  it("is made at first start with an admin and a read-only token, mode 0600, and kept after", () => {
    const path = join(mkdtempSync(join(tmpdir(), "wopte-tok-")), "sub", "api-tokens.json");
    const a = loadOrCreateTokens(path);
    expect(a.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(a.tokens.entries.map((e) => [e.name, e.role])).toEqual([["admin", "admin"], ["read", "read"]]);
    const b = loadOrCreateTokens(path);
    expect(b.created).toBe(false);
    expect(b.tokens.entries).toEqual(a.tokens.entries);
    expect(b.tokens.check(a.tokens.first("admin")!.token)?.name).toBe("admin");
    expect(b.tokens.check(a.tokens.first("admin")!.token + "x")).toBeUndefined();
    expect(b.tokens.check("")).toBeUndefined();
  });

  it("is refused when others may read it, or when it is malformed", () => {
    const dir = mkdtempSync(join(tmpdir(), "wopte-tok-"));
    const path = join(dir, "t.json");
    writeFileSync(path, JSON.stringify({ tokens: [{ name: "ops", role: "admin", token: "y".repeat(40) }] }), { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(() => readTokens(path)).toThrow(/readable by others/);
    chmodSync(path, 0o600);
    expect(readTokens(path).check("y".repeat(40))?.name).toBe("ops");
    writeFileSync(path, JSON.stringify({ tokens: [{ name: "ops", role: "root", token: "short" }] }));
    expect(() => readTokens(path)).toThrow(/role|24 characters/);
  });

  it("the CLI reads the token from $WOPTE_TOKEN or $WOPTE_TOKEN_FILE", async () => {
    const { tokenFromEnv } = await import("../../hosts/cli/client.js");
    const dir = mkdtempSync(join(tmpdir(), "wopte-tok-"));
    const path = join(dir, "api-tokens.json");
    const { tokens } = loadOrCreateTokens(path);
    expect(tokenFromEnv({ WOPTE_TOKEN: " abc\n" })).toBe("abc");
    expect(tokenFromEnv({ WOPTE_TOKEN_FILE: path })).toBe(tokens.first("admin")!.token);
    writeFileSync(join(dir, "raw"), "wopte_rawtoken\n");
    expect(tokenFromEnv({ WOPTE_TOKEN_FILE: join(dir, "raw") })).toBe("wopte_rawtoken");
    expect(tokenFromEnv({})).toBeUndefined();
  });
});
