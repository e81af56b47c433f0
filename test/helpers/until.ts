// Waiting for an event, never for a length of time: a test polls the
// condition it is about and fails, naming it, only when a generous deadline
// passes. A loaded two-core machine (other suites running beside this one)
// makes anything else flaky; the deadline bounds a hang, it measures nothing.

/** Resolve as soon as `cond()` holds; throw `timed out waiting for <what>` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** As `until`, for a condition that must be fetched (an API answer, a file). */
export async function untilAsync(cond: () => Promise<boolean>, what: string, ms = 10_000, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
