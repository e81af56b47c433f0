// One source of truth for the numbers engine.wasm and its hosts share
// (abi/): the page that documents them is rendered from the same files, the
// engine that was built agrees with them, and the hosts' decoders name
// every bit of them.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { renderAbiDoc, abiFiles, entries } from "../../hosts/engine/abi-doc.js";
import { Engine } from "../../hosts/engine/engine.js";
import { decodeXform, TCP_STATES } from "../../hosts/engine/flows.js";
import { Mod, X_MODS, X_SIZE } from "../../abi/xform.js";
import { REC_SIZE, TcpState } from "../../abi/record.js";
import { ENTRY_SIZE } from "../../abi/maps.js";
import { EVENT_SIZE } from "../../abi/flow-log.js";
import { DESC_SIZE } from "../../abi/batch.js";

const root = new URL("../../", import.meta.url).pathname;
const modules = import.meta.glob<Record<string, unknown>>("../../abi/*.ts");
const load = (name: string) => modules[`../../abi/${name}.ts`]();

let e: Engine;
beforeAll(async () => { e = await Engine.load(); });

describe("docs/abi.md", () => {
  it("has every table as abi/ renders it (npm run docs:abi writes them)", async () => {
    const page = readFileSync(`${root}docs/abi.md`, "utf8");
    expect(await renderAbiDoc(page, load, root)).toBe(page);
  });

  it("lists every constant and enum member of every abi file", async () => {
    for (const file of abiFiles(root)) {
      const mod = await load(file.replace(/\.ts$/, ""));
      const rows = new Set(entries(readFileSync(`${root}abi/${file}`, "utf8"), mod).map((r) => r.name));
      for (const [name, v] of Object.entries(mod)) {
        if (typeof v === "number") expect(rows, `abi/${file}: ${name}`).toContain(name);
        else for (const [m, n] of Object.entries(v as object)) if (typeof n === "number") expect(rows, `abi/${file}: ${name}.${m}`).toContain(`${name}.${m}`);
      }
    }
  });

  it("refuses an abi file the page has no table for", async () => {
    await expect(renderAbiDoc("# nothing here\n", load, root)).rejects.toThrow(/has no table for abi\//);
  });
});

describe("the built engine agrees with abi/", () => {
  it("record, transformation, entry, event and descriptor sizes", () => {
    expect(e.constant("FLOW_RECORD_SIZE")).toBe(REC_SIZE);
    expect(e.constant("MAP_ENTRY_SIZE")).toBe(ENTRY_SIZE);
    expect(e.constant("FLOW_EVENT_SIZE")).toBe(EVENT_SIZE);
    expect(e.constant("DESC_SIZE")).toBe(DESC_SIZE);
    expect(X_SIZE * 2 + 80).toBeLessThan(REC_SIZE);
  });
});

describe("the hosts' decoders", () => {
  it("name every modification bit (EncapMss and EncapMulticast included), each once", () => {
    const names = new Set<string>();
    for (const [member, bit] of Object.entries(Mod)) {
      if (typeof bit !== "number" || member === "Valid") continue;
      const x = new DataView(new ArrayBuffer(X_SIZE));
      x.setUint16(X_MODS, bit | Mod.Valid, true);
      const v = decodeXform(x, 0);
      expect(v.valid).toBe(true);
      expect(v.mods, member).toHaveLength(1);
      names.add(v.mods[0]);
    }
    expect(names.size).toBe(Object.values(Mod).filter((b) => typeof b === "number").length - 1);
    expect(names).toContain("mss");
    expect(names).toContain("multicast");
  });

  it("name every TCP state the way OPTE writes it", () => {
    expect(TCP_STATES).toEqual(["closed", "listen", "syn-sent", "syn-rcvd", "established", "close-wait", "last-ack",
      "fin-wait-1", "fin-wait-2", "time-wait"]);
    expect(TCP_STATES[TcpState.FinWait1]).toBe("fin-wait-1");
  });
});
