// Connection commands of RESP: QUIT, SELECT, HELLO and CLIENT — what redis-cli, redis-benchmark
// and client libraries send about the connection itself.

import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { RespErr, respError } from "../errors.ts";
import { parseI64 } from "../numbers.ts";
import { Fail } from "./reply.ts";
import type { Session } from "./session.ts";
import { redisVersion, subcommandArity, unknownSubcommand } from "./server.ts";

export function quit(s: Session): void {
  s.closing = true;
  s.reply.ok();
}

/** SELECT 0 → OK: Osprey has one keyspace, database 0. */
export function select(s: Session): void {
  const index = parseI64(s.b, s.p.starts[1]!, s.p.ends[1]!);
  if (index === null || typeof index === "bigint" || index > 2 ** 31 - 1 || index < -(2 ** 31)) return s.reply.fail(Fail.NotAnIntegerArg);
  if (index !== 0) return s.reply.error(RespErr.dbIndex);
  s.reply.ok();
}

/** Sets a client name as Redis does: empty clears it; bytes outside '!'..'~' are refused. */
function setName(s: Session, t: number): boolean {
  const b = s.b;
  const from = s.p.starts[t]!;
  const to = s.p.ends[t]!;
  for (let i = from; i < to; i++) {
    if (b[i]! < 33 || b[i]! > 126) {
      s.reply.error(RespErr.clientName);
      return false;
    }
  }
  s.name = to === from ? null : Buffer.from(b.subarray(from, to));
  return true;
}

const SETNAME = nameCodeOf("SETNAME");
const GETNAME = nameCodeOf("GETNAME");
const ID = nameCodeOf("ID");

/** CLIENT SETNAME name | GETNAME | ID. */
export function client(s: Session): void {
  const p = s.p;
  const sub = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (sub === SETNAME) {
    if (p.argc !== 3) return subcommandArity(s);
    if (setName(s, 2)) s.reply.ok();
  } else if (sub === GETNAME || sub === ID) {
    if (p.argc !== 2) return subcommandArity(s);
    if (sub === ID) s.reply.integer(s.id);
    else if (s.name === null) s.reply.nil();
    else s.reply.bulk(s.name, 0, s.name.length);
  } else {
    unknownSubcommand(s);
  }
}

const AUTH = nameCodeOf("AUTH");

/**
 * HELLO [2 [AUTH user pass] [SETNAME name]] → the server's description. Only RESP2 is spoken:
 * HELLO 3 answers -NOPROTO, so clients fall back to RESP2 as they do with an old Redis.
 */
export function hello(s: Session): void {
  const p = s.p;
  let t = 1;
  if (p.argc >= 2) {
    const version = parseI64(s.b, p.starts[1]!, p.ends[1]!);
    if (version === null) return s.reply.error(RespErr.helloVersion);
    if (version !== 2) return s.reply.error(RespErr.noProto);
    t = 2;
  }
  let nameArg = -1;
  for (; t < p.argc; t++) {
    const code = nameCode(s.b, p.starts[t]!, p.ends[t]!);
    const more = p.argc - 1 - t;
    if (code === AUTH && more >= 2) {
      // Osprey has no users yet; like Redis's default user without a password, `default` gets in.
      if (s.text(t + 1) !== "default") return s.reply.error(RespErr.wrongPass);
      t += 2;
    } else if (code === SETNAME && more >= 1) {
      nameArg = ++t;
    } else {
      return s.reply.error(respError(`Syntax error in HELLO option '${s.text(t)}'`));
    }
  }
  if (nameArg >= 0 && !setName(s, nameArg)) return;
  const reply = s.reply;
  reply.mapHeader(7);
  reply.bulkText("server");
  reply.bulkText("redis");
  reply.bulkText("version");
  reply.bulkText(redisVersion);
  reply.bulkText("proto");
  reply.integer(2);
  reply.bulkText("id");
  reply.integer(s.id);
  reply.bulkText("mode");
  reply.bulkText("standalone");
  reply.bulkText("role");
  reply.bulkText("master");
  reply.bulkText("modules");
  reply.arrayHeader(0);
}
