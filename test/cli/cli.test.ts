// osprey-cli's subcommands against a real server: output, --json, value sources, addresses and
// the exit statuses (0 success, 1 NOT_FOUND or ERR, 2 cannot connect).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer } from "../support/server.ts";
import { cli, unusedPort } from "./run.ts";

let server: RunningServer;
let port: string;
/** osprey-cli against the test server. */
const run = (args: string[], opts: Parameters<typeof cli>[1] = {}) => cli([...args, "--port", port], opts);

beforeAll(async () => {
  server = await startServer();
  port = String(server.port);
});

afterAll(async () => {
  await server?.stop();
});

describe("subcommands", () => {
  test("ping prints PONG and exits 0", async () => {
    const r = await run(["ping"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "PONG\n", ""]);
  });

  test("set prints the new version; get prints the value's bytes", async () => {
    expect((await run(["set", "s:a", "hello world"])).stdout).toBe("1\n");
    expect((await run(["set", "s:a", "hello again"])).stdout).toBe("2\n");
    const r = await run(["get", "s:a"]);
    expect([r.code, r.stdout]).toEqual([0, "hello again"]);
  });

  test("get of a missing key exits 1 with NOT_FOUND on stderr and nothing on stdout", async () => {
    const r = await run(["get", "s:missing"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, "", "NOT_FOUND\n"]);
  });

  test("set --ex sets an expiry that ttl reports; --keepttl keeps it", async () => {
    await run(["set", "s:ex", "v", "--ex", "60000"]);
    const ttl = Number((await run(["ttl", "s:ex"])).stdout);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await run(["set", "s:ex", "w", "--keepttl"]);
    expect(Number((await run(["ttl", "s:ex"])).stdout)).toBeGreaterThan(50_000);
    await run(["set", "s:ex", "x"]);
    expect((await run(["ttl", "s:ex"])).stdout).toBe("-1\n");
  });

  test("set --pxat expires at that epoch time", async () => {
    const at = Date.now() + 90_000;
    await run(["set", "s:pxat", "v", "--pxat", String(at)]);
    const r = await run(["get", "s:pxat", "--json"]);
    expect(JSON.parse(r.stdout).expiresAtMs).toBe(at);
  });

  test("set --nx on a live key exits 1 with the server's ERR EXISTS", async () => {
    await run(["set", "s:nx", "v"]);
    const r = await run(["set", "s:nx", "v", "--nx"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, "", "ERR EXISTS key already exists\n"]);
    expect((await run(["set", "s:nx-new", "v", "--nx"])).code).toBe(0);
  });

  test("set --xx on a missing key exits 1 with ERR NEXISTS", async () => {
    const r = await run(["set", "s:xx", "v", "--xx"]);
    expect([r.code, r.stderr]).toEqual([1, "ERR NEXISTS key does not exist\n"]);
  });

  test("set --ver is compare-and-set: the right version writes, a wrong one exits 1 with ERR VER", async () => {
    expect((await run(["set", "s:ver", "a", "--ver", "0"])).stdout).toBe("1\n");
    expect((await run(["set", "s:ver", "b", "--ver", "1"])).stdout).toBe("2\n");
    const r = await run(["set", "s:ver", "c", "--ver", "1"]);
    expect([r.code, r.stderr]).toEqual([1, "ERR VER version mismatch\n"]);
  });

  test("del prints 1 then 0; exists prints 1 then 0", async () => {
    await run(["set", "s:del", "v"]);
    expect((await run(["exists", "s:del"])).stdout).toBe("1\n");
    expect((await run(["del", "s:del"])).stdout).toBe("1\n");
    expect((await run(["del", "s:del"])).stdout).toBe("0\n");
    expect((await run(["exists", "s:del"])).stdout).toBe("0\n");
  });

  test("expire prints OK; on a missing key it exits 1 with NOT_FOUND; ttl of a missing key is -2", async () => {
    await run(["set", "s:exp", "v"]);
    const ok = await run(["expire", "s:exp", "30000"]);
    expect([ok.code, ok.stdout]).toEqual([0, "OK\n"]);
    const missing = await run(["expire", "s:exp-missing", "30000"]);
    expect([missing.code, missing.stderr]).toEqual([1, "NOT_FOUND\n"]);
    expect((await run(["expire", "s:exp", "-1"])).stdout).toBe("OK\n"); // negative: at once
    expect((await run(["ttl", "s:exp"])).stdout).toBe("-2\n");
  });

  test("incr and decr take an optional delta, negative ones included", async () => {
    expect((await run(["incr", "s:n"])).stdout).toBe("1\n");
    expect((await run(["incr", "s:n", "10"])).stdout).toBe("11\n");
    expect((await run(["incr", "s:n", "-20"])).stdout).toBe("-9\n");
    expect((await run(["decr", "s:n"])).stdout).toBe("-10\n");
    expect((await run(["decr", "s:n", "5"])).stdout).toBe("-15\n");
  });

  test("incr on a non-integer value exits 1 with ERR TYPE", async () => {
    await run(["set", "s:text", "abc"]);
    const r = await run(["incr", "s:text"]);
    expect([r.code, r.stderr]).toEqual([1, "ERR TYPE value is not an integer\n"]);
  });

  test("mset stores pairs and prints the count; mget prints one line per key, (nil) when missing", async () => {
    const set = await run(["mset", "s:m1", "one", "s:m2", "two"]);
    expect([set.code, set.stdout]).toEqual([0, "2\n"]);
    const r = await run(["mget", "s:m1", "s:nope", "s:m2"]);
    expect([r.code, r.stdout]).toEqual([0, "one\n(nil)\ntwo\n"]);
  });

  test("mset with an odd number of arguments exits 1 without contacting the server", async () => {
    const r = await run(["mset", "a", "1", "b"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("key value pairs");
  });

  test("stats prints name=value lines", async () => {
    const r = await run(["stats"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^uptime_ms=\d+$/m);
    expect(r.stdout).toMatch(/^keys=\d+$/m);
  });
});

describe("values", () => {
  test("set - reads the value from stdin, binary bytes intact, and get to a pipe writes them exactly", async () => {
    const bytes = Buffer.from([0, 1, 2, 13, 10, 255, 0x1b, 0x5b, 0x32, 0x4a]);
    expect((await run(["set", "s:bin", "-"], { stdin: bytes })).code).toBe(0);
    const r = await run(["get", "s:bin"]);
    expect(r.out.equals(bytes)).toBe(true);
  });

  test("set --file reads the value from a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-cli-"));
    try {
      const file = join(dir, "value.bin");
      writeFileSync(file, Buffer.alloc(100_000, 0xab));
      expect((await run(["set", "s:file", "--file", file])).code).toBe(0);
      expect((await run(["get", "s:file"])).out.equals(Buffer.alloc(100_000, 0xab))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("mget prints binary values escaped so each stays on one line", async () => {
    await run(["set", "s:esc", "-"], { stdin: Buffer.from("a\nb\x1b[2J\xff", "latin1") });
    const r = await run(["mget", "s:esc", "s:m1"]);
    expect(r.stdout).toBe('"a\\nb\\x1b[2J\\xff"\none\n');
  });

  test("mset takes one value from stdin", async () => {
    expect((await run(["mset", "s:ms1", "-", "s:ms2", "x"], { stdin: "from stdin" })).code).toBe(0);
    expect((await run(["get", "s:ms1"])).stdout).toBe("from stdin");
  });

  test("a value that starts with a dash is given after --", async () => {
    expect((await cli(["--port", port, "set", "s:dash", "--", "-not-an-option"])).code).toBe(0);
    expect((await run(["get", "s:dash"])).stdout).toBe("-not-an-option");
  });

  test("set without a value, or with both a value and --file, exits 1", async () => {
    expect((await run(["set", "s:none"])).code).toBe(1);
    expect((await run(["set", "s:both", "v", "--file", "/dev/null"])).code).toBe(1);
  });
});

describe("--json", () => {
  test("get prints value, version and expiry; binary values come as base64", async () => {
    await run(["set", "s:j", "text"]);
    expect(JSON.parse((await run(["get", "s:j", "--json"])).stdout)).toEqual({ key: "s:j", value: "text", version: 1, expiresAtMs: null });
    await run(["set", "s:jb", "-"], { stdin: Buffer.from([0xff, 0xfe]) });
    expect(JSON.parse((await run(["get", "s:jb", "--json"])).stdout).valueBase64).toBe("//4=");
  });

  test("incr prints 64-bit results exactly", async () => {
    await run(["set", "s:jn", "9223372036854775800"]);
    expect((await run(["incr", "s:jn", "7", "--json"])).stdout).toBe('{"value":9223372036854775807}\n');
  });

  test("mget prints an array with null for missing keys; set, del and stats print objects", async () => {
    await run(["set", "s:ja", "1"]);
    expect(JSON.parse((await run(["mget", "s:ja", "s:jz", "--json"])).stdout)).toEqual([
      { key: "s:ja", value: "1", version: 1, expiresAtMs: null },
      null,
    ]);
    expect(JSON.parse((await run(["set", "s:ja", "2", "--json"])).stdout)).toEqual({ version: 2 });
    expect(JSON.parse((await run(["del", "s:ja", "--json"])).stdout)).toEqual({ deleted: true });
    expect(typeof JSON.parse((await run(["stats", "--json"])).stdout).keys).toBe("number");
  });
});

describe("addresses and exit statuses", () => {
  test("OSPREY_ADDR says where the server is", async () => {
    const r = await cli(["ping"], { env: { OSPREY_ADDR: `127.0.0.1:${port}` } });
    expect([r.code, r.stdout]).toEqual([0, "PONG\n"]);
  });

  test("--port overrides OSPREY_ADDR, given before or after the subcommand", async () => {
    const env = { OSPREY_ADDR: `127.0.0.1:${await unusedPort()}` };
    expect((await cli(["--port", port, "ping"], { env })).stdout).toBe("PONG\n");
    expect((await cli(["--host", "127.0.0.1", "ping", "--port", port], { env })).stdout).toBe("PONG\n");
  });

  test("a server that cannot be reached exits 2 with a message on stderr", async () => {
    const r = await cli(["get", "k", "--port", String(await unusedPort())]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("cannot connect to 127.0.0.1:");
  });

  test("an unknown option or subcommand exits 1", async () => {
    expect((await run(["set", "k", "v", "--nxx"])).code).toBe(1);
    expect((await run(["frobnicate"])).code).toBe(1);
    expect((await run(["expire", "k", "soon"])).code).toBe(1);
  });
});
