// Connection commands of RESP: QUIT, RESET, SELECT, HELLO, CLIENT and TIME — what redis-cli,
// redis-benchmark and client libraries send about the connection itself, with Redis 7's replies.

import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { RespErr, respError } from "../errors.ts";
import { parseI64 } from "../numbers.ts";
import { clientsOf, type ClientEntry } from "../net/clients.ts";
import type { Context } from "./context.ts";
import { Fail } from "./reply.ts";
import { ReplyMode, type Session } from "./session.ts";
import { redisVersion, subcommandArity, unknownSubcommand } from "./server.ts";
import { Flag, respRouteTable, type Routes } from "./table.ts";
import { PauseMode } from "../net/pause.ts";
import { AclFileError, AclRuleError, aclList, authBegin, authFinish, AuthStep, authOf, deleteUsers, loadAclFile, mayAdmin, permNames, resetAuth, saveAclFile, setUser, userNameRefusal } from "../auth.ts";
import { log } from "../log.ts";
import { noPermCommand } from "../errors.ts";
import { usersMax } from "../constants.ts";

export function quit(s: Session): void {
  s.closing = true;
  s.reply.ok();
}

const RESET_REPLY = "RESET";

/** RESET → +RESET: back to RESP2, no name, out of MULTI, nothing watched (Redis 6.2's resetCommand). */
export function reset(s: Session, ctx: Context): void {
  s.reset();
  resetAuth(s, ctx);
  s.reply.status(RESET_REPLY);
}

/** SELECT 0 → OK: Osprey has one keyspace, database 0 (CONFIG GET databases says 1). */
export function select(s: Session): void {
  const index = parseI64(s.b, s.p.starts[1]!, s.p.ends[1]!);
  if (index === null) return s.reply.fail(Fail.NotAnIntegerArg);
  if (typeof index === "bigint" || index > 2 ** 31 - 1 || index < -(2 ** 31)) return s.reply.error(RespErr.selectRange);
  if (index !== 0) return s.reply.error(RespErr.dbIndex);
  s.reply.ok();
}

/** Whether b[from..to) holds only '!'..'~', as Redis requires of client names and library info. */
function printable(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i]! < 33 || b[i]! > 126) return false;
  return true;
}

/** Sets a client name as Redis does: empty clears it; bytes outside '!'..'~' are refused. */
function setName(s: Session, t: number): boolean {
  const from = s.p.starts[t]!;
  const to = s.p.ends[t]!;
  if (!printable(s.b, from, to)) {
    s.reply.error(RespErr.clientName);
    return false;
  }
  s.name = to === from ? null : Buffer.from(s.b.subarray(from, to));
  return true;
}

/** Redis's arity of each CLIENT subcommand (n exactly, -n at least n), including CLIENT itself. */
const clientArity: Readonly<Record<string, number>> = {
  ID: 2,
  GETNAME: 2,
  SETNAME: 3,
  SETINFO: 4,
  INFO: 2,
  LIST: -2,
  KILL: -3,
  "NO-EVICT": 3,
  "NO-TOUCH": 3,
  PAUSE: -3,
  UNPAUSE: 2,
  REPLY: 3,
  HELP: 2,
};

const clientHelp = [
  "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "SETINFO <option> <value>",
  "    Set client meta attr. Options are:",
  "    * LIB-NAME: the client lib name.",
  "    * LIB-VER: the client lib version.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
  "NO-TOUCH (ON|OFF)",
  "    Will not touch LRU/LFU stats when this mode is on.",
  "PAUSE <timeout> [WRITE|ALL]",
  "    Suspend all, or just write, clients for <timeout> milliseconds.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "UNPAUSE",
  "    Stop the current client pause, resuming traffic.",
  "HELP",
  "    Prints this help.",
];

/**
 * CLIENT ID | GETNAME | SETNAME name | SETINFO LIB-NAME|LIB-VER value | INFO | LIST [TYPE t | ID id…]
 * | KILL … | NO-EVICT on|off | NO-TOUCH on|off | HELP, with Redis 7's replies (SETINFO and
 * NO-TOUCH as Redis 7.2 has them: client libraries send SETINFO on connect).
 */
