// docs/abi.md's tables of numbers and layouts, rendered from abi/*.ts: the
// names and comments from the source text, the values from the modules as
// the hosts load them. The page keeps its prose; each table sits between
// markers naming its file, and `npm run docs:abi` writes them again.
// test/docs/abi-doc.test.ts fails when the page and the files disagree.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { packageRoot } from "./wasm.js";

type Module = Record<string, unknown>;

/** One row: a constant, an enum (value blank) or one of its members (`Enum.Member`). */
export interface Entry { name: string; value?: number; hex: boolean; what: string }

// The subset abi/README.md allows: one constant or one enum member a line.
const CONST = /^export const (\w+)(?::\s*\w+)?\s*=\s*([^;]+);\s*(?:\/\/\s*(.*))?$/;
const ENUM = /^export enum (\w+)\s*\{\s*$/;
const MEMBER = /^\s*(\w+)\s*=\s*(0x[0-9a-fA-F_]+|\d+)\s*,?\s*(?:\/\/\s*(.*))?$/;

/** The comment (`/** … *\/` or `// …` lines) right above line i, as one line. */
function commentAbove(lines: string[], i: number): string {
  const out: string[] = [];
  for (let j = i - 1; j >= 0; j--) {
    const m = /^\/\*\*\s*(.*?)\s*\*\/$/.exec(lines[j].trim()) ?? /^\/\/\s?(.*)$/.exec(lines[j].trim());
    if (!m) break;
    out.unshift(m[1]);
  }
  return out.join(" ");
}

/** The entries of one abi file, in source order, with values from its module. */
export function entries(source: string, mod: Module): Entry[] {
  const lines = source.split("\n");
  const out: Entry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const c = CONST.exec(lines[i]);
    if (c) {
      const value = mod[c[1]];
      if (typeof value !== "number") throw new Error(`abi: ${c[1]} is not a number in its module`);
      out.push({ name: c[1], value, hex: /^0x/.test(c[2].trim()), what: c[3] ?? commentAbove(lines, i) });
      continue;
    }
    const e = ENUM.exec(lines[i]);
    if (!e) continue;
    const members = mod[e[1]] as Record<string, number> | undefined;
    if (!members) throw new Error(`abi: enum ${e[1]} is not in its module`);
    out.push({ name: e[1], hex: false, what: commentAbove(lines, i) });
    for (i++; i < lines.length && !/^\s*\}/.test(lines[i]); i++) {
      const m = MEMBER.exec(lines[i]);
      if (!m) {
        if (/^\s*(\/\/.*)?$/.test(lines[i])) continue;
        throw new Error(`abi: one member a line, with a literal value, in enum ${e[1]}: ${lines[i].trim()}`);
      }
      if (members[m[1]] === undefined) throw new Error(`abi: ${e[1]}.${m[1]} is not in its module`);
      out.push({ name: `${e[1]}.${m[1]}`, value: members[m[1]], hex: /^0x/.test(m[2]), what: m[3] ?? "" });
    }
  }
  return out;
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

export function table(rows: Entry[]): string {
  const lines = ["| name | value | what |", "|---|---|---|"];
  for (const r of rows) {
    const v = r.value === undefined ? "" : r.hex ? `0x${r.value.toString(16)}` : String(r.value);
    lines.push(`| \`${r.name}\` | ${v} | ${cell(r.what)} |`);
  }
  return lines.join("\n");
}

const begin = (file: string) => `<!-- generated from abi/${file} (npm run docs:abi): edit the file, not this table -->`;
const end = (file: string) => `<!-- end of abi/${file} -->`;

/** The abi modules there are (every .ts but the type declarations). */
export function abiFiles(root = packageRoot()): string[] {
  return readdirSync(join(root, "abi")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort();
}

/** How the running code loads abi/<name>.js (dist/ from the built script, the sources under the tests). */
export type AbiLoader = (name: string) => Promise<Module>;
const fromDist: AbiLoader = (name) => import(`../../abi/${name}.js`) as Promise<Module>;

/** `page` with every abi table rendered anew; throws for an abi file the page has no place for. */
export async function renderAbiDoc(page: string, load: AbiLoader = fromDist, root = packageRoot()): Promise<string> {
  let out = page;
  for (const file of abiFiles(root)) {
    const from = out.indexOf(begin(file)), to = out.indexOf(end(file));
    if (from < 0 || to < from) throw new Error(`docs/abi.md has no table for abi/${file}: add the lines\n${begin(file)}\n${end(file)}`);
    const mod = await load(file.replace(/\.ts$/, ""));
    const rows = entries(readFileSync(join(root, "abi", file), "utf8"), mod);
    out = out.slice(0, from) + `${begin(file)}\n${table(rows)}\n` + out.slice(to);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const file = join(packageRoot(), "docs", "abi.md");
  const page = readFileSync(file, "utf8");
  const next = await renderAbiDoc(page);
  if (next !== page) writeFileSync(file, next);
  console.log(next !== page ? "docs/abi.md: tables written from abi/" : "docs/abi.md: tables already match abi/");
}
