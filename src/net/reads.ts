// The reads of one poll of the event loop, run together after it, so that in a large keyspace
// their keys are looked up together first (docs/ARCHITECTURE.md, step 3, "Read-ahead").

import { readAheadKeysMax, readBatchBytesMax, readBatchReadBytesMax } from "../constants.ts";
import type { Store } from "../engine/store.ts";
import { KeysAhead } from "../protocol/text.ts";
import type { Connection } from "./connection.ts";

/**
 * Without pipelining each read holds one request, and one request's lookup is a chain of cache
 * misses (slot, record, block) that nothing overlaps: at P=1 `Store.readAhead` inside a read has
 * nothing to do. But Bun hands over the reads of one poll one callback after another, 50 of them
 * for 50 busy clients. So while the keyspace is large (`Store.readAheadPays`), a small read is held
 * here until the poll's callbacks are done (setImmediate); then the first key of each held read is
 * looked up together (`Store.readAheadHashed`, 32 at a time), and the reads run in the order they
 * came, each as it would have run at once.
 *
 * Order: a read that is not held (too large, or the batch is full) first runs every held one, so
 * each connection's reads, and all reads, keep their order. A connection that closes runs the
 * held reads first (`flush`), so a request sent just before a close still runs. Memory: held reads
 * are at most readBatchBytesMax bytes, Bun's buffers that would otherwise have been let go a few
 * callbacks earlier.
 */
export class ReadBatch {
  #conns: Connection[] = [];
  #reads: Uint8Array[] = [];
  // The arrays a flush in progress runs from: a flush that starts while one runs (a connection
  // closed by a request of the batch) finds only what was held since, nothing.
  #runningConns: Connection[] = [];
  #runningReads: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  readonly #first = new KeysAhead(1);
  readonly #hashes = new Int32Array(readAheadKeysMax);
  readonly #store: Store;
  readonly #run: (conn: Connection, data: Uint8Array) => void;

  /** `run`: what the listener does with a read (Connection.onData, timed and guarded). */
  constructor(store: Store, run: (conn: Connection, data: Uint8Array) => void) {
    this.#store = store;
    this.#run = run;
  }

  /** A read arrived for `conn`: held for the batch, or run now, after every held one. */
  read(conn: Connection, data: Uint8Array): void {
    if (data.length <= readBatchReadBytesMax && this.#bytes + data.length <= readBatchBytesMax && this.#store.readAheadPays) {
      this.#conns.push(conn);
      this.#reads.push(data);
      this.#bytes += data.length;
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#afterPoll);
      }
      return;
    }
    this.flush();
    this.#run(conn, data);
  }

  readonly #afterPoll = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Runs every held read now: the poll is over, a read that cannot wait came, or a connection closes. */
  flush(): void {
    const conns = this.#conns;
    const reads = this.#reads;
    const n = reads.length;
    if (n === 0) return;
    this.#conns = this.#runningConns;
    this.#reads = this.#runningReads;
    this.#runningConns = conns;
    this.#runningReads = reads;
    this.#bytes = 0;
    if (n > 1) this.#lookUpFirstKeys(conns, reads);
    for (let i = 0; i < n; i++) this.#run(conns[i]!, reads[i]!);
    conns.length = 0;
    reads.length = 0;
  }

  #lookUpFirstKeys(conns: Connection[], reads: Uint8Array[]): void {
    const store = this.#store;
    const first = this.#first;
    const hashes = this.#hashes;
    let k = 0;
    for (let i = 0; i < reads.length; i++) {
      const data = reads[i]!;
      if (!conns[i]!.firstKey(data, first)) continue;
      hashes[k++] = store.hash(data, first.starts[0]!, first.ends[0]!);
      if (k === readAheadKeysMax) {
        store.readAheadHashed(hashes, k);
        k = 0;
      }
    }
    if (k > 1) store.readAheadHashed(hashes, k);
  }
}
