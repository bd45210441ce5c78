// The same requests sent to Osprey and to a real redis-server 7.0 (started with one database, as
// Osprey has), over raw sockets in RESP2 and RESP3, replies compared byte for byte: HELLO, CLIENT,
// COMMAND, ECHO, TIME, SELECT, RESET, inline commands with Redis's quoting, FUNCTION/SCRIPT FLUSH,
// and RESP3's nulls and maps. Only values that differ by nature are masked: connection ids, the
// clock, and the number of commands.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "./encode.ts";
import { readReply } from "./frames.ts";
import { startRedis, type RedisServer } from "./redis.ts";

let osprey: RunningServer;
let redis: RedisServer;

beforeAll(async () => {
  [osprey, redis] = await Promise.all([startServer(), startRedis(["--databases", "1"])]);
});

afterAll(async () => {
  await Promise.all([osprey?.stop(), redis?.stop()]);
});

/** A request: a string is an inline command line (CRLF added), an array a RESP array of bulk strings. */
type Request = string | string[];

/** A whole connection's transcript: each reply in turn, then whether the server closed it. */
async function transcript(port: number, requests: readonly Request[]): Promise<string[]> {
  const c = await RawClient.connect(port);
  const out: string[] = [];
  try {
    for (const r of requests) {
      if (c.isClosed && c.buffered === 0) break;
      await c.send(typeof r === "string" ? `${r}\r\n` : resp(...r)).catch(() => {}); // the server may have closed meanwhile
      try {
        out.push(await readReply(c));
      } catch (err) {
        if (!c.isClosed) throw err;
        break; // closed before answering: the transcript ends with <closed>
      }
    }
    await Bun.sleep(50); // a close after the last reply, if there is one, arrives by now
    out.push(c.isClosed ? "<closed>" : "<open>");
  } finally {
    c.close();
  }
  return out;
}

/** Masks what differs by nature: a connection id, TIME's clock, COMMAND COUNT's total. */
function masked(reply: string, request: Request): string {
  const words = (typeof request === "string" ? request : request.join(" ")).toUpperCase();
  let r = reply.replace(/(\$2\r\nid\r\n):\d+\r\n/, "$1:<id>\r\n");
  if (words === "CLIENT ID") r = r.replace(/^:\d+\r\n$/, ":<id>\r\n");
  if (words === "TIME") r = r.replace(/^\*2\r\n\$\d+\r\n\d{10}\r\n\$\d\r\n\d{1,6}\r\n$/, "*2\r\n<seconds><microseconds>");
  if (words === "COMMAND COUNT") r = r.replace(/^:\d+\r\n$/, ":<count>\r\n");
  return r;
}

/**
 * Runs `requests` on both servers after `HELLO <version>` and compares the transcripts. (A RESP
 * array first also makes Osprey's main port speak RESP on that connection: a first byte other
 * than `*` picks Osprey's text protocol.)
 */
async function compare(requests: readonly Request[], version: 2 | 3): Promise<void> {
  const all: Request[] = [["HELLO", String(version)], ...requests];
  const [mine, theirs] = await Promise.all([transcript(osprey.port, all), transcript(redis.port, all)]);
  const show = (t: string[]) => t.map((r, i) => `${JSON.stringify(all[i] ?? "")} → ${JSON.stringify(r)}`).join("\n");
  const a = mine.map((r, i) => masked(r, all[i] ?? ""));
  const b = theirs.map((r, i) => masked(r, all[i] ?? ""));
  expect(a, `--- osprey\n${show(mine)}\n--- redis\n${show(theirs)}`).toEqual(b);
}

