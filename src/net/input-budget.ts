// One bound on unparsed client input summed over every connection (client_input_bytes_max). Each
// connection has its own limit (connectionInputBytesMax, ~73 MiB) for one unfinished request, but
// without a sum 65 slow MSETs took the server to 4.2 GiB. What is counted is each connection's
// input buffer *capacity* — the memory it holds — which changes only when the buffer is allocated,
// grown or released, never per request: the hot path (a read parsed where it lies) never sees it.

import { assert } from "../assert.ts";
import { inputLimitWarnIntervalMs } from "../constants.ts";
import { log } from "../log.ts";

/** A connection as the budget sees it: the capacity it holds and how to drop it. */
export interface InputHolder {
  /** Bytes of input buffer held now (its capacity, 0 without a buffer). */
  readonly inputBytes: number;
  /** Disconnects the client at once; must release its buffer (InputBudget.release) before returning. */
  evictForInput(): void;
}

export class InputBudget {
  readonly limitBytes: number;
  /** Sum of every holder's inputBytes (STATS client_input_bytes). */
  bytes = 0;
  /** Clients disconnected to keep the sum within the limit (STATS input_limit_disconnects_total). */
  disconnectsTotal = 0;
  /** Connections holding a buffer; scanned only when the limit is hit, to find the largest. */
  readonly #holders = new Set<InputHolder>();
  #lastWarnMs = -Infinity;
  #unreported = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /**
   * `who` wants its buffer to go from `from` to `to` bytes. While that would pass the limit, the
   * holder with the most (`who` counted at `to`) is disconnected — another client, whose buffer is
   * freed at once, or `who` itself: then false, and `who` must disconnect without growing. Since
   * `to` never exceeds one connection's limit, which the config keeps within this one, a client
   * alone can always finish a legal request. Disconnecting rather than pausing reads: a paused
   * client's unfinished request still holds its memory, and if every holder were paused none
   * could finish and free it.
   */
  grow(who: InputHolder, from: number, to: number): boolean {
    for (;;) {
      if (this.bytes - from + to <= this.limitBytes) {
        this.bytes += to - from;
        this.#holders.add(who);
        return true;
      }
      let victim = who;
      let most = to;
      for (const h of this.#holders) {
        if (h !== who && h.inputBytes > most) {
          victim = h;
          most = h.inputBytes;
        }
      }
      this.disconnectsTotal++;
      this.#warn(most);
      if (victim === who) return false;
      victim.evictForInput();
      assert(!this.#holders.has(victim), "a client disconnected for client_input_bytes_max must release its input buffer");
    }
  }

  /** `who` gave back its buffer of `bytes`. */
  release(who: InputHolder, bytes: number): void {
    this.bytes -= bytes;
    this.#holders.delete(who);
  }

  /** Logs at most once per inputLimitWarnIntervalMs, counting the disconnects it did not log. */
  #warn(bytes: number): void {
    const now = performance.now();
    if (now - this.#lastWarnMs < inputLimitWarnIntervalMs) {
      this.#unreported++;
      return;
    }
    const more = this.#unreported > 0 ? ` (${this.#unreported} more since the last such line)` : "";
    this.#lastWarnMs = now;
    this.#unreported = 0;
    log.warn(`client disconnected: it held the most unparsed input (${bytes} bytes) when all clients' input reached client_input_bytes_max = ${this.limitBytes}${more}`);
  }
}
