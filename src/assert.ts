// Invariants. A broken one is a bug in Osprey, never the client's input: it stops the server loudly
// (the cause and stack go to the log before the process exits) instead of being answered as
// `ERR INTERNAL` and carried on with a keyspace or log that can no longer be trusted.

/** Thrown by `assert`; the dispatcher lets it through (it is never turned into an error reply). */
export class InvariantError extends Error {
  override name = "InvariantError";
}

/**
 * Checks an invariant. `why` is a sentence naming what broke; build it only on failure (pass a
 * function) where formatting would cost on a hot path.
 */
export function assert(condition: boolean, why: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof why === "string" ? why : why());
}
