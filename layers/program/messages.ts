// What a refused value is told, in the operator's words. zod's own messages
// ("Invalid input: expected int, received number", "Invalid input" for a
// union) name its internals, not the value the operator wrote; every config
// file, API request and CLI flag is checked by zod, so its messages are
// replaced here, once, for all of them: what was expected, what was given,
// and the valid choices (fields of an object, values of an enum) where there
// are some. Messages a schema states itself (fields.ts) are kept.

import { z } from "zod";

type Issue = z.core.$ZodRawIssue;

const TYPES: Record<string, string> = {
  string: "a string", number: "a number", int: "a whole number", boolean: "true or false", object: "an object",
  array: "a list", bigint: "a whole number", null: "null", date: "a date", nan: "a number",
};

/** A given value, briefly: `"1024"`, `1.5`, `a list`, `an object`. */
export function given(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}…` : JSON.stringify(v);
  return String(v);
}

const quoted = (vs: readonly unknown[]) => vs.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(", ");

function sized(origin: string | undefined, n: number | bigint): string {
  if (origin === "string") return Number(n) === 1 ? "1 character" : `${n} characters`;
  if (origin === "array" || origin === "set") return Number(n) === 1 ? "1 entry" : `${n} entries`;
  return String(n);
}

/** A union's message: the one alternative that came close, or the kinds it takes. */
function unionMessage(iss: Extract<Issue, { code: "invalid_union" }>): string {
  const { note, discriminator, options } = iss as unknown as { note?: string; discriminator?: string; options?: unknown[] };
  if (note === "No matching discriminator" && discriminator) {
    const got = (iss.input as Record<string, unknown> | undefined)?.[discriminator];
    return `expected one of ${quoted(options ?? [])}, not ${given(got)}`;
  }
  const branches = (iss.errors ?? []) as { code: string; path: PropertyKey[]; message: string; expected?: string }[][];
  const wrongKind = (b: (typeof branches)[number]) => b.length === 1 && b[0].code === "invalid_type" && b[0].path.length === 0;
  const close = branches.filter((b) => b.length && !wrongKind(b));
  const text = (b: (typeof branches)[number]) => b.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
  if (close.length) return close.map(text).join(", or ");
  const kinds = [...new Set(branches.map((b) => TYPES[b[0]?.expected ?? ""] ?? b[0]?.expected).filter(Boolean))];
  return kinds.length ? `expected ${kinds.join(" or ")}, not ${given(iss.input)}` : `${given(iss.input)} is not a valid value here`;
}

/** The message for one issue, or undefined to keep the one the schema gave. */
export function operatorMessage(iss: Issue): string | undefined {
  switch (iss.code) {
    case "invalid_type": {
      if (iss.input === undefined) return `missing (expected ${TYPES[iss.expected] ?? iss.expected})`;
      return `expected ${TYPES[iss.expected] ?? iss.expected}, not ${given(iss.input)}`;
    }
    case "too_small": {
      const n = sized(iss.origin, iss.minimum as number);
      if (iss.origin === "string" && Number(iss.minimum) === 1) return "must not be empty";
      if (iss.origin === "array" || iss.origin === "set") return `needs at least ${n}`;
      if (iss.origin === "string") return `must be at least ${n} long`;
      return `must be ${iss.inclusive === false ? "more than" : "at least"} ${n}, not ${given(iss.input)}`;
    }
    case "too_big": {
      const n = sized(iss.origin, iss.maximum as number);
      if (iss.origin === "array" || iss.origin === "set") return `takes at most ${n}`;
      if (iss.origin === "string") return `must be at most ${n} long`;
      return `must be ${iss.inclusive === false ? "less than" : "at most"} ${n}, not ${given(iss.input)}`;
    }
    case "invalid_value":
      return iss.values.length === 1 ? `expected ${quoted(iss.values)}, not ${given(iss.input)}` : `expected one of ${quoted(iss.values)}, not ${given(iss.input)}`;
    case "unrecognized_keys": {
      const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      const fields = shape ? ` (fields here: ${Object.keys(shape).join(", ")})` : "";
      return `unknown field${iss.keys.length > 1 ? "s" : ""} ${quoted(iss.keys)}${fields}`;
    }
    case "invalid_union": return unionMessage(iss);
    case "invalid_format": {
      const pattern = (iss as { pattern?: RegExp | string }).pattern;
      return iss.format === "regex" && pattern ? `${given(iss.input)} does not have the expected form (${String(pattern)})` : `expected ${iss.format}, not ${given(iss.input)}`;
    }
    case "not_multiple_of": return `must be a multiple of ${String(iss.divisor)}, not ${given(iss.input)}`;
    case "invalid_key": return `the key ${given(iss.input)} is not valid here`;
    case "invalid_element": return `an entry is not valid: ${given(iss.input)}`;
    case "custom": return `${given(iss.input)} is not valid here`;
    default: return undefined;
  }
}

z.config({ customError: operatorMessage });
