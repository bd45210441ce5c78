// One server per data_dir: a second server pointed at a directory in use refuses to start at
// once, before reading it, naming the directory and the holder's PID — through the native
// library's flock, and through the PID fallback without it. The lock ends with its holder.

import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { spawnServer, startServer, writeConfig } from "../support/server.ts";

const modes = [
  { name: "native flock", env: {} as Record<string, string> },
  { name: "the PID fallback (OSPREY_NATIVE=off)", env: { OSPREY_NATIVE: "off" } },
];

describe.each(modes)("the data_dir lock with $name", ({ env }) => {
  test("a second server on a data_dir in use exits 1 naming the dir and the holder's PID, and the first keeps every write", async () => {
    const first = await startServer({}, { env });
    try {
      const c = await RawClient.connect(first.port);
      await c.send("SET k 5\r\nfirst\r\n");
      expect(await c.line()).toBe("OK 1");
      expect(readFileSync(join(first.dataDir, "LOCK"), "latin1").trim()).toBe(String(first.pid));

      // Its own config and port; only the data_dir is shared.
      const config = writeConfig(join(first.dataDir, "logs"), { listen_addr: "127.0.0.1:0", data_dir: first.dataDir, log_file: join(first.dataDir, "logs", "second.log") });
      const started = performance.now();
      const { code, stderr } = await spawnServer(["--config", config], { env }).exited(10000);
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot start: data_dir ${first.dataDir} is in use by another Osprey server (pid ${first.pid})`);
      // Refused before recovery: nothing about the keys it would have loaded.
      expect(stderr).not.toContain("recovered");
      expect(performance.now() - started).toBeLessThan(5000);

      await c.send("GET k\r\n");
      expect(await c.line()).toBe("VALUE 5 1 -1");
      expect(await c.line()).toBe("first");
      c.close();
    } finally {
      await first.stop();
    }
  });

  test("after the holder stops, or is killed, the next server takes the lock and recovers its data", async () => {
    const first = await startServer({}, { env });
    const dataDir = first.dataDir;
    try {
      const c = await RawClient.connect(first.port);
      await c.send("SET k 1\r\na\r\n");
      expect(await c.line()).toBe("OK 1");
      c.close();
      expect(await first.signal("SIGTERM")).toBe(0);

      const second = await startServer({}, { dataDir, env });
      const c2 = await RawClient.connect(second.port);
      await c2.send("SET k 1\r\nb\r\n");
      expect(await c2.line()).toBe("OK 2");
      c2.close();
      // A crash holds nothing: the kernel drops the flock, and a dead PID is not honoured.
      expect(await second.signal("SIGKILL")).not.toBe(0);

      const third = await startServer({}, { dataDir, env });
      const c3 = await RawClient.connect(third.port);
      await c3.send("GET k\r\n");
      expect(await c3.line()).toBe("VALUE 1 2 -1");
      expect(await c3.line()).toBe("b");
      c3.close();
      await third.signal("SIGTERM");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
