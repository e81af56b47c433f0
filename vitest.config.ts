import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // each test file's hosts keep their ledgers in a directory of their own
    setupFiles: ["./test/helpers/state-dir.ts"],
    // the default output, then one line per group of tests skipped for a missing tool
    reporters: ["default", "./test/helpers/needs-reporter.ts"],
  },
});
