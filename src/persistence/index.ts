// Durability, put together at start-up: recover the keyspace from data_dir, then log every
// change from here on (the Store's MutationLog becomes the WAL) and take snapshots.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.types.ts";
import type { Store } from "../engine/store.ts";
import { log } from "../log.ts";
import { loadNative, nativeStatus } from "../native/index.ts";
import { recover, type RecoveryResult } from "./recovery.ts";
import { lastSnapIndex, snapshotDueAfter, Snapshotter } from "./snapshot.ts";
import { Wal } from "./wal.ts";
import { Backups } from "./backup.ts";

import { RecoveryError } from "./recovery.ts";
import { DataDirLockedError, lockDataDir, type DataDirLock } from "./lock.ts";
import { errorText, writeFileAtomic } from "./files.ts";
import { fileIndex, manifestName, putSnapHeader, serializeManifest, snapHeaderBytes, snapName, walName } from "./format.ts";

export { DataDirLockedError, RecoveryError };

export interface Persistence {
  readonly wal: Wal;
  readonly snapshots: Snapshotter;
  /** Online backups (BACKUP <dir>). */
  readonly backups: Backups;
  readonly recovery: RecoveryResult;
  readonly native: string;
  close(): void;
}

/**
 * Recovers `store` from data_dir and opens the WAL. Throws RecoveryError when the data cannot be
 * trusted, and also (with the file system's reason) when data_dir cannot be used at all.
 */
export function openPersistence(config: Config, store: Store, options: { repair?: boolean } = {}): Persistence {
  try {
    return open(config, store, options);
  } catch (e) {
    if (e instanceof RecoveryError || e instanceof DataDirLockedError) throw e;
    throw new RecoveryError(`the directory cannot be used: ${errorText(e)} (${(e as Error).message})`);
  }
}

function open(config: Config, store: Store, options: { repair?: boolean }): Persistence {
  loadNative();
  const native = nativeStatus();
  const dir = config.dataDir;
  mkdirSync(dir, { recursive: true });
  // The lock comes before anything is read: a second server on this directory stops here.
  const lock = lockDataDir(dir);
  try {
    return openLocked(config, store, options, native, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Gives a directory without a manifest its first one, before any client is served, so that a
 * manifest missing later is always an anomaly recovery refuses. It names the snapshot recovery
 * loaded (a repair), or an empty snapshot written for the purpose (snap-00000000, which the first
 * real snapshot replaces), and the first WAL recovery replayed.
 */
function establishManifest(dir: string, recovery: RecoveryResult): void {
  let snap = snapName(recovery.snapIndex);
  if (recovery.entriesLoaded === 0 && !existsSync(join(dir, snap))) {
    snap = snapName(0);
    const header = Buffer.alloc(snapHeaderBytes);
    putSnapHeader(header, 0, 0);
    writeFileAtomic(join(dir, snap), header);
  }
  writeFileAtomic(join(dir, manifestName), serializeManifest({ version: 1, snap, next_wal: walName(recovery.nextWalIndex), created_ms: Date.now() }));
  log.info(`${manifestName} written: ${snap}, then ${walName(recovery.nextWalIndex)} on`);
}

function openLocked(config: Config, store: Store, options: { repair?: boolean }, native: string, lock: DataDirLock): Persistence {
  const dir = config.dataDir;
  const recovery = recover(dir, store, { repair: options.repair });
  if (recovery.snapIndex > 0 || recovery.walIndex > 0) {
    log.info(
      `recovered ${store.size} keys in ${recovery.ms.toFixed(0)} ms: ${recovery.entriesLoaded} from the snapshot, ` +
        `${recovery.recordsReplayed} WAL records replayed` + (recovery.trimmedBytes > 0 ? `, ${recovery.trimmedBytes} torn bytes trimmed` : ""),
    );
  }
  if (!existsSync(join(dir, manifestName))) establishManifest(dir, recovery);
  const walIndex = recovery.walIndex > 0 ? recovery.walIndex : recovery.nextWalIndex;
  const wal = new Wal(dir, config, walIndex, recovery.walIndex > 0 ? recovery.walBytes : 0);
  const snapshots = new Snapshotter(dir, store, wal, config, lastSnapIndex(dir));
  // The snapshot recovered from sets the next trigger, and the WAL replayed after it counts toward
  // it, so restarts do not let the log since the last snapshot grow past the bound.
  const snapFile = recovery.files.find((f) => f.name === recovery.snapName);
  wal.snapshotDueBytes = snapshotDueAfter(config.walBytesMax, snapFile?.bytes ?? 0);
  wal.sinceSnapshotBytes = recovery.files.reduce((sum, f) => (fileIndex(f.name, "wal") >= 0 ? sum + f.bytes : sum), 0);
  wal.onSnapshotDue = () => snapshots.startDue();
  store.setLog(wal);
  const backups = new Backups(dir, wal);
  return {
    wal,
    snapshots,
    backups,
    recovery,
    native,
    close() {
      snapshots.stop();
      backups.stop();
      wal.close();
      lock.release();
    },
  };
}