export function client(s: Session, ctx: Context): void {
  const p = s.p;
  const sub = s.word(1);
  const arity = clientArity[sub];
  if (arity === undefined) return unknownSubcommand(s);
  if (arity > 0 ? p.argc !== arity : p.argc < -arity) return subcommandArity(s);
  const r = s.reply;
  switch (sub) {
    case "ID":
      return r.integer(s.id);
    case "GETNAME":
      return s.name === null ? r.nil() : r.bulk(s.name, 0, s.name.length);
    case "SETNAME":
      if (setName(s, 2)) r.ok();
      return;
    case "SETINFO":
      return setInfo(s);
    case "INFO": {
      const self = clientsOf(ctx).of(s);
      return r.verbatimText(self === undefined ? "" : `${clientLine(self, s, s.nowMs)}\n`);
    }
    case "LIST":
      if (!mayAdmin(s)) return r.error(noPermCommand(false, "client|list"));
      return clientList(s, ctx);
    case "KILL":
      if (!mayAdmin(s)) return r.error(noPermCommand(false, "client|kill"));
      return clientKill(s, ctx);
    case "PAUSE":
      return clientPause(s, ctx);
    case "UNPAUSE":
      ctx.pause.end();
      return r.ok();
    case "REPLY":
      return clientReply(s);
    case "NO-EVICT":
    case "NO-TOUCH": {
      const on = s.word(2);
      if (on !== "ON" && on !== "OFF") return r.error(RespErr.syntax);
      if (sub === "NO-EVICT") s.noEvict = on === "ON";
      else s.noTouch = on === "ON";
      return r.ok();
    }
    default:
      r.arrayHeader(clientHelp.length);
      for (const line of clientHelp) r.status(line);
  }
}

/**
 * CLIENT PAUSE timeout-ms [WRITE|ALL] → OK: until the timeout passes (or CLIENT UNPAUSE), every
 * connection holds its next request that the mode covers (`pauseHolds`), this one included, as
 * Redis does. Redis's checks in its order: the mode word, then the timeout.
 */
function clientPause(s: Session, ctx: Context): void {
  const p = s.p;
  // Redis's arity for it is "at least 3"; its handler answers a longer one with this.
  if (p.argc > 4) return s.reply.error(respError(`unknown subcommand or wrong number of arguments for '${s.text(1).slice(0, 128)}'. Try CLIENT HELP.`));
  let mode = PauseMode.All;
  if (p.argc === 4) {
    const word = s.word(3);
    if (word === "WRITE") mode = PauseMode.Write;
    else if (word !== "ALL") return s.reply.error(RespErr.pauseMode);
  }
  const timeout = parseI64(s.b, p.starts[2]!, p.ends[2]!);
  if (timeout === null) return s.reply.error(RespErr.timeoutNotInteger);
  if (timeout < 0) return s.reply.error(RespErr.timeoutNegative);
  // Redis: a timeout of 0 is an end already past. A 64-bit one past 2^53 ms is as good as never.
  const endMs = timeout === 0 ? 0 : ctx.clock.nowMs() + Number(timeout);
  ctx.pause.start(mode, endMs);
  s.reply.ok();
}

/**
 * Whether a pause in `mode` holds the request parsed in `s`: ALL holds every request, WRITE the
 * writes and an EXEC with writes queued. A request the dispatcher refuses at once (an unknown
 * command, a wrong arity) is not held: Redis answers those before its pause check.
 */
export function pauseHolds(s: Session, routes: Routes, mode: PauseMode): boolean {
  const p = s.p;
  const route = routes.get(p.code);
  if (route === undefined || p.argc < route.argsMin || p.argc > route.argsMax) return false;
  if (mode === PauseMode.All) return true;
  if ((route.flags & Flag.Write) !== 0) return true;
  return route.command.name === "EXEC" && s.multi && s.tx !== null && s.tx.writes;
}

/**
 * CLIENT REPLY ON|OFF|SKIP, as Redis's flags: OFF sends no reply (its own neither) until ON, which
 * answers OK; SKIP drops the next request's reply (and has none itself). The connection drops the
 * replies (Session.replyRan).
 */
