// The hash table on its own, over a small array of keys: probing, backward-shift deletion across
// colliding and wrapping chains, incremental doubling with tombstones in the old table, the one
// insert path, and the invariants it asserts.

import { describe, expect, test } from "bun:test";
import { InvariantError } from "../../src/assert.ts";
import { loadFactorMax, tableSlotsMin } from "../../src/constants.ts";
import { HashTable } from "../../src/engine/hashtable.ts";
import { recordWords } from "../../src/engine/records.ts";
import { rng } from "../support/rng.ts";

const enc = new TextEncoder();

/** A table over keys held by id, as the store holds them; `hashOf` can force collisions. */
class Keys {
  /** Records as the store's (engine/records.ts): only the hash word is used here. */
  readonly records = new Int32Array((1 << 17) * recordWords);
  readonly keys: (Uint8Array | undefined)[] = [];
  readonly table: HashTable;
  #next = 0;

  constructor(options: { capacity?: number; hashOf?: (key: string) => number } = {}) {
    this.table = new HashTable({
      records: this.records,
      keyEquals: (id, kb, ks, len) => {
        const k = this.keys[id]!;
        if (k.length !== len) return false;
        for (let i = 0; i < len; i++) if (k[i] !== kb[ks + i]) return false;
        return true;
      },
      capacity: options.capacity,
    });
    const hashOf = options.hashOf;
    this.hashOf = hashOf === undefined ? (key) => this.table.hash(enc.encode(key), 0, key.length) : hashOf;
  }

  readonly hashOf: (key: string) => number;

  /** The id holding `key`, or -1. */
  find(key: string): number {
    const kb = enc.encode(key);
    const found = this.table.findOrSlot(this.hashOf(key), kb, 0, kb.length);
    return found < 0 ? -1 : found;
  }

  /** Adds a key known to be absent through findOrSlot + insertAt, as the store does. */
  add(key: string): number {
    const kb = enc.encode(key);
    const h = this.hashOf(key);
    const found = this.table.findOrSlot(h, kb, 0, kb.length);
    expect(found).toBeLessThan(0);
    const id = this.#next++;
    this.keys[id] = kb;
    this.records[id * recordWords] = h;
    this.table.insertAt(-1 - found, id);
    return id;
  }

  remove(id: number): void {
    this.table.remove(id);
    this.keys[id] = undefined;
  }
}

describe("lookups and inserts", () => {
  test("an inserted key is found by its bytes, a missing key is not, and find agrees with findOrSlot", () => {
    const t = new Keys();
    const a = t.add("alpha");
    const b = t.add("beta");
    expect(t.find("alpha")).toBe(a);
    expect(t.find("beta")).toBe(b);
    expect(t.find("gamma")).toBe(-1);
    expect(t.find("alph")).toBe(-1);
    expect(t.table.find(enc.encode("xbetax"), 1, 5)).toBe(b);
    expect(t.table.find(enc.encode("gamma"), 0, 5)).toBe(-1);
    expect(t.table.count).toBe(2);
  });

  test("findOrSlot names the free slot at the end of the key's probe chain, and insertAt fills exactly it", () => {
    const t = new Keys({ hashOf: () => 5 });
    t.add("a");
    t.add("b"); // home 5 is taken: b goes to 6
    const kb = enc.encode("c");
    expect(t.table.findOrSlot(5, kb, 0, 1)).toBe(-1 - 7);
    t.add("c");
    expect(t.table.findOrSlot(5, enc.encode("d"), 0, 1)).toBe(-1 - 8);
  });

  test("keys sharing one home slot all stay findable", () => {
    const t = new Keys({ hashOf: () => 42 });
    const ids = Array.from({ length: 200 }, (_, i) => t.add(`k${i}`));
    for (let i = 0; i < 200; i++) expect(t.find(`k${i}`)).toBe(ids[i]!);
    expect(t.find("k200")).toBe(-1);
  });

  test("two tables hash the same key with different seeds, each one always the same way", () => {
    const key = enc.encode("same key");
    const one = new Keys().table;
    const hashes = new Set<number>();
    for (let i = 0; i < 8; i++) hashes.add(new Keys().table.hash(key, 0, key.length));
    expect(one.hash(key, 0, key.length)).toBe(one.hash(key, 0, key.length));
    expect(hashes.size).toBeGreaterThan(1);
  });
});

