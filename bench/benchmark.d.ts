// The `benchmark` package ships no types; this is the part the suite uses.
declare module "benchmark" {
  interface Target { name: string; hz: number; stats: { rme: number; sample: number[] } }
  class Suite {
    add(name: string, fn: () => void, options?: { maxTime?: number }): Suite;
    on(event: "cycle", cb: (ev: { target: Target }) => void): Suite;
    on(event: "complete", cb: () => void): Suite;
    run(options?: { async?: boolean }): Suite;
  }
  const Benchmark: { Suite: typeof Suite };
  export default Benchmark;
}
