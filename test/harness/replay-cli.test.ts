// `wopte replay` as users run it: a fixture that matches, one whose expected
// bytes were tampered with (exit 1 and a hex diff), bad configs and broken
// captures (exit 2 with a clear message), and the --config/--in/--out form
// writing a pcapng with the guest/network interfaces (or reading classic pcap with --dir).
import { describe, it, expect, vi, afterEach, afterAll } from "vitest";
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { run } from "../../hosts/cli/commands/replay.js";
import { readCapture, writePcap } from "../../hosts/pcap/pcapng.js";

const fixtures = new URL("../../fixtures/", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "wopte-replay-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Run the command, capturing what it prints. */
async function replay(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a) => { out.push(a.join(" ")); });
  vi.spyOn(console, "error").mockImplementation((...a) => { err.push(a.join(" ")); });
  const code = await run(args);
  vi.restoreAllMocks();
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A copy of a fixture to tamper with. */
function copy(name: string): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(join(fixtures, name), dir, { recursive: true });
  return dir;
}

describe("wopte replay <fixture>", () => {
  it("prints one line per frame with the comparison and exits 0 when everything matches", async () => {
    const r = await replay(join(fixtures, "ping-gateway"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ping-gateway: guest pings the gateway/);
    expect(r.out).toMatch(/^\s+0\s+guest\s+hairpin\s+-\s+guest \d+ B\s+gateway: reply \w+.*\s+ok$/m);
    expect(r.out).toMatch(/ok: 2 frames as scenario.json and expected.pcap say/);
  });

  it("shows drops with their reason and the deciding layer and rule by name", async () => {
    const r = await replay(join(fixtures, "spoofed-source"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\s+0\s+guest\s+drop\s+SpoofedSource\s+-\s+gateway: deny SpoofedSource: \S+.*\s+ok$/m);
  });

  it("names the rule that allowed every frame that passed, and the default that denied", async () => {
    const r = await replay(join(fixtures, "firewall-deny-allow"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\s+0\s+network\s+drop\s+LayerDeny\s+-\s+firewall: default\s+ok$/m);
    expect(r.out).toMatch(/^\s+1\s+network\s+pass\s+-\s+guest \d+ B\s+firewall: allow-http-in\s+ok$/m);
    // the reply takes the fast path: its flow still knows which rule let it in
    expect(r.out).toMatch(/^\s+2\s+guest\s+pass\s+-\s+network \d+ B\s+firewall: allow-http-in\s+ok$/m);
    const j = JSON.parse((await replay(join(fixtures, "firewall-deny-allow"), "--json")).out);
    expect(j.frames.map((f: { layer?: string; rule?: string }) => `${f.layer}: ${f.rule}`)).toEqual(["firewall: default", "firewall: allow-http-in", "firewall: allow-http-in"]);
  });

  it("exits 1 with a hex diff marking the differing byte when an expected frame differs", async () => {
    const dir = copy("ping-gateway");
    const expected = readFileSync(join(dir, "expected.pcap"));
    const [first] = readCapture(expected);
    const at = expected.indexOf(Buffer.from(first.bytes)) + 0x22; // the ICMP type of the IPv4 echo reply
    expected[at] ^= 0x40;
    writeFileSync(join(dir, "expected.pcap"), expected);
    const r = await replay(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^\s+0\s+guest\s+hairpin.*ok, output differs$/m);
    expect(r.out).toMatch(/MISMATCH: 1 difference/);
    expect(r.out).toMatch(/frame 0: output differs from expected.pcap frame 0/);
    expect(r.out).toMatch(/  0020  expected .*\n        got      .*\n\s+\^\^/);
  });

  it("exits 1 when the scenario expects another verdict", async () => {
    const dir = copy("spoofed-source");
    const s = JSON.parse(readFileSync(join(dir, "scenario.json"), "utf8"));
    s.frames[0] = { verdict: "drop", reason: "WrongVni" };
    writeFileSync(join(dir, "scenario.json"), JSON.stringify(s));
    const r = await replay(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/frame 0: drop SpoofedSource.*, expected drop WrongVni \(reason differ\)/);
    expect(r.out).toMatch(/^\s+0\s+guest\s+drop.*expected drop WrongVni$/m);
  });

  it("exits 2 with the config error's paths for a bad port.json", async () => {
    const dir = copy("ping-gateway");
    const cfg = JSON.parse(readFileSync(join(dir, "port.json"), "utf8"));
    cfg.vni = "ten"; cfg.guest.mac = "not-a-mac";
    writeFileSync(join(dir, "port.json"), JSON.stringify(cfg));
    const r = await replay(dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/port\.json: invalid port config:/);
    expect(r.err).toMatch(/^\s+vni: /m);
    expect(r.err).toMatch(/^\s+guest\.mac: /m);
  });

  it("exits 2 for a truncated capture, a directory that is no fixture, or no JSON", async () => {
    const dir = copy("ping-gateway");
    const pcap = readFileSync(join(dir, "in.pcap"));
    writeFileSync(join(dir, "in.pcap"), pcap.subarray(0, pcap.length - 7));
    let r = await replay(dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/in\.pcap: pcapng block at byte \d+ has a bad length/);
    r = await replay(scratch);
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/has no port\.json/) });
    writeFileSync(join(dir, "scenario.json"), "{ nope");
    r = await replay(dir);
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/scenario\.json: not JSON/) });
  });
});

describe("wopte replay --config --in --out", () => {
  const fx = join(fixtures, "instance-to-instance-v4");

  it("writes what came out as pcapng with sides, one line per frame", async () => {
    const out = join(scratch, "out.pcap");
    const r = await replay("--config", join(fx, "port.json"), "--in", join(fx, "in.pcap"), "--out", out);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n").filter((l) => /^\s+\d+\s/.test(l));
    const inputs = readCapture(readFileSync(join(fx, "in.pcap")));
    expect(lines).toHaveLength(inputs.length);
    expect(lines[0]).toMatch(/^\s+0\s+guest\s+pass\s+-\s+network \d+ B\s+firewall: default$/);
    const written = readCapture(readFileSync(out));
    const expected = readCapture(readFileSync(join(fx, "expected.pcap")));
    expect(written.map((f) => f.side)).toEqual(expected.map((f) => f.side));
    expect(written.map((f) => f.bytes.length)).toEqual(expected.map((f) => f.bytes.length));
  });

  it("prints JSON for scripts", async () => {
    const r = await replay("--config", join(fx, "port.json"), "--in", join(fx, "in.pcap"), "--json");
    const results = JSON.parse(r.out);
    expect(results[0]).toMatchObject({ index: 0, side: "guest", verdict: "pass", output: { side: "network" } });
    expect(results[0].output.hex).toMatch(/^[0-9a-f]+$/);
  });

  it("reads classic pcap with --dir naming every frame's side", async () => {
    const guestFrames = readCapture(readFileSync(join(fx, "in.pcap"))).filter((f) => f.side === "guest");
    const classic = join(scratch, "classic.pcap");
    writeFileSync(classic, writePcap(guestFrames.slice(0, 1)));
    let r = await replay("--config", join(fx, "port.json"), "--in", classic);
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/frame 0 has no side.*--dir out\|in/) });
    r = await replay("--config", join(fx, "port.json"), "--in", classic, "--dir", "out");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\s+0\s+guest\s+pass/m);
    r = await replay("--config", join(fx, "port.json"), "--in", classic, "--dir", "sideways");
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/--dir "sideways" is not one of out, in/) });
  });
});