function clientReply(s: Session): void {
  const word = s.word(2);
  if (word === "ON") {
    s.replyMode = 0;
    return s.reply.ok();
  }
  if (word === "OFF") s.replyMode |= ReplyMode.Off;
  else if (word === "SKIP") {
    if ((s.replyMode & ReplyMode.Off) === 0) s.replyMode |= ReplyMode.SkipNext;
  } else return s.reply.error(RespErr.syntax);
}

function setInfo(s: Session): void {
  const attr = s.text(2);
  const which = attr.toUpperCase();
  if (which !== "LIB-NAME" && which !== "LIB-VER") return s.reply.error(respError(`Unrecognized option '${attr.slice(0, 128)}'`));
  if (!printable(s.b, s.p.starts[3]!, s.p.ends[3]!)) return s.reply.error(respError(`${attr} cannot contain spaces, newlines or special characters.`));
  if (which === "LIB-NAME") s.libName = s.text(3);
  else s.libVer = s.text(3);
  s.reply.ok();
}

/** Redis's one-letter flags: x in MULTI, d when a watched key changed, e no-evict, T no-touch, else N. */
function clientFlags(c: Session): string {
  let f = "";
  if (c.multi) f += "x";
  if (c.tx?.dirty === true) f += "d";
  if (c.closing) f += "c";
  if (c.noEvict) f += "e";
  if (c.noTouch) f += "T";
  return f === "" ? "N" : f;
}

/**
 * The command a client ran last, as CLIENT LIST names it: its parser still holds the name's code.
 * The client asking names its own request with the subcommand, as Redis does (`client|list`).
 */
function lastCommand(c: Session, self: Session): string {
  if (c === self) return `${self.text(0).toLowerCase()}|${self.text(1).toLowerCase()}`;
  return respRouteTable.get(c.p.code)?.name ?? "NULL";
}

/**
 * One CLIENT LIST line with the fields of Redis 7 that Osprey has (it has no file descriptor per
 * client to show, nor Redis's per-client memory accounting), then lib-name and lib-ver as in 7.2.
 */
function clientLine(e: ClientEntry, self: Session, nowMs: number): string {
  const c = e.conn.session!;
  const lastMs = c.nowMs > 0 ? c.nowMs : e.createdMs;
  const multi = c.multi ? (c.tx?.commands ?? 0) : -1;
  const name = c.name === null ? "" : c.name.toString("latin1");
  return (
    `id=${c.id} addr=${e.addr} laddr=${e.laddr} name=${name} age=${Math.max(0, Math.floor((nowMs - e.createdMs) / 1000))} ` +
    `idle=${Math.max(0, Math.floor((nowMs - lastMs) / 1000))} flags=${clientFlags(c)} db=0 sub=0 psub=0 ssub=0 multi=${multi} ` +
    `qbuf=${e.conn.inputBytes} cmd=${lastCommand(c, self)} user=${c.userName} redir=-1 resp=${c.reply.version === 0 ? 2 : c.reply.version} ` +
    `lib-name=${c.libName} lib-ver=${c.libVer}`
  );
}

/** The RESP clients of the registry (a text-protocol connection is no Redis client). */
function* respClients(ctx: Context): Generator<ClientEntry> {
  for (const e of clientsOf(ctx)) if (e.conn.session !== null && e.conn.session.reply.version !== 0) yield e;
}

const clientTypes = new Set(["NORMAL", "MASTER", "REPLICA", "SLAVE", "PUBSUB"]);

/** CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id …]: every client is a normal one here. */
function clientList(s: Session, ctx: Context): void {
  const p = s.p;
  let ids: Set<number> | null = null;
  let none = false;
  if (p.argc === 4 && s.word(2) === "TYPE") {
    const type = s.word(3);
    if (!clientTypes.has(type)) return s.reply.error(respError(`Unknown client type '${s.text(3).slice(0, 128)}'`));
    none = type !== "NORMAL";
  } else if (p.argc >= 4 && s.word(2) === "ID") {
    ids = new Set();
    for (let t = 3; t < p.argc; t++) {
      const id = parseI64(s.b, p.starts[t]!, p.ends[t]!);
      if (id === null || typeof id === "bigint" || id <= 0) return s.reply.error(RespErr.invalidClientId);
      ids.add(id);
    }
  } else if (p.argc !== 2) {
    return s.reply.error(RespErr.syntax);
  }
  let text = "";
  if (!none) {
    for (const e of respClients(ctx)) {
      if (ids === null || ids.has(e.conn.session!.id)) text += `${clientLine(e, s, s.nowMs)}\n`;
    }
  }
  s.reply.verbatimText(text);
}

