// API fuzzing over real HTTP (fast-check): generated methods, targets,
// headers and bodies — hostile segments, bad percent-escapes, unknown and
// mistyped fields, deep nesting, every reproduction of issue 15 — against a
// running sled host and gateway host. Each answer is 2xx or 4xx, never 500
// and never silence; a refused request changes nothing (state and generation
// equal before and after); and at the end the host's state equals a fresh
// host's after replaying only the accepted changes: what the host holds is
// exactly its starting state plus the accepted changes.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { startSled, startGateway, raw, portOf, RawAnswer } from "../helpers/api-hosts.js";
import { examplePortJson } from "../helpers/example-port.js";
import type { SledHost } from "../../hosts/sled/sled.js";
import type { GatewayHost } from "../../hosts/gateway/gateway.js";

interface Req { method: string; target: string; headers: string[]; body?: string; auth: "admin" | "read" | "none" | "junk" }

function bytes(r: Req, token?: string): string {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, "Host: fuzz", "Connection: close", ...r.headers];
  if (token) lines.push(`Authorization: Bearer ${token}`);
  if (r.body !== undefined && !r.headers.some((h) => /^content-length:/i.test(h))) lines.push(`Content-Length: ${Buffer.byteLength(r.body, "latin1")}`);
  return lines.join("\r\n") + "\r\n\r\n" + (r.body ?? "");
}

// ---- generators

const hostileSegment = fc.oneof(
  fc.constantFrom("", "..", ".", "%2e%2e", "a%2Fb", "%00", "web-a%0A", "x".repeat(300), "%E0%A4%A", "[", "%", "%zz", "%C3%A9", "web-a%20", "-a", "a b"),
  fc.string({ unit: fc.constantFrom(..."aZ09-._~%/[]:@!$&'()*+,;=?#\\\"<>^`{|}".split("")), maxLength: 12 }),
);
const portName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("web-a", "web-b") }, { weight: 1, arbitrary: hostileSegment });
const ipSeg = fc.oneof(fc.constantFrom("172.30.0.9", "fd00::9", "239.1.2.3", "ff0e::1", "198.51.100.10", "198.51.100.30", "notanip", "10.0.0.1%0A"), hostileSegment);
const numSeg = fc.oneof(fc.constantFrom("1024", "0", "16777216", "-5", "1.5", "1e3", "0x10", "01", "abc", "65535", "70000"), hostileSegment);

const sledTargets = fc.oneof(
  fc.constantFrom("/health", "/ports", "/v2p", "/m2p", "/stats", "/metrics", "/openapi.json", "/usage", "//[", "/%E0%A4%A", "/", "*", "http://x/ports", "/ports/", "/ports//state"),
  fc.tuple(portName, fc.constantFrom("", "/state", "/firewall", "/routes", "/external-ips", "/multicast", "/flow-log", "/layers", "/flows", "/stats", "/snapshot", "/snapshot/mark"))
    .map(([n, tail]) => `/ports/${n}${tail}`),
  fc.tuple(portName, fc.constantFrom("r1", "ssh", "nope", "%0A")).map(([n, r]) => `/ports/${n}/firewall/${r}`),
  fc.tuple(portName, ipSeg).map(([n, g]) => `/ports/${n}/multicast/${g}`),
  fc.tuple(numSeg, ipSeg).map(([v, i]) => `/v2p/${v}/${i}`),
  ipSeg.map((g) => `/m2p/${g}`),
);
const gatewayTargets = fc.oneof(
  fc.constantFrom("/health", "/stats", "/metrics", "/advertised", "/nat", "/openapi.json", "//[", "/%E0%A4%A", "/", "/nat/"),
  ipSeg.map((i) => `/nat/${i}`),
  fc.tuple(ipSeg, numSeg).map(([i, a]) => `/nat/${i}/${a}`),
  fc.tuple(ipSeg, numSeg, numSeg).map(([i, a, b]) => `/nat/${i}/${a}/${b}`),
);
const query = fc.option(fc.oneof(
  fc.constantFrom("since=abc", "since=1", "since=1&since=2", "dest=10.0.0.0/8", "dest=10.9.0.0/16/../../etc/passwd", "dest=", "port=web-a&since=10m",
    "flows=1", "flows=2", "x=1", "%zz=1", "since=%E0%A4%A"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
), { nil: undefined });

/** Add an unknown key somewhere inside a JSON value. */
function withUnknownKey(v: unknown, depth: number): unknown {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const k = keys.find((x, i) => i >= depth % Math.max(1, keys.length) && typeof (v as Record<string, unknown>)[x] === "object" && (v as Record<string, unknown>)[x] !== null);
    if (depth > 0 && k !== undefined) return { ...v, [k]: withUnknownKey((v as Record<string, unknown>)[k], depth - 1) };
    return { ...v, firewal: { deeply: { nested: [1, 2] } } };
  }
  if (Array.isArray(v) && v.length) return [withUnknownKey(v[0], depth - 1), ...v.slice(1)];
  return v;
}

