// A vitest reporter that ends the run with one line per group of tests that
// skipped for something the machine lacks (test/helpers/tools.ts): the file,
// the group, how many tests, and what to install. Silent when nothing skipped.

import type { Reporter, TestModule, TestCase, TestSuite } from "vitest/node";
import { NEEDS, type Need } from "./tools.js";

/** The outermost suite of a test, or its file when it sits at the top. */
function group(t: TestCase): string {
  let node: TestCase | TestSuite = t;
  while (node.parent.type === "suite") node = node.parent;
  const name = node.type === "suite" ? node.name.replace(/ \[skipped: .*\]$/, "") : "";
  return name ? `${t.module.relativeModuleId} › ${name}` : t.module.relativeModuleId;
}

/** What to do for `needs`, Debian packages in one apt-get line. */
function howTo(needs: string[]): string {
  const steps = needs.map((n) => NEEDS[n as Need] ?? n);
  const apt = steps.filter((s) => s.startsWith("apt-get install ")).map((s) => s.slice("apt-get install ".length));
  const other = steps.filter((s) => !s.startsWith("apt-get install "));
  return [...(apt.length ? [`apt-get install ${apt.join(" ")}`] : []), ...other].join("; ");
}

export default class NeedsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const groups = new Map<string, { where: string; needs: string[]; tests: number }>();
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        if (t.result().state !== "skipped") continue;
        const needs = t.meta().needs;
        if (!needs?.length) continue;
        const where = group(t);
        const key = `${where}\0${needs.join(",")}`;
        const g = groups.get(key) ?? { where, needs, tests: 0 };
        g.tests++;
        groups.set(key, g);
      }
    }
    if (!groups.size) return;
    const lines = [...groups.values()].sort((a, b) => a.where.localeCompare(b.where)).map((g) =>
      `  ${g.where}: ${g.tests} test${g.tests === 1 ? " needs" : "s need"} ${g.needs.join(", ")}; to run ${g.tests === 1 ? "it" : "them"}: ${howTo(g.needs)}`);
    process.stdout.write(`\nSkipped for what this machine lacks (${groups.size} group${groups.size === 1 ? "" : "s"}):\n${lines.join("\n")}\n`);
  }
}
