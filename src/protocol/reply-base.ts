// What both reply encoders share: the one reply buffer they write into, rolling it back, and
// counting every error reply in errors_total (and by kind, for INFO errorstats).

import type { Stats } from "../commands/context.ts";
import type { Session } from "../commands/session.ts";
import type { Writer } from "./writer.ts";

export abstract class ReplyBase {
  protected readonly out: Writer;
  readonly #stats: Stats;
  /** The session whose replies this encodes (set by its constructor). */
  session!: Session;

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

  /** b[s..e) as it is: the rest of a value whose head was written (a large value answered in slices). */
  raw(b: Uint8Array, s: number, e: number): void {
    this.out.range(b, s, e);
  }

  /** A pre-encoded error reply; counted, in total and by kind (INFO errorstats). */
  error(bytes: Uint8Array): void {
    this.#stats.errorReplied(bytes);
    this.out.bytes(bytes);
  }
}
