// docs/opte-parity.md maps each of OPTE's integration and xde tests to the
// wopte test that proves the same behaviour. This keeps the table honest: a
// row that names a test file or test title that does not exist fails here,
// and no OPTE test is listed twice.

import { describe, it, expect } from "vitest";
import { readFileSync, existsSync } from "node:fs";

const root = new URL("../", import.meta.url);
const doc = readFileSync(new URL("docs/opte-parity.md", root), "utf8");

interface Row { opte: string; refs: { file: string; title: string }[]; verdict: string }

function rows(): Row[] {
  const out: Row[] = [];
  for (const line of doc.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 5 || !/^`[a-z0-9_]+`$/.test(cells[1])) continue;
    const refs = [...cells[2].matchAll(/`([^`]+?)\s›\s([^`]+)`/g)].map((m) => ({ file: m[1], title: m[2] }));
    out.push({ opte: cells[1].slice(1, -1), refs, verdict: cells[3] });
  }
  return out;
}

function notYetPorted(): string[] {
  return doc.split("\n").filter((l) => l.startsWith("Not yet ported:"))
    .flatMap((l) => [...l.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]));
}

describe("docs/opte-parity.md", () => {
  it("names each OPTE test once", () => {
    const names = [...rows().map((r) => r.opte), ...notYetPorted()];
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    expect(twice).toEqual([]);
  });

  it("gives every row a wopte test that exists and a verdict", () => {
    const missing: string[] = [];
    for (const r of rows()) {
      if (r.refs.length === 0) missing.push(`${r.opte}: no wopte test named`);
      if (!/^(same|differs)\b/.test(r.verdict)) missing.push(`${r.opte}: verdict must start with same or differs`);
      for (const ref of r.refs) {
        const file = new URL(ref.file, root);
        if (!existsSync(file)) { missing.push(`${r.opte}: ${ref.file} does not exist`); continue; }
        if (!readFileSync(file, "utf8").includes(ref.title)) missing.push(`${r.opte}: ${ref.file} has no test "${ref.title}"`);
      }
    }
    expect(missing).toEqual([]);
  });
});
