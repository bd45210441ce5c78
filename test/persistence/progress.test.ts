// Recovery's progress report with an injected clock: the periodic log line (percent, items, MB
// read, MB/s since the previous line) and the in-place status line a terminal gets.

import { expect, test } from "bun:test";
import { recoveryProgressIntervalMs, recoveryProgressTtyMs } from "../../src/constants.ts";
import { Progress } from "../../src/persistence/progress.ts";
import { captureLog } from "../support/log.ts";

test("a log line every interval names the file, its percent, the items so far, the MB read and the rate since the last line", () => {
  let now = 0;
  const logged = captureLog();
  try {
    const p = new Progress({ nowMs: () => now, tty: null });
    p.tick("loading snap-00000001.osnap", 1_000_000, 4_000_000, 65536);
    expect(logged.messages()).toEqual([]); // less than an interval since the start
    now = recoveryProgressIntervalMs;
    p.tick("loading snap-00000001.osnap", 2_000_000, 4_000_000, 131072);
    // 2 MB in one second (1 s interval): 2.0 MB/s.
    now = 2 * recoveryProgressIntervalMs;
    p.tick("replaying wal-00000003.oswal", 3_000_000, 10_000_000, 65536);
    // The snapshot's 4 MB were read whole, then 3 MB of the WAL: 7 MB, 5 MB since the last line.
    p.done();
    const s = recoveryProgressIntervalMs / 1000;
    expect(logged.messages()).toEqual([
      `INFO recovery: loading snap-00000001.osnap 50% (131072 entries so far; 2.0 MB read, ${(2 / s).toFixed(1)} MB/s)`,
      `INFO recovery: replaying wal-00000003.oswal 30% (65536 records so far; 7.0 MB read, ${(5 / s).toFixed(1)} MB/s)`,
    ]);
  } finally {
    logged.stop();
  }
});

test("on a terminal a status line is redrawn in place and erased before a log line and at the end", () => {
  let now = 0;
  const written: string[] = [];
  const logged = captureLog();
  try {
    const p = new Progress({ nowMs: () => now, tty: { write: (t: string) => written.push(t) } });
    now = recoveryProgressTtyMs;
    p.tick("loading snap-00000001.osnap", 500_000, 1_000_000, 1000);
    now += recoveryProgressTtyMs / 2;
    p.tick("loading snap-00000001.osnap", 600_000, 1_000_000, 1200); // too soon: not redrawn
    p.done();
    p.done(); // nothing left to erase
    const rate = (0.5 / (recoveryProgressTtyMs / 1000)).toFixed(1);
    expect(written).toEqual([`\r\x1b[Krecovery: loading snap-00000001.osnap 50%, 1000 entries, ${rate} MB/s`, "\r\x1b[K"]);
    // 1.5 redraw intervals are less than a log interval: no log line yet.
    expect(recoveryProgressTtyMs * 1.5).toBeLessThan(recoveryProgressIntervalMs);
    expect(logged.messages()).toEqual([]);
  } finally {
    logged.stop();
  }
});
