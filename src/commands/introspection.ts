// COMMAND [COUNT | LIST | INFO name… | DOCS [name…] | GETKEYS cmd… | HELP]: what redis-cli and
// client libraries ask about commands, answered from the command table's RESP rows in Redis 7's
// shapes (sets and maps in RESP3). And FUNCTION FLUSH / SCRIPT FLUSH: Osprey has no scripts, so
// there is nothing to flush (Redis's test harness sends FUNCTION FLUSH before every unit).

import { RespErr, respError } from "../errors.ts";
import { nameCodeOf } from "../protocol/text.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import { commands, Flag, keyCount, respRouteTable, type Command } from "./table.ts";
import { subcommandArity, unknownSubcommand } from "./server.ts";
import { globMatchText } from "../glob.ts";

/** The rows RESP speaks, in table order. */
function respCommands(): Command[] {
  return commands.filter((c) => c.resp !== null);
}

/** Redis's flag words for a row, in the order Redis lists them. */
function flagWords(c: Command): string[] {
  const words: string[] = [];
  const f = c.flags;
  if ((f & Flag.Write) !== 0) words.push("write");
  if ((f & Flag.Read) !== 0) words.push("readonly");
  if ((f & Flag.Grows) !== 0) words.push("denyoom");
  if ((f & Flag.Admin) !== 0) words.push("admin");
  if ((f & Flag.NoScript) !== 0) words.push("noscript");
  if ((f & Flag.Loading) !== 0) words.push("loading", "stale");
  if ((f & Flag.SkipSlowlog) !== 0) words.push("skip_slowlog");
  if ((f & Flag.Fast) !== 0) words.push("fast");
  if ((f & Flag.NoAuth) !== 0) words.push("no_auth");
  return words;
}

/** Redis's ACL category of each command group. */
const groupCategory: Readonly<Record<string, string>> = {
  generic: "keyspace",
  string: "string",
  connection: "connection",
  transactions: "transaction",
  scripting: "scripting",
  server: "",
};

/**
 * Redis's ACL categories for a row, in Redis's table order: the group's own, and those Redis
 * derives from the flags (write, read, admin + dangerous, fast or else slow).
 */
function categories(c: Command): string[] {
  const f = c.flags;
  const group = groupCategory[c.resp!.group] ?? "";
  const cats: string[] = [];
  if (group === "keyspace") cats.push("@keyspace");
  if ((f & Flag.Read) !== 0) cats.push("@read");
  if ((f & Flag.Write) !== 0) cats.push("@write");
  if (group === "string") cats.push("@string");
  if ((f & Flag.Admin) !== 0) cats.push("@admin");
  cats.push((f & Flag.Fast) !== 0 ? "@fast" : "@slow");
  if ((f & Flag.Admin) !== 0) cats.push("@dangerous");
  if (group === "connection") cats.push("@connection");
  if (group === "transaction") cats.push("@transaction");
  if (group === "scripting") cats.push("@scripting");
  return cats;
}

/** The key spec Redis 7 reports for a row's keys: where the first key is, then a range. */
function writeKeySpecs(s: Session, c: Command): void {
  const r = s.reply;
  const [first, last, step] = c.keys;
  if (first === 0) return r.setHeader(0);
  r.setHeader(1);
  r.mapHeader(3);
  r.bulkText("flags");
  const write = (c.flags & Flag.Write) !== 0;
  r.setHeader(2);
  r.status(write ? "RW" : "RO");
  r.status(write ? "update" : "access");
  r.bulkText("begin_search");
  r.mapHeader(2);
  r.bulkText("type");
  r.bulkText("index");
  r.bulkText("spec");
  r.mapHeader(1);
  r.bulkText("index");
  r.integer(first);
  r.bulkText("find_keys");
  r.mapHeader(2);
  r.bulkText("type");
  r.bulkText("range");
  r.bulkText("spec");
  r.mapHeader(3);
  r.bulkText("lastkey");
  r.integer(last < 0 ? last : last - first);
  r.bulkText("keystep");
  r.integer(step);
  r.bulkText("limit");
  r.integer(0);
}

function writeInfo(s: Session, c: Command): void {
  const r = s.reply;
  const words = flagWords(c);
  const cats = categories(c);
  r.arrayHeader(10);
  r.bulkText(c.name.toLowerCase());
  r.integer(c.resp!.arity);
  r.setHeader(words.length);
  for (const w of words) r.status(w);
  for (const k of c.keys) r.integer(k);
  r.setHeader(cats.length);
  for (const cat of cats) r.status(cat);
  r.setHeader(0); // tips
  writeKeySpecs(s, c);
  r.setHeader(0); // subcommands
}

/** One argument of a command, as COMMAND DOCS describes it (Redis's argument specs). */
export interface ArgDoc {
  readonly name: string;
  readonly type: string;
  readonly token?: string;
  readonly optional: boolean;
  readonly multiple: boolean;
  readonly args?: readonly ArgDoc[];
}

