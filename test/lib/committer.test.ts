// The commit path: changes that arrive while a ledger write is under way are
// written together (one write, not one each), each answered only once that
// write is on disk; a change that throws is refused alone; a write that
// fails undoes every change it held, last first, and refuses them all; a
// change with work that cannot be undone ends its group; serialized work
// queued between changes stays between them.
import { describe, it, expect } from "vitest";
import { Committer, NotDurable, Applied } from "../../hosts/lib/committer.js";

function counter(o: { fail?: boolean; writeMs?: number } = {}) {
  const state = { items: [] as string[] };
  const writes: { generation: number; items: string[] }[] = [];
  const log: string[] = [];
  const c = new Committer({
    state: () => ({ items: [...state.items] }),
    persist: async (generation, s) => {
      await new Promise((r) => setTimeout(r, o.writeMs ?? 5));
      if (o.fail) throw new Error("disk full");
      writes.push({ generation, ...s });
    },
  });
  const add = (x: string, extra: Partial<Applied<string>> = {}) => c.commit(() => {
    if (x === "bad") throw new Error("refused");
    state.items.push(x);
    log.push(`apply ${x}`);
    return { result: x, undo: () => { state.items.splice(state.items.lastIndexOf(x), 1); log.push(`undo ${x}`); }, ...extra };
  });
  return { c, state, writes, log, add };
}

describe("committer", () => {
  it("writes changes that arrive together in one write and answers each after it, with one generation each", async () => {
    const { c, writes, add } = counter();
    const first = add("a");
    await new Promise((r) => setTimeout(r, 1)); // "a" is being written
    const answers = await Promise.all([first, add("b"), add("bad").catch((e: Error) => e.message), add("c")]);
    expect(answers).toEqual(["a", "b", "refused", "c"]);
    expect(writes).toEqual([{ generation: 1, items: ["a"] }, { generation: 3, items: ["a", "b", "c"] }]);
    expect(c.generation).toBe(3);
  });

  it("undoes every change of a write that fails, last first, and refuses them all as NotDurable", async () => {
    const { c, state, log, add } = counter({ fail: true });
    const all = await Promise.allSettled([add("a"), add("b")]);
    expect(all.map((x) => x.status === "rejected" && x.reason instanceof NotDurable)).toEqual([true, true]);
    expect(log).toEqual(["apply a", "apply b", "undo b", "undo a"]);
    expect(state.items).toEqual([]);
    expect(c.generation).toBe(0);
  });

  it("ends a group at a change with work that cannot be undone: it is done before the next change", async () => {
    const { writes, log, add } = counter();
    await Promise.all([add("a", { finish: () => { log.push("finish a"); } }), add("b")]);
    expect(log).toEqual(["apply a", "finish a", "apply b"]);
    expect(writes.map((w) => w.generation)).toEqual([1, 2]);
  });

  it("keeps serialized work between the changes queued before and after it", async () => {
    const { c, log, add } = counter();
    const a = add("a");
    const s = c.serialized(() => { log.push("between"); });
    const b = add("b");
    await Promise.all([a, s, b]);
    expect(log).toEqual(["apply a", "between", "apply b"]);
  });
});