const rule = fc.record({
  name: fc.constantFrom("r1", "r2", "ssh", "", "x\ny"), direction: fc.constantFrom("in", "out", "sideways"), action: fc.constantFrom("allow", "deny"),
  priority: fc.oneof(fc.constant(100), fc.integer({ min: -1, max: 70000 })),
  protocols: fc.subarray(["tcp", "udp", "icmp"]), ports: fc.array(fc.oneof(fc.constantFrom(22, 80, 65536, -1), fc.constantFrom("8000-8080", "90-80", "1e3", "22")), { maxLength: 3 }),
}, { requiredKeys: ["name", "direction", "action"] });
const route = fc.record({
  dest: fc.constantFrom("10.0.0.0/8", "192.0.2.0/24", "fd00:1::/64", "10.9.0.0/16/../../etc/passwd", "192.0.2.0/24\n", "10.0.0.0/33", "10.0.0.1"),
  target: fc.constantFrom({ type: "drop" }, { type: "vpcSubnet" }, { type: "instance", ip: "172.30.0.9" }, { type: "bogus" }, { type: "instance", ip: "x" }),
});
const v2p = fc.record({
  vni: fc.constantFrom(1024, 2 ** 30, -5, 1.5, "1024"), ip: fc.constantFrom("172.30.0.9", "fd00:1024::9", "notanip"),
  mac: fc.constantFrom("a8:40:25:f0:00:09", "zz", "A8-40-25-F0-00-09"), underlay: fc.constantFrom("fd00:1122:3344:102::1", "10.0.0.1"),
});
const portConfig = fc.tuple(fc.constantFrom("web-b", "web-a", "web\nc", "../x"), fc.constantFrom("a8:40:25:f0:00:06", "a8:40:25:f0:00:05", "zz"))
  .map(([name, mac]) => { const c = examplePortJson(); c.name = name; c.guest.mac = mac; return { config: c }; });
const natTarget = fc.record({
  sled: fc.constantFrom("fd00:1122:3344:101::1", "10.0.0.1", "fd00::1\n"), vni: fc.constantFrom(1024, 2 ** 30, -5, 1.5, 99), mac: fc.constantFrom("a8:40:25:f0:00:05", "zz"),
});

const sledBodies = fc.oneof(
  rule, fc.array(rule, { maxLength: 3 }), route, v2p, portConfig,
  fc.record({ state: fc.constantFrom("running", "paused", "ready", "reset", "bogus", 1) }),
  fc.record({ group: fc.constantFrom("239.1.2.3", "ff0e::1", "224.0.0.251"), underlay: fc.constantFrom("ff04::1:2:3", "fd00::1") }),
  fc.record({ group: fc.constantFrom("239.1.2.3", "ff0e::1"), mode: fc.constantFrom("include", "exclude"), sources: fc.subarray(["172.30.0.6", "fd00::6", "239.9.9.9"]) }),
  fc.record({ enabled: fc.boolean(), file: fc.constantFrom("a.log", "../x", "/etc/passwd", "b.log"), path: fc.constant("/nonexistent-dir/x.log") }, { requiredKeys: ["enabled"] }),
  fc.record({ snat: fc.record({ ip: fc.constantFrom("198.51.100.10", "x"), firstPort: fc.constantFrom(16384, 70000), lastPort: fc.constantFrom(32767, 1) }), floating: fc.constant([]) }),
);
const gatewayBodies = fc.oneof(
  natTarget,
  fc.array(fc.constantFrom("198.51.100.0/24", "203.0.113.0/24", "fd00:99::/48", "198.51.100.0/24/ blackhole; }\nprotocol kernel evil { ipv4 { export all; }; }", "10.0.0.0/33", "10.0.0.1"), { maxLength: 3 }),
);

function bodyArb(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.tuple(valid, fc.nat(4)).map(([v, d]) => JSON.stringify(withUnknownKey(v, d))) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constantFrom("{not json", "", "null", "[]", "{}", "\u0000", "\"x\"", "[".repeat(5000) + "]".repeat(5000), "{\"__proto__\":{\"admin\":true}}", "\xff\xfe") },
  );
}

