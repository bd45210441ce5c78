// Who a connection is and what it may do: the users of osprey.toml (auth_password, [[users]]) and
// of ACL SETUSER, password checks in constant time (Bun.password hashes off the event loop), and the
// one permission check the dispatcher calls.

import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "./persistence/files.ts";
import type { Config, UserConfig } from "./config.types.ts";
import { authFailuresFreeCount, userNameBytesMax, usersMax } from "./constants.ts";
import { globMatch, globMatchesAll } from "./glob.ts";
import { log } from "./log.ts";
import { noPermCommand } from "./errors.ts";
import { Fail } from "./commands/reply.ts";
import type { Context } from "./commands/context.ts";
import type { Session } from "./commands/session.ts";
import type { Route } from "./commands/table.ts";
import { clientsOf } from "./net/clients.ts";

/** Permission bits of a user, and what a command needs (`Route.need`): built from the table's Read, Write and Admin flags. */
export const enum Perm {
  Read = 1,
  Write = 2,
  Admin = 4,
  All = 7,
}

/** The names `permissions` accepts in osprey.toml (and ACL SETUSER's `+@<name>`), and their bits. */
export const permNames: Readonly<Record<string, Perm>> = { read: Perm.Read, write: Perm.Write, admin: Perm.Admin };

type AuthConfig = Pick<Config, "authPassword" | "users" | "aclFile">;

function sha256(b: Uint8Array): Buffer {
  return createHash("sha256").update(b).digest();
}

/** Everything that defines a user, as ACL SETUSER edits it. */
interface UserRules {
  enabled: boolean;
  perms: number;
  /** Key globs; null: every key (`allkeys`, `~*`); empty: none. */
  keys: string[] | null;
  /** SHA-256 digests of the passwords (auth_password, password_sha256, `>password`, `#digest`). */
  digests: Buffer[];
  /** A Bun.password (argon2/bcrypt) string from password_hash; null when none. */
  hash: string | null;
  /** Any password (or none) authenticates: Redis's nopass. */
  nopass: boolean;
}

/** A user (or the connection's state before it authenticated: `authenticated` false). Immutable: ACL SETUSER makes a new one. */
export class User {
  /** The key patterns' bytes; null when every key is allowed, empty when none is. */
  readonly keys: readonly Uint8Array[] | null;
  /** Every permission and every key: a session of this user skips the check (`Session.limits` null). */
  readonly unrestricted: boolean;
  readonly perms: number;
  readonly enabled: boolean;
  readonly nopass: boolean;
  readonly #rules: Readonly<UserRules>;
  /** The digest of the last password the hash accepted, so a client that reconnects pays one SHA-256, not an argon2 run. */
  #verified: Buffer | null = null;

  constructor(
    readonly name: string,
    rules: UserRules,
    readonly authenticated: boolean,
  ) {
    const patterns = rules.keys === null ? null : rules.keys.map((k) => Buffer.from(k, "latin1"));
    this.keys = patterns === null || patterns.some((k) => globMatchesAll(k, 0, k.length)) ? null : patterns;
    this.perms = rules.perms;
    this.enabled = rules.enabled;
    this.nopass = rules.nopass;
    this.unrestricted = rules.perms === Perm.All && this.keys === null;
    this.#rules = { ...rules, keys: this.keys === null ? null : [...rules.keys!], digests: [...rules.digests] };
  }

  /** A copy of the rules, for ACL SETUSER to edit. */
  rules(): UserRules {
    const r = this.#rules;
    return { ...r, keys: r.keys === null ? null : [...r.keys], digests: [...r.digests] };
  }