const scenarios: Record<string, Request[]> = {
  "HELLO: versions, AUTH without requirepass, SETNAME, errors": [
    ["HELLO"],
    ["HELLO", "2"],
    ["HELLO", "3"],
    ["HELLO"],
    ["HELLO", "4"],
    ["HELLO", "1"],
    ["HELLO", "x"],
    ["HELLO", "-1"],
    ["HELLO", "99999999999999999999"],
    ["HELLO", "3", "AUTH", "default", "any-password"],
    ["HELLO", "3", "AUTH", "bob", "pw"],
    ["HELLO", "3", "AUTH", "default"],
    ["HELLO", "3", "SETNAME"],
    ["HELLO", "3", "FOO"],
    ["HELLO", "3", "SETNAME", "a b"],
    ["HELLO", "2", "AUTH", "default", "x", "SETNAME", "app"],
    ["CLIENT", "GETNAME"],
    ["HELLO", "3", "setname", "one", "setname", "two"],
    ["CLIENT", "GETNAME"],
  ],
  "CLIENT ID, GETNAME, SETNAME, NO-EVICT and their errors": [
    ["CLIENT"],
    ["CLIENT", "FOO"],
    ["CLIENT", "ID"],
    ["CLIENT", "ID", "x"],
    ["CLIENT", "GETNAME"],
    ["CLIENT", "SETNAME", "worker-1"],
    ["CLIENT", "GETNAME"],
    ["CLIENT", "SETNAME", "a b"],
    ["CLIENT", "SETNAME", "new\nline"],
    ["CLIENT", "SETNAME"],
    ["CLIENT", "SETNAME", ""],
    ["CLIENT", "GETNAME"],
    ["CLIENT", "NO-EVICT", "on"],
    ["CLIENT", "NO-EVICT", "OFF"],
    ["CLIENT", "NO-EVICT", "maybe"],
    ["CLIENT", "NO-EVICT"],
  ],
  "CLIENT KILL and CLIENT LIST filters": [
    ["CLIENT", "KILL"],
    ["CLIENT", "KILL", "1.2.3.4:5"],
    ["CLIENT", "KILL", "ID"],
    ["CLIENT", "KILL", "ID", "999999"],
    ["CLIENT", "KILL", "ID", "x"],
    ["CLIENT", "KILL", "ID", "0"],
    ["CLIENT", "KILL", "ADDR", "1.2.3.4:5"],
    ["CLIENT", "KILL", "LADDR", "1.2.3.4:5", "SKIPME", "no"],
    ["CLIENT", "KILL", "USER", "nobody"],
    ["CLIENT", "KILL", "USER", "default"],
    ["CLIENT", "KILL", "SKIPME", "maybe"],
    ["CLIENT", "KILL", "SKIPME", "yes"],
    ["CLIENT", "KILL", "FOO", "bar"],
    ["CLIENT", "KILL", "ID", "1", "ADDR"],
    ["CLIENT", "KILL", "TYPE", "master"],
    ["CLIENT", "KILL", "TYPE", "bogus"],
    ["CLIENT", "LIST", "TYPE", "bogus"],
    ["CLIENT", "LIST", "TYPE", "pubsub"],
    ["CLIENT", "LIST", "FOO"],
    ["CLIENT", "LIST", "ID", "x"],
    ["CLIENT", "LIST", "ID", "999999"],
  ],
  "COMMAND COUNT, INFO, DOCS and GETKEYS": [
    ["COMMAND", "COUNT"],
    ["COMMAND", "COUNT", "x"],
    ["COMMAND", "FOO"],
    ["COMMAND", "INFO", "get"],
    ["COMMAND", "INFO", "exec"],
    ["COMMAND", "INFO", "nope"],
    ["COMMAND", "INFO", "get", "nope"],
    ["COMMAND", "DOCS", "nope"],
    ["COMMAND", "GETKEYS", "get", "a"],
    ["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
    ["COMMAND", "GETKEYS", "del", "a", "b", "c"],
    ["COMMAND", "GETKEYS", "nope", "a"],
    ["COMMAND", "GETKEYS", "get"],
    ["COMMAND", "GETKEYS", "get", "a", "b"],
    ["COMMAND", "GETKEYS", "ping", "x"],
    ["COMMAND", "GETKEYS"],
    ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
    ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nope"],
    ["COMMAND", "LIST", "FILTERBY", "FOO", "x"],
    ["COMMAND", "LIST", "FILTERBY"],
    ["COMMAND", "LIST", "FOO"],
  ],
  "ECHO, PING and TIME": [
    ["ECHO", "hello"],
    ["ECHO", ""],
    ["ECHO", "\x00\xff\r\n"],
    ["ECHO"],
    ["ECHO", "a", "b"],
    ["PING"],
    ["PING", "hi"],
    ["TIME"],
    ["TIME", "x"],
  ],
  "SELECT: database 0 only, Redis's range errors": [
    ["SELECT", "0"],
    ["SELECT", "1"],
    ["SELECT", "-1"],
    ["SELECT", "x"],
    ["SELECT", "99999999999"],
    ["SELECT", "0", "1"],
  ],
  "RESET: back to RESP2, no name, out of MULTI, nothing watched": [
    ["HELLO", "3", "SETNAME", "before-reset"],
    ["SET", "reset:w", "1"],
    ["WATCH", "reset:w"],
    ["MULTI"],
    ["SET", "reset:a", "1"],
    ["RESET"],
    ["CLIENT", "GETNAME"],
    ["GET", "reset:a"],
    ["EXEC"],
    ["HELLO"],
    ["RESET", "x"],
    ["DEL", "reset:w"],
  ],
  "RESP3 nulls and maps: GET, MGET, CONFIG GET, an EXEC aborted by WATCH": [
    ["GET", "null:missing"],
    ["MGET", "null:missing", "null:other"],
    ["SET", "null:k", "1", "NX", "GET"],
    ["SET", "null:k", "2", "NX"],
    ["CONFIG", "GET", "maxmemory-policy"],
    ["CONFIG", "GET", "nothing-like-this"],
    ["WATCH", "null:k"],
    ["SET", "null:k", "3"],
    ["MULTI"],
    ["GET", "null:k"],
    ["EXEC"],
    ["DEL", "null:k"],
  ],
  "FUNCTION FLUSH and SCRIPT FLUSH change nothing": [
    ["FUNCTION", "FLUSH"],
    ["FUNCTION", "FLUSH", "ASYNC"],
    ["FUNCTION", "FLUSH", "SYNC"],
    ["FUNCTION", "FLUSH", "x"],
    ["FUNCTION", "FLUSH", "a", "b"],
    ["FUNCTION"],
    ["FUNCTION", "FOO"],
    ["SCRIPT", "FLUSH"],
    ["SCRIPT", "FLUSH", "SYNC"],
    ["SCRIPT", "FLUSH", "x"],
    ["SCRIPT", "FOO"],
  ],
  "inline commands with Redis's quoting": [
    "PING",
    "  ECHO \t spaced  ",
    'ECHO "a b"',
    'ECHO "tab\\there\\nline\\r\\x41\\x4a\\x4A\\\\ \\"q\\" \\a\\b\\z"',
    'ECHO "\\xZZ" "\\x4"',
    "ECHO 'single \\'quoted\\' \\n stays'",
    "ECHO ''",
    'ECHO ""',
    'ECHO foo"bar baz"',
    "ECHO a'b c'",
    'SET "inline key" "v\\x00\\xff"',
    'GET "inline key"',
    "DEL 'inline key'",
    "\r\nPING",
    "QUIT",
  ],
  "an unclosed double quote is a protocol error that closes the connection": ["PING", 'ECHO "unclosed', "PING"],
  "a closing quote followed by a letter is a protocol error": ['ECHO "closed"x', "PING"],
  "an unclosed single quote is a protocol error": ["ECHO 'unclosed", "PING"],
  "QUIT answers OK and closes": [["QUIT"], ["PING"]],
};

for (const version of [2, 3] as const) {
  describe(`Osprey answers as Redis 7.0 does, byte for byte, in RESP${version}`, () => {
    for (const [name, requests] of Object.entries(scenarios)) test(name, () => compare(requests, version));
  });
}