/** CLIENT KILL ip:port (the old form: OK or an error) or KILL with filters (the number killed). */
function clientKill(s: Session, ctx: Context): void {
  const p = s.p;
  let addr: string | null = null;
  let laddr: string | null = null;
  let id = 0;
  let user: string | null = null;
  let skipMe = true;
  let none = false;
  if (p.argc === 3) {
    addr = s.text(2);
    skipMe = false;
  } else {
    for (let t = 2; t < p.argc; t += 2) {
      const opt = s.word(t);
      if (t + 1 >= p.argc) return s.reply.error(RespErr.syntax);
      const value = s.text(t + 1);
      if (opt === "ID") {
        const n = parseI64(s.b, p.starts[t + 1]!, p.ends[t + 1]!);
        if (n === null || typeof n === "bigint" || n <= 0) return s.reply.error(RespErr.clientIdPositive);
        id = n;
      } else if (opt === "TYPE") {
        const type = value.toUpperCase();
        if (!clientTypes.has(type)) return s.reply.error(respError(`Unknown client type '${value.slice(0, 128)}'`));
        none ||= type !== "NORMAL";
      } else if (opt === "ADDR") addr = value;
      else if (opt === "LADDR") laddr = value;
      else if (opt === "USER") {
        if (!authOf(ctx).users.has(value)) return s.reply.error(respError(`No such user '${value.slice(0, 128)}'`));
        user = value;
      } else if (opt === "SKIPME") {
        const yes = value.toUpperCase();
        if (yes !== "YES" && yes !== "NO") return s.reply.error(RespErr.syntax);
        skipMe = yes === "YES";
      } else return s.reply.error(RespErr.syntax);
    }
  }
  const victims: ClientEntry[] = [];
  if (!none) {
    for (const e of respClients(ctx)) {
      const c = e.conn.session!;
      if (addr !== null && e.addr !== addr) continue;
      if (laddr !== null && e.laddr !== laddr) continue;
      if (id !== 0 && c.id !== id) continue;
      if (user !== null && c.userName !== user) continue;
      if (c === s && skipMe) continue;
      victims.push(e);
    }
  }
  for (const e of victims) {
    // This connection closes once this reply is sent, as Redis's CLOSE_AFTER_REPLY.
    if (e.conn.session === s) s.closing = true;
    else e.conn.shutdown();
  }
  if (p.argc > 3) return s.reply.integer(victims.length);
  if (victims.length === 0) return s.reply.error(RespErr.noSuchClient);
  s.reply.ok();
}

const AUTH = nameCodeOf("AUTH");
const SETNAME = nameCodeOf("SETNAME");

/**
 * HELLO [2|3 [AUTH user pass] [SETNAME name]] → the server's description, in the protocol asked
 * for (a map in RESP3). AUTH is AUTH's (a hash check suspends the request; its resumed run parses
 * the arguments again and goes on from the check's outcome).
 */
export function hello(s: Session, ctx: Context): void {
  const p = s.p;
  let t = 1;
  let version: 2 | 3 | 0 = 0;
  if (p.argc >= 2) {
    const v = parseI64(s.b, p.starts[1]!, p.ends[1]!);
    if (v === null) return s.reply.error(RespErr.helloVersion);
    if (v !== 2 && v !== 3) return s.reply.error(RespErr.noProto);
    version = v;
    t = 2;
  }
  let nameArg = -1;
  let user = -1;
  for (; t < p.argc; t++) {
    const code = nameCode(s.b, p.starts[t]!, p.ends[t]!);
    const more = p.argc - 1 - t;
    if (code === AUTH && more >= 2) {
      user = t + 1;
      t += 2;
    } else if (code === SETNAME && more >= 1) {
      nameArg = ++t;
    } else {
      return s.reply.error(respError(`Syntax error in HELLO option '${s.text(t)}'`));
    }
  }
  if (user >= 0) {
    if (s.resumeArg > 0) {
      if (!authFinish(s, ctx, s.text(user))) return s.reply.fail(Fail.WrongPass);
    } else {
      const step = authBegin(s, ctx, s.text(user), argBytes(s, user + 1));
      if (step === AuthStep.Pending) return;
      if (step === AuthStep.Refused) return s.reply.fail(Fail.WrongPass);
    }
  } else if (s.limits !== null && !s.limits.authenticated) return s.reply.error(RespErr.helloNoAuth);
  if (nameArg >= 0 && !setName(s, nameArg)) return;
  const reply = s.reply;
  if (version !== 0) reply.setVersion(version);
  reply.mapHeader(7);
  reply.bulkText("server");
  reply.bulkText("redis");
  reply.bulkText("version");
  reply.bulkText(redisVersion);
  reply.bulkText("proto");
  reply.integer(reply.version);
  reply.bulkText("id");
  reply.integer(s.id);
  reply.bulkText("mode");
  reply.bulkText("standalone");
  reply.bulkText("role");
  reply.bulkText("master");
  reply.bulkText("modules");
  reply.arrayHeader(0);
}

