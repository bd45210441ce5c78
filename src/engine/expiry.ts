// Active expiry: a min-heap of (expiry ms, entry id) and a sweeper bounded in keys and time per tick.
// Heap items may be stale (key deleted, re-set or its id reused); popping re-checks the store.

/** A binary min-heap of (expiryMs, id) pairs in typed arrays, so a million TTLs cost 12 MB and no objects. */
export class ExpiryHeap {
  #at = new Float64Array(1024);
  #id = new Int32Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The earliest expiry in the heap, or Infinity when empty. */
  peekAt(): number {
    return this.#size > 0 ? this.#at[0]! : Infinity;
  }

  /** The id paired with the earliest expiry; only valid when size > 0. */
  peekId(): number {
    return this.#id[0]!;
  }

  push(atMs: number, id: number): void {
    if (this.#size === this.#at.length) this.#grow();
    const at = this.#at;
    const ids = this.#id;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[parent]! <= atMs) break;
      at[i] = at[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    at[i] = atMs;
    ids[i] = id;
  }

  /** Bytes of the heap's arrays at their capacity (what max_memory_bytes counts). */
  get bytes(): number {
    return this.#at.byteLength + this.#id.byteLength;
  }

  /** A random item's index (`r` in [0, 1)), or -1 when empty: volatile-* policies sample keys with an expiry here. */
  randomIndex(r: number): number {
    return this.#size === 0 ? -1 : Math.floor(r * this.#size);
  }

  /** The id of the item at index `i` (< size). */
  idAt(i: number): number {
    return this.#id[i]!;
  }

  /** The expiry of the item at index `i` (< size). */
  atAt(i: number): number {
    return this.#at[i]!;
  }

  /** Removes the earliest item. */
  pop(): void {
    if (this.#size === 0) return;
    const n = --this.#size;
    if (n === 0) return;
    const at = this.#at;
    const ids = this.#id;
    const lastAt = at[n]!;
    const lastId = ids[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && at[child + 1]! < at[child]!) child++;
      if (at[child]! >= lastAt) break;
      at[i] = at[child]!;
      ids[i] = ids[child]!;
      i = child;
    }
    at[i] = lastAt;
    ids[i] = lastId;
  }

  /** Empties the heap, keeping its capacity. */
  clear(): void {
    this.#size = 0;
  }

  #grow(): void {
    const at = new Float64Array(this.#at.length * 2);
    at.set(this.#at);
    const id = new Int32Array(this.#id.length * 2);
    id.set(this.#id);
    this.#at = at;
    this.#id = id;
  }
}
