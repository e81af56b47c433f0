// The playground: every golden fixture is a scenario, read from fixtures/;
// in headless Chromium, at a desktop width and at 400 px, each runs in the
// page as its scenario.json expects, what the engine changed is
// highlighted, rules have names, and nothing is cut off.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdirSync, readdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { Agent, get } from "node:http";
import { join } from "node:path";
import type { Server } from "node:http";
import { startPlayground, loadScenarios, stopPlayground, PlaygroundScenario } from "../../hosts/playground/server.js";
import { isFixture } from "../../hosts/harness/fixture.js";
import { needs, which } from "../helpers/tools.js";

const root = new URL("../../", import.meta.url).pathname;
const browserEnv = needs("chromium", "playground");
const cliEnv = needs("built");
const fixtures = readdirSync(join(root, "fixtures")).filter((d) => isFixture(join(root, "fixtures", d))).sort();

describe("scenarios", () => {
  it("offers every fixture of fixtures/, with its story, port config, frames and expectations", () => {
    const s = loadScenarios(root);
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    expect(s.map((x) => x.name)).toEqual(fixtures);
    for (const x of s as PlaygroundScenario[]) {
      expect(x, x.name).not.toHaveProperty("error");
      expect(x.story.length, x.name).toBeGreaterThan(20);
      expect(x.frames.length, x.name).toBe(x.expect.length);
      expect(x.frames.every((f) => /^([0-9a-f]{2})+$/.test(f.hex) && (f.side === "guest" || f.side === "network")), x.name).toBe(true);
    }
  });

  it("serves /favicon.ico, 404s what it does not have and refuses anything but GET", async () => {
    const { server, url } = await startPlayground(0);
    try {
      const icon = await fetch(url + "favicon.ico");
      expect(icon.status).toBe(200);
      expect(icon.headers.get("content-type")).toBe("image/x-icon");
      expect(Buffer.from(await icon.arrayBuffer()).subarray(0, 4).toString("hex")).toBe("00000100"); // ICO header
      expect((await fetch(url + "nope")).status).toBe(404);
      expect((await fetch(url + "api/scenarios", { method: "POST" })).status).toBe(405);
    } finally {
      await stopPlayground(server);
    }
  });
});

describe(cliEnv.title("wopte playground"), cliEnv.options, () => {
  it("stops at the first Ctrl-C, even with a browser's keep-alive connection open", async () => {
    const p = spawn("node", [join(root, "bin/wopte.js"), "playground", "--port", "0"], { cwd: root });
    const exited = new Promise<number | null>((resolve) => p.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      p.stdout!.on("data", (d) => { out += d; const m = /at (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]); });
      p.once("exit", (code) => reject(new Error(`playground exited ${code}: ${out}`)));
    });
    // a page load leaves its connection open, as a browser tab does
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => get(url, { agent }, (res) => { res.resume(); res.on("end", () => resolve()); }).on("error", reject));
    p.kill("SIGINT");
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running 15 s after one SIGINT"), 15_000))]);
    if (code !== 0) p.kill("SIGKILL");
    agent.destroy();
    expect(code).toBe(0);
  }, 30_000);

  it("refuses a --port that is not a port, with usage", async () => {
    const p = spawn("node", [join(root, "bin/wopte.js"), "playground", "--port", "http"], { cwd: root });
    let err = "";
    p.stderr!.on("data", (d) => { err += d; });
    const code = await new Promise((resolve) => p.once("exit", resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/^wopte: playground: --port wants a whole number from 0 to 65535, not "http"\n\nusage: wopte playground/);
  });
});

const widths = [{ name: "desktop", width: 1280, height: 900 }, { name: "400 px", width: 400, height: 800 }];

