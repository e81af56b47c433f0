// The one path every change to a host's desired state takes (ARCHITECTURE.md
// principle 7): changes run one at a time; each is validated whole and
// applied to the engine by its `change` function, which throws, having
// changed nothing, when anything is wrong; then the new desired state is
// made durable (the host's ledger, hosts/lib/ledger.ts) and only then is the
// change acknowledged with its generation number. If the ledger cannot be
// written the change is undone, so a client never hears "ok" for a change a
// restart would lose, and an error always means nothing changed.

/** What a change did: its result, how to take it back, and what to do once it is durable. */
export interface Applied<T> {
  result: T;
  /** Put the engine and the host back as they were (the ledger write failed). */
  undo?: () => void | Promise<void>;
  /** Work that cannot be undone (closing a device, freeing an engine port): run after the commit. */
  finish?: () => void;
  /** Nothing changed (an identical re-add): no ledger write, no new generation. */
  unchanged?: boolean;
}

/** The ledger could not be written: the change was undone. */
export class NotDurable extends Error {}

export interface CommitterOptions<S> {
  /** The host's desired state now (what the ledger holds). */
  state: () => S;
  /** Write `state` as generation `generation`, durably (resolves once it is on disk). */
  persist?: (generation: number, state: S) => Promise<void>;
  /** The generation to start from (the ledger's, after a restart). */
  generation?: number;
}

export class Committer<S> {
  private tail: Promise<unknown> = Promise.resolve();
  private gen: number;
  private persist: CommitterOptions<S>["persist"];

  constructor(private readonly o: CommitterOptions<S>) {
    this.gen = o.generation ?? 0;
    this.persist = o.persist;
  }

  /**
   * From now on every change is made durable with `persist` (none: not at
   * all), numbered on from `generation`: a host restores its ledger's state
   * first (changes nobody has to be told of), then continues from the
   * ledger's generation.
   */
  continueFrom(generation: number, persist?: CommitterOptions<S>["persist"]): void {
    this.persist = persist;
    this.gen = generation;
  }

  /** Bumped by every acknowledged change; what the ledger on disk holds. */
  get generation(): number { return this.gen; }

  /** Run `fn` after every change queued before it, and before any queued after. */
  serialized<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Apply one change (serialized with all others), make it durable, bump the
   * generation. Rejects with the change's own error (nothing changed) or
   * NotDurable (undone).
   */
  commit<T>(change: () => Applied<T> | Promise<Applied<T>>): Promise<T> {
    return this.serialized(async () => {
      const applied = await change();
      if (applied.unchanged) return applied.result;
      const next = this.gen + 1;
      if (this.persist) {
        try {
          await this.persist(next, this.o.state());
        } catch (err) {
          await applied.undo?.();
          throw new NotDurable(`the change was undone: its ledger could not be written (${(err as Error).message})`);
        }
      }
      this.gen = next;
      applied.finish?.();
      return applied.result;
    });
  }
}

/**
 * The inverse of each step a change took, run last first: how a change that
 * fails halfway (or whose ledger cannot be written) leaves nothing behind.
 */
export class UndoLog {
  private readonly steps: (() => void)[] = [];
  push(step: () => void): void { this.steps.push(step); }
  /** Take every step back; a step that fails does not stop the others. */
  run(): void {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try { step(); } catch { /* best effort: the rest still goes back */ }
    }
  }
}
