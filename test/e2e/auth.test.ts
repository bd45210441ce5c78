// Authentication and permissions against a real server, on both protocols: auth_password and
// [[users]] (SHA-256 and Bun.password hashes), NOAUTH / WRONGPASS / NOPERM in each protocol's
// words, read-only and key-pattern users, MULTI checked at queue time, RESET, ACL, redis-cli
// -a / --user --pass, ioredis with a password, Redis's own error texts side by side, protected mode.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { createClient } from "redis";
import { RedisClient } from "bun";
import { RawClient } from "../support/client.ts";
import { spawnServer, startServer, writeConfig, type RunningServer } from "../support/server.ts";
import { run, startRedis, type RedisServer } from "../resp/redis.ts";
import { AuthenticationError, connect, PermissionError } from "../../src/client/index.ts";
import { cli as ospreyCli } from "../cli/run.ts";

const sha256 = (pw: string) => createHash("sha256").update(pw).digest("hex");

let server: RunningServer;
let redis: RedisServer;

beforeAll(async () => {
  const hash = await Bun.password.hash("app-pass");
  [server, redis] = await Promise.all([
    startServer({
      auth_password: "secret",
      users: [
        { name: "reader", password_sha256: sha256("reader-pass"), permissions: ["read"] },
        { name: "app", password_hash: hash, permissions: ["read", "write"], keys: "app:*" },
        { name: "ops", password_sha256: sha256("ops-pass"), permissions: ["read", "write", "admin"] },
        { name: "gone", password_sha256: sha256("gone-pass"), permissions: ["read"], enabled: false },
      ],
    }),
    startRedis(),
  ]);
  // The same users in Redis, for the side-by-side error texts.
  await cli(redis.port, [], [
    "ACL SETUSER reader on >reader-pass ~* +@read",
    "ACL SETUSER app on >app-pass ~app:* +@read +@write",
    "ACL SETUSER gone off >gone-pass ~* +@read",
    "CONFIG SET requirepass secret",
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), redis?.stop()]);
});

/** Runs lines through one redis-cli with `auth` flags; returns what it printed. */
async function cli(port: number, auth: string[], lines: string[]): Promise<string> {
  const { stdout, stderr } = await run(["redis-cli", "--no-raw", "--no-auth-warning", "-h", "127.0.0.1", "-p", String(port), ...auth], `${lines.join("\n")}\n`);
  // redis-cli adds "(0.76s)" after a reply that took over half a second (a hash check under load): not a reply.
  return (stdout + stderr).replace(/^\(\d+\.\d+s\)\n/gm, "");
}

/** A text-protocol connection that has sent `AUTH …` (when given) and checked its OK. */
async function textClient(auth?: string): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  if (auth !== undefined) expect(await c.request(`AUTH ${auth}\r\n`)).toBe("OK");
  return c;
}

