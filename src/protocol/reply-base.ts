// What both reply encoders share: the one reply buffer they write into, rolling it back, and
// counting every error reply in errors_total (and by kind, for INFO errorstats).

import type { Stats } from "../commands/context.ts";
import type { Writer } from "./writer.ts";

export abstract class ReplyBase {
  protected readonly out: Writer;
  readonly #stats: Stats;

  constructor(out: Writer, stats: Stats) {
    this.out = out;
    this.#stats = stats;
  }

  /** Bytes written so far into the reply buffer. */
  get len(): number {
    return this.out.len;
  }

  /** Drops everything written after `len`. */
  truncate(len: number): void {
    this.out.len = len;
  }

  /** A pre-encoded error reply; counted, in total and by kind (INFO errorstats). */
  error(bytes: Uint8Array): void {
    this.#stats.errorReplied(bytes);
    this.out.bytes(bytes);
  }
}
