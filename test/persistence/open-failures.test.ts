// A WAL rotation or a snapshot whose file cannot be created (EMFILE, ENOSPC, EACCES… — here a
// directory squatting on the name, which fails the same way for root) is refused, counted,
// logged and retried; it never throws, and what a client may see names no absolute path.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromObject } from "../../src/config.ts";
import { walRetryMs } from "../../src/constants.ts";
import { noExpiry, Store } from "../../src/engine/store.ts";
import { internalError, respInternalError } from "../../src/errors.ts";
import { Snapshotter } from "../../src/persistence/snapshot.ts";
import { Wal } from "../../src/persistence/wal.ts";
import { captureLog } from "../support/log.ts";

const dirs: string[] = [];
const wals: Wal[] = [];
afterEach(() => {
  for (const w of wals.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openWal(): { wal: Wal; dir: string; store: Store; config: ReturnType<typeof configFromObject> } {
  const dir = mkdtempSync(join(tmpdir(), "osprey-open-"));
  dirs.push(dir);
  const config = configFromObject({ data_dir: dir, sync_policy: "os", wal_max_bytes: 1024 }, { warn: () => {} });
  const wal = new Wal(dir, config, 1, 0);
  wals.push(wal);
  const store = new Store();
  store.setLog(wal);
  return { wal, dir, store, config };
}

const enc = new TextEncoder();
function write(wal: Wal, key: string, bytes: number): void {
  const k = enc.encode(key);
  const v = enc.encode("x".repeat(bytes));
  wal.set(k, 0, k.length, v, 0, v.length, noExpiry, 1);
}

const turn = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

describe("files that cannot be created", () => {
  test("a size-triggered rotation that cannot create the next WAL goes on in the current one, reports why, and rotates once it can", async () => {
    const { wal, dir } = openWal();
    mkdirSync(join(dir, "wal-00000002.oswal"));
    const log = captureLog();
    try {
      write(wal, "a", 2000);
      await turn();
      expect(wal.currentIndex).toBe(1);
      expect(wal.rotateFailure).toMatch(/^cannot create wal-00000002\.oswal: EISDIR/);
      expect(wal.rotateFailuresTotal).toBe(1);
      expect(wal.failure).toBeNull();
      // Writes go on, into the oversized file, without a retry on every turn.
      write(wal, "b", 10);
      await turn();
      expect(wal.rotateFailuresTotal).toBe(1);
      expect(wal.currentBytes).toBeGreaterThan(2000);

      rmdirSync(join(dir, "wal-00000002.oswal"));
      await Bun.sleep(walRetryMs + 50);
      write(wal, "c", 10);
      await turn();
      expect(wal.currentIndex).toBe(2);
      expect(wal.rotateFailure).toBeNull();
      const messages = log.messages();
      expect(messages.filter((m) => m.startsWith("ERROR"))).toEqual([
        expect.stringMatching(new RegExp(`^ERROR write-ahead log cannot rotate, writes go on in wal-00000001\\.oswal .*cannot create wal-00000002\\.oswal: EISDIR.* \\(${dir}/wal-00000002\\.oswal\\)$`)),
      ]);
      expect(messages).toContain("INFO write-ahead log rotated to wal-00000002.oswal after 1 failed attempt(s)");
    } finally {
      log.stop();
    }
  });

  test("a snapshot that cannot create its file is refused naming the file, not its path, and leaves the WAL unrotated", () => {
    const { wal, dir, store, config } = openWal();
    const snapshots = new Snapshotter(dir, store, wal, config, 0);
    mkdirSync(join(dir, "snap-00000001.osnap.tmp"));
    const log = captureLog();
    try {
      const why = snapshots.start("test");
      expect(why).toMatch(/^cannot create snap-00000001\.osnap\.tmp: EISDIR/);
      expect(why).not.toContain(dir);
      expect(snapshots.failuresTotal).toBe(1);
      expect(snapshots.running).toBe(false);
      expect(wal.currentIndex).toBe(1);
      expect(log.messages()).toEqual([expect.stringMatching(/^ERROR snapshot not started, retried in \d+ ms if due: cannot create snap-00000001\.osnap\.tmp: .*\(.*snap-00000001\.osnap\.tmp\)$/)]);
    } finally {
      log.stop();
    }
  });

  test("ERR INTERNAL causes name files by their base name in both protocols", () => {
    const cause = "EMFILE: too many open files, open '/var/lib/osprey/data/wal-00000002.oswal'";
    expect(Buffer.from(internalError(cause)).toString()).toBe("ERR INTERNAL EMFILE: too many open files, open 'wal-00000002.oswal'\r\n");
    expect(Buffer.from(respInternalError(cause)).toString()).toBe("-ERR INTERNAL EMFILE: too many open files, open 'wal-00000002.oswal'\r\n");
    expect(Buffer.from(internalError("ratio 1/2, cannot fit")).toString()).toBe("ERR INTERNAL ratio 1/2, cannot fit\r\n");
  });
});