/** TIME → [unix seconds, microseconds], as two bulk strings. */
export function time(s: Session, ctx: Context): void {
  const ms = ctx.clock.nowMs();
  const seconds = Math.floor(ms / 1000);
  s.reply.arrayHeader(2);
  s.reply.bulkText(String(seconds));
  s.reply.bulkText(String(Math.floor((ms - seconds * 1000) * 1000)));
}

/** Argument t's bytes, a view into the input (a password is compared, never kept). */
function argBytes(s: Session, t: number): Uint8Array {
  return s.b.subarray(s.p.starts[t]!, s.p.ends[t]!);
}

/**
 * AUTH [user] password → OK, in both protocols: the connection becomes that user (`default`
 * when no name is given). Every failure is one answer (text `ERR NOAUTH invalid username or
 * password`, RESP `-WRONGPASS …`), so user names cannot be probed. A Bun.password hash is
 * checked off the event loop: the request is suspended and answered on its resumed run.
 */
export function auth(s: Session, ctx: Context): void {
  const p = s.p;
  if (p.argc > 3) return s.reply.fail(Fail.Syntax); // Redis's answer to AUTH with more than two arguments
  const name = p.argc === 3 ? s.text(1) : "default";
  if (s.resumeArg > 0) return authFinish(s, ctx, name) ? s.reply.ok() : s.reply.fail(Fail.WrongPass);
  // As Redis while the default user has no password: AUTH <password> is a configuration mistake.
  if (p.argc === 2 && authOf(ctx).users.get("default")!.nopass) return s.reply.fail(Fail.NoPassword);
  const step = authBegin(s, ctx, name, argBytes(s, p.argc - 1));
  if (step === AuthStep.Ok) s.reply.ok();
  else if (step === AuthStep.Refused) s.reply.fail(Fail.WrongPass);
}

/** Redis's arity of each ACL subcommand Osprey has (n exactly, -n at least n). */
const aclArity: Readonly<Record<string, number>> = { WHOAMI: 2, LIST: 2, USERS: 2, CAT: -2, SETUSER: -3, DELUSER: -3, SAVE: 2, LOAD: 2, HELP: 2 };
/** Subcommands anyone may run (Redis flags the others admin). */
const aclForAll = new Set(["WHOAMI", "CAT", "HELP"]);

const aclHelp = [
  "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CAT [<category>]",
  "    List all commands that belong to <category>, or all command categories",
  "    when no category is specified.",
  "DELUSER <username> [<username> ...]",
  "    Delete a list of users.",
  "LIST",
  "    Show users details in config file format.",
  "LOAD",
  "    Reload users from the ACL file.",
  "SAVE",
  "    Save the current config to the ACL file.",
  "SETUSER <username> <attribute> [<attribute> ...]",
  "    Create or modify a user with the specified attributes.",
  "USERS",
  "    List all the registered usernames.",
  "WHOAMI",
  "    Return the current connection username.",
  "HELP",
  "    Print this help.",
];

/**
 * ACL WHOAMI | CAT [category] | HELP (anyone) and LIST | USERS | SETUSER | DELUSER (admins), in
 * Redis's shapes. SETUSER takes the subset of Redis's rules that maps to Osprey's users
 * (docs/PROTOCOL.md 2.10); users made or changed at run time last until a restart.
 */
