// Who a connection is and what it may do: the users of osprey.toml (auth_password, [[users]]),
// password checks in constant time, and the one permission check the dispatcher calls.

import { createHash, timingSafeEqual } from "node:crypto";
import type { Config, UserConfig } from "./config.types.ts";
import { globMatch, globMatchesAll } from "./glob.ts";
import { log } from "./log.ts";
import { noPermCommand } from "./errors.ts";
import { Fail } from "./commands/reply.ts";
import type { Session } from "./commands/session.ts";
import type { Route } from "./commands/table.ts";

/** Permission bits of a user, and what a command needs (`Route.need`): built from the table's Read, Write and Admin flags. */
export const enum Perm {
  Read = 1,
  Write = 2,
  Admin = 4,
  All = 7,
}

/** The names `permissions` accepts in osprey.toml, and their bits. */
export const permNames: Readonly<Record<string, Perm>> = { read: Perm.Read, write: Perm.Write, admin: Perm.Admin };

function sha256(b: Uint8Array): Buffer {
  return createHash("sha256").update(b).digest();
}

/** A configured user (or the connection's state before it authenticated: `authenticated` false). */
export class User {
  /** The key pattern's bytes; null when every key is allowed. */
  readonly keys: Uint8Array | null;
  /** Every permission and every key: a session of this user skips the check (`Session.limits` null). */
  readonly unrestricted: boolean;
  readonly #sha256: Buffer | null;
  readonly #hash: string | null;
  /** The digest of the last password `#hash` accepted, so a client that reconnects pays one SHA-256, not an argon2 run. */
  #verified: Buffer | null = null;

  constructor(
    readonly name: string,
    readonly perms: number,
    keys: string | null,
    readonly enabled: boolean,
    readonly authenticated: boolean,
    secret: { sha256?: Buffer; hash?: string },
  ) {
    const k = keys === null ? null : Buffer.from(keys, "latin1");
    this.keys = k === null || globMatchesAll(k, 0, k.length) ? null : k;
    this.unrestricted = perms === Perm.All && this.keys === null;
    this.#sha256 = secret.sha256 ?? null;
    this.#hash = secret.hash ?? null;
  }

