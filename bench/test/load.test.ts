// bench/load.c, the matrix's C generator, against a real Osprey over RESP: it builds with gcc,
// SETs and GETs with no errors, its --preload makes every GET hit, and it prints one JSON line
// with the fields bench.ts --json prints.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer, type RunningServer } from "../../test/support/server.ts";
import { RawClient } from "../../test/support/client.ts";

const source = resolve(import.meta.dir, "../load.c");
let dir = "";
let binary = "";
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "osprey-load-"));
  binary = join(dir, "load");
  const cc = Bun.spawnSync(["gcc", "-O2", "-Wall", "-o", binary, source], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`gcc bench/load.c failed:\n${cc.stderr.toString()}`);
  server = await startServer({ sync_policy: "os" });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function load(args: string[]): Promise<{ code: number; json: Record<string, any> | null; stderr: string }> {
  const p = Bun.spawn([binary, "--port", String(server.port), ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const last = out.trim().split("\n").at(-1) ?? "";
  return { code, json: last.startsWith("{") ? JSON.parse(last) : null, stderr };
}

describe("bench/load.c", () => {
  test("SETs of a large value at P=4 finish without errors and report the shape and latency", async () => {
    const r = await load(["--op", "set", "--clients", "4", "--pipeline", "4", "--value-size", "70000", "--keyspace", "20", "--duration", "0.5", "--warmup", "0.1"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ op: "set", clients: 4, pipeline: 4, valueBytes: 70000, keyspace: 20, errors: 0, firstError: "" });
    expect(r.json!.ops).toBeGreaterThan(0);
    expect(r.json!.latencyMs.p99).toBeGreaterThanOrEqual(r.json!.latencyMs.p50);
    expect(r.json!.latencyMs.max).toBeGreaterThanOrEqual(r.json!.latencyMs.p99);
  }, 30_000);

  test("after --preload every GET hits, and the bulk replies are parsed whole", async () => {
    const r = await load(["--op", "get", "--preload", "--clients", "3", "--pipeline", "8", "--value-size", "5000", "--keyspace", "50", "--duration", "0.5", "--warmup", "0"]);
    expect(r.code).toBe(0);
    expect(r.json!.errors).toBe(0);
    expect(r.json!.getMisses).toBe(0);
    expect(r.json!.getHits).toBe(r.json!.ops);
    expect(r.json!.ops).toBeGreaterThan(0);
  }, 30_000);

  test("--value-fill random sets bytes of every value, not 'x' repeated; the default is 'x'", async () => {
    /** The value of key:000000000000 after a preload of one 4096-byte key with `fill`. */
    const valueAfter = async (fill: string[]): Promise<Buffer> => {
      const r = await load(["--value-size", "4096", "--keyspace", "1", "--preload-only", ...fill]);
      expect(r.code).toBe(0);
      const c = await RawClient.connect(server.port);
      try {
        await c.send("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n");
        expect(await c.line()).toBe("$4096");
        return await c.bytes(4096 + 2);
      } finally {
        c.close();
      }
    };
    const plain = await valueAfter([]);
    expect(plain.subarray(0, 4096).every((b) => b === 0x78)).toBe(true);
    const random = await valueAfter(["--value-fill", "random"]);
    expect(new Set(random.subarray(0, 4096)).size).toBeGreaterThan(200); // ~255 of 256 byte values in 4 KiB of random bytes
    const bad = await load(["--value-fill", "zeros"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--value-fill is x or random");
  });

  test("a bad option exits 2 with a usage line", async () => {
    const r = await load(["--op", "delete"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--op is set or get");
  });
});
