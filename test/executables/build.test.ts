// `npm run build`'s single executables: built once into a temp dir, copied to a folder of their own
// and run there with a bare environment (no Bun on PATH, no node_modules), then talked to.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/client/index.ts";
import { buildExecutables, type BuildResult } from "../../src/executables/build.ts";
import { writeConfig } from "../support/server.ts";
import { collect } from "../cli/run.ts";

let scratch: string;
let home: string;
let built: BuildResult;
let server: ReturnType<typeof Bun.spawn>;
let serverLog = "";
let port: number;
/** The environment of a machine without Bun: only the system's folders on PATH. */
const bare = { PATH: "/usr/bin:/bin", HOME: tmpdir() };

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "osprey-build-"));
  built = await buildExecutables(join(scratch, "dist"));
  home = join(scratch, "elsewhere");
  mkdirSync(home);
  copyFileSync(built.server, join(home, "osprey"));
  copyFileSync(built.cli, join(home, "osprey-cli"));
  Bun.spawnSync(["chmod", "+x", join(home, "osprey"), join(home, "osprey-cli")]);
  writeConfig(home, { listen_addr: "127.0.0.1:0", data_dir: "./data" });

  server = Bun.spawn(["./osprey", "--config", "osprey.toml"], { cwd: home, env: bare, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const reader = (server.stderr as ReadableStream<Uint8Array>).getReader();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /listening on \S+:(\d+)/.exec(serverLog);
    if (m) {
      port = Number(m[1]);
      break;
    }
    if (Date.now() > deadline) throw new Error(`the compiled server did not start:\n${serverLog}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`the compiled server exited:\n${serverLog}`);
    serverLog += Buffer.from(value).toString();
  }
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      serverLog += Buffer.from(value).toString();
    }
  })();
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    process.kill(server.pid, "SIGKILL");
    await server.exited;
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  collect(Bun.spawn(["./osprey-cli", ...args, "--port", String(port)], { cwd: home, env: bare, stdout: "pipe", stderr: "pipe" }));

test("the compiled server runs from a folder of its own and answers the client library", async () => {
  const client = await connect({ port });
  expect(await client.set("exe:k", "from the client")).toBe(1n);
  expect((await client.get("exe:k"))!.value.toString()).toBe("from the client");
  await client.close();
});

test("the compiled osprey-cli runs without Bun and keeps its exit statuses", async () => {
  const set = await cli(["set", "exe:c", "42"]);
  expect([set.code, set.stdout]).toEqual([0, "1\n"]);
  expect((await cli(["incr", "exe:c", "-2"])).stdout).toBe("40\n");
  const missing = await cli(["get", "exe:missing"]);
  expect([missing.code, missing.stderr]).toEqual([1, "NOT_FOUND\n"]);
});

test("the native library is embedded in the server when it could be built", async () => {
  if (built.nativeMissing !== null) {
    // No C compiler here: the server must still run, on its TypeScript fallbacks.
    expect(serverLog).toContain("native library unavailable");
    return;
  }
  expect(serverLog).not.toContain("native library unavailable");
  const stats = (await cli(["stats"])).stdout;
  if (/^native=/m.test(stats)) expect(stats).toMatch(/^native=native /m);
});

test("the compiled server stops cleanly on SIGTERM", async () => {
  process.kill(server.pid, "SIGTERM");
  expect(await server.exited).toBe(0);
});
