// Keyspace notifications (Redis's notify-keyspace-events): the flag letters, and the hook through
// which engine operations and the store's expiry path raise events. The hook is null while
// notifications are off, so a write pays one null check for them (see Store.events).

/** Redis's NOTIFY_* bits, by letter. */
export const enum Notify {
  Keyspace = 1 << 0, // K
  Keyevent = 1 << 1, // E
  Generic = 1 << 2, // g
  String = 1 << 3, // $
  List = 1 << 4, // l
  Set = 1 << 5, // s
  Hash = 1 << 6, // h
  Zset = 1 << 7, // z
  Expired = 1 << 8, // x
  Evicted = 1 << 9, // e
  Stream = 1 << 10, // t
  KeyMiss = 1 << 11, // m
  Module = 1 << 13, // d
  New = 1 << 14, // n
}

/** `A`: every class except key-miss and new (Redis's NOTIFY_ALL, "g$lshzxetd"). */
const all = Notify.Generic | Notify.String | Notify.List | Notify.Set | Notify.Hash | Notify.Zset | Notify.Expired | Notify.Evicted | Notify.Stream | Notify.Module;

const letters: readonly [string, number][] = [
  ["g", Notify.Generic],
  ["$", Notify.String],
  ["l", Notify.List],
  ["s", Notify.Set],
  ["h", Notify.Hash],
  ["z", Notify.Zset],
  ["x", Notify.Expired],
  ["e", Notify.Evicted],
  ["t", Notify.Stream],
  ["d", Notify.Module],
  ["n", Notify.New],
];

/** The flag bits of a notify-keyspace-events string; null for a letter Redis does not know. */
export function notifyFlagsOf(text: string): number | null {
  let flags = 0;
  for (const ch of text) {
    if (ch === "A") flags |= all;
    else if (ch === "K") flags |= Notify.Keyspace;
    else if (ch === "E") flags |= Notify.Keyevent;
    else if (ch === "m") flags |= Notify.KeyMiss;
    else {
      const bit = letters.find(([l]) => l === ch);
      if (bit === undefined) return null;
      flags |= bit[1];
    }
  }
  return flags;
}

/** The flags as CONFIG GET shows them, in Redis's order (`A` for every class, then K, E, m). */
export function notifyFlagsText(flags: number): string {
  let text = "";
  if ((flags & all) === all) text = "A"; // Redis 7.0 shows no `n` after `A`, though it keeps it
  else for (const [l, bit] of letters) if ((flags & bit) !== 0) text += l;
  if ((flags & Notify.Keyspace) !== 0) text += "K";
  if ((flags & Notify.Keyevent) !== 0) text += "E";
  if ((flags & Notify.KeyMiss) !== 0) text += "m";
  return text;
}

/** What raises an event: set on the Store while notifications are on (pubsub.ts publishes them). */
export interface KeyEvents {
  /** The key b[ks..ke) had `event` (Redis's event name) of class `type` (a Notify bit). */
  emit(type: number, event: Uint8Array, b: Uint8Array, ks: number, ke: number): void;
}

/** Redis's event names, encoded once. */
export const Event = {
  set: Buffer.from("set"),
  del: Buffer.from("del"),
  expire: Buffer.from("expire"),
  expired: Buffer.from("expired"),
  evicted: Buffer.from("evicted"),
  persist: Buffer.from("persist"),
  incrby: Buffer.from("incrby"),
  incrbyfloat: Buffer.from("incrbyfloat"),
  append: Buffer.from("append"),
  setrange: Buffer.from("setrange"),
  setbit: Buffer.from("setbit"),
  renameFrom: Buffer.from("rename_from"),
  renameTo: Buffer.from("rename_to"),
  copyTo: Buffer.from("copy_to"),
  new: Buffer.from("new"),
} as const;
