// `osprey dump DATA_DIR`: the keyspace a start would recover, as JSON Lines on stdout, one key a
// line: {"key":…,"value":…,"version":…,"expiry":…}. A key or value that is not UTF-8 is written in
// base64 and says so ("key_encoding"/"value_encoding": "base64"); expiry is absolute epoch ms or -1.
// The output goes out in chunks of dumpChunkBytes, each handed to stdout before the next is built.
// A damaged directory is refused (exit 2): `osprey check` says where, `osprey repair` salvages it.

import { dumpChunkBytes } from "../constants.ts";
import { noExpiry, Store } from "../engine/store.ts";
import { recover } from "../persistence/recovery.ts";
import { exitStatus, requireDir, textOrBase64, ToolError, withLock, writeOut } from "./common.ts";

export const usage = "dump DATA_DIR     print DATA_DIR's keys as JSON Lines {key, value, version, expiry}";
export const arity = 1;

export async function run([dir]: string[]): Promise<number> {
  requireDir(dir!);
  return withLock(dir!, async () => {
    const store = new Store();
    const now = Date.now();
    const result = recover(dir!, store, { check: true, nowMs: now });
    const damage = result.problems.filter((p) => p.kind === "damage");
    if (damage.length > 0) {
      throw new ToolError(`${dir} is damaged (${damage[0]!.message}${damage.length > 1 ? `, and ${damage.length - 1} more` : ""}): \`osprey check\` lists it, \`osprey repair\` salvages it`, exitStatus.damaged);
    }
    for (const p of result.problems) process.stderr.write(`osprey dump: leaving out what a start trims: ${p.message}\n`);
    let chunk = "";
    for (let id = 0; id < store.idLimit; id++) {
      if (!store.hasEntry(id)) continue;
      const expiry = store.expiry(id);
      if (expiry !== noExpiry && expiry <= now) continue;
      chunk += dumpLine(store, id) + "\n";
      if (chunk.length >= dumpChunkBytes) {
        await writeOut(chunk);
        chunk = "";
      }
    }
    if (chunk.length > 0) await writeOut(chunk);
    return exitStatus.ok;
  });
}

/** One entry as a JSON line (without the newline). */
export function dumpLine(store: Store, id: number): string {
  const b = store.buffer(id);
  const ks = store.keyOffset(id);
  const vs = store.valueOffset(id);
  const key = textOrBase64(b.subarray(ks, ks + store.keyLength(id)));
  const value = textOrBase64(b.subarray(vs, vs + store.valueLength(id)));
  const line: Record<string, string | number> = { key: key.text };
  if (key.base64) line.key_encoding = "base64";
  line.value = value.text;
  if (value.base64) line.value_encoding = "base64";
  line.version = store.version(id);
  line.expiry = store.expiry(id);
  return JSON.stringify(line);
}