describe("backward-shift deletion", () => {
  test("deleting from the middle of a collision chain keeps every other key of it findable", () => {
    for (let victim = 0; victim < 20; victim++) {
      const t = new Keys({ hashOf: (k) => (k.startsWith("x") ? 100 : 101) });
      const ids = new Map<string, number>();
      for (let i = 0; i < 10; i++) {
        ids.set(`x${i}`, t.add(`x${i}`));
        ids.set(`y${i}`, t.add(`y${i}`)); // interleaved with a chain one slot over
      }
      const gone = [...ids.keys()][victim]!;
      t.remove(ids.get(gone)!);
      for (const [key, id] of ids) expect(t.find(key)).toBe(key === gone ? -1 : id);
      expect(t.table.count).toBe(19);
    }
  });

  test("a chain that wraps past the last slot survives deleting each of its keys in turn", () => {
    const last = tableSlotsMin - 1;
    const t = new Keys({ hashOf: (k) => (k.startsWith("w") ? last - 1 : 0) });
    const ids = [t.add("w0"), t.add("z0"), t.add("w1"), t.add("w2"), t.add("z1")];
    const keys = ["w0", "z0", "w1", "w2", "z1"];
    for (let i = 0; i < keys.length; i++) {
      t.remove(ids[i]!);
      for (let j = 0; j < keys.length; j++) expect(t.find(keys[j]!)).toBe(j <= i ? -1 : ids[j]!);
    }
    expect(t.table.count).toBe(0);
  });
});

describe("incremental doubling", () => {
  test("passing the load factor starts doubling, and keys stay findable, insertable and deletable until maintain finishes it", () => {
    const t = new Keys();
    const threshold = Math.floor(tableSlotsMin * loadFactorMax);
    const ids: number[] = [];
    for (let i = 0; i < threshold; i++) ids.push(t.add(`k${i}`));
    expect(t.table.resizing).toBe(false);
    ids.push(t.add(`k${threshold}`));
    expect(t.table.resizing).toBe(true);
    expect(t.table.slotsCount).toBe(2 * tableSlotsMin);
    // Deletes while both tables are in use: most keys are still in the old table (tombstones there).
    for (let i = 0; i < ids.length; i += 3) t.remove(ids[i]!);
    ids.push(t.add("late"));
    expect(t.table.resizing).toBe(true);
    t.table.maintain(Infinity);
    expect(t.table.resizing).toBe(false);
    for (let i = 0; i <= threshold; i++) expect(t.find(`k${i}`)).toBe(i % 3 === 0 ? -1 : ids[i]!);
    expect(t.find("late")).toBe(ids.at(-1)!);
    expect(t.table.count).toBe(ids.length - Math.ceil((threshold + 1) / 3));
  });

  test("inserts alone drain the old table before the new one reaches its load factor", () => {
    const t = new Keys();
    let doublings = 0;
    let slots = t.table.slotsCount;
    for (let i = 0; i < 50_000; i++) {
      t.add(`k${i}`);
      if (t.table.slotsCount !== slots) {
        doublings++;
        slots = t.table.slotsCount;
      }
      expect(t.table.count).toBeLessThanOrEqual(slots * loadFactorMax + 1);
    }
    expect(doublings).toBeGreaterThanOrEqual(6);
    for (let i = 0; i < 50_000; i += 97) expect(t.find(`k${i}`)).toBeGreaterThanOrEqual(0);
  });

  test("a key deleted from the old table and inserted again is found once, at its new id", () => {
    const t = new Keys();
    const threshold = Math.floor(tableSlotsMin * loadFactorMax);
    const ids: number[] = [];
    for (let i = 0; i <= threshold; i++) ids.push(t.add(`k${i}`));
    expect(t.table.resizing).toBe(true);
    const last = `k${threshold}`;
    t.remove(ids[threshold]!); // still in the old table: a tombstone
    const again = t.add(last);
    expect(t.find(last)).toBe(again);
    t.table.maintain(Infinity);
    expect(t.find(last)).toBe(again);
    t.remove(again);
    expect(t.find(last)).toBe(-1);
  });

  test("reserve sizes an empty table so that filling it to the reserved count never doubles", () => {
    const t = new Keys();
    t.table.reserve(20_000);
    const slots = t.table.slotsCount;
    expect(slots).toBeGreaterThanOrEqual(20_000 / loadFactorMax);
    for (let i = 0; i < 20_000; i++) t.add(`k${i}`);
    expect(t.table.slotsCount).toBe(slots);
    expect(t.table.resizing).toBe(false);
    t.table.reserve(1_000_000); // not empty any more: ignored
    expect(t.table.slotsCount).toBe(slots);
  });

  test("clear empties the table, back to its smallest size, and it works as new", () => {
    const t = new Keys();
    for (let i = 0; i < 5000; i++) t.add(`k${i}`);
    t.table.clear();
    expect(t.table.count).toBe(0);
    expect(t.table.slotsCount).toBe(tableSlotsMin);
    expect(t.table.resizing).toBe(false);
    expect(t.find("k1")).toBe(-1);
    const id = t.add("fresh");
    expect(t.find("fresh")).toBe(id);
  });
});