  /**
   * The answer that needs no thread pool: digests compared in constant time (every one of them),
   * nopass, a disabled user, the remembered digest of a hash's last success; null when only the
   * Bun.password hash can tell (`verifyHash`).
   */
  verifyQuick(password: Uint8Array): boolean | null {
    const r = this.#rules;
    // A disabled user with a hash is checked as an enabled one, so the time the answer takes does not tell them apart.
    if (!this.enabled) return r.hash === null ? false : null;
    if (this.nopass) return true;
    const digest = sha256(password);
    let ok = false;
    for (const d of r.digests) ok = timingSafeEqual(digest, d) || ok;
    if (ok || r.hash === null) return ok;
    if (this.#verified !== null && timingSafeEqual(digest, this.#verified)) return true;
    return null;
  }

  /** The Bun.password check, on Bun's thread pool (an argon2 check costs ~240 ms of CPU); never rejects. */
  async verifyHash(password: Uint8Array): Promise<boolean> {
    const copy = Buffer.from(password); // the input buffer the request lies in is reused once the handler returns
    let ok = false;
    try {
      ok = await Bun.password.verify(copy, this.#rules.hash!);
    } catch {
      ok = false; // a hash Bun cannot read was refused by config validation; never a reason to stop
    }
    if (ok && this.enabled) this.#verified = sha256(copy);
    return ok && this.enabled;
  }

  /** Whether the user has a Bun.password hash (an AUTH for it costs an argon2/bcrypt check). */
  get hashed(): boolean {
    return this.#rules.hash !== null;
  }

  /** Whether `password` is this user's, all on this thread (EXEC's replay, which cannot wait; tests). */
  verify(password: Uint8Array): boolean {
    const quick = this.verifyQuick(password);
    if (quick !== null) return quick;
    let ok = false;
    try {
      ok = Bun.password.verifySync(password, this.#rules.hash!);
    } catch {
      ok = false;
    }
    if (ok && this.enabled) this.#verified = sha256(password);
    return ok && this.enabled;
  }

  /**
   * The user as acl_file holds it: ACL LIST's line with its password digests (`#…`, as Redis's
   * ACL files) and a Bun.password hash as Osprey's `$argon2…` / `$2b$…` rule. Throws for a key
   * pattern with a space, which a line cannot hold.
   */
  aclLine(): string {
    const r = this.#rules;
    if (r.keys !== null && r.keys.some((k) => /\s/.test(k))) throw new Error(`user ${this.name}'s key pattern holds a space, which acl_file cannot hold`);
    const secrets = [...r.digests.map((d) => `#${d.toString("hex")}`), ...(r.hash === null ? [] : [r.hash])].map((x) => ` ${x}`).join("");
    const keys = r.keys === null ? " ~*" : r.keys.map((k) => ` ~${k}`).join("");
    return `user ${this.name} ${this.enabled ? "on" : "off"}${this.nopass ? " nopass" : ""}${secrets}${keys} resetchannels ${this.#permsText()}`;
  }

  #permsText(): string {
    return this.perms === Perm.All ? "+@all" : ["-@all", ...Object.entries(permNames).filter(([, b]) => (this.perms & b) !== 0).map(([n]) => `+@${n}`)].join(" ");
  }

  /** The user as ACL LIST shows it, in Redis's form, never with a password or digest. */
  describe(): string {
    const keys = this.keys === null ? " ~*" : this.keys.map((k) => ` ~${Buffer.from(k).toString("latin1")}`).join("");
    const perms = this.#permsText();
    // Redis's own default user (`on nopass ~* &* +@all`); Osprey has no channel rules to show otherwise.
    const channels = this.nopass && this.unrestricted ? "&*" : "resetchannels";
    return `user ${this.name} ${this.enabled ? "on" : "off"}${this.nopass ? " nopass" : ""}${keys} ${channels} ${perms}`;
  }
}

/** A new user's rules, as Redis's ACL SETUSER starts one: off, no password, no key, no command. */
function emptyRules(): UserRules {
  return { enabled: false, perms: 0, keys: [], digests: [], hash: null, nopass: false };
}

/** A connection that has not authenticated yet: only commands flagged NoAuth run. */
const notAuthenticated = new User("default", emptyRules(), false);

/** Every user of one server, and what a new connection starts as. ACL SETUSER and DELUSER change it. */
export class Auth {
  readonly #users = new Map<string, User>();
  /** What `Session.limits` starts as: null when the default user needs no password and may do everything. */
  connectLimits: User | null = null;
  /** Whether a connection must authenticate (the default user is off or has a password); protected mode is then satisfied. */
  required = false;
  /**
   * A user with a Bun.password hash, if any: AUTH for an unknown name is checked against its hash
   * (and refused), so an unknown name takes as long as a hashed user's wrong password.
   */
  decoy: User | null = null;

  constructor(config: AuthConfig) {
    if (config.authPassword !== "") {
      this.#users.set("default", new User("default", { ...emptyRules(), enabled: true, perms: Perm.All, keys: null, digests: [sha256(Buffer.from(config.authPassword, "utf8"))] }, true));
    }
    for (const u of config.users) {
      const secret = u.passwordSha256 !== null ? { digests: [Buffer.from(u.passwordSha256, "hex")], hash: null } : { digests: [], hash: u.passwordHash! };
      this.#users.set(u.name, new User(u.name, { enabled: u.enabled, perms: u.permissions, keys: u.keys === null ? null : [u.keys], nopass: false, ...secret }, true));
    }
    // Nothing configured: the default user needs no password (Redis's nopass). Users but no default: it is off.
    if (!this.#users.has("default")) {
      const open = config.users.length === 0;
      this.#users.set("default", new User("default", open ? { ...emptyRules(), enabled: true, perms: Perm.All, keys: null, nopass: true } : emptyRules(), true));
    }
    this.#settle();
  }

  get users(): ReadonlyMap<string, User> {
    return this.#users;
  }

  /** ACL SETUSER's result: `user` replaces the one of its name (or is added). */
  put(user: User): void {
    this.#users.set(user.name, user);
    this.#settle();
  }

  /** ACL LOAD, acl_file at start-up: `users` are now every user; the default user stays as it is unless `users` has one. */
  replaceAll(users: readonly User[]): void {
    const keep = this.#users.get("default")!;
    this.#users.clear();
    for (const u of users) this.#users.set(u.name, u);
    if (!this.#users.has("default")) this.#users.set("default", keep);
    this.#settle();
  }

  /** ACL DELUSER: false when there was no such user. The default user cannot be deleted (the caller refuses it). */
  delete(name: string): boolean {
    const had = this.#users.delete(name);
    this.#settle();
    return had;
  }

  /** A new connection is the default user at once when that user needs no password (Redis's rule), else not authenticated. */
  #settle(): void {
    const d = this.#users.get("default")!;
    this.required = !(d.enabled && d.nopass);
    this.connectLimits = this.required ? notAuthenticated : d.unrestricted ? null : d;
    this.decoy = [...this.#users.values()].find((u) => u.hashed) ?? null;
  }
}

/** Whether the configuration sets any password or user, or an acl_file that exists (protected mode is then satisfied). */
export function authConfigured(config: AuthConfig): boolean {
  return config.authPassword !== "" || config.users.length > 0 || (config.aclFile !== null && existsSync(config.aclFile));
}

const auths = new WeakMap<object, Auth>();

/** The users of one server, built from its configuration the first time they are asked for. */
export function authOf(ctx: { readonly config: AuthConfig }): Auth {
  let a = auths.get(ctx);
  if (a === undefined) {
    a = new Auth(ctx.config);
    auths.set(ctx, a);
  }
  return a;
}

/** Whether a session is authenticated (as anyone). */
function signedIn(s: Session): boolean {
  return s.limits === null || s.limits.authenticated;
}

/**
 * The dispatcher's check, for a session with limits (`s.limits !== null`): not authenticated yet,
 * a permission the command needs, a key outside the user's patterns. Replies and returns false
 * when refused. Commands that reach keys they do not name (SCAN, KEYS, RANDOMKEY, DBSIZE,
 * FLUSHALL) are refused to a user with key patterns: their results are not filtered.
 */
export function permitted(s: Session, route: Route): boolean {
  const u = s.limits!;
  if (!u.authenticated) {
    if (route.noAuth) return true;
    s.reply.fail(Fail.NoAuth);
    return false;
  }
  if ((route.need & ~u.perms) !== 0) {
    s.reply.error(noPermCommand(s.reply.version === 0, route.name));
    return false;
  }
  const patterns = u.keys;
  if (patterns === null) return true;
  if (route.keyless) {
    s.reply.fail(Fail.NoPermKeyspace);
    return false;
  }
  if (route.keyFirst === 0) return true;
  const p = s.p;
  const end = route.keyLast < 0 ? p.argc + route.keyLast : route.keyLast;
  for (let t = route.keyFirst; t <= end; t += route.keyStep) {
    if (!anyMatch(patterns, s.b, p.starts[t]!, p.ends[t]!)) {
      s.reply.fail(Fail.NoPermKey);
      return false;
    }
  }
  return true;
}

function anyMatch(patterns: readonly Uint8Array[], b: Uint8Array, from: number, to: number): boolean {
  for (const k of patterns) if (globMatch(k, 0, k.length, b, from, to)) return true;
  return false;
}

/**
 * Whether the session may read the key `key` (null: a key it cannot be shown, such as one SLOWLOG
 * kept only the start of — allowed only to a user without key patterns).
 */
export function mayRead(s: Session, key: Uint8Array | null): boolean {
  const u = s.limits;
  if (u === null) return true;
  if (!u.authenticated || (u.perms & Perm.Read) === 0) return false;
  return u.keys === null || (key !== null && anyMatch(u.keys, key, 0, key.length));
}

/** Whether the session may run admin subcommands (CLIENT KILL, ACL LIST) of a command that is not itself admin. */
export function mayAdmin(s: Session): boolean {
  const u = s.limits;
  return u === null || (u.authenticated && (u.perms & Perm.Admin) !== 0);
}

// ---- AUTH ----

/** What AUTH's first run decided: the connection is in, refused, or the answer comes later (resume, then `authFinish`). */
export const enum AuthStep {
  Ok,
  Refused,
  Pending,
}

/** An AUTH (or HELLO AUTH) waiting for its answer: the hash check off the event loop, or the delay after repeated failures. */
interface PendingAuth {
  user: User | undefined;
  ok: boolean;
}

const pending = new WeakMap<Session, PendingAuth>();
/** Failed AUTH attempts in a row per connection: past authFailuresFreeCount, each failure is answered after auth_failure_delay_ms. */
const failuresInRow = new WeakMap<Session, number>();
/** When a connection that RESET itself became unauthenticated (auth_timeout counts from there, not from its accept). */
const unauthSince = new WeakMap<Session, number>();

/**
 * AUTH name password (or AUTH password, for `default`), first run. A Bun.password hash is checked
 * on Bun's thread pool: the handler then suspends (`Session.suspendAt`, `Session.until`), the
 * connection holds the request — reading nothing more, so its order is kept — and runs it again
 * when the check settles; other clients are served meanwhile. A failure past
 * authFailuresFreeCount in a row is answered after auth_failure_delay_ms the same way. EXEC's
 * replay cannot wait, so there the check runs here.
 */
export function authBegin(s: Session, ctx: Context, name: string, password: Uint8Array): AuthStep {
  const auth = authOf(ctx);
  const user = auth.users.get(name);
  const known = user !== undefined;
  // While any user has a hash, every refusal costs a hash check (an unknown name, a disabled user,
  // a wrong digest: against that user's hash), so the time an answer takes does not tell names apart.
  const decoy = auth.decoy;
  const checker = user ?? decoy;
  const first = checker === null ? false : checker.verifyQuick(password);
  const quick = known ? first : first === null ? null : false;
  const slow = quick === null ? checker : quick === false ? decoy : null;
  const delayMs = ctx.config.authFailureDelayMs;
  const delayed = s.canYield && delayMs > 0 && (failuresInRow.get(s) ?? 0) >= authFailuresFreeCount;
  if (slow !== null && !s.canYield) return authSettle(s, ctx, name, user, quick === null && slow.verify(password) && known) ? AuthStep.Ok : AuthStep.Refused;
  if (slow !== null) {
    const p: PendingAuth = { user, ok: false };
    pending.set(s, p);
    s.until = slow.verifyHash(password).then((ok) => {
      p.ok = quick === null && ok && known;
      return p.ok || !delayed ? undefined : Bun.sleep(delayMs);
    });
    s.suspendAt = 1;
    return AuthStep.Pending;
  }
  if (!quick && delayed) {
    pending.set(s, { user, ok: false });
    s.until = Bun.sleep(delayMs);
    s.suspendAt = 1;
    return AuthStep.Pending;
  }
  return authSettle(s, ctx, name, user, quick!) ? AuthStep.Ok : AuthStep.Refused;
}

/** The resumed run of an AUTH that was Pending: whether the connection is now that user. */
export function authFinish(s: Session, ctx: Context, name: string): boolean {
  const p = pending.get(s);
  pending.delete(s);
  if (p === undefined) return false;
  // ACL DELUSER or SETUSER may have run meanwhile: the user must still be the one checked.
  const current = p.user === undefined ? undefined : authOf(ctx).users.get(p.user.name);
  return authSettle(s, ctx, name, current === p.user ? p.user : undefined, p.ok);
}

let failuresUnlogged = 0;
let failureLoggedMs = -Infinity;

/**
 * Applies an AUTH's outcome: on success the session becomes that user (one fewer connection
 * waiting to authenticate); a failure is counted (STATS auth_failures_total) and logged, never the
 * password, at most one line per 10 s with a count. A wrong password, an unknown or a disabled
 * user are one answer, so names cannot be probed.
 */
function authSettle(s: Session, ctx: Context, name: string, user: User | undefined, ok: boolean): boolean {
  if (user === undefined || !ok) {
    ctx.stats.authFailuresTotal++;
    failuresInRow.set(s, (failuresInRow.get(s) ?? 0) + 1);
    failuresUnlogged++;
    const t = performance.now();
    if (t - failureLoggedMs >= 10_000) {
      failureLoggedMs = t;
      log.warn(`${failuresUnlogged} failed AUTH attempt(s) (last for user ${JSON.stringify(name.slice(0, 64))}, client id ${s.id})`);
      failuresUnlogged = 0;
    }
    return false;
  }
  failuresInRow.delete(s);
  if (!signedIn(s)) clientsOf(ctx).unauthenticated--;
  s.limits = user.unrestricted ? null : user;
  s.userName = user.name;
  return true;
}

/** RESET: the connection as it was when it connected, not authenticated when a password is needed (Redis's RESET). */
export function resetAuth(s: Session, ctx: Context): void {
  const start = authOf(ctx).connectLimits;
  const wasIn = signedIn(s);
  s.limits = start;
  s.userName = "default";
  if (wasIn && !signedIn(s)) {
    clientsOf(ctx).unauthenticated++;
    unauthSince.set(s, s.nowMs);
  }
}

/** Since when `s` has been waiting to authenticate (auth_timeout): its RESET, else null (its accept). */
export function unauthenticatedSinceMs(s: Session): number | null {
  return unauthSince.get(s) ?? null;
}

/** Whether the connection of `s` (null: no byte received yet, `atOpen` as it started) still has to authenticate. */
export function awaitingAuth(s: Session | null, atOpen: boolean): boolean {
  return s === null ? atOpen : !signedIn(s);
}

// ---- ACL ----

/** ACL LIST's lines, sorted by name, as Redis sorts them. */
export function aclList(auth: Auth): string[] {
  return [...auth.users.values()].map((u) => u.describe()).sort();
}

/** An ACL SETUSER rule Osprey does not take, and why (Redis's words where Redis refuses it too). */
export class AclRuleError extends Error {
  constructor(
    readonly rule: string,
    why: string,
  ) {
    super(why);
  }
}

const hexDigest = /^[0-9a-f]{64}$/;
/** A Bun.password string (argon2 or bcrypt), as password_hash takes it. */
const bunHash = /^\$(argon2(id|i|d)\$|2[abxy]?\$)/;
const permRule = /^([+-])@([a-z]+)$/;
const permissionsOnly = "Osprey's users have the read, write and admin permissions only (+@read, +@write, +@admin, +@all, -@all and their - forms)";
/** Redis's other categories: a rule naming one is understood, but Osprey's users have only the three permissions. */
const redisCategories = new Set(["keyspace", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting"]);

/**
 * Applies ACL SETUSER's rules, in order, to `rules`: the subset of Redis's syntax that maps to
 * Osprey's users (docs/PROTOCOL.md 2.10). Throws AclRuleError at the first it does not take,
 * before anything changed.
 */
export function applyAclRules(rules: UserRules, words: readonly string[]): UserRules {
  const r = { ...rules, keys: rules.keys === null ? null : [...rules.keys], digests: [...rules.digests] };
  for (const word of words) {
    const w = word.toLowerCase();
    const first = word[0];
    if (w === "on" || w === "off") r.enabled = w === "on";
    else if (w === "nopass") Object.assign(r, { nopass: true, digests: [], hash: null });
    else if (w === "resetpass") Object.assign(r, { nopass: false, digests: [], hash: null });
    else if (first === ">" || first === "#") {
      const d = first === ">" ? sha256(Buffer.from(word.slice(1), "latin1")) : Buffer.from(hexOf(word), "hex");
      if (!r.digests.some((x) => x.equals(d))) r.digests.push(d);
      r.nopass = false;
    } else if (first === "<" || first === "!") {
      const d = first === "<" ? sha256(Buffer.from(word.slice(1), "latin1")) : Buffer.from(hexOf(word), "hex");
      const at = r.digests.findIndex((x) => x.equals(d));
      if (at < 0) throw new AclRuleError(word, "The password you are trying to remove from the user does not exist");
      r.digests.splice(at, 1);
    } else if (first === "~") {
      if (r.keys === null) throw new AclRuleError(word, "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns");
      const pattern = word.slice(1);
      if (pattern === "*") r.keys = null;
      else if (!r.keys.includes(pattern)) r.keys.push(pattern);
    } else if (first === "$" && bunHash.test(word)) Object.assign(r, { hash: word, nopass: false }); // Osprey's: a password_hash
    else if (w === "allkeys") r.keys = null;
    else if (w === "resetkeys") r.keys = [];
    else if (w === "allcommands" || w === "+@all") r.perms = Perm.All;
    else if (w === "nocommands" || w === "-@all") r.perms = 0;
    else if (w === "reset") Object.assign(r, emptyRules());
    // Osprey has no channel rules: every user may use every channel, which these state or start from.
    else if (w === "allchannels" || w === "resetchannels" || w === "&*") continue;
    else {
      const m = permRule.exec(w);
      const bit = m === null ? undefined : permNames[m[2]!];
      if (bit !== undefined) r.perms = m![1] === "+" ? r.perms | bit : r.perms & ~bit;
      // Redis's other categories and single commands (+get) are understood, but have no Osprey permission.
      else if ((m !== null && redisCategories.has(m[2]!)) || (m === null && (first === "+" || first === "-"))) throw new AclRuleError(word, permissionsOnly);
      else if (m !== null) throw new AclRuleError(word, "Unknown command or category name in ACL");
      else if (first === "&" || first === "%") throw new AclRuleError(word, "Osprey has no channel or read/write key selectors: use ~pattern and the read, write and admin permissions");
      else throw new AclRuleError(word, "Syntax error");
    }
  }
  return r;
}

function hexOf(word: string): string {
  const hex = word.slice(1);
  if (!hexDigest.test(hex)) throw new AclRuleError(word, "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters");
  return hex;
}

/** Why a name cannot be a user's (null when it can): printable, no spaces, at most userNameBytesMax bytes. */
export function userNameRefusal(name: string): string | null {
  if (!/^[!-~]+$/.test(name)) return "Usernames can't contain spaces or null characters";
  if (name.length > userNameBytesMax) return `Osprey's user names have at most ${userNameBytesMax} characters`;
  return null;
}

/**
 * ACL SETUSER name rule…: the user is made (or remade) from its rules, and every connection
 * authenticated as it follows at once, as Redis's clients share the user object: new
 * permissions and keys apply to their next request. A default user that needs no password any
 * more lets in the connections waiting to authenticate, as Redis decides that per request. Throws
 * AclRuleError; false when there are usersMax users already.
 */
export function setUser(ctx: Context, name: string, words: readonly string[]): boolean {
  const auth = authOf(ctx);
  const old = auth.users.get(name);
  if (old === undefined && auth.users.size >= usersMax) return false;
  const user = new User(name, applyAclRules(old?.rules() ?? emptyRules(), words), true);
  auth.put(user);
  const clients = clientsOf(ctx);
  for (const e of clients) {
    const s = e.conn.session;
    if (s === null) continue;
    if (signedIn(s) ? s.userName === name : name === "default" && !auth.required) {
      if (!signedIn(s)) clients.unauthenticated--;
      s.limits = user.unrestricted ? null : user;
      s.userName = name;
    }
  }
  return true;
}

/**
 * ACL DELUSER name…: removes the users and disconnects every client authenticated as one of them,
 * as Redis does (the asking client after its reply). Returns how many users existed.
 */
export function deleteUsers(s: Session, ctx: Context, names: readonly string[]): number {
  const auth = authOf(ctx);
  let deleted = 0;
  const gone = new Set<string>();
  for (const n of names) {
    if (auth.delete(n)) {
      deleted++;
      gone.add(n);
    }
  }
  if (gone.size === 0) return 0;
  for (const e of clientsOf(ctx)) {
    const c = e.conn.session;
    if (c === null || !signedIn(c) || !gone.has(c.userName)) continue;
    if (c === s) s.closing = true;
    else e.conn.shutdown();
  }
  return deleted;
}

// ---- acl_file ----

/** acl_file cannot be read, or a line of it is not a user (the message names the line, never the path). */
export class AclFileError extends Error {}

/**
 * Parses acl_file's text, all or nothing: a `user <name> <rule> …` line per user (Redis's ACL file
 * format; blank lines and `#` comments skipped), each user built from a new user's state by its
 * rules, as Redis loads the file.
 */
export function parseAclFile(text: string): User[] {
  const users = new Map<string, User>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const words = line.split(/\s+/);
    const where = `acl_file line ${i + 1}`;
    if (words[0] !== "user" || words.length < 2) throw new AclFileError(`${where}: expected "user <name> <rule> ...", got ${JSON.stringify(line.slice(0, 64))}`);
    const name = words[1]!;
    const refusal = userNameRefusal(name);
    if (refusal !== null) throw new AclFileError(`${where}: ${refusal}`);
    if (users.has(name)) throw new AclFileError(`${where}: user ${name} is already defined`);
    if (users.size >= usersMax) throw new AclFileError(`${where}: more than ${usersMax} users`);
    try {
      users.set(name, new User(name, applyAclRules(emptyRules(), words.slice(2)), true));
    } catch (err) {
      if (!(err instanceof AclRuleError)) throw err;
      throw new AclFileError(`${where}: Error in ACL SETUSER modifier '${err.rule.slice(0, 128)}': ${err.message}`);
    }
  });
  return [...users.values()];
}

/**
 * ACL LOAD, and the start-up: when acl_file is configured and exists, its users replace the
 * server's (those of osprey.toml); connections of a user no longer there are closed, the others
 * follow their user's new rules. Returns how many users the file held, null when there is no file
 * to read. Throws AclFileError, changing nothing.
 */
export function loadAclFile(ctx: Context): number | null {
  const path = ctx.config.aclFile;
  if (path === null || !existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new AclFileError(`acl_file cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const users = parseAclFile(text);
  const auth = authOf(ctx);
  auth.replaceAll(users);
  for (const e of clientsOf(ctx)) {
    const s = e.conn.session;
    if (s === null || !signedIn(s)) continue;
    const u = auth.users.get(s.userName);
    if (u === undefined) e.conn.shutdown();
    else s.limits = u.unrestricted ? null : u;
  }
  return users.length;
}

/** ACL SAVE: every user into acl_file, atomically (a crash leaves the old file or the new one whole). */
export function saveAclFile(ctx: Context): void {
  const lines = [...authOf(ctx).users.values()].map((u) => u.aclLine()).sort();
  writeFileAtomic(ctx.config.aclFile!, Buffer.from(`${lines.join("\n")}\n`, "utf8"));
}

export type { UserConfig };
