// startWriteback (sync_file_range WRITE through the native library): a hint that starts writing a
// file's dirty pages without waiting; it changes no byte, and reports a bad descriptor as an errno.

import { afterEach, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNative, startWriteback } from "../../src/native/index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("starting writeback of a written range returns 0 and leaves the file's bytes as written", () => {
  expect(loadNative()).toBe(true);
  const dir = mkdtempSync(join(tmpdir(), "osprey-writeback-"));
  dirs.push(dir);
  const path = join(dir, "f");
  const fd = openSync(path, "a");
  const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
  writeSync(fd, bytes);
  expect(startWriteback(fd, 0, bytes.length)).toBe(0);
  expect(startWriteback(fd, 1024 * 1024, 1024)).toBe(0);
  closeSync(fd);
  expect(readFileSync(path).equals(bytes)).toBe(true);
});

test("a descriptor that is not open is reported as EBADF, not thrown", () => {
  expect(loadNative()).toBe(true);
  const dir = mkdtempSync(join(tmpdir(), "osprey-writeback-"));
  dirs.push(dir);
  const fd = openSync(join(dir, "g"), "a");
  closeSync(fd);
  expect(startWriteback(fd, 0, 4096)).toBe(9);
});