describe("text protocol", () => {
  test("before AUTH every command but AUTH and QUIT answers ERR NOAUTH authentication required", async () => {
    const c = await textClient();
    expect(await c.request("GET k\r\n")).toBe("ERR NOAUTH authentication required");
    expect(await c.request("PING\r\n")).toBe("ERR NOAUTH authentication required");
    expect(await c.request("STATS\r\n")).toBe("ERR NOAUTH authentication required");
    // SET's payload is read and dropped with the refusal: the connection stays in step.
    expect(await c.request("SET k 1\r\nv\r\n")).toBe("ERR NOAUTH authentication required");
    expect(await c.request("AUTH secret\r\n")).toBe("OK");
    expect(await c.request("PING\r\n")).toBe("PONG");
    expect(await c.request("QUIT\r\n")).toBe("OK");
    await c.waitClosed();
  });

  test("a wrong password, an unknown user and a disabled user get the same answer", async () => {
    const c = await textClient();
    expect(await c.request("AUTH wrong\r\n")).toBe("ERR NOAUTH invalid username or password");
    expect(await c.request("AUTH nobody secret\r\n")).toBe("ERR NOAUTH invalid username or password");
    expect(await c.request("AUTH gone gone-pass\r\n")).toBe("ERR NOAUTH invalid username or password");
    expect(await c.request("AUTH reader wrong\r\n")).toBe("ERR NOAUTH invalid username or password");
    expect(await c.request("GET k\r\n")).toBe("ERR NOAUTH authentication required");
    c.close();
  });

  test("while a user has a hash, every refused AUTH takes about as long as its wrong password, so names cannot be told apart by time", async () => {
    const time = async (line: string): Promise<number> => {
      const c = await textClient();
      const started = performance.now();
      expect(await c.request(line)).toBe("ERR NOAUTH invalid username or password");
      const ms = performance.now() - started;
      c.close();
      return ms;
    };
    const hashed = await time("AUTH app wrong\r\n");
    // An unknown name, a SHA-256 user's wrong password and a disabled user: each refusal costs a hash check too.
    for (const line of ["AUTH nobody wrong\r\n", "AUTH reader wrong\r\n", "AUTH gone gone-pass\r\n"]) expect(await time(line)).toBeGreaterThan(hashed / 4);
  });

  test("AUTH <password> authenticates the default user, AUTH <user> <password> a named one", async () => {
    const a = await textClient("secret");
    expect(await a.request("SET text:k 2\r\nv1\r\n")).toBe("OK 1");
    const b = await textClient("default secret");
    expect(await b.request("GET text:k\r\n")).toBe("VALUE 2 1 -1\r\nv1\r\n");
    a.close();
    b.close();
  });

  test("a read-only user reads but cannot SET, DEL or run STATS and SNAPSHOT (ERR NOPERM)", async () => {
    const w = await textClient("secret");
    expect(await w.request("SET ro:k 1\r\nx\r\n")).toBe("OK 1");
    const c = await textClient("reader reader-pass");
    expect(await c.request("GET ro:k\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n");
    expect(await c.request("SET ro:k 1\r\ny\r\n")).toBe("ERR NOPERM no permission to run 'SET'");
    expect(await c.request("DEL ro:k\r\n")).toBe("ERR NOPERM no permission to run 'DEL'");
    expect(await c.request("STATS\r\n")).toBe("ERR NOPERM no permission to run 'STATS'");
    expect(await c.request("SNAPSHOT\r\n")).toBe("ERR NOPERM no permission to run 'SNAPSHOT'");
    expect(await w.request("GET ro:k\r\n")).toBe("VALUE 1 1 -1\r\nx\r\n");
    w.close();
    c.close();
  });

  test("a key-pattern user (hashed password) reaches only its keys and not SCAN", async () => {
    const c = await textClient("app app-pass");
    expect(await c.request("SET app:1 1\r\na\r\n")).toBe("OK 1");
    expect(await c.request("GET app:1\r\n")).toBe("VALUE 1 1 -1\r\na\r\n");
    expect(await c.request("GET other\r\n")).toBe("ERR NOPERM no permission to access a key named in the request");
    expect(await c.request("MGET app:1 other\r\n")).toBe("ERR NOPERM no permission to access a key named in the request");
    expect(await c.request("SCAN 0\r\n")).toBe("ERR NOPERM no permission to run a command that reaches keys outside the user's pattern");
    expect(await c.request("STATS\r\n")).toBe("ERR NOPERM no permission to run 'STATS'");
    c.close();
  });

  test("an admin user runs STATS", async () => {
    const c = await textClient("ops ops-pass");
    const stats = await c.stats();
    expect(Number(stats.connections_total)).toBeGreaterThan(0);
    c.close();
  });
});

describe("client library and osprey-cli", () => {
  test("the client sends AUTH first and maps NOAUTH and NOPERM to their error classes", async () => {
    const reader = await connect({ port: server.port, user: "reader", password: "reader-pass" });
    try {
      expect(await reader.ping()).toBe("PONG");
      await expect(reader.set("lib:k", "v")).rejects.toBeInstanceOf(PermissionError);
    } finally {
      await reader.close();
    }
    await expect(connect({ port: server.port, password: "wrong", reconnect: false })).rejects.toBeInstanceOf(AuthenticationError);
    const anonymous = await connect({ port: server.port, reconnect: false });
    try {
      await expect(anonymous.get("lib:k")).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      await anonymous.close();
    }
  });

  test("osprey-cli authenticates with --user/--password or OSPREY_PASSWORD", async () => {
    const port = String(server.port);
    expect((await ospreyCli(["--port", port, "--user", "ops", "--password", "ops-pass", "set", "cli:k", "v"])).code).toBe(0);
    const got = await ospreyCli(["--port", port, "get", "cli:k"], { env: { OSPREY_PASSWORD: "secret" } });
    expect([got.code, got.stdout]).toEqual([0, "v"]);
    const refused = await ospreyCli(["--port", port, "get", "cli:k"]);
    expect([refused.code, refused.stderr]).toEqual([1, "ERR NOAUTH authentication required\n"]);
  });
});

describe("RESP", () => {
  test("redis-cli -a and --user --pass authenticate; without them NOAUTH", async () => {
    expect(await cli(server.port, [], ["GET k"])).toBe("(error) NOAUTH Authentication required.\n");
    expect(await cli(server.port, ["-a", "secret"], ["SET k v", "GET k"])).toBe('OK\n"v"\n');
    expect(await cli(server.port, ["--user", "reader", "--pass", "reader-pass"], ["GET k", "ACL WHOAMI"])).toBe('"v"\n"reader"\n');
  });

  test("HELLO AUTH authenticates and switches protocol; HELLO without it before AUTH is refused", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    expect(await c.line()).toStartWith("-NOAUTH HELLO must be called with the client already authenticated");
    await c.send("*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$6\r\nreader\r\n$5\r\nwrong\r\n");
    expect(await c.line()).toBe("-WRONGPASS invalid username-password pair or user is disabled.");
    await c.send("*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$6\r\nreader\r\n$11\r\nreader-pass\r\n");
    expect(await c.line()).toBe("%7");
    c.close();
  });

  test("an argon2 AUTH is checked off the event loop: the connection's later requests wait for its reply, other clients are answered meanwhile", async () => {
    const resp = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
    const other = await textClient("secret");
    const c = await RawClient.connect(server.port);
    const started = performance.now();
    // Pipelined in one write: each AUTH takes an argon2 check (~240 ms of CPU); SET and GET must run after the AUTH that lets them.
    await c.send(resp("AUTH", "app", "wrong-1") + resp("AUTH", "app", "wrong-2") + resp("AUTH", "app", "app-pass") + resp("SET", "app:async", "v") + resp("GET", "app:async") + resp("HELLO", "3", "AUTH", "app", "wrong-3"));
    let done = false;
    const replies = (async () => {
      const lines: string[] = [];
      for (let i = 0; i < 7; i++) lines.push(await c.line());
      done = true;
      return lines;
    })();
    let pings = 0;
    let slowestMs = 0;
    while (!done) {
      const t = performance.now();
      expect(await other.request("PING\r\n")).toBe("PONG");
      slowestMs = Math.max(slowestMs, performance.now() - t);
      pings++;
    }
    const wrong = "-WRONGPASS invalid username-password pair or user is disabled.";
    expect(await replies).toEqual([wrong, wrong, "+OK", "+OK", "$1", "v", wrong]);
    const authMs = performance.now() - started;
    // Checked on the event loop, the first PING would wait for the whole pipelined batch (three or four checks).
    expect(pings).toBeGreaterThan(2);
    expect(slowestMs).toBeLessThan(authMs / 4);
    c.close();
    other.close();
  });

  test("MONITOR shows AUTH and HELLO AUTH with their secrets redacted, as Redis does", async () => {
    const resp = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
    const monitor = await RawClient.connect(server.port);
    await monitor.send(resp("AUTH", "secret") + resp("MONITOR"));
    expect([await monitor.line(), await monitor.line()]).toEqual(["+OK", "+OK"]);
    const c = await RawClient.connect(server.port);
    await c.send(resp("AUTH", "reader", "reader-pass"));
    expect(await c.line()).toBe("+OK");
    await c.send(resp("HELLO", "2", "SETNAME", "AUTH", "AUTH", "reader", "reader-pass"));
    await c.line();
    await c.send(resp("PING"));
    const lines: string[] = [];
    while (!lines.some((l) => l.includes('"PING"'))) lines.push(await monitor.line());
    expect(lines.find((l) => l.includes('"AUTH"'))).toMatch(/\] "AUTH" "\(redacted\)" "\(redacted\)"$/);
    expect(lines.find((l) => l.includes('"HELLO"'))).toMatch(/\] "HELLO" "2" "SETNAME" "AUTH" "AUTH" "\(redacted\)" "\(redacted\)"$/);
    expect(lines.join("\n")).not.toContain("reader-pass");
    c.close();
    monitor.close();
  });

  test("a read-only user's MULTI with a write is refused when queued and EXEC aborts", async () => {
    const out = await cli(server.port, ["--user", "reader", "--pass", "reader-pass"], ["MULTI", "GET k", "SET k x", "EXEC", "GET k"]);
    expect(out).toBe(
      'OK\nQUEUED\n(error) NOPERM this user has no permissions to run the \'set\' command\n(error) EXECABORT Transaction discarded because of previous errors.\n"v"\n',
    );
  });

  test("RESET takes the connection back to not authenticated", async () => {
    expect(await cli(server.port, ["-a", "secret"], ["PING", "RESET", "PING"])).toBe("PONG\nRESET\n(error) NOAUTH Authentication required.\n");
  });

  test("ACL LIST and USERS are for admins; ACL WHOAMI for everyone", async () => {
    const ops = await cli(server.port, ["--user", "ops", "--pass", "ops-pass"], ["ACL USERS", "ACL WHOAMI"]);
    expect(ops).toBe('1) "app"\n2) "default"\n3) "gone"\n4) "ops"\n5) "reader"\n"ops"\n');
    const list = await cli(server.port, ["--user", "ops", "--pass", "ops-pass"], ["ACL LIST"]);
    expect(list).toContain('"user app on ~app:* resetchannels -@all +@read +@write"');
    expect(list).not.toContain("pass"); // no password or digest is ever shown
    expect(await cli(server.port, ["--user", "reader", "--pass", "reader-pass"], ["ACL LIST"])).toBe(
      "(error) NOPERM this user has no permissions to run the 'acl|list' command\n",
    );
  });

  test("ioredis with a password and a user connects and is held to its permissions", async () => {
    const admin = new Redis({ host: "127.0.0.1", port: server.port, password: "secret", maxRetriesPerRequest: 0, retryStrategy: () => null });
    const reader = new Redis({ host: "127.0.0.1", port: server.port, username: "reader", password: "reader-pass", enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      expect(await admin.set("io:k", "1")).toBe("OK");
      expect(await reader.get("io:k")).toBe("1");
      await expect(reader.set("io:k", "2")).rejects.toThrow("NOPERM this user has no permissions to run the 'set' command");
      await expect(reader.flushall()).rejects.toThrow("NOPERM");
      expect(await admin.get("io:k")).toBe("1");
    } finally {
      admin.disconnect();
      reader.disconnect();
    }
  });

  test("node-redis and Bun's RedisClient with a user and password in the URL authenticate (HELLO 3 AUTH) and are held to their permissions", async () => {
    const url = `redis://reader:reader-pass@127.0.0.1:${server.port}`;
    const nodeRedis = createClient({ url, socket: { reconnectStrategy: false } });
    nodeRedis.on("error", () => {});
    await nodeRedis.connect();
    const bun = new RedisClient(url, { autoReconnect: false, maxRetries: 0, connectionTimeout: 10_000 });
    await bun.connect();
    try {
      expect(String(await nodeRedis.sendCommand(["ACL", "WHOAMI"]))).toBe("reader");
      expect(await bun.send("ACL", ["WHOAMI"])).toBe("reader");
      await expect(nodeRedis.set("url:k", "1")).rejects.toThrow("NOPERM");
      await expect(bun.set("url:k", "1")).rejects.toThrow("NOPERM");
      expect(await bun.get("url:missing")).toBeNull();
    } finally {
      nodeRedis.destroy();
      bun.close();
    }
    const wrong = new RedisClient(`redis://reader:wrong@127.0.0.1:${server.port}`, { autoReconnect: false, maxRetries: 0, connectionTimeout: 10_000 });
    await expect(wrong.connect()).rejects.toThrow();
    wrong.close();
  });

  test("the error texts are Redis's, side by side with redis-server", async () => {
    const cases: [string[], string[]][] = [
      [[], ["GET k", "PING", "AUTH wrong", "AUTH nobody x", "AUTH gone gone-pass", "AUTH a b c", "GET"]],
      [["--user", "reader", "--pass", "reader-pass"], ["SET k 1", "DEL k", "FLUSHALL", "INCR k"]],
      [["--user", "app", "--pass", "app-pass"], ["GET other", "MGET app:1 other", "SET app:1 x", "GET app:1", "SET other 1"]],
    ];
    for (const [auth, lines] of cases) {
      expect(await cli(server.port, auth, lines)).toBe(await cli(redis.port, auth, lines));
    }
  });
});

describe("protected mode", () => {
  test("no password and a listen_addr beyond loopback refuses to start, saying how to fix it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-protected-"));
    try {
      const configPath = writeConfig(dir, { listen_addr: "0.0.0.0:0", data_dir: dir });
      const { code, stderr } = await spawnServer(["--config", configPath]).exited(20000);
      expect(code).toBe(1);
      expect(stderr).toContain("protected mode: listen_addr is 0.0.0.0");
      expect(stderr).toContain("protected_mode = false");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a password, or protected_mode = false, lets it listen beyond loopback", async () => {
    for (const extra of [{ auth_password: "pw" }, { protected_mode: false }]) {
      const s = await startServer({ listen_addr: "0.0.0.0:0", ...extra });
      try {
        const c = await RawClient.connect(s.port);
        expect(await c.request("AUTH pw\r\n")).toBe("auth_password" in extra ? "OK" : "ERR BADREQ AUTH called but no password is configured");
        c.close();
      } finally {
        await s.stop();
      }
    }
  });
});