/** The type Redis gives an argument, guessed from its name as the table's usage lines spell it. */
function argType(name: string): string {
  if (name === "key") return "key";
  if (name.startsWith("unix-time")) return "unix-time";
  if (/^(seconds|milliseconds|count|increment|decrement|index|timeout|numkeys)$/.test(name)) return "integer";
  if (name === "pattern") return "pattern";
  return "string";
}

/**
 * Reads a usage line in Redis's notation — `key value [NX|XX] [EX seconds|PX milliseconds] [key …]`
 * — into argument docs: `[…]` is optional, `a|b` a oneof, an upper-case word a token (with the
 * lower-case word after it as its value), `…` or `...` after an argument makes it multiple, and
 * `name:` at the start of a group names it (`[condition: NX|XX]`).
 */
export function parseUsage(usage: string): ArgDoc[] {
  const tokens = usage.match(/\[|\]|\||\.\.\.|…|[^\s[\]|]+/g) ?? [];
  let at = 0;
  const seq = (closer: string | null): { alternatives: ArgDoc[][]; label: string | null } => {
    const alternatives: ArgDoc[][] = [[]];
    let label: string | null = null;
    while (at < tokens.length) {
      const t = tokens[at++]!;
      const cur = alternatives[alternatives.length - 1]!;
      if (t === closer) break;
      if (t.endsWith(":")) label = t.slice(0, -1);
      else if (t === "|") alternatives.push([]);
      else if (t === "[") cur.push(group(seq("]"), true));
      else if (t === "..." || t === "…") {
        const last = cur.pop();
        if (last !== undefined) cur.push({ ...last, multiple: true });
      } else if (/^[A-Z][A-Z0-9-]*$/.test(t)) {
        const next = tokens[at];
        if (next !== undefined && /^[a-z]/.test(next)) {
          at++;
          cur.push({ name: next, type: argType(next), token: t, optional: false, multiple: false });
        } else {
          cur.push({ name: t.toLowerCase(), type: "pure-token", token: t, optional: false, multiple: false });
        }
      } else cur.push({ name: t, type: argType(t), optional: false, multiple: false });
    }
    return { alternatives, label };
  };
  const group = ({ alternatives, label }: { alternatives: ArgDoc[][]; label: string | null }, optional: boolean): ArgDoc => {
    if (alternatives.length === 1 && alternatives[0]!.length === 1) return { ...alternatives[0]![0]!, optional };
    const name = (args: readonly ArgDoc[]) => label ?? args.map((a) => a.name).join("-");
    if (alternatives.length === 1) return { name: name(alternatives[0]!), type: "block", optional, multiple: false, args: alternatives[0]! };
    const args = alternatives.map((alt) => (alt.length === 1 ? alt[0]! : group({ alternatives: [alt], label: null }, false)));
    return { name: name(args), type: "oneof", optional, multiple: false, args };
  };
  const top = seq(null);
  return top.alternatives.length === 1 ? top.alternatives[0]! : [group(top, false)];
}

/** Argument docs by command name, parsed once from the rows' usage lines. */
const usageDocs = new Map<string, ArgDoc[]>();

function argDocs(c: Command): ArgDoc[] | null {
  const usage = c.resp?.args;
  if (usage === undefined) return null;
  let docs = usageDocs.get(c.name);
  if (docs === undefined) {
    docs = parseUsage(usage);
    usageDocs.set(c.name, docs);
  }
  return docs;
}

/** One argument's doc map. Every key argument is of the row's one key spec, index 0. */
function writeArg(s: Session, a: ArgDoc): void {
  const r = s.reply;
  const flags: string[] = [];
  if (a.optional) flags.push("optional");
  if (a.multiple) flags.push("multiple");
  const n = 2 + (a.type === "key" ? 1 : 0) + (a.token !== undefined ? 1 : 0) + (flags.length > 0 ? 1 : 0) + (a.args !== undefined ? 1 : 0);
  r.mapHeader(n);
  r.bulkText("name");
  r.bulkText(a.name);
  r.bulkText("type");
  r.bulkText(a.type);
  if (a.type === "key") {
    r.bulkText("key_spec_index");
    r.integer(0);
  }
  if (a.token !== undefined) {
    r.bulkText("token");
    r.bulkText(a.token);
  }
  if (flags.length > 0) {
    r.bulkText("flags");
    r.arrayHeader(flags.length);
    for (const f of flags) r.status(f);
  }
  if (a.args !== undefined) {
    r.bulkText("arguments");
    r.arrayHeader(a.args.length);
    for (const sub of a.args) writeArg(s, sub);
  }
}

function writeDocs(s: Session, c: Command): void {
  const r = s.reply;
  const resp = c.resp!;
  const args = argDocs(c);
  r.bulkText(c.name.toLowerCase());
  r.mapHeader(args === null ? 3 : 4);
  for (const [k, v] of [["summary", resp.summary], ["since", resp.since], ["group", resp.group]] as const) {
    r.bulkText(k);
    r.bulkText(v);
  }
  if (args === null) return;
  r.bulkText("arguments");
  r.arrayHeader(args.length);
  for (const a of args) writeArg(s, a);
}

