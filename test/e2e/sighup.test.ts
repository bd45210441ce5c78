// SIGHUP reopens the log file (log rotation) instead of killing the server, which is its default
// action: after `mv osprey.log osprey.log.1` and SIGHUP, new lines go to a new osprey.log.

import { expect, test } from "bun:test";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer } from "../support/server.ts";

/** Polls until `path` exists and contains `text`, for up to 5 s. */
async function waitForText(path: string, text: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    if (existsSync(path)) {
      const content = readFileSync(path, "latin1");
      if (content.includes(text)) return content;
    }
    await Bun.sleep(10);
  }
  throw new Error(`${path} never contained ${JSON.stringify(text)}`);
}

test("after the log file is moved away, SIGHUP makes the server write to a new one at the same path and keep serving", async () => {
  const server = await startServer();
  try {
    const logPath = join(server.dataDir, "logs", "osprey.log");
    await waitForText(logPath, "Osprey listening on");
    renameSync(logPath, `${logPath}.1`);
    process.kill(server.pid, "SIGHUP");
    const fresh = await waitForText(logPath, "SIGHUP received: log file reopened");
    expect(fresh).not.toContain("Osprey listening on");
    expect(readFileSync(`${logPath}.1`, "latin1")).toContain("Osprey listening on");

    const c = await RawClient.connect(server.port);
    await c.send("PING\r\n");
    expect(await c.line()).toBe("PONG");
    c.close();
    expect(server.proc.exitCode).toBeNull();
  } finally {
    expect(await server.stop()).toBe(0);
  }
});
