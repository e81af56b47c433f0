// Tables for people: aligned columns that fit the terminal (80 columns when
// stdout is not one, as in a pipe or a log). Columns wider than their share
// wrap onto continuation lines at spaces or after commas (or mid-word when
// there is none), so nothing is cut off; `--json` prints the data itself.
// Nested values are written as people read them, not as JSON.

export const DEFAULT_WIDTH = 80;

/** The width to fit: the terminal's, or 80. */
export function screenWidth(): number {
  const c = process.stdout.isTTY ? process.stdout.columns : undefined;
  return c && c >= 40 ? c : DEFAULT_WIDTH;
}

/** A value as a person reads it: lists joined by ", ", objects as "key value" pairs. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null || v === "") return "-";
  if (Array.isArray(v)) return v.length ? v.map(cellText).join(", ") : "-";
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${k} ${cellText(x)}`).join(" ");
  }
  return String(v);
}

/** Break `text` into lines of at most `width`, preferring breaks at spaces and after commas. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > width) {
    let cut = -1;
    for (let i = width; i > 0; i--) if (rest[i - 1] === " " || rest[i - 1] === "," || rest[i] === " ") { cut = i; break; }
    // a word longer than the column: break after a hyphen or a "kind:" prefix before mid-word
    if (cut <= 0) for (let i = width; i > 1; i--) if (rest[i - 1] === "-" || (rest[i - 1] === ":" && /^[A-Za-z]+$/.test(rest.slice(0, i - 1)))) { cut = i; break; }
    if (cut <= 0) cut = width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  out.push(rest);
  return out;
}

export interface TableOptions {
  /** Total width to fit (default: screenWidth()). */
  width?: number;
  /** Column titles, when they are not the keys in capitals. */
  titles?: Record<string, string>;
  /** Right-align these columns (numbers). */
  right?: string[];
}

/** Rows as an aligned table that fits `width`; "(none)" for no rows. */
export function table(rows: Record<string, unknown>[], columns?: string[], o: TableOptions = {}): string {
  if (rows.length === 0) return "(none)";
  const cols = columns ?? Object.keys(rows[0]);
  const limit = o.width ?? screenWidth();
  const head = cols.map((c) => o.titles?.[c] ?? c.toUpperCase());
  const cells = rows.map((r) => cols.map((c) => cellText(r[c])));
  const natural = cols.map((_, i) => Math.max(head[i].length, ...cells.map((r) => r[i].length)));
  // a column narrows down to its longest word, so wrapping splits no address,
  // unless even that is too wide: then words longer than a shrinking cap break
  const longestWord = (t: string) => Math.max(...t.split(/ |(?<=,)/).map((w) => w.length));
  const words = cols.map((_, i) => Math.max(longestWord(head[i]), ...cells.map((r) => longestWord(r[i]))));
  const budget = limit - 2 * (cols.length - 1);
  let cap = 20;
  while (cap > 6 && words.reduce((a, w) => a + Math.min(w, cap), 0) > budget) cap--;
  const widths = fit(natural, words.map((w) => Math.min(w, cap)), budget);
  const right = new Set((o.right ?? []).map((c) => cols.indexOf(c)));
  const lines: string[] = [];
  const emit = (vals: string[]) => {
    const wrapped = vals.map((v, i) => wrap(v, widths[i]));
    const height = Math.max(...wrapped.map((w) => w.length));
    for (let l = 0; l < height; l++) {
      lines.push(wrapped.map((w, i) => {
        const t = w[l] ?? "";
        return right.has(i) ? t.padStart(widths[i]) : t.padEnd(widths[i]);
      }).join("  ").trimEnd());
    }
  };
  emit(head);
  for (const r of cells) emit(r);
  return lines.join("\n");
}

/**
 * Column widths within `budget`: columns keep their natural width while they
 * fit; otherwise the widest give way first, never below their floor.
 */
function fit(natural: number[], floor: number[], budget: number): number[] {
  const w = natural.slice();
  let total = w.reduce((a, b) => a + b, 0);
  while (total > budget) {
    let widest = -1;
    for (let i = 0; i < w.length; i++) if (w[i] > floor[i] && (widest < 0 || w[i] - floor[i] > w[widest] - floor[widest])) widest = i;
    if (widest < 0) break; // every column at its floor: the line runs long rather than split words
    w[widest]--;
    total--;
  }
  return w;
}
