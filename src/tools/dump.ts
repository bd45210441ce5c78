// `osprey dump DATA_DIR`: the keyspace a start would recover, as JSON Lines on stdout, one key a
// line: {"key":…,"value":…,"version":…,"expiry":…}. A key or value that is not UTF-8 is written in
// base64 and says so ("key_encoding"/"value_encoding": "base64"); expiry is absolute epoch ms or -1.
// A damaged directory is refused (exit 2): `osprey check` says where, `osprey repair` salvages it.
//
// Memory does not grow with the keyspace. Recovery (check mode) replays only the WALs, into an
// Overlay that keeps what they changed — the keys they set, deleted or re-expired, and whether they
// cleared everything — and then the snapshot is streamed entry by entry through that overlay:
// memory is one read chunk, one output chunk and what the WALs after the snapshot touched (bounded
// by their size, which a snapshot every wal_max_bytes keeps small).

import { join } from "node:path";
import { dumpChunkBytes } from "../constants.ts";
import { noExpiry } from "../engine/store.ts";
import { recover, type RecoveryTarget } from "../persistence/recovery.ts";
import { walkSnapshot } from "../persistence/walk.ts";
import { exitStatus, print, requireDir, textOrBase64, ToolError, withLock } from "./common.ts";

export const usage = "dump DATA_DIR     print DATA_DIR's keys as JSON Lines {key, value, version, expiry}";
export const arity = 1;

export async function run([dir]: string[]): Promise<number> {
  requireDir(dir!);
  return withLock(dir!, () => {
    const now = Date.now();
    const overlay = new Overlay();
    const result = recover(dir!, overlay, { check: true, nowMs: now, loadSnapshot: false });
    const damage = result.problems.filter((p) => p.kind === "damage");
    if (damage.length > 0) {
      throw new ToolError(`${dir} is damaged (${damage[0]!.message}${damage.length > 1 ? `, and ${damage.length - 1} more` : ""}): \`osprey check\` lists it, \`osprey repair\` salvages it`, exitStatus.damaged);
    }
    for (const p of result.problems) print(`osprey dump: leaving out what a start trims: ${p.message}\n`, 2);
    const out = new Output();
    const live = (expiry: number) => expiry === noExpiry || expiry > now;
    if (result.snapName !== null && !overlay.cleared) {
      walkSnapshot(join(dir!, result.snapName), {
        salvage: false,
        entry: (b, e) => {
          // An entry expired at load is gone before any WAL record can touch it, as in recovery.
          if (!live(e.expiryMs)) return;
          const key = b.subarray(e.keyStart, e.keyStart + e.keyLen);
          const change = overlay.changeOf(key);
          if (change === "deleted" || (change !== undefined && change.value !== null)) return; // written below, or gone
          const expiry = change === undefined ? e.expiryMs : change.expiry;
          if (live(expiry)) out.line(key, b.subarray(e.valueStart, e.valueStart + e.valueLen), e.version, expiry);
        },
      });
    }
    for (const c of overlay.written()) if (live(c.expiry)) out.line(c.key, c.value, c.version, c.expiry);
    out.flush();
    return exitStatus.ok;
  });
}

/** A key's fate in the WALs: set (with its value), re-expired only (value from the snapshot), or deleted. */
type Change = { key: Buffer; value: Buffer | null; version: number; expiry: number } | "deleted";

/**
 * Recovery's target for the WALs alone. `find` answers for keys the snapshot may hold (unknown
 * here) as present, so a DEL or an EXPIRE of one is kept as a change to apply to the snapshot's
 * entry; once a CLEAR has run, only keys set since exist.
 */
class Overlay implements RecoveryTarget {
  readonly #ids = new Map<string, number>();
  #changes: (Change | undefined)[] = [];
  #keys: Buffer[] = [];
  cleared = false;

  reserve(): void {}

  loaded(): void {}

  load(kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): number {
    const id = this.#id(kb, ks, ke);
    this.#changes[id] = { key: this.#keys[id]!, value: Buffer.from(vb.subarray(vs, ve)), version, expiry: expiryMs };
    return id;
  }

  find(kb: Uint8Array, ks: number, ke: number): number {
    const known = this.#ids.get(latin1(kb.subarray(ks, ke)));
    if (known === undefined) return this.cleared ? -1 : this.#id(kb, ks, ke);
    return this.#changes[known] === "deleted" || (this.cleared && this.#changes[known] === undefined) ? -1 : known;
  }

  delete(id: number): void {
    this.#changes[id] = "deleted";
  }

  expireAt(id: number, expiryMs: number): void {
    const c = this.#changes[id];
    if (c === undefined) this.#changes[id] = { key: this.#keys[id]!, value: null, version: 0, expiry: expiryMs };
    else if (c !== "deleted") c.expiry = expiryMs;
  }

  clear(): void {
    this.#ids.clear();
    this.#changes = [];
    this.#keys = [];
    this.cleared = true;
  }

  /** What the WALs did to `key`, or undefined when they did not touch it. */
  changeOf(key: Uint8Array): Change | undefined {
    if (this.#ids.size === 0) return undefined;
    const id = this.#ids.get(latin1(key));
    return id === undefined ? undefined : this.#changes[id];
  }

  /** The keys the WALs set, with their final value, version and expiry. */
  *written(): Generator<{ key: Buffer; value: Buffer; version: number; expiry: number }> {
    for (const c of this.#changes) if (c !== undefined && c !== "deleted" && c.value !== null) yield { key: c.key, value: c.value, version: c.version, expiry: c.expiry };
  }

  #id(kb: Uint8Array, ks: number, ke: number): number {
    const name = latin1(kb.subarray(ks, ke));
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#keys.length;
      this.#ids.set(name, id);
      this.#keys.push(Buffer.from(kb.subarray(ks, ke)));
    }
    return id;
  }
}

/** Key bytes as a map key: latin1 maps each byte to one character, so distinct keys stay distinct. */
function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

/** JSON lines gathered into chunks of dumpChunkBytes and written to stdout one by one. */
class Output {
  #chunk = "";

  line(key: Uint8Array, value: Uint8Array, version: number, expiry: number): void {
    this.#chunk += dumpLine(key, value, version, expiry) + "\n";
    if (this.#chunk.length >= dumpChunkBytes) this.flush();
  }

  flush(): void {
    if (this.#chunk.length > 0) print(this.#chunk);
    this.#chunk = "";
  }
}

/** One key as dump writes it (without the newline). */
export function dumpLine(keyBytes: Uint8Array, valueBytes: Uint8Array, version: number, expiry: number): string {
  const key = textOrBase64(keyBytes);
  const value = textOrBase64(valueBytes);
  const line: Record<string, string | number> = { key: key.text };
  if (key.base64) line.key_encoding = "base64";
  line.value = value.text;
  if (value.base64) line.value_encoding = "base64";
  line.version = version;
  line.expiry = expiry;
  return JSON.stringify(line);
}
