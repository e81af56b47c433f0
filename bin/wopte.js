#!/usr/bin/env node
// The `wopte` command: everything lives in dist/hosts/cli (built by `npm run build`).
import("../dist/hosts/cli/main.js").then((m) => m.main(process.argv.slice(2))).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
