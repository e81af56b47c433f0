// The playground in headless Chromium: the page loads the same engine.wasm,
// runs a scenario and shows each frame decoded, with the deciding layer.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "node:http";
import { startPlayground, loadScenarios } from "../../hosts/playground/server.js";
import { needs, which } from "../helpers/tools.js";

const env = needs("chromium", "playground");
const root = new URL("../../", import.meta.url).pathname;


describe("scenarios", () => {
  it("ships scenarios with stories, configs and frames", () => {
    const s = loadScenarios(root) as { name: string; story: string; frames: unknown[] }[];
    expect(s.map((x) => x.name)).toEqual(["01-gateway", "02-instance-to-instance", "03-nat-out"]);
    expect(s.every((x) => x.story.length > 20 && x.frames.length > 0)).toBe(true);
  });
});

describe(env.title("playground in headless Chromium"), env.options, () => {
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
  afterAll(async () => { await browser?.close(); server?.close(); });

  it("runs the instance-to-instance scenario and decodes every frame", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    await page.selectOption("#scenario", "02-instance-to-instance");
    await page.waitForFunction(() => document.querySelectorAll(".frame-result").length === 4 &&
      document.querySelector("#story")!.textContent!.includes("web-b"));
    const verdicts = await page.$$eval(".frame-result", (els: Element[]) => els.map((e) => [e.getAttribute("data-verdict"), e.getAttribute("data-layer"), e.getAttribute("data-reason")]));
    expect(verdicts).toEqual([["pass", "-", ""], ["pass", "-", ""], ["pass", "-", ""], ["drop", "firewall", "LayerDeny"]]);
    const first = await page.textContent(".frame-result:first-child");
    expect(first).toContain("Geneve");
    expect(first).toContain("VNI1024");
    expect(first).not.toContain("Oxide External"); // only internet-bound traffic carries it
    expect(await page.textContent("#flows")).toContain("Flow table (1)");
    const dir = join(root, "build", "playground");
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, "screenshot.png"), fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);

  it("shows config errors with their path", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']");
    await page.fill("#config", JSON.stringify({ name: "x", vni: 99 }));
    await page.click("#run");
    await page.waitForFunction(() => document.querySelector("#error")!.textContent!.length > 0);
    expect(await page.textContent("#error")).toMatch(/vni: VNI 99 is reserved/);
  }, 60_000);
});
