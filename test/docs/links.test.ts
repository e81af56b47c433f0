// The docs cite only what exists: every relative link in the README, docs/
// and bench/README.md points at a file in the tree (and, with a #fragment,
// at one of its headings), and every `name.md` they mention is a file.
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname, relative } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const pages = ["README.md", "bench/README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
const anchors = (file: string) => new Set(readFileSync(file, "utf8").split("\n").filter((l) => /^#+ /.test(l)).map((l) => slug(l.replace(/^#+ /, ""))));

describe("docs cite what exists", () => {
  for (const page of pages) {
    it(page, () => {
      const text = readFileSync(join(root, page), "utf8").replace(/```[\s\S]*?```/g, "");
      const missing: string[] = [];
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path, fragment] = target.split("#");
        const file = path ? join(root, dirname(page), path) : join(root, page);
        if (!existsSync(file)) { missing.push(`${target}: no such file`); continue; }
        if (fragment && file.endsWith(".md") && !anchors(file).has(fragment)) missing.push(`${target}: no heading #${fragment}`);
      }
      for (const [name] of text.matchAll(/[\w./-]+\.md\b/g)) {
        const candidates = [join(root, dirname(page), name), join(root, name), join(root, "docs", name)];
        if (!candidates.some(existsSync)) missing.push(`${name}: mentioned, no such file (looked in ${[dirname(page), ".", "docs"].join(", ")})`);
      }
      expect(missing, `${relative(root, join(root, page))} cites`).toEqual([]);
    });
  }
});