/** A request whose method, target and body belong together (mostly accepted), sometimes with an unknown key slipped in. */
function coherent(kinds: [string, fc.Arbitrary<string>, fc.Arbitrary<unknown> | undefined][]): fc.Arbitrary<Req> {
  return fc.oneof(...kinds.map(([method, target, body]) => fc.record({
    method: fc.constant(method), target, headers: fc.constant(body ? ["Content-Type: application/json"] : []),
    body: body ? fc.tuple(body, fc.nat(9)).map(([b, d]) => JSON.stringify(d === 0 ? withUnknownKey(b, 2) : b)) : fc.constant(undefined),
    auth: fc.constant("admin" as const),
  })));
}

const p = fc.constantFrom("web-a", "web-b");
const sledCoherent = coherent([
  ["POST", p.map((n) => `/ports/${n}/firewall`), rule], ["PUT", p.map((n) => `/ports/${n}/firewall`), fc.array(rule, { maxLength: 3 })],
  ["DELETE", fc.tuple(p, fc.constantFrom("r1", "r2", "ssh")).map(([n, r]) => `/ports/${n}/firewall/${r}`), undefined],
  ["POST", p.map((n) => `/ports/${n}/routes`), route],
  ["DELETE", fc.tuple(p, fc.constantFrom("10.0.0.0/8", "192.0.2.0/24", "fd00:1::/64")).map(([n, d]) => `/ports/${n}/routes?dest=${encodeURIComponent(d)}`), undefined],
  ["PUT", fc.constant("/v2p"), v2p], ["DELETE", fc.constantFrom("/v2p/1024/172.30.0.9", "/v2p/1024/fd00:1024::9"), undefined],
  ["PUT", fc.constant("/m2p"), fc.record({ group: fc.constantFrom("239.1.2.3", "ff0e::1"), underlay: fc.constantFrom("ff04::1:2:3", "ff04::9") })],
  ["DELETE", fc.constantFrom("/m2p/239.1.2.3", "/m2p/ff0e::1"), undefined],
  ["POST", p.map((n) => `/ports/${n}/multicast`), fc.record({ group: fc.constantFrom("239.1.2.3", "ff0e::1"), mode: fc.constantFrom("include", "exclude"), sources: fc.subarray(["172.30.0.6", "fd00::6"]) })],
  ["DELETE", fc.tuple(p, fc.constantFrom("239.1.2.3", "ff0e::1")).map(([n, g]) => `/ports/${n}/multicast/${g}`), undefined],
  ["PUT", p.map((n) => `/ports/${n}/state`), fc.record({ state: fc.constantFrom("running", "paused", "ready", "reset") })],
  ["POST", fc.constant("/ports"), portConfig], ["DELETE", p.map((n) => `/ports/${n}`), undefined],
  ["PUT", p.map((n) => `/ports/${n}/flow-log`), fc.record({ enabled: fc.boolean(), file: fc.constantFrom("a.log", "b.log") }, { requiredKeys: ["enabled"] })],
  ["PUT", p.map((n) => `/ports/${n}/external-ips`), fc.record({ snat: fc.record({ ip: fc.constant("198.51.100.10"), firstPort: fc.constantFrom(16384, 20000), lastPort: fc.constant(32767) }), floating: fc.constant([]) })],
]);
const gatewayCoherent = coherent([
  ["PUT", fc.tuple(fc.constantFrom("198.51.100.10", "198.51.100.30", "fd00:99::1"), fc.constantFrom(0, 1000, 16384, 40000), fc.constantFrom(999, 2000, 65535))
    .map(([i, a, b]) => `/nat/${i}/${a}/${b}`), natTarget],
  ["DELETE", fc.tuple(fc.constantFrom("198.51.100.10", "198.51.100.30"), fc.constantFrom(0, 1000, 16384, 40000)).map(([i, a]) => `/nat/${i}/${a}`), undefined],
  ["PUT", fc.constant("/advertised"), fc.array(fc.constantFrom("198.51.100.0/24", "203.0.113.0/24", "fd00:99::/48"), { minLength: 1, maxLength: 3 })],
]);

function requests(targets: fc.Arbitrary<string>, bodies: fc.Arbitrary<unknown>, valid: fc.Arbitrary<Req>): fc.Arbitrary<Req> {
  return fc.oneof({ weight: 2, arbitrary: valid }, { weight: 3, arbitrary: anyRequest(targets, bodies) });
}

