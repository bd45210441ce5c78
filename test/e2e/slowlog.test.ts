// SLOWLOG against a real Osprey: entries come from the dispatcher's timing (slowlog_threshold_ms 0
// logs every request), newest first, bounded by slowlog-max-len; they hold the request as Redis's
// do (arguments cut at 32 and at 128 bytes, passwords redacted, the client's address and name),
// and a reader who may not read an entry's keys sees its arguments elided.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import Redis from "ioredis";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";

let server: RunningServer;
let c: RawClient;

async function call(...args: string[]): Promise<string> {
  await c.send(resp(...args));
  return readReply(c);
}

beforeAll(async () => {
  server = await startServer({
    slowlog_threshold_ms: 0,
    users: [
      { name: "ops", password_sha256: sha256("ops-pass"), permissions: ["read", "write", "admin"] },
      { name: "scoped", password_sha256: sha256("scoped-pass"), permissions: ["read", "write", "admin"], keys: "app:*" },
    ],
  });
  c = await RawClient.connect(server.port);
  await call("AUTH", "ops", "ops-pass");
});

const sha256 = (pw: string) => createHash("sha256").update(pw).digest("hex");

/** An ioredis client signed in as `user`, for replies read as values. */
function client(user: string): Redis {
  return new Redis({ host: "127.0.0.1", port: server.port, username: user, password: `${user}-pass`, lazyConnect: true, maxRetriesPerRequest: 0 });
}

type Entry = [number, number, number, string[], string, string];

afterAll(async () => {
  c?.close();
  await server?.stop();
});

