#!/usr/bin/env node
// The `wopte` command: everything lives in dist/hosts/cli (built by `npm run build`).
// A command that failed exits at once, even with a socket or timer still open
// (a host that could not start must not linger).
import("../dist/hosts/cli/main.js").then((m) => m.main(process.argv.slice(2))).then(() => {
  if (process.exitCode) process.exit(process.exitCode);
}, (err) => {
  console.error(`wopte: ${err instanceof Error ? err.message : err}`);
  if (err?.code === "ERR_MODULE_NOT_FOUND") console.error("wopte: the hosts are not built: run npm run build");
  process.exit(1);
});