const commandHelp = [
  "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "GETKEYS <full-command>",
  "    Return the keys from a full Redis command.",
  "HELP",
  "    Prints this help.",
];

/** Redis's arity of each COMMAND subcommand. */
const commandArity: Readonly<Record<string, number>> = { COUNT: 2, LIST: -2, INFO: -2, DOCS: -2, GETKEYS: -4, HELP: 2 };

export function commandCommand(s: Session, _ctx: Context): void {
  const p = s.p;
  const r = s.reply;
  const all = respCommands();
  if (p.argc === 1) {
    r.arrayHeader(all.length);
    for (const c of all) writeInfo(s, c);
    return;
  }
  const sub = s.word(1);
  const arity = commandArity[sub];
  if (arity === undefined) return unknownSubcommand(s);
  if (arity > 0 ? p.argc !== arity : p.argc < -arity) return subcommandArity(s);
  const named = (from: number): (Command | undefined)[] => {
    const list: (Command | undefined)[] = [];
    for (let t = from; t < p.argc; t++) list.push(respRouteTable.get(nameCodeOf(s.text(t)))?.command);
    return list;
  };
  switch (sub) {
    case "COUNT":
      return r.integer(all.length);
    case "LIST": {
      const list = p.argc === 2 ? all : filtered(s, all);
      if (list === null) return r.error(RespErr.syntax);
      r.arrayHeader(list.length);
      for (const c of list) r.bulkText(c.name.toLowerCase());
      return;
    }
    case "INFO": {
      const list = p.argc === 2 ? all : named(2);
      r.arrayHeader(list.length);
      for (const c of list) {
        if (c === undefined) r.nil();
        else writeInfo(s, c);
      }
      return;
    }
    case "DOCS": {
      const list = (p.argc === 2 ? all : named(2)).filter((c) => c !== undefined);
      r.mapHeader(list.length);
      for (const c of list) writeDocs(s, c);
      return;
    }
    case "GETKEYS":
      return getKeys(s);
    default:
      r.arrayHeader(commandHelp.length);
      for (const line of commandHelp) r.status(line);
  }
}

/**
 * COMMAND LIST FILTERBY MODULE name | ACLCAT category | PATTERN glob: the rows that match (none
 * for a module: Osprey has none); null for anything else, a syntax error as in Redis.
 */
function filtered(s: Session, all: Command[]): Command[] | null {
  if (s.p.argc !== 5 || s.word(2) !== "FILTERBY") return null;
  const by = s.word(3);
  const value = s.text(4);
  if (by === "MODULE") return [];
  if (by === "ACLCAT") return all.filter((c) => categories(c).includes(`@${value.toLowerCase()}`));
  if (by === "PATTERN") return all.filter((c) => globMatchText(value, c.name.toLowerCase(), true));
  return null;
}

/** COMMAND GETKEYS name arg…: the keys that request would name, by its row's key positions. */
function getKeys(s: Session): void {
  const p = s.p;
  const route = respRouteTable.get(nameCodeOf(s.text(2)));
  if (route === undefined) return s.reply.error(GetKeysErr.invalidCommand);
  if (route.keyFirst === 0) return s.reply.error(GetKeysErr.noKeys);
  const argc = p.argc - 2;
  if (argc < route.argsMin || argc > route.argsMax || (route.paired && (argc & 1) === 0)) return s.reply.error(GetKeysErr.arity);
  const n = keyCount(route.command, argc);
  s.reply.arrayHeader(n);
  const end = route.keyLast < 0 ? argc + route.keyLast : route.keyLast;
  for (let t = route.keyFirst; t <= end; t += route.keyStep) s.reply.bulk(s.b, p.starts[t + 2]!, p.ends[t + 2]!);
}

const GetKeysErr = {
  invalidCommand: respError("Invalid command specified"),
  noKeys: respError("The command has no key arguments"),
  arity: respError("Invalid number of arguments specified for command"),
} as const;

/**
 * FUNCTION FLUSH [ASYNC|SYNC] and SCRIPT FLUSH [ASYNC|SYNC] → OK: Osprey has no functions or
 * scripts, so flushing them changes nothing. Their other subcommands are unknown.
 */
export function scriptsFlush(s: Session): void {
  const p = s.p;
  const container = s.word(0);
  if (s.word(1) !== "FLUSH") return unknownSubcommand(s);
  if (p.argc > 3) return s.reply.error(respError(`unknown subcommand or wrong number of arguments for '${s.text(1)}'. Try ${container} HELP.`));
  if (p.argc === 3) {
    const mode = s.word(2);
    if (mode !== "ASYNC" && mode !== "SYNC") {
      return s.reply.error(respError(container === "FUNCTION" ? "FUNCTION FLUSH only supports SYNC|ASYNC option" : "SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
  }
  s.reply.ok();
}
