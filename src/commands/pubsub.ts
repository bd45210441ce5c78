// Pub/Sub commands (RESP only): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
// PUBSUB CHANNELS / NUMSUB / NUMPAT, over the registry of src/pubsub.ts. Confirmations are push
// frames (`>3` in RESP3, arrays in RESP2), one per channel, as Redis sends them.

import { respError } from "../errors.ts";
import { globMatch } from "../glob.ts";
import { nameKey, pubsubOf, type PubsubRegistry } from "../pubsub.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import type { Context } from "./context.ts";
import { ReplyMode, type Session } from "./session.ts";
import { subcommandArity, unknownSubcommand } from "./server.ts";

type Change = (r: PubsubRegistry, s: Session, name: string) => boolean;

/** One confirmation: [kind, name (nil when none), subscriptions left]. */
function confirm(s: Session, kind: string, name: string | null): void {
  const r = s.reply;
  // Sent even under CLIENT REPLY OFF or SKIP, as Redis sends them.
  if (s.replyMode !== 0) s.replyMode |= ReplyMode.Pushing;
  r.pushHeader(3);
  r.bulkText(kind);
  if (name === null) r.nil();
  else r.bulkText(name);
  r.integer(s.pubsub?.count ?? 0);
}

function subscribeEach(s: Session, ctx: Context, kind: string, change: Change): void {
  const registry = pubsubOf(ctx);
  const p = s.p;
  for (let t = 1; t < p.argc; t++) {
    const name = nameKey(s.b, p.starts[t]!, p.ends[t]!);
    change(registry, s, name);
    confirm(s, kind, name);
  }
}

/** Without arguments: every channel (or pattern) the session has; one nil confirmation when none. */
function unsubscribeEach(s: Session, ctx: Context, kind: string, change: Change, mine: (s: Session) => Iterable<string>): void {
  if (s.p.argc > 1) return subscribeEach(s, ctx, kind, change);
  const registry = pubsubOf(ctx);
  const names = [...mine(s)];
  if (names.length === 0) return confirm(s, kind, null);
  for (const name of names) {
    change(registry, s, name);
    confirm(s, kind, name);
  }
}

export function subscribe(s: Session, ctx: Context): void {
  subscribeEach(s, ctx, "subscribe", (r, ss, n) => r.subscribe(ss, n));
}

export function psubscribe(s: Session, ctx: Context): void {
  subscribeEach(s, ctx, "psubscribe", (r, ss, n) => r.psubscribe(ss, n));
}

export function unsubscribe(s: Session, ctx: Context): void {
  unsubscribeEach(s, ctx, "unsubscribe", (r, ss, n) => r.unsubscribe(ss, n), (ss) => ss.pubsub?.channels ?? []);
}

export function punsubscribe(s: Session, ctx: Context): void {
  unsubscribeEach(s, ctx, "punsubscribe", (r, ss, n) => r.punsubscribe(ss, n), (ss) => ss.pubsub?.patterns ?? []);
}

/** PUBLISH channel message → how many subscriptions received it. */
export function publish(s: Session, ctx: Context): void {
  const p = s.p;
  const message = s.b.subarray(p.starts[2]!, p.ends[2]!);
  s.reply.integer(pubsubOf(ctx).publish(s.b, p.starts[1]!, p.ends[1]!, message));
}

const CHANNELS = nameCodeOf("CHANNELS");
const NUMSUB = nameCodeOf("NUMSUB");
const NUMPAT = nameCodeOf("NUMPAT");
const HELP = nameCodeOf("HELP");

const help = [
  "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "HELP",
  "    Print this help.",
];

/** PUBSUB CHANNELS [pattern] | NUMSUB [channel …] | NUMPAT | HELP. */
export function pubsub(s: Session, ctx: Context): void {
  const p = s.p;
  const r = s.reply;
  const registry = pubsubOf(ctx);
  const code = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (code === CHANNELS) {
    if (p.argc > 3) return s.reply.error(respError(`unknown subcommand or wrong number of arguments for '${s.text(1)}'. Try PUBSUB HELP.`));
    const names = [...registry.channels()];
    const pattern = p.argc === 3 ? s.b.subarray(p.starts[2]!, p.ends[2]!) : null;
    const matched = pattern === null ? names : names.filter((n) => {
      const bytes = Buffer.from(n, "latin1");
      return globMatch(pattern, 0, pattern.length, bytes, 0, bytes.length);
    });
    r.arrayHeader(matched.length);
    for (const n of matched) r.bulkText(n);
  } else if (code === NUMSUB) {
    r.arrayHeader(2 * (p.argc - 2));
    for (let t = 2; t < p.argc; t++) {
      r.bulk(s.b, p.starts[t]!, p.ends[t]!);
      r.integer(registry.subscriberCount(nameKey(s.b, p.starts[t]!, p.ends[t]!)));
    }
  } else if (code === NUMPAT) {
    if (p.argc > 2) return subcommandArity(s);
    r.integer(registry.patternCount);
  } else if (code === HELP && p.argc === 2) {
    r.arrayHeader(help.length);
    for (const line of help) r.status(line);
  } else {
    unknownSubcommand(s);
  }
}

/**
 * Redis's refusal of a command in RESP2 subscribed mode, per command name (built once each).
 * Reached only when `Session.subscribed` is set.
 */
const refusals = new Map<string, Uint8Array>();
export function subscribedRefusal(name: string): Uint8Array {
  let bytes = refusals.get(name);
  if (bytes === undefined) {
    bytes = respError(`Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
    refusals.set(name, bytes);
  }
  return bytes;
}
