// Test support: the Redis tools (Debian's redis-tools and redis-server). A real redis-server on a
// free loopback port to compare with, and redis-cli runs. A missing binary fails the test: CI installs them.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free loopback port now (the kernel's pick for port 0, released at once). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** Runs a Redis tool to completion; throws when it cannot be started (not installed). */
export async function run(argv: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs commands (one per line, redis-cli syntax) through one `redis-cli --no-raw` against 127.0.0.1:port. */
export async function redisCli(port: number, lines: readonly string[]): Promise<string> {
  const { stdout, stderr } = await run(["redis-cli", "--no-raw", "-h", "127.0.0.1", "-p", String(port)], `${lines.join("\n")}\n`);
  return stdout + stderr;
}

export interface RedisServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a real redis-server (no persistence) on a free loopback port and waits until it answers; `args` are extra options. */
export async function startRedis(args: readonly string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "osprey-redis-"));
  const port = freePort();
  const proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...args], {
    stdout: "ignore",
    stderr: "ignore",
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const { stdout } = await run(["redis-cli", "-h", "127.0.0.1", "-p", String(port), "PING"]);
    if (stdout.trim() === "PONG") return { port, stop };
    if (proc.exitCode !== null || i > 100) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await Bun.sleep(50);
  }
}
