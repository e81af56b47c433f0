// Every test file gets its own state directory ($WOPTE_STATE_DIR, inherited
// by the hosts it spawns): a `wopte sled` or `wopte gateway run` started by a
// test keeps its ledger and tokens there, never in /var/lib/wopte or the
// user's own state directory, and no two test files share a ledger.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

process.env.WOPTE_STATE_DIR = mkdtempSync(join(tmpdir(), "wopte-state-"));
