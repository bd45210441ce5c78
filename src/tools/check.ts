// `osprey check DATA_DIR`: reads the manifest, the snapshot and every WAL record as recovery would,
// changing nothing, and reports counts, byte ranges and every problem with its file and offset.
// The exit status says clean (0), torn tail (1: a plain start trims it) or damaged (2: a plain
// start refuses; `osprey repair` salvages). The reading is recovery's own, in its check mode.

import { Store } from "../engine/store.ts";
import { manifestName } from "../persistence/format.ts";
import { formatKey, recover, RecoveryError, type Problem } from "../persistence/recovery.ts";
import { exitStatus, print, requireDir, ToolError, withLock } from "./common.ts";

export const usage = "check DATA_DIR    verify every file of DATA_DIR; exit 0 clean, 1 torn tail, 2 damaged";
export const arity = 1;

export async function run([dir]: string[]): Promise<number> {
  requireDir(dir!);
  return withLock(dir!, () => {
    const store = new Store();
    let result: ReturnType<typeof recover>;
    try {
      result = recover(dir!, store, { check: true });
    } catch (e) {
      // Check mode records problems rather than throwing; what is left is the file system's.
      if (e instanceof RecoveryError) throw new ToolError(e.message);
      throw new ToolError(`cannot read ${dir}: ${(e as Error).message}`);
    }
    const out: string[] = [];
    const m = result.manifest;
    if (m !== null) out.push(`${manifestName}: ${m.snap}, then the WALs from ${m.next_wal} on`);
    else if (!result.problems.some((p) => p.file === manifestName)) out.push(`${manifestName}: none (a new directory, or one the original Osprey wrote): every WAL is replayed, and a start writes one`);
    for (const f of result.files) out.push(`${f.name}: ${f.bytes} bytes, ${f.items} good ${f.name.startsWith("snap-") ? "entries" : "records"}`);
    out.push(`keys: ${store.size} after replay (expired ones dropped)`);
    for (const p of result.problems) out.push(...describe(p));
    const first = result.problems[0];
    // Each message names its file and, for damage inside one, the byte offset.
    if (first !== undefined) out.push(`first problem: ${first.message}`);
    const status = result.problems.length === 0 ? exitStatus.ok : result.problems.every((p) => p.kind === "torn") ? exitStatus.torn : exitStatus.damaged;
    const verdict =
      status === exitStatus.ok
        ? "clean"
        : status === exitStatus.torn
          ? "torn tail: a write cut short by a crash; a plain start trims it (the bytes are kept in a .broken file)"
          : `damaged: a plain start refuses this directory; \`osprey repair ${dir}\` salvages it as listed above`;
    out.push(`status: ${verdict} (exit ${status})`);
    print(out.join("\n") + "\n");
    return status;
  });
}

function describe(p: Problem): string[] {
  const lines = [`${p.kind}: ${p.message}`];
  if (p.start !== undefined && p.end !== undefined && p.end > p.start) lines.push(`  bytes ${p.start}..${p.end} of ${p.file}`);
  if (p.keys !== undefined && p.keys.length > 0) {
    const caveat = p.keysExact === false ? " (read with a damaged length: a key may be cut short or run on)" : "";
    lines.push(`  keys: ${p.keys.map(formatKey).join(", ")}${p.moreKeys ? ` and ${p.moreKeys} more` : ""}${caveat}`);
  }
  else if (p.start !== undefined && p.end !== undefined && p.end > p.start) lines.push("  keys: none readable in those bytes");
  lines.push(`  repair: ${p.action}`);
  return lines;
}
