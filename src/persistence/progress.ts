// Recovery's progress, so that a long start-up (or check, dump, repair) shows it is not stuck: a
// log line every recoveryProgressIntervalMs — the file, how far into it, the items read from it,
// the bytes read in all and the rate since the previous line — and, when stderr is a terminal,
// a status line redrawn in place every recoveryProgressTtyMs. The walkers call tick() every 65536
// items, so the clock is read that often, not per item.

import { recoveryProgressIntervalMs, recoveryProgressTtyMs } from "../constants.ts";
import { log } from "../log.ts";

export interface ProgressOptions {
  /** The clock, in ms (default performance.now). */
  nowMs?: () => number;
  /** Where the in-place status line goes; default stderr when it is a terminal, else none. */
  tty?: { write(text: string): unknown } | null;
}

/** ANSI: back to the line's start, erase it. */
const eraseLine = "\r\x1b[K";

export class Progress {
  readonly #nowMs: () => number;
  readonly #tty: { write(text: string): unknown } | null;
  readonly #startMs: number;
  #lastLogMs: number;
  #lastLogBytes = 0;
  #lastDrawMs: number;
  #drawn = false;
  #what = "";
  #size = 0;
  /** Bytes of the files finished before the current one. */
  #doneBytes = 0;

  constructor(options: ProgressOptions = {}) {
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#tty = options.tty !== undefined ? options.tty : process.stderr.isTTY ? process.stderr : null;
    this.#startMs = this.#lastLogMs = this.#lastDrawMs = this.#nowMs();
  }

  /** `what` ("loading snap-….osnap", "replaying wal-….oswal") is at `offset` of its `size` bytes, `items` read from it. */
  tick(what: string, offset: number, size: number, items: number): void {
    if (what !== this.#what) {
      this.#doneBytes += this.#size; // a file is read to its end before the next one starts
      this.#what = what;
      this.#size = size;
    }
    const t = this.#nowMs();
    const read = this.#doneBytes + offset;
    const pct = Math.round((100 * offset) / Math.max(1, size));
    const noun = what.startsWith("loading") ? "entries" : "records";
    if (t - this.#lastLogMs >= recoveryProgressIntervalMs) {
      const rate = megabytes(read - this.#lastLogBytes) / Math.max(0.001, (t - this.#lastLogMs) / 1000);
      this.#lastLogMs = t;
      this.#lastLogBytes = read;
      this.#erase();
      log.info(`recovery: ${what} ${pct}% (${items} ${noun} so far; ${megabytes(read).toFixed(1)} MB read, ${rate.toFixed(1)} MB/s)`);
    }
    if (this.#tty !== null && t - this.#lastDrawMs >= recoveryProgressTtyMs) {
      this.#lastDrawMs = t;
      const rate = megabytes(read) / Math.max(0.001, (t - this.#startMs) / 1000);
      this.#tty.write(`${eraseLine}recovery: ${what} ${pct}%, ${items} ${noun}, ${rate.toFixed(1)} MB/s`);
      this.#drawn = true;
    }
  }

  /** Recovery ended (or failed): the status line is erased, so the next log line starts clean. */
  done(): void {
    this.#erase();
  }

  #erase(): void {
    if (!this.#drawn) return;
    this.#tty!.write(eraseLine);
    this.#drawn = false;
  }
}

function megabytes(bytes: number): number {
  return bytes / 1e6;
}
