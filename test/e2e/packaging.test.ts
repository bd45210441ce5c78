// What ships: the npm package holds what users run (sources, the native library's C source, the
// sample config, docs) and not the tests, benchmarks or CI; the systemd unit in docs/ verifies.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");

test("npm pack ships src, native, docs and osprey.toml, and no tests, benchmarks or CI files", async () => {
  const proc = Bun.spawn(["npm", "pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
  for (const needed of ["package.json", "README.md", "LICENSE", "osprey.toml", "src/server.ts", "src/cli/main.ts", "native/osprey.c", "docs/OPERATIONS.md", "docs/osprey.service"]) {
    expect(files).toContain(needed);
  }
  expect(files.filter((f) => /^(test|bench|\.ci|build|dist|data)\//.test(f))).toEqual([]);
});

// Verified with its ExecStart pointed at a program that exists here: systemd-analyze checks that
// the command is executable, and /usr/local/bin/osprey is only there once installed.
test.skipIf(Bun.which("systemd-analyze") === null)("docs/osprey.service passes systemd-analyze verify without a warning", async () => {
  const dir = mkdtempSync(join(tmpdir(), "osprey-unit-"));
  try {
    const unit = readFileSync(join(root, "docs/osprey.service"), "utf8");
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^LimitNOFILE=\d+$/m);
    expect(unit).toMatch(/^User=osprey$/m);
    expect(unit).toContain("ExecStart=/usr/local/bin/osprey ");
    writeFileSync(join(dir, "osprey.service"), unit.replace("ExecStart=/usr/local/bin/osprey ", "ExecStart=/bin/true "));
    const proc = Bun.spawn(["systemd-analyze", "verify", join(dir, "osprey.service")], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(out + err).toBe("");
    expect(code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