function anyRequest(targets: fc.Arbitrary<string>, bodies: fc.Arbitrary<unknown>): fc.Arbitrary<Req> {
  return fc.record({
    method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom("GET", "PUT", "POST", "DELETE") }, { weight: 1, arbitrary: fc.constantFrom("PATCH", "HEAD", "OPTIONS", "TRACE", "FOO", "get") }),
    target: fc.tuple(targets, query).map(([t, q]) => (q === undefined ? t : `${t}?${q}`)),
    headers: fc.tuple(
      fc.constantFrom(["Content-Type: application/json"], ["Content-Type: application/json; charset=utf-8"], ["Content-Type: text/plain"], ["Content-Type: application/octet-stream"], [], ["Content-Type: APPLICATION/JSON"]),
      fc.constantFrom([], [], [], ["X-Junk: \u00ff\u00fe"], ["Bad Header: x"], ["Content-Length: 5"], ["Content-Length: -1"], ["Transfer-Encoding: gzip"], ["Expect: 100-continue"], ["Content-Length: 99999999999"]),
    ).map(([a, b]) => [...a, ...b]),
    body: bodyArb(bodies),
    auth: fc.oneof({ weight: 8, arbitrary: fc.constant("admin" as const) }, { weight: 1, arbitrary: fc.constantFrom("read" as const, "none" as const, "junk" as const) }),
  });
}

// every reproduction in issue 15, as requests
const sledRepros: Req[] = [
  { method: "GET", target: "//[", headers: [], auth: "admin" },
  { method: "PUT", target: "/ports/web-a/flow-log", headers: ["Content-Type: application/json"], body: JSON.stringify({ enabled: true, path: "/nonexistent-dir/x.log" }), auth: "admin" },
  { method: "POST", target: "/ports/web-a/routes", headers: ["Content-Type: application/json"], body: JSON.stringify({ dest: "10.9.0.0/16/../../etc/passwd", target: { type: "drop" } }), auth: "admin" },
  { method: "POST", target: "/ports", headers: ["Content-Type: application/json"], body: JSON.stringify(withUnknownKey({ config: { ...examplePortJson(), name: "web-b", guest: { mac: "a8:40:25:f0:00:06", ipv4: "172.30.0.6" } } }, 3)), auth: "admin" },
  { method: "POST", target: "/ports/web-a/firewall", headers: ["Content-Type: application/json"], body: JSON.stringify({ name: "x", direction: "in", action: "allow", firewal: [] }), auth: "admin" },
  { method: "DELETE", target: "/v2p/1024/notanip", headers: [], auth: "admin" },
  { method: "GET", target: "/ports/web-a/snapshot?since=abc", headers: [], auth: "admin" },
  { method: "POST", target: "/ports/web-a/firewall", headers: ["Content-Type: application/json"], body: JSON.stringify({ name: "open", direction: "in", priority: 0, action: "allow" }), auth: "none" },
];
const gatewayRepros: Req[] = [
  { method: "GET", target: "/%E0%A4%A", headers: [], auth: "admin" },
  ...[2 ** 30, -5, 1.5].map((vni) => ({ method: "PUT", target: "/nat/198.51.100.30/1000/2000", headers: ["Content-Type: application/json"], body: JSON.stringify({ sled: "fd00:1122:3344:101::1", vni, mac: "a8:40:25:f0:00:05" }), auth: "admin" as const })),
  { method: "PUT", target: "/nat/198.51.100.30/1000/2000", headers: ["Content-Type: application/json"], body: JSON.stringify({ sled: "fd00:1122:3344:101::1", vni: 1024, mac: "zz" }), auth: "admin" },
  { method: "PUT", target: "/advertised", headers: ["Content-Type: application/json"], body: JSON.stringify(["198.51.100.0/24/ blackhole; }\nprotocol kernel evil {"]), auth: "admin" },
];

// ---- what a refusal says: the operator's terms, never the engine's export
// names (read from engine/index.ts, so a new export is covered), zod's bare
// "Invalid input", or a value printed as [object Object] or undefined

const engineExports = [...readFileSync(new URL("../../engine/index.ts", import.meta.url), "utf8").matchAll(/^export function (\w+)/gm)].map((m) => m[1]);
const LEAKS = new RegExp(`\\b(${engineExports.join("|")})\\b|Invalid input|\\[object Object\\]|\\bundefined\\b|\\bNaN\\b`);

