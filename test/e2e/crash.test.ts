// kill -9 at random moments under load, for "always" and "batch" (README "Durability": both lose
// nothing acknowledged to a process crash): SETs, INCRs, MSETs, MULTI/EXEC and SNAPSHOTs, every
// acknowledged write checked after each restart, and no MSET or EXEC half-applied. The model and
// the cycle are test/fault/crash.ts; `bun bench/crash.ts --cycles N` runs many more.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycles, type SyncPolicy } from "../fault/crash.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("kill -9 crash consistency", () => {
  for (const [policy, seed] of [["always", 11], ["batch", 12]] as [SyncPolicy, number][]) {
    test(`sync_policy "${policy}": after each of 3 kills every acknowledged SET, INCR, MSET and EXEC is back, and no MSET or EXEC is half-applied`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "osprey-crash-"));
      dirs.push(dataDir);
      const f = await crashCycles({ dataDir, policy, cycles: 3, seed });
      expect(f.lost).toEqual([]);
      expect(f.unexpected).toEqual([]);
      expect(f.cycles).toBe(3);
      expect(f.ackedChecked).toBe(f.ackedWrites);
      expect(f.ackedWrites).toBeGreaterThan(300);
      expect(f.snapshots).toBeGreaterThan(0);
    }, 60_000);
  }
});

describe("the crash check itself", () => {
  test("a write-ahead log emptied after the kill is reported as acknowledged writes lost", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "osprey-crash-"));
    dirs.push(dataDir);
    const f = await crashCycles({
      dataDir,
      policy: "always",
      cycles: 1,
      seed: 13,
      snapshots: false,
      config: { enable_snapshot: false, wal_max_bytes: 1 << 30 },
      afterKill: (dir) => {
        for (const name of readdirSync(dir)) if (name.endsWith(".oswal")) truncateSync(join(dir, name), 0);
      },
    });
    expect(f.ackedWrites).toBeGreaterThan(100);
    expect(f.lost.length).toBeGreaterThan(0);
    expect(f.lost.some((l) => /acknowledged .*recovered nothing/.test(l))).toBe(true);
  }, 30_000);
});
