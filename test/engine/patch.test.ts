// Store.patch, the path of APPEND, SETRANGE and SETBIT: in place when the new value fits the
// entry's block, moved otherwise (slab to slab, slab to large, large to large), always logged as a
// SET of the whole new value first — and a log that refuses leaves the old value whole.

import { describe, expect, test } from "bun:test";
import { slabLargeBytesMin } from "../../src/constants.ts";
import { appendValue, setBit, setRange, tooLong } from "../../src/engine/ops.ts";
import { noExpiry, nullLog, Store, type MutationLog } from "../../src/engine/store.ts";
import { rng } from "../support/rng.ts";

const b = (s: string) => Buffer.from(s, "latin1");

/** A request buffer holding the key then the value, as commands pass them: [buffer, key end, value end]. */
function req(key: Buffer, value: Buffer): [Buffer, number, number] {
  return [Buffer.concat([key, value]), key.length, key.length + value.length];
}

/** A log that records each SET's value (as text) and can be told to refuse the next write. */
class RecordingLog implements MutationLog {
  sets: { value: string; expiryMs: number; version: number }[] = [];
  refuse = false;
  set(_k: Uint8Array, _ks: number, _ke: number, v: Uint8Array, vs: number, ve: number, expiryMs: number, version: number): void {
    if (this.refuse) throw new Error("disk full");
    this.sets.push({ value: Buffer.from(v.subarray(vs, ve)).toString("latin1"), expiryMs, version });
  }
  del(): void {}
  expire(): void {}
  batchBegin(): void {}
  batchEnd(): void {}
  groupBegin(): void {}
  groupEnd(): void {}
  clear(): void {}
}

function setup(value: string, expiryMs = noExpiry) {
  const log = new RecordingLog();
  const store = new Store({ log });
  const k = b("key");
  const v = b(value);
  store.set(k, 0, k.length, v, 0, v.length, expiryMs, 1, -1);
  const id = store.find(k, 0, k.length);
  const read = () => {
    const vs = store.valueOffset(id);
    return store.buffer(id).subarray(vs, vs + store.valueLength(id)).toString("latin1");
  };
  return { log, store, id, read };
}