describe("invariants", () => {
  test("removing an id that is in no table fails an invariant, resizing or not", () => {
    const t = new Keys();
    t.add("present");
    const stray = 100_000; // an id no key was ever inserted under
    t.records[stray * recordWords] = t.hashOf("absent");
    expect(() => t.table.remove(stray)).toThrow(InvariantError);
    for (let i = 0; i < tableSlotsMin * loadFactorMax; i++) t.add(`k${i}`);
    expect(t.table.resizing).toBe(true);
    expect(() => t.table.remove(stray)).toThrow(InvariantError);
  });

  test("insertAt into a slot that is taken, or with an id out of range, fails an invariant", () => {
    const t = new Keys({ hashOf: () => 9 });
    t.add("a");
    t.records[1 * recordWords] = 9;
    expect(() => t.table.insertAt(9, 1)).toThrow(InvariantError);
    expect(() => t.table.insertAt(10, -1)).toThrow(InvariantError);
    expect(t.table.count).toBe(1);
  });
});

for (const seed of [11, 12]) {
  test(`random inserts, deletes and maintain steps over few distinct hashes agree with a Map (seed ${seed})`, () => {
    const r = rng(seed);
    // 300 distinct hashes for up to 6000 keys: long chains that keep crossing each other and the doubling.
    const t = new Keys({ hashOf: (k) => (Number(k.slice(1)) * 2654435761) % 300 });
    const model = new Map<string, number>();
    for (let step = 0; step < 25_000; step++) {
      const key = `k${Math.floor(r() * 6000 * Math.min(1, (step + 500) / 12_000))}`;
      const id = t.find(key);
      expect(id).toBe(model.get(key) ?? -1);
      if (id >= 0 && r() < 0.4) {
        t.remove(id);
        model.delete(key);
      } else if (id < 0) {
        model.set(key, t.add(key));
      }
      if (step % 1000 === 0) t.table.maintain(performance.now() + 0.02);
    }
    expect(t.table.count).toBe(model.size);
    for (const [key, id] of model) expect(t.find(key)).toBe(id);
  });
}