export function acl(s: Session, ctx: Context): void {
  const p = s.p;
  const sub = s.word(1);
  const arity = aclArity[sub];
  if (arity === undefined) return unknownSubcommand(s);
  if (sub === "CAT" && p.argc > 3) return s.reply.error(respError(`unknown subcommand or wrong number of arguments for '${s.text(1).slice(0, 128)}'. Try ACL HELP.`));
  if (arity > 0 ? p.argc !== arity : p.argc < -arity) return subcommandArity(s);
  const r = s.reply;
  if (!aclForAll.has(sub) && !mayAdmin(s)) return r.error(noPermCommand(false, `acl|${sub.toLowerCase()}`));
  switch (sub) {
    case "WHOAMI":
      return r.bulkText(s.userName);
    case "CAT":
      return aclCat(s);
    case "SETUSER":
      return aclSetUser(s, ctx);
    case "DELUSER": {
      const names: string[] = [];
      for (let t = 2; t < p.argc; t++) names.push(s.text(t));
      if (names.includes("default")) return r.error(respError("The 'default' user cannot be removed"));
      return r.integer(deleteUsers(s, ctx, names));
    }
    case "SAVE":
    case "LOAD":
      return aclFile(s, ctx, sub);
    case "HELP":
      r.arrayHeader(aclHelp.length);
      for (const line of aclHelp) r.status(line);
      return;
    default: {
      const lines = aclList(authOf(ctx));
      r.arrayHeader(lines.length);
      for (const line of lines) r.bulkText(sub === "LIST" ? line : line.split(" ")[1]!);
    }
  }
}

const noAclFile = respError(
  "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
);

/** ACL SAVE / ACL LOAD: the users into acl_file (atomically) or from it (all or nothing), with Redis's errors; never a path in a reply. */
function aclFile(s: Session, ctx: Context, sub: string): void {
  if (ctx.config.aclFile === null) return s.reply.error(noAclFile);
  if (sub === "LOAD") {
    try {
      if (loadAclFile(ctx) === null) return s.reply.error(respError("Error loading ACLs, acl_file does not exist"));
    } catch (err) {
      if (!(err instanceof AclFileError)) throw err;
      return s.reply.error(respError(`Error loading ACLs, ${err.message}`));
    }
    return s.reply.ok();
  }
  try {
    saveAclFile(ctx);
  } catch (err) {
    log.error(`ACL SAVE: cannot write acl_file ${ctx.config.aclFile}: ${(err as Error).message}`);
    return s.reply.error(respError("There was an error trying to save the ACLs. Please check the server logs for more information"));
  }
  s.reply.ok();
}

/** ACL CAT: Osprey's categories (its three permissions); ACL CAT <category>: the RESP commands that need it. */
function aclCat(s: Session): void {
  const r = s.reply;
  if (s.p.argc === 2) {
    r.arrayHeader(3);
    for (const name of Object.keys(permNames)) r.bulkText(name);
    return;
  }
  const bit = permNames[s.text(2).toLowerCase()];
  if (bit === undefined) return r.error(respError(`Unknown category '${s.text(2).slice(0, 128)}'`));
  const names = [...respRouteTable.values()].filter((route) => (route.need & bit) !== 0).map((route) => route.name);
  r.arrayHeader(names.length);
  for (const name of names) r.bulkText(name);
}

/** ACL SETUSER name rule… → OK, or Redis's error naming the first rule that is not taken (nothing changes then). */
function aclSetUser(s: Session, ctx: Context): void {
  const name = s.text(2);
  const refusal = userNameRefusal(name);
  if (refusal !== null) return s.reply.error(respError(refusal));
  const words: string[] = [];
  for (let t = 3; t < s.p.argc; t++) words.push(s.text(t));
  try {
    if (!setUser(ctx, name, words)) return s.reply.error(respError(`Osprey holds at most ${usersMax} users`));
  } catch (err) {
    if (!(err instanceof AclRuleError)) throw err;
    return s.reply.error(respError(`Error in ACL SETUSER modifier '${err.rule.slice(0, 128)}': ${err.message}`));
  }
  s.reply.ok();
}
