// The conventions every `wopte` command follows (README, "The wopte command"):
//
//   exit 0  it worked (and, for checks and diffs, found nothing wrong)
//   exit 1  it failed, or a check or diff found a difference
//   exit 2  usage: an unknown command, option or choice, a missing or malformed
//           argument; nothing was sent anywhere
//
// Errors go to stderr as one line starting `wopte:`, naming the valid choices
// where there are some; a usage error is followed by the command's usage.
// Every option value is checked here, before a command talks to a host.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { ApiError, InputError as RefusedInput } from "./client.js";
import { InputError as BadInputFile } from "../harness/replay.js";

/** Bad usage: exit 2, with the command's usage after the message. */
export class UsageError extends Error {}

/** A failure in the user's terms (what, where, what to do): exit 1. */
export class Failure extends Error {}

/** A command's help text, and the name errors are reported under. */
export interface CommandInfo { name: string; usage: string }

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The --api/--json and --help every command understands where it applies. */
const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

/**
 * Parse argv strictly: unknown options, missing values and stray positionals
 * are UsageErrors naming the offender and the options the command has.
 */
export function parseCommand<O extends Options>(cmd: CommandInfo, args: string[], options: O, maxPositionals = Infinity) {
  const all = { ...options, ...HELP_OPTION };
  let parsed;
  try {
    parsed = parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const names = Object.keys(all).map((k) => `--${k}`).join(", ");
    const flag = /'(-[^']*)'/.exec(e.message)?.[1];
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`${cmd.name}: unknown option ${flag ?? ""} (its options: ${names})`);
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new UsageError(`${cmd.name}: ${flag ?? "an option"} needs a value`);
    throw new UsageError(`${cmd.name}: ${e.message}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`${cmd.name}: unexpected argument "${parsed.positionals[maxPositionals]}"`);
  }
  return parsed;
}

/** `value` must be one of `choices`; `what` names it ("subcommand", "--dir"). */
export function choice<T extends string>(cmd: CommandInfo, what: string, value: string | undefined, choices: readonly T[]): T {
  if (value === undefined) throw new UsageError(`${cmd.name}: missing ${what} (one of ${choices.join(", ")})`);
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${cmd.name}: ${what} "${value}" is not one of ${choices.join(", ")}`);
  return value as T;
}

/** A required argument or option. */
export function required<T>(cmd: CommandInfo, what: string, value: T | undefined): T {
  if (value === undefined || value === "") throw new UsageError(`${cmd.name}: missing ${what}`);
  return value;
}

/**
 * A number option: `--interval abc`, `--count 1.5` or `--seconds 0` are
 * usage errors saying what the option wants.
 */
export function numberOption(cmd: CommandInfo, flag: string, value: string | undefined, o: { min: number; max?: number; integer?: boolean; unit?: string; fallback: number }): number;
export function numberOption(cmd: CommandInfo, flag: string, value: string | undefined, o: { min: number; max?: number; integer?: boolean; unit?: string }): number | undefined;
export function numberOption(cmd: CommandInfo, flag: string, value: string | undefined, o: { min: number; max?: number; integer?: boolean; unit?: string; fallback?: number }): number | undefined {
  if (value === undefined) return o.fallback;
  const n = value.trim() === "" ? NaN : Number(value);
  const kind = o.integer ? "a whole number" : "a number";
  const range = o.max !== undefined ? `from ${o.min} to ${o.max}` : `of at least ${o.min}`;
  const want = `${flag} wants ${kind}${o.unit ? ` of ${o.unit}` : ""} ${range}`;
  if (!Number.isFinite(n) || (o.integer && !Number.isInteger(n))) throw new UsageError(`${cmd.name}: ${want}, not "${value}"`);
  if (n < o.min || (o.max !== undefined && n > o.max)) throw new UsageError(`${cmd.name}: ${want}, not ${value}`);
  return n;
}

/** Print data for scripts: the one form `--json` takes everywhere. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/**
 * A command's run(): its body, with whatever it throws reported by the
 * convention (message on stderr, exit 1 or 2), so callers get an exit code.
 */
export async function guard(cmd: CommandInfo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    return report(err, err instanceof UsageError ? cmd.usage : undefined);
  }
}

/** Is stdout a terminal a person watches (colours, alternate screen, progress)? */
export function interactive(): boolean {
  return process.stdout.isTTY === true;
}

/**
 * Turn whatever a command threw into the convention's message and exit code.
 * Errors that are not ours are reported by message only: a stack trace is
 * for developers (WOPTE_DEBUG=1 prints it).
 */
export function report(err: unknown, usage?: string): number {
  const e = err instanceof Error ? err : new Error(String(err));
  if (process.env.WOPTE_DEBUG === "1") process.stderr.write(`${e.stack}\n`);
  // input refused before anything was sent or done: a value, a file's contents
  if (e instanceof UsageError || e instanceof RefusedInput || e instanceof BadInputFile) {
    console.error(`wopte: ${e.message}${usage ? `\n\n${usage}` : ""}`);
    return 2;
  }
  const hint = e instanceof ApiError && e.status === 0 && /^cannot reach/.test(e.message) ? " (is `wopte sled` running there? --api or $WOPTE_API picks the sled)" : "";
  console.error(`wopte: ${e.message}${hint}`);
  return 1;
}
