// prefault: the memory named is faulted in by a thread of the native library's own while the
// caller goes on, without changing a byte of it, so recovery's first writes into fresh memory do
// not wait while the kernel zeroes it.

import { expect, test } from "bun:test";
import { loadNative, prefault, prefaultsRunning, waitForPrefaults } from "../../src/native/index.ts";
import { residentBytes } from "../support/resident.ts";

const MiB = 1024 * 1024;

/**
 * A buffer of `bytes` none of whose memory is resident yet. The allocator may hand back memory an
 * earlier test used and freed (resident already); such buffers are kept aside, so that the next
 * try gets other memory.
 */
function untouched(bytes: number): Buffer {
  const aside: Buffer[] = [];
  for (let i = 0; i < 8; i++) {
    const b = Buffer.allocUnsafeSlow(bytes);
    if (residentBytes(b) < MiB) return b;
    aside.push(b);
  }
  throw new Error(`no untouched ${bytes} bytes after ${aside.length} tries`);
}

/** Waits (generously: the machine is shared) until `check` holds; returns its last value. */
async function eventually(check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (!check() && Date.now() < deadline) await Bun.sleep(20);
  return check();
}

test("64 MiB never touched become resident without the caller writing to them", async () => {
  expect(loadNative()).toBe(true);
  const fresh = untouched(64 * MiB);
  expect(prefault([[fresh, fresh.length]])).toBe(0);
  expect(await eventually(() => residentBytes(fresh) >= 63 * MiB)).toBe(true);
}, 30_000);

test("only the first `bytes` of a view are faulted in, and what the memory holds is unchanged", async () => {
  const b = untouched(96 * MiB);
  // Written before, read after: the advice must not zero or move what is there.
  for (let at = 0; at < 16 * MiB; at += 4096) b[at] = (at >>> 12) & 0xff;
  expect(prefault([[b, 48 * MiB]])).toBe(0);
  expect(await eventually(() => residentBytes(b, 48 * MiB) >= 47 * MiB)).toBe(true);
  expect(residentBytes(b) - residentBytes(b, 48 * MiB)).toBeLessThan(MiB);
  let wrong = 0;
  for (let at = 0; at < 16 * MiB; at += 4096) if (b[at] !== ((at >>> 12) & 0xff)) wrong++;
  expect(wrong).toBe(0);
}, 30_000);

test("empty views and zero lengths start nothing and are not an error", () => {
  expect(prefault([])).toBe(0);
  expect(prefault([[new Uint8Array(0), 10], [Buffer.allocUnsafeSlow(4096), 0]])).toBe(0);
});

test("what the caller writes while the thread touches the same memory is all kept", async () => {
  const b = untouched(64 * MiB);
  expect(prefault([[b, b.length]])).toBe(0);
  // The caller writes every page as the thread goes (a store can meet the thread's touch of that
  // page); the touch is an atomic add of zero, so no byte written is lost or changed.
  for (let round = 0; round < 4; round++) for (let at = round; at < b.length; at += 4096) b[at] = (at >>> 12) & 0xff;
  expect(await eventually(() => prefaultsRunning() === 0)).toBe(true);
  let wrong = 0;
  for (let round = 0; round < 4; round++) for (let at = round; at < b.length; at += 4096) if (b[at] !== ((at >>> 12) & 0xff)) wrong++;
  expect(wrong).toBe(0);
}, 30_000);

test("a job's views are held until its thread is done, then let go", async () => {
  // The thread writes into the memory, so a view the caller drops must outlive the job.
  expect(prefault([[untouched(64 * MiB), 64 * MiB]])).toBe(0);
  expect(prefaultsRunning()).toBeGreaterThan(0);
  Bun.gc(true);
  expect(await eventually(() => prefaultsRunning() === 0)).toBe(true);
}, 30_000);

test("a resizable buffer being prefaulted is shrunk safely once waitForPrefaults returns", async () => {
  // Shrunk, a resizable buffer's memory past its end is PROT_NONE: a touch there would crash the
  // test process (it did, without the wait). 256 MiB take the thread long past the resize.
  const ab = new ArrayBuffer(256 * MiB, { maxByteLength: 512 * MiB });
  const records = new Int32Array(ab);
  expect(prefault([[records, records.byteLength]])).toBe(0);
  waitForPrefaults();
  expect(prefaultsRunning()).toBe(0);
  ab.resize(4096);
  expect(records.byteLength).toBe(4096);
  // Had a thread still been touching, it would reach the inaccessible memory while this waits.
  expect(await eventually(() => prefaultsRunning() === 0)).toBe(true);
  await Bun.sleep(200);
});