describe("Store.patch", () => {
  test("a patch that fits the block is written in place, logged whole, with the new version and the old expiry", () => {
    const { log, store, id, read } = setup("hello world", 5000);
    const before = store.buffer(id);
    const at = store.valueOffset(id);
    store.patch(id, 6, b("WORLD"), 0, 5, 2);
    expect(read()).toBe("hello WORLD");
    expect(store.buffer(id)).toBe(before);
    expect(store.valueOffset(id)).toBe(at);
    expect(store.version(id)).toBe(2);
    expect(store.expiry(id)).toBe(5000);
    expect(log.sets.at(-1)).toEqual({ value: "hello WORLD", expiryMs: 5000, version: 2 });
  });

  test("bytes between the old end and the offset become zeros, in place and when moved", () => {
    const small = setup("ab");
    small.store.patch(small.id, 4, b("z"), 0, 1, 2);
    expect(small.read()).toBe("ab\0\0z");
    const moved = setup("ab");
    moved.store.patch(moved.id, 300, b("z"), 0, 1, 2);
    expect(moved.read()).toBe(`ab${"\0".repeat(298)}z`);
    expect(moved.log.sets.at(-1)!.value).toBe(moved.read());
  });

  test("a patch past the block moves the value, from the slab to the slab and on to a buffer of its own", () => {
    const { log, store, id, read } = setup("x".repeat(100));
    const slabBytes = store.dataBytes;
    store.patch(id, 100, b("y".repeat(1000)), 0, 1000, 2);
    expect(read()).toBe("x".repeat(100) + "y".repeat(1000));
    expect(store.dataBytes).toBeGreaterThan(slabBytes);
    const big = "z".repeat(slabLargeBytesMin);
    store.patch(id, 1100, b(big), 0, big.length, 3);
    expect(read()).toBe("x".repeat(100) + "y".repeat(1000) + big);
    expect(store.dataBytes).toBe(3 + 1100 + big.length);
    store.patch(id, 0, b("A"), 0, 1, 4); // same length: in place even in a buffer of its own
    store.patch(id, read().length, b("B"), 0, 1, 5); // a large value grows by moving
    expect(read()).toBe(`A${"x".repeat(99)}${"y".repeat(1000)}${big}B`);
    expect(store.dataBytes).toBe(3 + 1100 + big.length + 1);
    expect(log.sets.map((s) => s.version)).toEqual([1, 2, 3, 4, 5]);
    expect(log.sets.at(-1)!.value).toBe(read());
  });

  test("a log that refuses an in-place patch leaves the old bytes, length and version", () => {
    const { log, store, id, read } = setup("hello world");
    log.refuse = true;
    expect(() => store.patch(id, 6, b("WORLD!"), 0, 6, 2)).toThrow("disk full");
    expect(read()).toBe("hello world");
    expect(store.version(id)).toBe(1);
  });

  test("a log that refuses a moving patch leaves the old value where it was and no memory taken", () => {
    const { log, store, id, read } = setup("hello");
    const bytes = store.dataBytes;
    log.refuse = true;
    expect(() => store.patch(id, 5, b("!".repeat(500)), 0, 500, 2)).toThrow("disk full");
    expect(() => store.patch(id, 5, b("!".repeat(slabLargeBytesMin)), 0, slabLargeBytesMin, 2)).toThrow("disk full");
    expect(read()).toBe("hello");
    expect(store.dataBytes).toBe(bytes);
    log.refuse = false;
    store.patch(id, 5, b("!"), 0, 1, 2);
    expect(read()).toBe("hello!");
  });

  test("random patches give the value a plain byte-array model gives", () => {
    const next = rng(7);
    const store = new Store({ log: nullLog });
    const k = b("k");
    let model = Buffer.alloc(0);
    for (let i = 0; i < 2000; i++) {
      const id = store.lookup(k, 0, k.length, 0);
      const op = Math.floor(next() * 3);
      const text = b("abcdefgh".slice(0, Math.floor(next() * 8)).repeat(1 + Math.floor(next() * 40)));
      const [r, ke, ve] = req(k, text);
      if (op === 0) {
        expect(appendValue(store, r, 0, ke, ke, ve, 1 << 20, 0)).toBe(model.length + text.length);
        model = Buffer.concat([model, text]);
      } else if (op === 1) {
        const at = Math.floor(next() * (model.length + 50));
        const n = setRange(store, r, 0, ke, at, ke, ve, 1 << 20, 0);
        if (text.length > 0) {
          const grown = Buffer.alloc(Math.max(model.length, at + text.length));
          model.copy(grown);
          text.copy(grown, at);
          model = grown;
        }
        expect(n).toBe(id < 0 && text.length === 0 ? 0 : model.length);
      } else {
        const bit = Math.floor(next() * (model.length * 8 + 64));
        const on = next() < 0.5 ? 1 : 0;
        const old = bit >> 3 < model.length ? (model[bit >> 3]! >> (7 - (bit & 7))) & 1 : 0;
        expect<number>(setBit(store, k, 0, 1, bit, on, 0)).toBe(old);
        if (bit >> 3 >= model.length) model = Buffer.concat([model, Buffer.alloc((bit >> 3) + 1 - model.length)]);
        model[bit >> 3] = on ? model[bit >> 3]! | (0x80 >> (bit & 7)) : model[bit >> 3]! & ~(0x80 >> (bit & 7));
      }
      if (model.length > 200_000) {
        store.delete(store.lookup(k, 0, k.length, 0));
        model = Buffer.alloc(0);
      }
      const now = store.lookup(k, 0, k.length, 0);
      if (now >= 0) expect(Buffer.from(store.buffer(now).subarray(store.valueOffset(now), store.valueOffset(now) + store.valueLength(now))).equals(model)).toBe(true);
    }
  });

  test("APPEND and SETRANGE refuse a result past the limit and write nothing; one at the limit is written", () => {
    const { log, store, read } = setup("abc");
    const [r, ke, ve] = req(b("key"), b("de"));
    expect(appendValue(store, r, 0, ke, ke, ve, 4, 0)).toBe(tooLong);
    expect(setRange(store, r, 0, ke, 3, ke, ve, 4, 0)).toBe(tooLong);
    expect(setRange(store, r, 0, ke, 2, ke, ve, 4, 0)).toBe(4);
    expect(read()).toBe("abde");
    expect(log.sets.length).toBe(2);
  });
});