describe(browserEnv.title("playground in headless Chromium"), browserEnv.options, () => {
  let server: Server;
  let url = "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let browser: any;

  beforeAll(async () => {
    ({ server, url } = await startPlayground(0));
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: which("chromium"),
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      // playwright starts Chromium on a fresh, empty profile of its own (no --user-data-dir needed)
    });
  }, 60_000);
  afterAll(async () => { await browser?.close(); if (server) await stopPlayground(server); });

  async function open(width: number, height: number) {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    return { page, errors };
  }

  const scenario = (name: string) => (loadScenarios(root) as PlaygroundScenario[]).find((x) => x.name === name)!;

  /** Pick a scenario and wait until its story and one card per frame show. */
  async function pick(page: { selectOption: Function; waitForFunction: Function }, name: string) {
    const s = scenario(name);
    await page.selectOption("#scenario", name);
    await page.waitForFunction(([n, story]: [number, string]) => document.querySelector("#story")!.textContent === story &&
      document.querySelectorAll(".frame-result").length === n && document.querySelector("#flows h2") !== null, [s.frames.length, s.story]);
  }

  for (const w of widths) {
    it(`runs every fixture as its scenario.json expects, at ${w.name}, with nothing cut off`, async () => {
      const { page, errors } = await open(w.width, w.height);
      const offered = await page.$$eval("#scenario option", (os: HTMLOptionElement[]) => os.map((o) => o.value));
      expect(offered).toEqual(fixtures);
      for (const s of loadScenarios(root) as PlaygroundScenario[]) {
        await pick(page, s.name);
        const shown = await page.$$eval(".frame-result", (els: Element[]) => els.map((e) => ({
          verdict: e.getAttribute("data-verdict"), layer: e.getAttribute("data-layer"), reason: e.getAttribute("data-reason") })));
        s.expect.forEach((x, i) => {
          expect(shown[i].verdict, `${s.name} #${i}`).toBe(x.verdict);
          if (x.reason) expect(shown[i].reason, `${s.name} #${i}`).toBe(x.reason);
          if (x.layer) expect(shown[i].layer, `${s.name} #${i}`).toBe(x.layer);
        });
        expect(await page.$$eval(".expect.differs", (els: Element[]) => els.length), s.name).toBe(0);
        // usable at this width: the page does not scroll sideways and every card fits the window
        const fit = await page.evaluate(() => ({
          page: document.documentElement.scrollWidth, window: window.innerWidth,
          widest: Math.max(...[...document.querySelectorAll(".frame-result, #inputs, #flows")].map((e) => e.getBoundingClientRect().right)),
        }));
        expect(fit.page, `${s.name}: page width at ${w.name}`).toBeLessThanOrEqual(fit.window);
        expect(fit.widest, `${s.name}: widest card at ${w.name}`).toBeLessThanOrEqual(fit.window);
      }
      const dir = join(root, "build", "playground");
      mkdirSync(dir, { recursive: true });
      await pick(page, "nat-out-ping");
      await page.screenshot({ path: join(dir, `screenshot-${w.width}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  }

  it("highlights what the engine changed: SNAT's new source, the added Geneve headers", async () => {
    const { page } = await open(1280, 900);
    await pick(page, "nat-out-ping");
    const first = ".frame-result:first-child";
    const changed = await page.$$eval(`${first} .cols > div:last-child td.value.changed`, (els: Element[]) => els.map((e) => [e.textContent, e.getAttribute("title")]));
    expect(changed).toContainEqual(["198.51.100.10", "was 172.30.0.5"]);
    const added = await page.$$eval(`${first} .cols > div:last-child tr.hdr.added th`, (els: Element[]) => els.map((e) => e.textContent!.split(" @")[0]));
    expect(added).toEqual(["Ethernet", "IPv6", "UDP", "Geneve"]);
    // the reply coming back: the outer headers are gone, the destination translated back
    const back = ".frame-result:nth-child(2)";
    expect(await page.$$eval(`${back} .cols > div:first-child tr.hdr.removed th`, (els: Element[]) => els.length)).toBe(4);
    expect(await page.$$eval(`${back} .cols > div:last-child td.value.changed`, (els: Element[]) => els.map((e) => e.textContent))).toContain("172.30.0.5");
    await page.close();
  }, 60_000);

  it("names the rule that decided: a firewall rule by its config name, the layers' own rules by what they do", async () => {
    const { page } = await open(1280, 900);
    await pick(page, "spoofed-source");
    expect(await page.getAttribute(".frame-result:first-child", "data-rule")).toMatch(/^deny SpoofedSource: ethSrc not a8:40:25:f0:00:05$/);
    await pick(page, "firewall-deny-allow");
    expect(await page.getAttribute(".frame-result:first-child", "data-rule")).toBe("default");
    // a deny rule of our own for the SSH probe: the page names it
    const config = JSON.parse(await page.inputValue("#config"));
    config.firewall.push({ name: "no-ssh-from-anywhere", direction: "in", priority: 50, action: "deny", protocols: ["tcp"], ports: [22] });
    await page.fill("#config", JSON.stringify(config));
    await page.click("#run");
    await page.waitForFunction(() => document.querySelector(".frame-result")?.getAttribute("data-rule") === "no-ssh-from-anywhere");
    expect(await page.textContent(".frame-result:first-child .why")).toContain("decided by layer firewall, rule no-ssh-from-anywhere, reason LayerDeny");
    await page.close();
  }, 60_000);

  it("shows config errors with their path", async () => {
    const { page } = await open(1280, 900);
    await page.fill("#config", JSON.stringify({ name: "x", vni: 99 }));
    await page.click("#run");
    await page.waitForFunction(() => document.querySelector("#error")!.textContent!.length > 0);
    expect(await page.textContent("#error")).toMatch(/vni: VNI 99 is reserved/);
    await page.close();
  }, 60_000);
});
