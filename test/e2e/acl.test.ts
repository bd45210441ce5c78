// ACL SETUSER, DELUSER and CAT at run time, against a real server and side by side with
// redis-server 7.0.15: the rules Osprey takes behave as Redis's, the ones it refuses are named,
// connections of a changed user follow at once, connections of a deleted user are closed;
// acl_file with ACL SAVE and ACL LOAD.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { spawnServer, startServer, writeConfig, type RunningServer } from "../support/server.ts";
import { run, startRedis, type RedisServer } from "../resp/redis.ts";

let server: RunningServer;
let redis: RedisServer;

beforeAll(async () => {
  [server, redis] = await Promise.all([startServer({ auth_password: "secret", auth_failure_delay_ms: 0 }), startRedis()]);
  await cli(redis.port, [], ["CONFIG SET requirepass secret"]);
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

const admin = ["-a", "secret"];
const resp = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

/** A RESP connection authenticated as `user`. */
async function signedIn(user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  await c.send(resp("AUTH", user, password));
  expect(await c.line()).toBe("+OK");
  return c;
}

describe("ACL SETUSER and DELUSER, side by side with Redis", () => {
  test("users made at run time authenticate and are held to their keys and permissions as in Redis", async () => {
    const lines = [
      "ACL SETUSER bob on >bob-pass ~bob:* +@read +@write",
      "ACL SETUSER carol on >carol-pass allkeys +@read",
      "ACL SETUSER nopw on nopass ~* +@all",
      "AUTH bob bob-pass",
      "SET bob:1 x",
      "GET bob:1",
      "SET other 1",
      "AUTH carol carol-pass",
      "GET bob:1",
      "SET bob:1 y",
      "AUTH carol wrong",
      "AUTH nopw anything",
      "ACL WHOAMI",
      "AUTH default secret",
      "ACL USERS",
      "ACL DELUSER carol nobody",
      "ACL USERS",
    ];
    expect(await cli(server.port, admin, lines)).toBe(await cli(redis.port, admin, lines));
  });

  test("refused rules and arguments get Redis's errors", async () => {
    const lines = [
      "ACL SETUSER x ~foo allkeys ~bar",
      "ACL SETUSER x <nope",
      "ACL SETUSER x #abc",
      "ACL SETUSER x bogus",
      "ACL SETUSER x +@foo",
      "ACL SETUSER",
      "ACL DELUSER",
      "ACL DELUSER default",
      "ACL CAT a b",
      "ACL CAT nosuch",
      "ACL WHOAMI x",
      "ACL FOO",
      'ACL SETUSER "a b" on',
    ];
    expect(await cli(server.port, admin, lines)).toBe(await cli(redis.port, admin, lines));
  });

  test("rules Osprey's users cannot express are refused, naming the rule, and change nothing", async () => {
    const out = await cli(server.port, admin, ["ACL SETUSER dan on >dan-pass +get", "ACL SETUSER dan on >dan-pass +@string", "ACL SETUSER dan &chan:*", "ACL USERS"]);
    expect(out).toBe(
      [
        "(error) ERR Error in ACL SETUSER modifier '+get': Osprey's users have the read, write and admin permissions only (+@read, +@write, +@admin, +@all, -@all and their - forms)",
        "(error) ERR Error in ACL SETUSER modifier '+@string': Osprey's users have the read, write and admin permissions only (+@read, +@write, +@admin, +@all, -@all and their - forms)",
        "(error) ERR Error in ACL SETUSER modifier '&chan:*': Osprey has no channel or read/write key selectors: use ~pattern and the read, write and admin permissions",
        '1) "bob"\n2) "default"\n3) "nopw"\n',
      ].join("\n"),
    );
  });

  test("ACL LIST shows run-time users in Redis's form without their digests; ACL CAT lists Osprey's permissions", async () => {
    const out = await cli(server.port, admin, ["ACL SETUSER eve on >eve-pass ~eve:* ~shared:* +@all -@admin", "ACL LIST", "ACL CAT"]);
    expect(out).toContain('"user eve on ~eve:* ~shared:* resetchannels -@all +@read +@write"');
    expect(out).toContain('"user default on ~* resetchannels +@all"');
    expect(out).not.toContain("#");
    expect(out).toEndWith('1) "read"\n2) "write"\n3) "admin"\n');
    const cat = await cli(server.port, admin, ["ACL CAT admin"]);
    expect(cat).toContain('"config"');
    expect(cat).not.toContain('"get"');
  });

  test("SETUSER and DELUSER are for admins", async () => {
    await cli(server.port, admin, ["ACL SETUSER reader on >r ~* +@read"]);
    expect(await cli(server.port, ["--user", "reader", "--pass", "r"], ["ACL SETUSER x on", "ACL DELUSER reader", "ACL CAT", "ACL WHOAMI"])).toBe(
      "(error) NOPERM this user has no permissions to run the 'acl|setuser' command\n(error) NOPERM this user has no permissions to run the 'acl|deluser' command\n" +
        '1) "read"\n2) "write"\n3) "admin"\n"reader"\n',
    );
  });
});

describe("connections of a changed or deleted user", () => {
  test("a changed user's connections follow its new permissions at once; turning it off keeps them in, as in Redis", async () => {
    await cli(server.port, admin, ["ACL SETUSER frank on >f ~* +@all"]);
    const c = await signedIn("frank", "f");
    await c.send(resp("SET", "frank:k", "1"));
    expect(await c.line()).toBe("+OK");
    await cli(server.port, admin, ["ACL SETUSER frank off"]);
    // CLIENT LIST and CLIENT KILL USER know the connection's user.
    expect(await cli(server.port, admin, ["CLIENT LIST"])).toMatch(/ user=frank /);
    await c.send(resp("GET", "frank:k"));
    expect([await c.line(), await c.line()]).toEqual(["$1", "1"]);
    await cli(server.port, admin, ["ACL SETUSER frank on -@write"]);
    await c.send(resp("SET", "frank:k", "2"));
    expect(await c.line()).toBe("-NOPERM this user has no permissions to run the 'set' command");
    // Off again: a new connection of frank is refused, the one already in goes on.
    await cli(server.port, admin, ["ACL SETUSER frank off"]);
    expect(await cli(server.port, ["--user", "frank", "--pass", "f"], ["PING"])).toContain("WRONGPASS");
    await c.send(resp("GET", "frank:k"));
    expect([await c.line(), await c.line()]).toEqual(["$1", "1"]);
    c.close();
  });

  test("ACL DELUSER closes the connections of the deleted user, its own one after the reply", async () => {
    await cli(server.port, admin, ["ACL SETUSER gina on >g ~* +@all"]);
    const other = await signedIn("gina", "g");
    const self = await signedIn("gina", "g");
    await self.send(resp("ACL", "DELUSER", "gina"));
    expect(await self.line()).toBe(":1");
    await Promise.all([self.waitClosed(), other.waitClosed()]);
    expect(await cli(server.port, ["--user", "gina", "--pass", "g"], ["PING"])).toContain("WRONGPASS");
  });

  test("a password given to the default user at run time is asked of new connections; connected ones stay in", async () => {
    const s = await startServer();
    try {
      const before = await RawClient.connect(s.port);
      expect(await before.request("PING\r\n")).toBe("PONG");
      expect(await cli(s.port, [], ["ACL SETUSER default >now-needed", "PING"])).toBe("OK\nPONG\n");
      expect(await before.request("PING\r\n")).toBe("PONG");
      const after = await RawClient.connect(s.port);
      expect(await after.request("PING\r\n")).toBe("ERR NOAUTH authentication required");
      expect(await after.request("AUTH now-needed\r\n")).toBe("OK");
      before.close();
      after.close();
    } finally {
      await s.stop();
    }
  });
});

describe("acl_file", () => {
  test("ACL SAVE writes the users atomically in Redis's file format; a restart and ACL LOAD read them back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-aclfile-"));
    const file = join(dir, "users.acl");
    try {
      let s = await startServer({ auth_password: "secret", acl_file: file }, { dataDir: dir });
      expect(await cli(s.port, admin, ["ACL SETUSER bob on >bob-pass ~bob:* +@read", "ACL SAVE"])).toBe("OK\nOK\n");
      const saved = readFileSync(file, "utf8");
      expect(saved).toContain(`user bob on #${createHash("sha256").update("bob-pass").digest("hex")} ~bob:* resetchannels -@all +@read\n`);
      expect(saved).toContain("user default on #");
      expect(saved).not.toContain("bob-pass");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(await s.signal("SIGTERM")).toBe(0);

      s = await startServer({ auth_password: "secret", acl_file: file }, { dataDir: dir });
      try {
        await s.waitForLog("2 user(s) loaded from acl_file");
        expect(await cli(s.port, ["--user", "bob", "--pass", "bob-pass"], ["GET bob:1", "SET bob:1 x"])).toBe(
          "(nil)\n(error) NOPERM this user has no permissions to run the 'set' command\n",
        );
        // Edited by hand: ACL LOAD takes it whole, or not at all.
        writeFileSync(file, `${saved}user carol on >carol-pass ~* +@all\n`);
        expect(await cli(s.port, ["--user", "carol", "--pass", "carol-pass"], ["PING"])).toContain("WRONGPASS"); // not loaded yet
        const bob = await RawClient.connect(s.port);
        await bob.send(resp("AUTH", "bob", "bob-pass"));
        expect(await bob.line()).toBe("+OK");
        writeFileSync(file, "user carol on >carol-pass ~* +@all\nuser dan on bogus\n");
        expect(await cli(s.port, admin, ["ACL LOAD", "ACL USERS"])).toBe(
          "(error) ERR Error loading ACLs, acl_file line 2: Error in ACL SETUSER modifier 'bogus': Syntax error\n" + '1) "bob"\n2) "default"\n',
        );
        writeFileSync(file, "user carol on >carol-pass ~* +@all\n");
        expect(await cli(s.port, admin, ["ACL LOAD", "ACL USERS"])).toBe('OK\n1) "carol"\n2) "default"\n');
        await bob.waitClosed(); // bob is gone from the file: his connection is closed
        expect(await cli(s.port, ["--user", "carol", "--pass", "carol-pass"], ["ACL WHOAMI"])).toBe('"carol"\n');
      } finally {
        await s.signal("SIGTERM");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("without acl_file ACL SAVE and LOAD answer Redis's error", async () => {
    const lines = ["ACL SAVE", "ACL LOAD"];
    expect(await cli(server.port, admin, lines)).toBe(await cli(redis.port, admin, lines));
  });

  test("an acl_file that does not load stops the start-up, naming the line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-aclfile-"));
    try {
      writeFileSync(join(dir, "users.acl"), "user ok on >p ~* +@all\nuser bad on +get\n");
      const configPath = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: dir, acl_file: join(dir, "users.acl") });
      const { code, stderr } = await spawnServer(["--config", configPath]).exited(20_000);
      expect(code).toBe(1);
      expect(stderr).toContain("acl_file line 2: Error in ACL SETUSER modifier '+get'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