function errorText(body: string): string {
  try { return String((JSON.parse(body) as { error?: unknown }).error ?? body); } catch { return body; }
}

// ---- what a host holds

function sledState(h: SledHost) {
  return {
    generation: h.generation,
    ports: [...h.ports.values()].map((p) => ({
      name: p.name, id: p.id, config: p.compiled.config, state: h.engine.portState(p.id), flowLog: p.flowLog?.path.split("/").pop(),
      layers: h.engine.layers(p.id).map((l) => ({ name: l.name, rules: l.rules.length })),
    })),
    v2p: h.listV2p(), m2p: h.listM2p(),
  };
}
function gatewayState(h: GatewayHost) { return { generation: h.generation, nat: h.listNat(), owned: h.ownedPrefixes }; }

async function fuzzHost<H>(
  start: () => Promise<{ host: H; tcp: { admin: string; read: string; base: string }; socket: string; close(): Promise<void> }>,
  state: (h: H) => unknown, arb: fc.Arbitrary<Req>, repros: Req[], numRuns: number,
): Promise<{ accepted: number; refused: number; statuses: Record<number, number> }> {
  const a = await start();
  const port = Number(new URL(a.tcp.base).port);
  const accepted: Req[] = [];
  const statuses: Record<number, number> = {};
  let refused = 0;
  const send = (r: Req): Promise<RawAnswer> => {
    const token = r.auth === "admin" ? a.tcp.admin : r.auth === "read" ? a.tcp.read : r.auth === "junk" ? "wopte_junk_junk_junk_junk_junk" : undefined;
    return raw({ port }, bytes(r, token), { timeoutMs: 15_000 });
  };
  const one = async (r: Req) => {
    const before = JSON.stringify(state(a.host));
    const ans = await send(r);
    statuses[ans.status] = (statuses[ans.status] ?? 0) + 1;
    expect(ans.status, `${r.method} ${r.target} → ${ans.status} ${ans.body.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
    expect(ans.status, `${r.method} ${r.target} → ${ans.body.slice(0, 300)}`).toBeLessThan(500);
    if (ans.status >= 300) {
      refused++;
      const said = errorText(ans.body);
      expect(said, `${r.method} ${r.target} → ${ans.status} ${ans.body.slice(0, 300)}`).not.toMatch(LEAKS);
      expect(JSON.stringify(state(a.host)), `${r.method} ${r.target} was refused (${ans.status}) but changed the host`).toBe(before);
    } else if (r.method !== "GET" && r.method !== "HEAD") accepted.push(r);
  };
  try {
    for (const r of repros) {
      await one(r);
      expect(accepted).toEqual([]);
    }
    await fc.assert(fc.asyncProperty(arb, one), { numRuns, endOnFailure: true });
    expect((await raw({ port }, bytes({ method: "GET", target: "/health", headers: [], auth: "admin" }, a.tcp.admin))).status).toBe(200);
    // the accepted changes, replayed on a fresh host (over its unix socket), lead to the same state
    const b = await start();
    try {
      for (const r of accepted) {
        const ans = await raw({ path: b.socket }, bytes(r));
        expect(ans.status, `replaying ${r.method} ${r.target}: ${ans.body.slice(0, 200)}`).toBeLessThan(300);
      }
      expect(state(b.host)).toEqual(state(a.host));
    } finally { await b.close(); }
  } finally { await a.close(); }
  return { accepted: accepted.length, refused, statuses };
}

describe("API fuzzing over HTTP", () => {
  it("a sled host answers every generated request with 2xx or 4xx, and holds exactly the accepted changes", async () => {
    const r = await fuzzHost(() => startSled({ limits: { bodyTimeoutMs: 300 } }), sledState, requests(sledTargets, sledBodies, sledCoherent), sledRepros, 600);
    console.log(`sled fuzz: ${r.accepted} changes accepted, ${r.refused} refused; statuses ${JSON.stringify(r.statuses)}`);
    expect(r.accepted).toBeGreaterThan(5);
  }, 240_000);

  it("a gateway host answers every generated request with 2xx or 4xx, and holds exactly the accepted changes", async () => {
    const r = await fuzzHost(() => startGateway({ limits: { bodyTimeoutMs: 300 } }), gatewayState, requests(gatewayTargets, gatewayBodies, gatewayCoherent), gatewayRepros, 400);
    console.log(`gateway fuzz: ${r.accepted} changes accepted, ${r.refused} refused; statuses ${JSON.stringify(r.statuses)}`);
    expect(r.accepted).toBeGreaterThan(5);
  }, 240_000);
});
