// Every front door tells the version from package.json: `osprey --version`, `osprey-cli
// --version`, STATS (`version`) and INFO (`osprey_version`); STATS and INFO also name the git
// commit (`commit`, `osprey_commit`).

import { expect, test } from "bun:test";
import { resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { RawClient } from "../support/client.ts";
import { serverEntry, startServer } from "../support/server.ts";

const cliEntry = resolve(import.meta.dir, "../../src/cli/main.ts");

test("osprey --version and osprey-cli --version print the package version and exit 0", async () => {
  for (const entry of [serverEntry, cliEntry]) {
    const proc = Bun.spawn([process.execPath, entry, "--version"], { stdout: "pipe", stderr: "pipe" });
    expect((await new Response(proc.stdout).text()).trim()).toBe(pkg.version);
    expect(await proc.exited).toBe(0);
  }
});

test("STATS reports version and INFO osprey_version", async () => {
  const server = await startServer();
  try {
    const c = await RawClient.connect(server.port);
    expect((await c.stats()).version).toBe(`"${pkg.version}"`);
    c.close();
    const info = Bun.spawnSync(["redis-cli", "-p", String(server.port), "INFO", "server"]).stdout.toString();
    expect(info).toContain(`osprey_version:${pkg.version}`);
  } finally {
    await server.stop();
  }
});

test("STATS commit and INFO osprey_commit name the checkout's git commit", async () => {
  const root = resolve(import.meta.dir, "../..");
  const git = Bun.spawnSync(["git", "-C", root, "rev-parse", "--short=12", "HEAD"]);
  const head = git.exitCode === 0 ? git.stdout.toString().trim() : "";
  const server = await startServer();
  try {
    const c = await RawClient.connect(server.port);
    expect((await c.stats()).commit).toBe(`"${head}"`);
    c.close();
    const info = Bun.spawnSync(["redis-cli", "-p", String(server.port), "INFO", "server"]).stdout.toString();
    expect(info).toMatch(new RegExp(`^osprey_commit:${head}\r$`, "m"));
  } finally {
    await server.stop();
  }
});