describe("SLOWLOG", () => {
  test("GET answers Redis's six-field entries, newest first: the request's arguments, the client's address and name", async () => {
    await call("CLIENT", "SETNAME", "slow-client");
    await call("SLOWLOG", "RESET");
    await call("SET", "slow:k", "a-value");
    await call("GET", "slow:k");
    const reply = await call("SLOWLOG", "GET", "2");
    const m = /^\*2\r\n\*6\r\n:(\d+)\r\n:(\d+)\r\n:(\d+)\r\n\*2\r\n\$3\r\nGET\r\n\$6\r\nslow:k\r\n\$\d+\r\n127\.0\.0\.1:(\d+)\r\n\$11\r\nslow-client\r\n\*6\r\n:(\d+)\r\n:\d+\r\n:\d+\r\n\*3\r\n\$3\r\nSET\r\n\$6\r\nslow:k\r\n\$7\r\na-value\r\n/.exec(reply);
    expect(m, reply).not.toBeNull();
    expect(Number(m![1])).toBe(Number(m![5]) + 1);
    expect(Math.abs(Number(m![2]) - Date.now() / 1000)).toBeLessThan(60);
    expect(Number(m![4])).toBe(c.localPort);
    await call("CLIENT", "SETNAME", "");
  });

  test("arguments are cut as Redis cuts them: 31 and a count past 32 arguments, 128 bytes and a count past 128 bytes", async () => {
    const r = client("ops");
    try {
      await r.call("SLOWLOG", "RESET");
      const many = Array.from({ length: 32 }, (_, i) => [`m:${i}`, String(i)]).flat();
      await r.call("MSET", ...many);
      await r.call("SET", "long:k", "A".repeat(129));
      const [setEntry, msetEntry] = (await r.call("SLOWLOG", "GET", "2")) as Entry[];
      expect(msetEntry![3]).toEqual(["MSET", ...many.slice(0, 30), "... (34 more arguments)"]);
      expect(setEntry![3]).toEqual(["SET", "long:k", `${"A".repeat(128)}... (1 more bytes)`]);
    } finally {
      r.disconnect();
    }
  });

  test("passwords are redacted as Redis redacts them: AUTH, HELLO's AUTH, ACL SETUSER", async () => {
    const r = client("ops");
    try {
      await r.call("SLOWLOG", "RESET");
      await r.call("AUTH", "ops", "ops-pass");
      await r.call("HELLO", "2", "AUTH", "ops", "ops-pass", "SETNAME", "named");
      await r.call("ACL", "SETUSER", "slow-user", "on", ">a-password", "+@read").catch(() => {});
      const entries = ((await r.call("SLOWLOG", "GET", "3")) as Entry[]).map((e) => e[3]);
      expect(entries).toEqual([
        ["ACL", "SETUSER", "(redacted)", "(redacted)", "(redacted)", "(redacted)"],
        ["HELLO", "2", "AUTH", "(redacted)", "(redacted)", "SETNAME", "named"],
        ["AUTH", "(redacted)", "(redacted)"],
      ]);
      await r.call("ACL", "DELUSER", "slow-user").catch(() => {});
    } finally {
      r.disconnect();
    }
  });

  test("an EXEC is not logged itself; the requests it ran are", async () => {
    await call("CONFIG", "SET", "slowlog-log-slower-than", "100000");
    await call("SLOWLOG", "RESET");
    await call("MULTI");
    await call("DEBUG", "SLEEP", "0.15");
    expect(await call("EXEC")).toBe("*1\r\n+OK\r\n");
    expect(await call("SLOWLOG", "LEN")).toBe(":1\r\n");
    expect(await call("SLOWLOG", "GET")).toMatch(/^\*1\r\n\*6\r\n:\d+\r\n:\d+\r\n:\d+\r\n\*3\r\n\$5\r\nDEBUG\r\n\$5\r\nSLEEP\r\n\$4\r\n0\.15\r\n/);
    await call("CONFIG", "SET", "slowlog-log-slower-than", "0");
  });

  test("a reader whose key patterns do not cover an entry's keys sees its arguments elided; its own keys' entries in full", async () => {
    const r = client("scoped");
    try {
      await r.connect();
      await r.ping(); // the client's own handshake is logged before the RESET
      await call("SLOWLOG", "RESET");
      await call("SET", "other:k", "hidden-value");
      await call("SET", "app:k", "shown-value");
      const entries = ((await r.call("SLOWLOG", "GET", "3")) as Entry[]).map((e) => e[3]);
      expect(entries).toEqual([
        ["SET", "app:k", "shown-value"],
        ["SET", "(elided)", "(elided)"],
        ["SLOWLOG", "RESET"],
      ]);
    } finally {
      r.disconnect();
    }
  });

  test("LEN counts entries, RESET empties the log (the RESET itself is logged after it ran), slowlog-max-len bounds it", async () => {
    expect(await call("SLOWLOG", "RESET")).toBe("+OK\r\n");
    expect(await call("SLOWLOG", "LEN")).toBe(":1\r\n");
    expect(await call("CONFIG", "SET", "slowlog-max-len", "3")).toBe("+OK\r\n");
    for (let i = 0; i < 10; i++) await call("PING");
    expect(await call("SLOWLOG", "LEN")).toBe(":3\r\n");
    expect(await call("CONFIG", "GET", "slowlog-max-len")).toBe("*2\r\n$15\r\nslowlog-max-len\r\n$1\r\n3\r\n");
    expect(await call("SLOWLOG", "GET", "-1")).toStartWith("*3\r\n");
    expect(await call("SLOWLOG", "GET", "-2")).toBe("-ERR count should be greater than or equal to -1\r\n");
    expect(await call("SLOWLOG", "LEN", "x")).toBe("-ERR wrong number of arguments for 'slowlog|len' command\r\n");
    expect(await call("SLOWLOG", "NOPE")).toBe("-ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.\r\n");
    expect(await call("CONFIG", "SET", "slowlog-max-len", "-1")).toBe("-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 100000 inclusive\r\n");
  });

  test("CONFIG SET slowlog-log-slower-than -1 turns the slowlog off, as in Redis", async () => {
    expect(await call("CONFIG", "SET", "slowlog-log-slower-than", "-1")).toBe("+OK\r\n");
    expect(await call("CONFIG", "GET", "slowlog-log-slower-than")).toBe("*2\r\n$23\r\nslowlog-log-slower-than\r\n$2\r\n-1\r\n");
    await call("SLOWLOG", "RESET");
    await call("DEBUG", "SLEEP", "0.01");
    expect(await call("SLOWLOG", "LEN")).toBe(":0\r\n");
    expect(await call("CONFIG", "SET", "slowlog-log-slower-than", "-2")).toBe("-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 2147483647000 inclusive\r\n");
    await call("CONFIG", "SET", "slowlog-log-slower-than", "0");
  });

  test("CONFIG SET slowlog-log-slower-than raises the threshold at once: fast commands are no longer logged", async () => {
    expect(await call("CONFIG", "SET", "slowlog-log-slower-than", "10000000")).toBe("+OK\r\n");
    expect(await call("CONFIG", "GET", "slowlog-log-slower-than")).toBe("*2\r\n$23\r\nslowlog-log-slower-than\r\n$8\r\n10000000\r\n");
    await call("SLOWLOG", "RESET");
    for (let i = 0; i < 10; i++) await call("PING");
    expect(await call("SLOWLOG", "LEN")).toBe(":0\r\n");
  });
});
