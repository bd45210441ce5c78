// Bounds on client memory summed over every connection: unparsed input (client_input_bytes_max)
// and unsent replies (client_output_bytes_max). Each connection has its own limits (one unfinished
// request: connectionInputBytesMax, ~73 MiB; unsent replies: outputHardBytes), but without a sum
// 65 slow MSETs took the server to 4.2 GiB, and as many clients that never read could hold 512 MiB
// of replies each. A budget counts what each holder holds and changes only when that memory is
// allocated, grown or given back — never per request: a read parsed where it lies and replies the
// socket takes at once never reach it.

import { assert } from "../assert.ts";
import { budgetWarnIntervalMs } from "../constants.ts";
import { log } from "../log.ts";

/** A connection as a budget sees it. */
export interface BudgetHolder {
  /** Bytes of input buffer held now (its capacity, 0 without a buffer). */
  readonly inputBytes: number;
  /** Bytes of replies not yet taken by the socket (queued or held for the WAL). */
  readonly outputBytes: number;
  /** Disconnects the client at once; must give back everything it holds (`shrink` to 0) before returning. */
  evict(): void;
}

/** What a budget bounds: which of a holder's figures, and how its log line names it. */
interface Kind {
  readonly held: (h: BudgetHolder) => number;
  /** e.g. "unparsed input": "it held the most unparsed input … when all clients' unparsed input reached …". */
  readonly what: string;
  readonly configKey: string;
}

export class Budget {
  /** Sum of every holder's bytes (STATS client_input_bytes / client_output_bytes). */
  bytes = 0;
  /** Clients disconnected to keep the sum within the limit (STATS *_limit_disconnects_total). */
  disconnectsTotal = 0;
  /** Connections holding bytes; scanned only when the limit is hit, to find the largest. */
  readonly #holders = new Set<BudgetHolder>();
  #lastWarnMs = -Infinity;
  #unreported = 0;

  constructor(
    readonly limitBytes: number,
    readonly kind: Kind,
  ) {}

  /**
   * `who` goes from `from` to `to` bytes (to > from). While that would pass the limit, the holder
   * with the most (`who` counted at `to`) is disconnected — another client, which gives back its
   * bytes at once, or `who` itself: then false, and `who` must disconnect without growing. The
   * config keeps each limit at least one connection's own, so a client alone can always finish a
   * legal request or take a reply the per-connection limit allows. Disconnecting rather than
   * pausing: a paused client's unfinished request still holds its memory, and if every holder
   * were paused none could finish and free it.
   */
  grow(who: BudgetHolder, from: number, to: number): boolean {
    for (;;) {
      if (this.bytes - from + to <= this.limitBytes) {
        this.bytes += to - from;
        if (from === 0) this.#holders.add(who);
        return true;
      }
      let victim = who;
      let most = to;
      for (const h of this.#holders) {
        const held = this.kind.held(h);
        if (h !== who && held > most) {
          victim = h;
          most = held;
        }
      }
      this.disconnectsTotal++;
      this.#warn(most);
      if (victim === who) return false;
      victim.evict();
      assert(!this.#holders.has(victim), `a client disconnected for ${this.kind.configKey} must give back its bytes`);
    }
  }

  /** `who` goes down from `from` to `to` bytes (0: it holds nothing now). */
  shrink(who: BudgetHolder, from: number, to: number): void {
    this.bytes -= from - to;
    if (to === 0) this.#holders.delete(who);
  }

  /** Logs at most once per budgetWarnIntervalMs, counting the disconnects it did not log. */
  #warn(bytes: number): void {
    const now = performance.now();
    if (now - this.#lastWarnMs < budgetWarnIntervalMs) {
      this.#unreported++;
      return;
    }
    const more = this.#unreported > 0 ? ` (${this.#unreported} more since the last such line)` : "";
    this.#lastWarnMs = now;
    this.#unreported = 0;
    const what = this.kind.what;
    log.warn(`client disconnected: it held the most ${what} (${bytes} bytes) when all clients' ${what} reached ${this.kind.configKey} = ${this.limitBytes}${more}`);
  }
}

/** client_input_bytes_max: input buffer capacity. */
export function inputBudget(limitBytes: number): Budget {
  return new Budget(limitBytes, { held: (h) => h.inputBytes, what: "unparsed input", configKey: "client_input_bytes_max" });
}

/** client_output_bytes_max: replies the sockets have not taken. */
export function outputBudget(limitBytes: number): Budget {
  return new Budget(limitBytes, { held: (h) => h.outputBytes, what: "unsent replies", configKey: "client_output_bytes_max" });
}
