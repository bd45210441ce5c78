// SHUTDOWN against a real Osprey: a clean stop as SIGTERM gives (exit 0, writes kept), refused
// forms answer Redis's errors (redis-cli prints a blank line after an error) and leave the server running.

import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startServer } from "../support/server.ts";
import { redisCli, run } from "../resp/redis.ts";

test("SHUTDOWN stops the server cleanly: refused forms first, then exit 0 and the writes are there after a restart", async () => {
  const server = await startServer();
  const cli = (...args: string[]) => run(["redis-cli", "-h", "127.0.0.1", "-p", String(server.port), ...args]);
  try {
    expect((await cli("SET", "kept", "yes")).stdout).toBe("OK\n");
    expect((await cli("SHUTDOWN", "ABORT")).stdout).toBe("ERR No shutdown in progress.\n\n");
    expect((await cli("SHUTDOWN", "SAVE", "NOSAVE")).stdout).toBe("ERR syntax error\n\n");
    expect((await cli("SHUTDOWN", "LATER")).stdout).toBe("ERR syntax error\n\n");
    expect((await cli("PING")).stdout).toBe("PONG\n");
    await cli("SHUTDOWN", "NOSAVE");
    expect(await server.proc.exited).toBe(0);
    await server.waitForLog(/SHUTDOWN received: closing \d+ client\(s\) and exiting/);
    const again = await startServer({}, { dataDir: server.dataDir });
    try {
      expect(await redisCli(again.port, ["GET kept"])).toBe('"yes"\n');
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(server.dataDir, { recursive: true, force: true });
  }
});
