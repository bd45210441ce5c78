// `osprey repair DATA_DIR`: the server's `--repair` without the server — the same openPersistence
// call (lock, recovery with salvage, the repaired state written as a snapshot and a manifest), then
// closed. Afterwards a plain start needs no --repair. What it did is logged (stderr) and summed up
// on stdout.

import { configFromObject } from "../config.ts";
import { Store } from "../engine/store.ts";
import { DataDirLockedError, openPersistence, RecoveryError } from "../persistence/index.ts";
import { exitStatus, print, requireDir, ToolError } from "./common.ts";

export const usage = "repair DATA_DIR   salvage DATA_DIR as the server's --repair does, then exit";
export const arity = 1;

export async function run([dir]: string[]): Promise<number> {
  requireDir(dir!);
  const store = new Store();
  let persistence: ReturnType<typeof openPersistence>;
  try {
    persistence = openPersistence(configFromObject({ data_dir: dir! }), store, { repair: true });
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new ToolError(e.message.replace("refusing to start", "refusing to touch it"));
    if (e instanceof RecoveryError) throw new ToolError(`cannot repair ${dir}: ${e.message}`);
    throw e;
  }
  const { problems } = persistence.recovery;
  persistence.close();
  const damage = problems.filter((p) => p.kind === "damage").length;
  const torn = problems.length - damage;
  const summary =
    problems.length === 0
      ? `${dir}: nothing to repair; ${store.size} keys`
      : `${dir}: repaired ${damage} problem(s)${torn > 0 ? ` and trimmed ${torn} torn tail(s)` : ""} (the log lines on stderr say what and where); ${store.size} keys; a plain start needs no --repair`;
  print(summary + "\n");
  return exitStatus.ok;
}
