// The one path every change to a host's desired state takes (ARCHITECTURE.md
// principle 7): changes run one at a time; each is validated whole and
// applied to the engine by its `change` function, which throws, having
// changed nothing, when anything is wrong; then the new desired state is
// made durable (the host's ledger, hosts/lib/ledger.ts) and only then is the
// change acknowledged with its generation number. If the ledger cannot be
// written the change is undone, so a client never hears "ok" for a change a
// restart would lose, and an error always means nothing changed.
//
// Changes that arrive while a ledger write is under way are applied one
// after another as they arrive and then written together, one fsync for all
// (group commit, as databases do): each is acknowledged once the write that
// holds it is on disk, and all of them carry the generation of that write.
// A change with work that cannot be undone (`finish`: a port freed, a device
// closed) ends its group, so the changes after it see that work done.

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

interface Waiting {
  change: () => Applied<unknown> | Promise<Applied<unknown>>;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

export class Committer<S> {
  private tail: Promise<unknown> = Promise.resolve();
  private gen: number;
  private persist: CommitterOptions<S>["persist"];
  /** The changes of the group that is queued and has not started: a change that comes now joins it. */
  private open: Waiting[] | undefined;

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
    this.open = undefined; // a change after this call goes after `fn`
    return this.enqueue(fn);
  }

  private enqueue<T>(fn: () => T | Promise<T>): Promise<T> {
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
    return new Promise<T>((resolve, reject) => {
      if (!this.open) {
        const group: Waiting[] = this.open = [];
        void this.enqueue(() => this.runGroup(group));
      }
      this.open.push({ change, resolve: resolve as (r: unknown) => void, reject });
    });
  }

  /** Apply a group's changes in order, in runs that each end with one ledger write. */
  private async runGroup(group: Waiting[]): Promise<void> {
    if (this.open === group) this.open = undefined;
    let next = 0;
    while (next < group.length) {
      const done: { w: Waiting; a: Applied<unknown> }[] = [];
      while (next < group.length) {
        const w = group[next++];
        let a: Applied<unknown>;
        try { a = await w.change(); } catch (err) { w.reject(err); continue; }
        done.push({ w, a });
        if (a.finish && !a.unchanged) break; // its irreversible work first, then the changes after it
      }
      await this.durable(done);
    }
  }

  /** Write the state `done` made, then acknowledge them; if it cannot be written, undo them (last first) and refuse them. */
  private async durable(done: { w: Waiting; a: Applied<unknown> }[]): Promise<void> {
    const changed = done.filter((d) => !d.a.unchanged);
    const next = this.gen + changed.length;
    if (changed.length && this.persist) {
      try {
        await this.persist(next, this.o.state());
      } catch (err) {
        for (const d of [...changed].reverse()) {
          try { await d.a.undo?.(); } catch { /* best effort: the others still go back */ }
        }
        const refusal = new NotDurable(`the change was undone: its ledger could not be written (${(err as Error).message})`);
        for (const d of done) d.w.reject(refusal);
        return;
      }
    }
    this.gen = next;
    for (const d of done) {
      try {
        if (!d.a.unchanged) d.a.finish?.();
      } catch (err) {
        d.w.reject(err);
        continue;
      }
      d.w.resolve(d.a.result);
    }
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
