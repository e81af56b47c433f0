// A sled checks a snapshot the way it would restore it, without restoring:
// POST /ports/{name}/snapshot/check answers what PUT /ports/{name}/snapshot
// would refuse, in the same words, and `wopte snapshot verify --port` asks it.
import { describe, it, expect, afterAll, vi } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startSled } from "../helpers/api-hosts.js";
import { withEntries } from "../helpers/snapshot-port.js";
import { until } from "../helpers/until.js";
import { run } from "../../hosts/cli/commands/snapshot.js";
import { Dir } from "../../hosts/engine/batch.js";
import { ipFrame, tcp, udp, TCP_FLAGS } from "../helpers/frames.js";
import type { MemoryDevice } from "../../hosts/sled/devices.js";

const G = "a8:40:25:f0:00:05", GW = "a8:40:25:ff:77:77";

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { out += a.join(" ") + "\n"; });
  const write = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try { return { code: await run(args), out, err }; } finally { log.mockRestore(); write.mockRestore(); }
}

describe("checking a snapshot against a sled's port", async () => {
  const s = await startSled();
  afterAll(() => s.close());
  const dev = s.host.port("web-a").device as MemoryDevice;
  dev.inject([
    ipFrame(GW, G, "172.30.0.5", "203.0.113.9", 6, tcp("172.30.0.5", "203.0.113.9", 40000, 443, TCP_FLAGS.SYN)),
    ipFrame(GW, G, "172.30.0.5", "172.30.0.6", 17, udp("172.30.0.5", "172.30.0.6", 5000, 53, new Uint8Array(8))),
  ]);
  await until(() => s.host.flows("web-a").length === 2, "the two flows");
  const dir = mkdtempSync(join(tmpdir(), "wopte-check-"));

  it("answers ok for the port's own snapshot, and the check the restore would refuse with otherwise", async () => {
    const snap = new Uint8Array(await (await s.tcp.fetch(`${s.tcp.base}/ports/web-a/snapshot`)).arrayBuffer());
    expect(snap.length).toBeGreaterThan(48);
    const post = (b: Uint8Array) => s.tcp.fetch(`${s.tcp.base}/ports/web-a/snapshot/check`, { method: "POST", body: b, headers: { "content-type": "application/octet-stream" } });
    let r = await post(snap);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true });
    const flows = s.host.flows("web-a").length;
    expect(flows).toBe(2);

    const twice = withEntries(snap, [0, 1, 1]);
    r = await post(twice);
    const j = await r.json() as { ok: boolean; check: string; error: string };
    expect(j).toMatchObject({ ok: false, check: "KeyTwice" });
    expect(j.error).toMatch(/^could not restore the snapshot: two flows share key out udp 172\.30\.0\.5:5000 > 172\.30\.0\.6:53 vni \d+ \(flows 1 and 2\)$/);
    const put = await s.tcp.fetch(`${s.tcp.base}/ports/web-a/snapshot`, { method: "PUT", body: twice, headers: { "content-type": "application/octet-stream" } });
    expect(put.status).toBe(422);
    expect(((await put.json()) as { error: string }).error).toBe(j.error);
    expect(s.host.flows("web-a").length).toBe(flows);

    // the CLI asks the sled with --port
    const f = join(dir, "twice.snap");
    writeFileSync(f, twice);
    const v = await cli("verify", f, "--api", s.socket, "--port", "web-a");
    expect(v.code).toBe(1);
    expect(v.err).toBe(`wopte: ${f}: ${j.error.replace(/^could not restore the snapshot: /, "")} (for port web-a)\n`);
    writeFileSync(join(dir, "ok.snap"), snap);
    expect((await cli("verify", join(dir, "ok.snap"), "--api", s.socket, "--port", "web-a")).out).toMatch(/^ok: .*port web-a would take it/);
  });
});
