// readAheadFile (native osprey_read_ahead): a file recovery reads front to back is read into the
// page cache by a native thread ahead of the reader, so that after a crash (the snapshot child
// dropped its file from the cache as it wrote it) the kernel's work of reading it in happens on
// another core. The file here is written with O_DIRECT (dd oflag=direct), so none of it is cached
// to begin with; util-linux's fincore says how much of it is.

import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileReadAheadBytesMin } from "../../src/constants.ts";
import { loadNative, readAheadFile } from "../../src/native/index.ts";
import { FileReader } from "../../src/persistence/files.ts";

const dir = mkdtempSync(join(tmpdir(), "osprey-readahead-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `mib` MiB of random bytes to `path` around the page cache; false where the file system cannot (tmpfs). */
function writeUncached(path: string, mib: number): boolean {
  const r = Bun.spawnSync(["dd", "if=/dev/urandom", `of=${path}`, "bs=1M", `count=${mib}`, "oflag=direct", "status=none"], { stderr: "pipe" });
  return r.exitCode === 0;
}

/** Bytes of `path` in the page cache now. */
function cachedBytes(path: string): number {
  const r = Bun.spawnSync(["fincore", "--bytes", "--noheadings", "--output", "RES", path], { stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  return Number(r.stdout.toString().trim());
}

const directIo = process.platform === "linux" && loadNative() && writeUncached(join(dir, "probe"), 1);

async function untilCached(path: string, bytes: number): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (cachedBytes(path) < bytes && Date.now() < deadline) await Bun.sleep(20);
  return cachedBytes(path);
}

test.skipIf(!directIo)("a range handed to readAheadFile ends up in the page cache without anyone reading it", async () => {
  const path = join(dir, "range");
  expect(writeUncached(path, 32)).toBe(true);
  expect(cachedBytes(path)).toBe(0);
  const fd = openSync(path, "r");
  try {
    expect(readAheadFile(fd, 8 * 1024 * 1024, 16 * 1024 * 1024)).toBe(0);
    expect(await untilCached(path, 16 * 1024 * 1024)).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    // Only that range (the kernel may round its ends to its own readahead window, not read it all).
    expect(cachedBytes(path)).toBeLessThan(32 * 1024 * 1024);
  } finally {
    closeSync(fd);
  }
}, 30_000);

test.skipIf(!directIo)("a FileReader over a large file starts reading it ahead at once; a small one does not", async () => {
  const mib = fileReadAheadBytesMin / (1024 * 1024);
  const large = join(dir, "large");
  const small = join(dir, "small");
  expect(writeUncached(large, mib)).toBe(true);
  expect(writeUncached(small, 8)).toBe(true);
  const a = new FileReader(large, fileReadAheadBytesMin);
  const b = new FileReader(small, 8 * 1024 * 1024);
  try {
    expect(await untilCached(large, fileReadAheadBytesMin)).toBe(fileReadAheadBytesMin);
    expect(cachedBytes(small)).toBe(0);
    // What the reader reads is the file, cached or not.
    expect(a.need(1024)).toBe(true);
    expect(b.need(1024)).toBe(true);
  } finally {
    a.close();
    b.close();
  }
}, 30_000);

test("descriptors and lengths that cannot be read ahead are refused or ignored, never thrown", () => {
  expect(loadNative()).toBe(true);
  expect(readAheadFile(-1, 0, 4096)).toBeGreaterThan(0); // EBADF from the dup
  expect(readAheadFile(0, 0, 0)).toBe(0); // nothing to read
});