describe("scan", () => {
  // Few distinct hashes make long probe runs that wrap and hold several homes each, and deletions
  // shift ids backwards across them: the cases where a slot cursor would miss keys.
  for (const seed of [11, 12, 13]) {
    test(`every id present for the whole scan is visited, over colliding runs, deletions and doublings (seed ${seed})`, () => {
      const r = rng(seed);
      const t = new Keys({ hashOf: (k) => Math.imul(Number(k.slice(1)), 2654435761) % 4000 });
      const stable = new Map<string, number>();
      for (let i = 0; i < 500; i++) stable.set(`k${i}`, t.add(`k${i}`));
      const churn = new Map<string, number>();
      let next = 500;
      const seen = new Set<number>();
      let cursor = 0;
      let midRehash = 0;
      do {
        if (t.table.resizing) midRehash++;
        cursor = t.table.scan(cursor, (id) => seen.add(id));
        for (let i = 0; i < 3 && next < 20_000; i++) churn.set(`k${next}`, t.add(`k${next++}`));
        // Three ids in, about half an id out per step: the table keeps doubling, slowly enough
        // that many steps land while an old table is still being moved.
        if (r() < 0.5 && churn.size > 0) {
          const key = `k${500 + Math.floor(r() * (next - 500))}`;
          const id = churn.get(key);
          if (id !== undefined) {
            t.remove(id);
            churn.delete(key);
          }
        }
      } while (cursor !== 0);
      for (const [key, id] of stable) expect(seen.has(id), key).toBe(true);
      expect(midRehash).toBeGreaterThan(100);
    });
  }

  test("a scan of an empty table ends at once, and randomId of an empty table is -1", () => {
    const t = new Keys();
    let visited = 0;
    let steps = 0;
    let cursor = 0;
    do {
      cursor = t.table.scan(cursor, () => visited++);
      steps++;
    } while (cursor !== 0);
    expect([visited, steps]).toEqual([0, t.table.slotsCount]);
    expect(t.table.randomId(0.5)).toBe(-1);
  });

  test("randomId finds ids in either table while it doubles", () => {
    const t = new Keys();
    const ids = new Set<number>();
    for (let i = 0; i < 630; i++) ids.add(t.add(`r${i}`)); // doubling began at 615 and moves 16 old slots per insert
    expect(t.table.resizing).toBe(true);
    for (let i = 0; i < 100; i++) expect(ids.has(t.table.randomId(i / 100))).toBe(true);
  });

  test("randomId picks every id about as often, also the ids right after long empty runs", () => {
    // 300 keys, most of them then deleted from the top of the id range: what is left sits in
    // scattered runs with wide gaps between, where "the first held slot after a random one" would
    // pick an id behind a gap many times as often as one inside a run.
    const t = new Keys();
    for (let i = 0; i < 300; i++) t.add(`u${i}`);
    for (let id = 100; id < 300; id++) t.remove(id);
    expect(t.table.resizing).toBe(false);
    const picks = new Int32Array(100);
    const draws = 200_000;
    const random = rng(7);
    for (let i = 0; i < draws; i++) picks[t.table.randomId(random())]!++;
    const expected = draws / 100; // 2000 each, a standard deviation of ~45
    expect(Math.min(...picks)).toBeGreaterThan(expected * 0.8);
    expect(Math.max(...picks)).toBeLessThan(expected * 1.2);
  });

  test("idAt over slotSpan gives every id held exactly once, also while the table doubles", () => {
    const t = new Keys();
    const ids = new Set<number>();
    const walk = () => {
      const seen: number[] = [];
      for (let i = 0; i < t.table.slotSpan; i++) {
        const id = t.table.idAt(i);
        if (id >= 0) seen.push(id);
        else expect(id).toBe(-1);
      }
      return seen;
    };
    expect(walk()).toEqual([]);
    for (let i = 0; i < 600; i++) ids.add(t.add(`w${i}`));
    for (let id = 0; id < 600; id += 3) {
      t.remove(id);
      ids.delete(id);
    }
    expect(t.table.resizing).toBe(false);
    expect(t.table.slotSpan).toBe(t.table.slotsCount);
    expect(walk().sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    // Into a doubling: old slots not yet moved count, moved ones and tombstones do not.
    for (let i = 600; i < 1000 && !t.table.resizing; i++) ids.add(t.add(`w${i}`));
    expect(t.table.resizing).toBe(true);
    for (const id of [1, 2, 4, 5]) {
      t.remove(id);
      ids.delete(id);
    }
    expect(t.table.slotSpan).toBeGreaterThan(t.table.slotsCount);
    expect(walk().sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect(() => t.table.idAt(t.table.slotSpan)).toThrow(InvariantError);
  });
});
