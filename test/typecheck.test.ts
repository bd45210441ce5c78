// The whole tree (src, test, bench) type-checks under strict TypeScript.

import { expect, test } from "bun:test";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

test("the source, tests and bench type-check with tsc --noEmit", async () => {
  const tsc = resolve(root, "node_modules/typescript/bin/tsc");
  const proc = Bun.spawn([process.execPath, tsc, "--noEmit", "-p", root], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(out).toBe("");
  expect(code).toBe(0);
}, 120000);
