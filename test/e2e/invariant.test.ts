// A broken invariant is never answered as an error and carried on: the server stops at once with
// exit status 70, the cause and its stack in the log file, and the request that found it unanswered.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeConfig } from "../support/server.ts";

test("a broken invariant stops the server with exit 70 and the cause in the log, and the request gets no reply", async () => {
  const dir = mkdtempSync(join(tmpdir(), "osprey-invariant-"));
  try {
    const logFile = join(dir, "osprey.log");
    const config = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: join(dir, "data"), log_file: logFile });
    const proc = Bun.spawn([process.execPath, resolve(import.meta.dir, "fixtures/broken-invariant.ts"), config], { stdout: "ignore", stderr: "pipe" });
    let stderr = "";
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    let port = 0;
    while (port === 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the server exited before listening: ${stderr}`);
      stderr += decoder.decode(value);
      const m = /listening on port (\d+)/.exec(stderr);
      if (m) port = Number(m[1]);
    }
    const replies: string[] = [];
    const closed = Promise.withResolvers<void>();
    await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write("PING\r\nGET k\r\n"),
        data: (_s, d) => void replies.push(Buffer.from(d).toString("latin1")),
        close: () => closed.resolve(),
        error: () => closed.resolve(),
      },
    });
    expect(await proc.exited).toBe(70);
    await closed.promise;
    // PING ran before the GET found the bug, but their replies leave together: neither was sent.
    expect(replies.join("")).toBe("");
    const log = readFileSync(logFile, "latin1");
    expect(log).toContain("ERROR stopping: a bug in Osprey (handling a read): InvariantError: probe chain of the test's key does not end");
    expect(log).toMatch(/at .*connection\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
