// Large entry buffers (engine/large.ts): a buffer let go of is handed out again for the same size,
// never while a log still references it, and the spares stay within their bounds.

import { describe, expect, test } from "bun:test";
import { largeSpareBytesMax } from "../../src/constants.ts";
import { isLargeBuffer, pinLargeBuffer, retireLargeBuffer, spareLargeBytes, takeLargeBuffer, unpinLargeBuffer } from "../../src/engine/large.ts";

describe("large entry buffers", () => {
  test("a retired buffer is handed out again for its exact size only", () => {
    const a = takeLargeBuffer(100_001);
    expect(isLargeBuffer(a)).toBe(true);
    expect(isLargeBuffer(Buffer.alloc(100_001))).toBe(false);
    retireLargeBuffer(a);
    expect(takeLargeBuffer(100_002)).not.toBe(a);
    expect(takeLargeBuffer(100_001)).toBe(a);
    expect(takeLargeBuffer(100_001)).not.toBe(a); // handed out once
  });

  test("a buffer retired while pinned is not handed out until it is unpinned", () => {
    const a = takeLargeBuffer(100_003);
    pinLargeBuffer(a);
    retireLargeBuffer(a);
    const b = takeLargeBuffer(100_003);
    expect(b).not.toBe(a);
    unpinLargeBuffer(a);
    expect(takeLargeBuffer(100_003)).toBe(a);
    // Unpinning a buffer its entry still holds does not make it a spare.
    pinLargeBuffer(b);
    unpinLargeBuffer(b);
    expect(takeLargeBuffer(100_003)).not.toBe(b);
  });

  test("spares stay within largeSpareBytesMax, the oldest given up first", () => {
    const size = 4 * 1024 * 1024;
    const bufs = Array.from({ length: largeSpareBytesMax / size + 4 }, () => takeLargeBuffer(size));
    for (const b of bufs) retireLargeBuffer(b);
    expect(spareLargeBytes()).toBeLessThanOrEqual(largeSpareBytesMax);
    const again = new Set(Array.from({ length: largeSpareBytesMax / size }, () => takeLargeBuffer(size)));
    expect(again.has(bufs[0]!)).toBe(false); // the oldest were given up
    expect(again.has(bufs.at(-1)!)).toBe(true);
  });
});
