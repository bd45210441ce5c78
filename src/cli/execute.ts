// The commands osprey-cli knows, as plain requests, and how each runs on the client. Both the
// subcommands (main.ts) and the interactive prompt (repl.ts) build these and print the Reply.

import type { Entry, OspreyClient, SetOptions } from "../client/index.ts";

/** One command with its arguments already parsed. Keys and values are bytes. */
export type Request =
  | { cmd: "ping" }
  | { cmd: "get"; key: Uint8Array }
  | { cmd: "set"; key: Uint8Array; value: Uint8Array; options: SetOptions }
  | { cmd: "del" | "exists" | "ttl"; key: Uint8Array }
  | { cmd: "expire"; key: Uint8Array; ms: number }
  | { cmd: "incr" | "decr"; key: Uint8Array; delta: bigint }
  | { cmd: "mget"; keys: Uint8Array[] }
  | { cmd: "mset"; pairs: [Uint8Array, Uint8Array][] }
  | { cmd: "stats" }
  | { cmd: "scan"; match: Uint8Array | undefined; count: number | undefined };

/** What a command answered, in a shape the printers understand. */
export type Reply =
  /** PONG, OK. */
  | { type: "status"; text: string }
  /** A number; `field` names it in JSON output. */
  | { type: "integer"; value: bigint | number; field: string }
  /** Yes/no answers (DEL, EXISTS); `field` names it in JSON output. */
  | { type: "boolean"; value: boolean; field: string }
  /** GET of a live key. */
  | { type: "entry"; key: Uint8Array; entry: Entry }
  /** MGET: one entry or null per key. */
  | { type: "entries"; keys: Uint8Array[]; entries: (Entry | null)[] }
  /** STATS. */
  | { type: "fields"; fields: Record<string, string> }
  /** The server said NOT_FOUND (GET or EXPIRE of a missing key). */
  | { type: "notFound" }
  /** SCAN: the keys found, each once. */
  | { type: "keys"; keys: Buffer[] };

/** Each command's usage and one line about it, for --help and the prompt's `help`. */
export const commandHelp: Record<Request["cmd"], { usage: string; summary: string }> = {
  ping: { usage: "ping", summary: "check the server answers (PONG)" },
  get: { usage: "get <key>", summary: "print a key's value (NOT_FOUND when missing)" },
  set: {
    usage: "set <key> <value> [ex <ms>] [pxat <epoch_ms>] [nx|xx] [ver <n>] [keepttl]",
    summary: "store a value; prints the key's new version",
  },
  del: { usage: "del <key>", summary: "delete a key; prints 1 if it existed, else 0" },
  exists: { usage: "exists <key>", summary: "prints 1 if the key is live, else 0" },
  expire: { usage: "expire <key> <ms>", summary: "expire a key ms from now (≤ 0: at once)" },
  ttl: { usage: "ttl <key>", summary: "remaining ms; -1 no expiry, -2 missing" },
  incr: { usage: "incr <key> [delta]", summary: "add delta (default 1) to a 64-bit counter; prints the result" },
  decr: { usage: "decr <key> [delta]", summary: "subtract delta (default 1); prints the result" },
  mget: { usage: "mget <key> [key …]", summary: "print several values, one line per key" },
  mset: { usage: "mset <key> <value> [key value …]", summary: "store several keys, all or nothing" },
  stats: { usage: "stats", summary: "server counters as name=value lines" },
  scan: { usage: "scan [pattern] [count <n>]", summary: "list every key (matching a glob: *, ?, [a-z], \\x), one per line" },
};

/** Runs one request on the client. Server errors reject with the client's ServerError classes. */
export async function execute(client: OspreyClient, req: Request): Promise<Reply> {
  switch (req.cmd) {
    case "ping":
      return { type: "status", text: await client.ping() };
    case "get": {
      const entry = await client.get(req.key);
      return entry === null ? { type: "notFound" } : { type: "entry", key: req.key, entry };
    }
    case "set":
      return { type: "integer", value: await client.set(req.key, req.value, req.options), field: "version" };
    case "del":
      return { type: "boolean", value: await client.del(req.key), field: "deleted" };
    case "exists":
      return { type: "boolean", value: await client.exists(req.key), field: "exists" };
    case "expire":
      return (await client.expire(req.key, req.ms)) ? { type: "status", text: "OK" } : { type: "notFound" };
    case "ttl":
      return { type: "integer", value: await client.ttl(req.key), field: "ttlMs" };
    case "incr":
      return { type: "integer", value: await client.incr(req.key, req.delta), field: "value" };
    case "decr":
      return { type: "integer", value: await client.decr(req.key, req.delta), field: "value" };
    case "mget":
      return { type: "entries", keys: req.keys, entries: await client.mget(...req.keys) };
    case "mset":
      return { type: "integer", value: await client.mset(req.pairs), field: "count" };
    case "stats":
      return { type: "fields", fields: await client.stats() };
    case "scan":
      return { type: "keys", keys: await scanAll(client, req.match, req.count) };
  }
}

/** Every key of a whole SCAN, each once (a scan may answer a key twice while the keyspace grows). */
async function scanAll(client: OspreyClient, match: Uint8Array | undefined, count: number | undefined): Promise<Buffer[]> {
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  for await (const key of client.scan({ match, count })) {
    const id = key.toString("latin1");
    if (seen.has(id)) continue;
    seen.add(id);
    keys.push(key);
  }
  return keys;
}

/** Thrown for a command line that cannot be run as written (wrong arguments, bad number). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An integer argument as a number, or a UsageError naming it. */
export function intArg(text: string, what: string): number {
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** An integer argument as a bigint (any size: the server checks the 64-bit range). */
export function bigintArg(text: string, what: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(text)}`);
  return BigInt(text);
}
