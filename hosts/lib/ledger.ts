// A host's ledger: its desired state (everything its API can change) in one
// versioned, checksummed, generation-numbered file, rewritten on every
// acknowledged change, as Oxide's sled agent keeps its ledgers (ARCHITECTURE.md
// principle 7). The committer (hosts/lib/committer.ts) answers a client only
// after `write` resolves, so a change that was acknowledged is on disk.
//
// Writing is atomic: the new generation goes to a temporary file in the same
// directory, is fsynced, the current file is hard-linked to `ledger.json.prev`
// (the previous good generation, kept for an operator), the temporary file is
// renamed over `ledger.json`, and the directory is fsynced so the rename
// itself survives a power cut. At every instant `ledger.json` is either the
// old generation or the new one, whole.
//
// Reading refuses, naming the file, anything it cannot vouch for (not JSON, a
// checksum that does not match, a format version it does not know, another
// kind of host's ledger): a host must not come up with less than it
// acknowledged and then overwrite the evidence. The message says where the
// previous good ledger is and how to start from the config file instead.

import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, constants } from "node:fs";
import { open, rename, rm, link } from "node:fs/promises";
import { join } from "node:path";
import { stateDir } from "../api/config.js";

export const LEDGER_FORMAT = "wopte-ledger";
export const LEDGER_VERSION = 1;

export type HostKind = "sled" | "gateway";

/** A ledger that cannot be read or written: the message names the file and what to do. */
export class LedgerError extends Error {}

/** What a ledger file holds: the state and how it came to be. */
export interface LedgerRecord<S> {
  generation: number;
  state: S;
  /** The config file's items this state has taken in, by key, with a digest of each (hosts/lib/seed.ts). */
  seeded: Record<string, string>;
  /** When it was written (ISO 8601), for an operator. */
  written: string;
}

export interface LedgerOptions<S> {
  kind: HostKind;
  /** The host's name: a ledger of another host is refused. */
  name: string;
  /** Check a state read back (its shape); throw with a message to refuse it. */
  check: (state: unknown) => S;
}

/** The digest a ledger carries: SHA-256 of the state as written (compact JSON). */
const digest = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The default place of a host's ledger: <state dir>/<kind>/<name>, the state
 * dir being /var/lib/wopte for root, else $XDG_STATE_HOME/wopte (or
 * ~/.local/state/wopte), or $WOPTE_STATE_DIR when set (hosts/api/config.ts).
 */
export function defaultLedgerDir(kind: HostKind, name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), kind, name);
}

export class Ledger<S> {
  readonly file: string;
  readonly prev: string;
  private readonly tmp: string;
  private readonly lockFile: string;
  private exists: boolean;
  /** Carried into every write (the startup merge sets it). */
  seeded: Record<string, string> = {};

