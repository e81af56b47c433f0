// The snapshot tool as users run it: export after a replay run, inspect,
// verify, diff; clear errors for bad files.
import { describe, it, expect } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { needs } from "../helpers/tools.js";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin", "wopte.js");
const run = promisify(execFile);
const env = needs("built");
const wopte = async (...args: string[]) => (await run("node", [bin, ...args], { cwd: root })).stdout;

describe(env.title("wopte snapshot"), env.options, () => {
  const dir = mkdtempSync(join(tmpdir(), "wopte-snap-"));
  const a = join(dir, "a.snap"), b = join(dir, "b.snap");

  it("exports the state a replay left, and inspects and verifies it", async () => {
    expect(await wopte("snapshot", "export", "--config", "fixtures/nat-out-tcp/port.json", "--in", "fixtures/nat-out-tcp/in.pcap", "--out", a)).toMatch(/2 flows/);
    const text = await wopte("snapshot", "inspect", a);
    expect(text).toMatch(/172\.30\.0\.5:41000 → 203\.0\.113\.80:443\s+203\.0\.113\.80:443 → 198\.51\.100\.10:16384\s+established\s+pool 0 port 16384/); // the fixture completes the handshake
    expect(JSON.parse(await wopte("snapshot", "inspect", a, "--json")).flows).toHaveLength(2);
    expect(await wopte("snapshot", "verify", a)).toMatch(/^ok: snapshot version 2, full, 2 flows/);
  });

  it("diffs two snapshots", async () => {
    await wopte("snapshot", "export", "--config", "fixtures/instance-to-instance-v4/port.json", "--in", "fixtures/instance-to-instance-v4/in.pcap", "--out", b);
    // flows differ: exit 1, as diff(1) does
    const d = await run("node", [bin, "snapshot", "diff", a, b], { cwd: root }).then(() => { throw new Error("diff exited 0"); },
      (e: { code: number; stdout: string }) => { expect(e.code).toBe(1); return e.stdout; });
    expect(await wopte("snapshot", "diff", a, a)).toMatch(/^0 flows added, 0 removed, 0 changed/);
    expect(d).toMatch(/^1 flows added, 2 removed, 0 changed/);
    expect(d).toMatch(/\+ out 6 172\.30\.0\.5:40000 > 172\.30\.0\.6:80/);
  });

  it("says what is wrong with a bad file and exits non-zero", async () => {
    const bad = join(dir, "bad.snap");
    const bytes = readFileSync(a);
    bytes[60] ^= 0xff;
    writeFileSync(bad, bytes);
    await expect(run("node", [bin, "snapshot", "verify", bad])).rejects.toMatchObject({ stderr: expect.stringMatching(/checksum mismatch/) });
    writeFileSync(bad, bytes.subarray(0, 30));
    await expect(run("node", [bin, "snapshot", "inspect", bad])).rejects.toMatchObject({ stderr: expect.stringMatching(/truncated at byte 30/) });
  });
});
