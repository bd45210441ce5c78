// Every documented way to start osprey-cli: bunx, npx and `npm run cli` in the checkout, and bunx,
// npx and `import { connect } from "osprey"` in another project that installed a packed Osprey.
// PATH holds no Bun: the CLI's shebang must find the one in node_modules/.bin.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startServer, type RunningServer } from "../support/server.ts";
import { cleanEnv, collect, root } from "./run.ts";

let server: RunningServer;
const npm = Bun.which("npm")!;
const npx = Bun.which("npx")!;
// Node's folder and the system's, nothing from node_modules: as a user's shell would have it.
const path = [...new Set([dirname(npm), dirname(Bun.which("node")!), "/usr/bin", "/bin"])].join(":");

/** Runs a command in `cwd` with that PATH and OSPREY_ADDR pointing at the test server. */
async function run(cmd: string[], cwd: string) {
  const proc = Bun.spawn(cmd, {
    cwd,
    env: cleanEnv({ PATH: path, OSPREY_ADDR: `127.0.0.1:${server.port}`, npm_config_update_notifier: "false" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return collect(proc);
}

const expected = "1\n(nil)\nthree\n";

beforeAll(async () => {
  server = await startServer();
  const r = await run([process.execPath, join(root, "src/cli/main.ts"), "mset", "a", "1", "c", "three"], root);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await server?.stop();
});

describe("in the checkout", () => {
  test("bunx osprey-cli mget a b c runs the checkout's CLI (node_modules/osprey links the package to itself)", async () => {
    const r = await run([join(root, "node_modules/.bin/bunx"), "osprey-cli", "mget", "a", "b", "c"], root);
    expect([r.code, r.stdout]).toEqual([0, expected]);
  });

  test("npx osprey-cli mget a b c", async () => {
    const r = await run([npx, "osprey-cli", "mget", "a", "b", "c"], root);
    expect([r.code, r.stdout]).toEqual([0, expected]);
  });

  test("npm run cli -- mget a b c", async () => {
    const r = await run([npm, "run", "--silent", "cli", "--", "mget", "a", "b", "c"], root);
    expect([r.code, r.stdout]).toEqual([0, expected]);
  });
});

describe("in another project that installed Osprey", () => {
  let project: string;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "osprey-install-"));
    const packs = join(scratch, "packs");
    project = join(scratch, "app");
    mkdirSync(packs);
    mkdirSync(project);
    const pack = await run([npm, "pack", "--silent", "--pack-destination", packs], root);
    expect(pack.code).toBe(0);
    const tarball = join(packs, pack.stdout.trim().split("\n").pop()!);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }));
    // Dependencies come from npm's cache when they are there, else from the registry.
    const install = await run([npm, "install", "--no-audit", "--no-fund", "--prefer-offline", tarball], project);
    if (install.code !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  }, 120_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test("bunx osprey-cli mget a b c", async () => {
    const r = await run([join(project, "node_modules/.bin/bunx"), "osprey-cli", "mget", "a", "b", "c"], project);
    expect([r.code, r.stdout]).toEqual([0, expected]);
  });

  test("npx osprey-cli mget a b c", async () => {
    const r = await run([npx, "osprey-cli", "mget", "a", "b", "c"], project);
    expect([r.code, r.stdout]).toEqual([0, expected]);
  });

  test('import { connect } from "osprey" gives the client library', async () => {
    writeFileSync(
      join(project, "use.ts"),
      [
        'import { connect, VersionMismatchError } from "osprey";',
        "const client = await connect(process.env.OSPREY_ADDR!);",
        'const entry = await client.get("c");',
        'const err = await client.set("c", "x", { ver: 99 }).catch((e) => e);',
        'console.log(entry?.value.toString(), entry?.version, err instanceof VersionMismatchError);',
        "await client.close();",
      ].join("\n"),
    );
    const r = await run([join(project, "node_modules/.bin/bun"), "use.ts"], project);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "three 1n true\n", ""]);
  });
});