  /**
   * Open (creating) the directory and take its lock: one host per ledger. A
   * lock left by a process that is gone (kill -9, a reboot) is taken over:
   * the lock names the process by pid and start time, so a pid used again by
   * another process after a reboot does not keep the host down.
   */
  constructor(readonly dir: string, private readonly o: LedgerOptions<S>) {
    this.file = join(dir, "ledger.json");
    this.prev = `${this.file}.prev`;
    this.tmp = `${this.file}.tmp`;
    this.lockFile = join(dir, "ledger.lock");
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new LedgerError(`cannot make the state directory ${dir}: ${(e as Error).message} (give another with stateDir or --state-dir)`);
    }
    this.lock();
    this.exists = existsSync(this.file);
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ""}\n`);
        closeSync(fd);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new LedgerError(`cannot lock ${this.lockFile}: ${(e as Error).message}`);
      }
      const [pidText, start] = readFileSync(this.lockFile, "utf8").trim().split(" ");
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) && (!start || startTime(pid) === start)) {
        throw new LedgerError(`${this.dir} is in use by process ${pid} (another ${this.o.kind} host?): give each host its own state directory (stateDir or --state-dir)`);
      }
      unlinkSync(this.lockFile); // left by a process that is gone
    }
    throw new LedgerError(`cannot lock ${this.lockFile}: another process keeps taking it`);
  }

  /** Let another host use the directory (a clean stop). */
  unlock(): void {
    try { unlinkSync(this.lockFile); } catch { /* already gone */ }
  }

  /** The ledger as last written, or undefined when there is none yet. Throws LedgerError naming the file. */
  read(): LedgerRecord<S> | undefined {
    if (!this.exists) return undefined;
    return this.parse(this.file);
  }

  private parse(file: string): LedgerRecord<S> {
    const refuse = (why: string): never => { throw new LedgerError(this.refusal(file, why)); };
    let text = "";
    try { text = readFileSync(file, "utf8"); } catch (e) { refuse(`cannot be read: ${(e as Error).message}`); }
    let doc: Record<string, unknown> = {};
    try { doc = JSON.parse(text); } catch { refuse(text.length === 0 ? "is empty" : "is not valid JSON (cut short, or overwritten)"); }
    if (typeof doc !== "object" || doc === null || doc.format !== LEDGER_FORMAT) refuse(`is not a wopte ledger (no "format": "${LEDGER_FORMAT}")`);
    if (doc.version !== LEDGER_VERSION) refuse(`has format version ${JSON.stringify(doc.version)}; this wopte reads version ${LEDGER_VERSION}`);
    if (doc.kind !== this.o.kind || doc.name !== this.o.name) refuse(`belongs to the ${String(doc.kind)} host ${JSON.stringify(doc.name)}, not to the ${this.o.kind} host "${this.o.name}"`);
    const generation = doc.generation;
    if (typeof generation !== "number" || !Number.isSafeInteger(generation) || generation < 0) refuse("has no valid generation number");
    if (typeof doc.sha256 !== "string" || digest(JSON.stringify(doc.state ?? null)) !== doc.sha256) refuse("fails its checksum (sha256): it was changed or damaged after it was written");
    const seeded = doc.seeded ?? {};
    if (typeof seeded !== "object" || seeded === null || Object.values(seeded).some((v) => typeof v !== "string")) refuse("has a malformed \"seeded\" record");
    let state: S;
    try { state = this.o.check(doc.state); } catch (e) { return refuse(`holds a state this host cannot take: ${(e as Error).message}`); }
    return { generation: generation as number, state, seeded: seeded as Record<string, string>, written: String(doc.written ?? "") };
  }

  /** Why a file is refused, with the way out: the previous good ledger, or a fresh start. */
  private refusal(file: string, why: string): string {
    let prev = "";
    if (file === this.file && existsSync(this.prev)) {
      try {
        const g = this.parse(this.prev).generation;
        prev = ` The previous good ledger is ${this.prev} (generation ${g}): to go back to it, move it to ${this.file}.`;
      } catch {
        prev = ` ${this.prev} cannot be used either.`;
      }
    }
    return `the ${this.o.kind} ledger ${file} ${why}. The host does not start on it, so that it does not come up with less than it acknowledged.` +
      `${prev} To start from the config file alone, remove ${this.file} (and its .prev).`;
  }

  /** Write generation `generation` durably: resolves once the file and its name are on disk. */
  async write(generation: number, state: S): Promise<void> {
    const stateText = JSON.stringify(state);
    const text = `{"format":"${LEDGER_FORMAT}","version":${LEDGER_VERSION},"kind":"${this.o.kind}","name":${JSON.stringify(this.o.name)},` +
      `"generation":${generation},"written":"${new Date().toISOString()}","sha256":"${digest(stateText)}",` +
      `"seeded":${JSON.stringify(this.seeded)},"state":${stateText}}\n`;
    const fh = await open(this.tmp, "w", 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (this.exists) {
      // the generation before this one stays beside it, for an operator to go back to
      await rm(this.prev, { force: true });
      await link(this.file, this.prev).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e; // removed by hand while the host runs: nothing to keep
      });
    }
    await rename(this.tmp, this.file);
    this.exists = true;
    const d = await open(this.dir, "r");
    try { await d.sync(); } finally { await d.close(); }
  }
}

/** When `pid` started (clock ticks since boot, /proc/<pid>/stat field 22); undefined without /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; starttime is the 20th field after it
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Is `pid` a running process (not gone, not a zombie waiting to be reaped after kill -9)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: believe kill(0)
  }
}