  /** Whether `password` is this user's: digests compared in constant time, hashes by Bun.password. */
  verify(password: Uint8Array): boolean {
    if (!this.enabled) return false;
    const digest = sha256(password);
    if (this.#sha256 !== null) return timingSafeEqual(digest, this.#sha256);
    if (this.#hash === null) return false;
    if (this.#verified !== null && timingSafeEqual(digest, this.#verified)) return true;
    let ok = false;
    try {
      ok = Bun.password.verifySync(password, this.#hash);
    } catch {
      ok = false; // a hash Bun cannot read was refused by config validation; never a reason to stop
    }
    if (ok) this.#verified = digest;
    return ok;
  }
}

/** Every user of one configuration, and what a new connection starts as. */
export class Auth {
  readonly users: ReadonlyMap<string, User>;
  /** What `Session.limits` starts as: null when nothing is configured (today's open server), else not yet authenticated. */
  readonly connectLimits: User | null;
  /** Whether any password or user is configured (AUTH then checks; protected mode is satisfied). */
  readonly required: boolean;

  constructor(config: Pick<Config, "authPassword" | "users">) {
    const users = new Map<string, User>();
    if (config.authPassword !== "") {
      users.set("default", new User("default", Perm.All, null, true, true, { sha256: sha256(Buffer.from(config.authPassword, "utf8")) }));
    }
    for (const u of config.users) {
      const secret = u.passwordSha256 !== null ? { sha256: Buffer.from(u.passwordSha256, "hex") } : { hash: u.passwordHash! };
      users.set(u.name, new User(u.name, u.permissions, u.keys, u.enabled, true, secret));
    }
    this.users = users;
    this.required = users.size > 0;
    this.connectLimits = this.required ? notAuthenticated : null;
  }
}

/** A connection that has not authenticated yet: only commands flagged NoAuth run. */
const notAuthenticated = new User("default", 0, null, false, false, {});

const auths = new WeakMap<Pick<Config, "authPassword" | "users">, Auth>();

/** The Auth of a configuration, built once per Config object. */
export function authOf(config: Pick<Config, "authPassword" | "users">): Auth {
  let a = auths.get(config);
  if (a === undefined) {
    a = new Auth(config);
    auths.set(config, a);
  }
  return a;
}

/**
 * The dispatcher's check, for a session with limits (`s.limits !== null`): not authenticated yet,
 * a permission the command needs, a key outside the user's pattern. Replies and returns false
 * when refused. Commands that reach keys they do not name (SCAN, KEYS, RANDOMKEY, DBSIZE,
 * FLUSHALL) are refused to a user with a key pattern: their results are not filtered.
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
  const pattern = u.keys;
  if (pattern === null) return true;
  if (route.keyless) {
    s.reply.fail(Fail.NoPermKeyspace);
    return false;
  }
  if (route.keyFirst === 0) return true;
  const p = s.p;
  const end = route.keyLast < 0 ? p.argc + route.keyLast : route.keyLast;
  for (let t = route.keyFirst; t <= end; t += route.keyStep) {
    if (!globMatch(pattern, 0, pattern.length, s.b, p.starts[t]!, p.ends[t]!)) {
      s.reply.fail(Fail.NoPermKey);
      return false;
    }
  }
  return true;
}

/** Whether the session may run admin subcommands (CLIENT KILL, ACL LIST) of a command that is not itself admin. */
export function mayAdmin(s: Session): boolean {
  const u = s.limits;
  return u === null || (u.authenticated && (u.perms & Perm.Admin) !== 0);
}

let failures = 0;
let failureLoggedMs = -Infinity;

/**
 * AUTH name password, or AUTH password for `default`: on success the session becomes that user.
 * A wrong password, an unknown or a disabled user are one answer, so names cannot be probed.
 * Failures are logged (never the password), at most one line per 10 s with a count.
 */
export function authenticate(s: Session, config: Pick<Config, "authPassword" | "users">, name: string, password: Uint8Array): boolean {
  const user = authOf(config).users.get(name);
  if (user === undefined || !user.verify(password)) {
    failures++;
    const t = performance.now();
    if (t - failureLoggedMs >= 10_000) {
      failureLoggedMs = t;
      log.warn(`${failures} failed AUTH attempt(s) (last for user ${JSON.stringify(name.slice(0, 64))}, client id ${s.id})`);
      failures = 0;
    }
    return false;
  }
  s.limits = user.unrestricted ? null : user;
  s.userName = user.name;
  return true;
}

/** RESET: the connection as it was when it connected, not authenticated when a password is needed (Redis's RESET). */
export function resetAuth(s: Session, config: Pick<Config, "authPassword" | "users">): void {
  s.limits = authOf(config).connectLimits;
  s.userName = "default";
}

/** The users as ACL LIST shows them (Redis's form, with Osprey's permission names as categories). */
export function aclList(config: Pick<Config, "authPassword" | "users">): string[] {
  const lines: string[] = [];
  const auth = authOf(config);
  if (!auth.users.has("default")) lines.push(auth.required ? "user default off resetchannels -@all" : "user default on nopass ~* &* +@all");
  for (const u of auth.users.values()) {
    const perms = u.perms === Perm.All ? "+@all" : ["-@all", ...Object.entries(permNames).filter(([, b]) => (u.perms & b) !== 0).map(([n]) => `+@${n}`)].join(" ");
    const keys = u.keys === null ? "~*" : `~${Buffer.from(u.keys).toString("latin1")}`;
    lines.push(`user ${u.name} ${u.enabled ? "on" : "off"} ${keys} resetchannels ${perms}`);
  }
  return lines.sort();
}

export type { UserConfig };
