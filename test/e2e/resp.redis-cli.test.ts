// redis-cli against a real Osprey and a real redis-server, side by side: for every RESP command
// Osprey speaks, what redis-cli prints must be what it prints for Redis 7 (differences are listed).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { redisCli, startRedis, type RedisServer } from "../resp/redis.ts";

let osprey: RunningServer;
let redis: RedisServer;

beforeAll(async () => {
  [osprey, redis] = await Promise.all([startServer(), startRedis()]);
});

afterAll(async () => {
  await Promise.all([osprey?.stop(), redis?.stop()]);
});

/** Each scenario runs on an emptied keyspace, through one redis-cli per server. */
const scenarios: Record<string, string[]> = {
  "PING and ECHO": ["PING", "PING hello", "PING a b", "ECHO 'hi there'", "ECHO"],
  "GET and SET": ["GET nokey", "SET k v", "GET k", "SET k 'with spaces\\r\\n'", "GET k", "SET k", "GET k extra"],
  "SET NX, XX and GET": ["SET k 1 XX", "SET k 1 NX", "SET k 2 NX", "SET k 3 XX", "GET k", "SET k 4 GET", "SET n 1 GET", "SET k 5 NX GET", "GET k"],
  "SET expiry options": [
    "SET k 1 EX 100",
    "TTL k",
    "SET k 1 PX 100000",
    "TTL k",
    "SET k 1 EXAT 4102444800",
    "PEXPIRE k 100000",
    "TTL k",
    "SET k 2 KEEPTTL",
    "TTL k",
    "SET k 3",
    "TTL k",
    "SET k 1 PXAT 1",
    "GET k",
    "SET k 1 EX 10 EX 20",
    "TTL k",
  ],
  "SET errors": [
    "SET k 1 NX XX",
    "SET k 1 EX 10 PX 10",
    "SET k 1 KEEPTTL EX 10",
    "SET k 1 EX",
    "SET k 1 FOO",
    "SET k 1 EX 0",
    "SET k 1 EX -1",
    "SET k 1 PX abc",
    "SET k 1 EX 1.5",
    "GET k",
  ],
  "SETNX and GETDEL": ["SETNX k 1", "SETNX k 2", "GET k", "GETDEL k", "GETDEL k", "GET k", "SETNX k"],
  "DEL and EXISTS": ["MSET a 1 b 2 c 3", "EXISTS a a b nokey", "DEL a a nokey b", "EXISTS a b c", "DEL", "EXISTS"],
  "EXPIRE and PEXPIRE": [
    "SET k 1",
    "EXPIRE nokey 10",
    "EXPIRE k 100",
    "TTL k",
    "EXPIRE k 100 NX",
    "EXPIRE k 200 XX",
    "EXPIRE k 50 GT",
    "EXPIRE k 300 GT",
    "EXPIRE k 400 LT",
    "EXPIRE k 30 LT",
    "TTL k",
    "EXPIRE k 10 NX XX",
    "EXPIRE k 10 GT LT",
    "EXPIRE k 10 FOO",
    "EXPIRE k abc",
    "PEXPIRE k 100000",
    "TTL k",
    "EXPIRE k 0",
    "EXISTS k",
    "SET k 1",
    "PEXPIRE k -5",
    "EXISTS k",
    "EXPIRE k",
  ],
  "TTL, PTTL and PERSIST": ["TTL nokey", "PTTL nokey", "SET k 1", "TTL k", "PTTL k", "PERSIST k", "EXPIRE k 100", "PERSIST k", "TTL k", "PERSIST nokey"],
  "counters": [
    "INCR n",
    "INCRBY n 41",
    "DECR n",
    "DECRBY n 50",
    "GET n",
    "INCRBY n abc",
    "INCRBY n 1.5",
    "SET s hello",
    "INCR s",
    "DECR s",
    "SET big 9223372036854775806",
    "INCR big",
    "INCR big",
    "DECRBY neg 9223372036854775807",
    "DECR neg",
    "DECR neg",
    "DECRBY neg -9223372036854775808",
    "INCRBY n 9223372036854775808",
    "SET lead 007",
    "INCR lead",
    "INCR",
  ],
  "MGET and MSET": ["MSET a 1 b 2", "MGET a nokey b", "MSET a 1 b", "MSET", "MGET", "MSET a x a y", "GET a"],
  "binary and spaced keys": ["SET \"a b\" \"x\\x00y\"", "GET \"a b\"", "SET \"\\x01\\x02\" v", "GET \"\\x01\\x02\"", "DEL \"a b\" \"\\x01\\x02\""],
  "DBSIZE and FLUSHALL": ["DBSIZE", "MSET a 1 b 2 c 3", "DBSIZE", "FLUSHALL BOGUS", "FLUSHALL SYNC", "DBSIZE", "FLUSHALL"],
  "SELECT, CLIENT and HELLO errors": [
    "SELECT 0",
    "SELECT x",
    "CLIENT GETNAME",
    "CLIENT SETNAME myapp",
    "CLIENT GETNAME",
    "CLIENT SETNAME 'a b'",
    "CLIENT SETNAME",
    "CLIENT NOSUCH",
    "HELLO x",
    "HELLO 2 FOO",
    "HELLO 4",
  ],
  "CONFIG GET": ["CONFIG GET save", "CONFIG GET maxmemory", "CONFIG GET nosuchparam*", "CONFIG GET", "CONFIG NOSUCH"],
  "unknown commands and QUIT": ["NOSUCH", "NOSUCH a b", "PING", "QUIT", "PING"],
  "MULTI and EXEC": ["MULTI", "SET a 1", "INCR a", "MGET a nokey", "SET s x", "INCR s", "DEL s", "EXEC", "GET a", "MULTI", "EXEC", "MULTI", "PING", "ECHO hi", "EXEC"],
  "transaction errors": [
    "EXEC",
    "DISCARD",
    "MULTI",
    "MULTI",
    "WATCH a",
    "SET a 1",
    "NOSUCH x",
    "GET",
    "SET b 2",
    "EXEC",
    "GET a",
    "MULTI",
    "SET a 1",
    "EXEC now",
    "EXEC",
    "MULTI",
    "SET a 1",
    "DISCARD",
    "DISCARD",
    "GET a",
    "WATCH",
    "UNWATCH x",
    "MULTI x",
  ],
  "WATCH and UNWATCH": ["SET a 1", "WATCH a b", "SET a 2", "MULTI", "SET c 3", "EXEC", "GET c", "WATCH a", "UNWATCH", "SET a 3", "MULTI", "SET c 3", "EXEC", "WATCH a", "MULTI", "UNWATCH", "EXEC", "WATCH a", "DEL a", "MULTI", "EXEC"],
  "MULTI then QUIT": ["MULTI", "SET q 1", "QUIT"],
};

/** Lines whose content differs by design: the server's version and connection id. */
function normalise(output: string): string {
  return output.replace(/("version"\n\s*\d+\) )"[^"]*"/g, "$1<version>").replace(/("id"\n\s*\d+\) )\(integer\) \d+/g, "$1<id>");
}

describe("redis-cli prints the same for Osprey as for Redis", () => {
  for (const [name, lines] of Object.entries(scenarios)) {
    test(name, async () => {
      const script = ["FLUSHALL", ...lines];
      const [mine, theirs] = await Promise.all([redisCli(osprey.port, script), redisCli(redis.port, script)]);
      expect(theirs).not.toContain("Could not connect");
      // Compare line by line so a failure names the command.
      const a = mine.split("\n");
      const b = theirs.split("\n");
      expect(a.length, `${name}:\n--- osprey\n${mine}\n--- redis\n${theirs}`).toBe(b.length);
      expect(normalise(mine)).toBe(normalise(theirs));
    });
  }

  test("HELLO 2 answers the same fields in the same order", async () => {
    const [mine, theirs] = await Promise.all([redisCli(osprey.port, ["HELLO 2"]), redisCli(redis.port, ["HELLO 2"])]);
    expect(normalise(mine)).toBe(normalise(theirs));
    expect(mine).toContain('"proto"\n 6) (integer) 2');
  });
});

describe("what redis-cli shows where Osprey differs by design", () => {
  test("HELLO 3 switches the connection to RESP3: the same map as Redis's, and RESP3 replies after it", async () => {
    const lines = ["HELLO 3", "GET nokey", "CONFIG GET maxmemory-policy", "CLIENT GETNAME"];
    const [mine, theirs] = await Promise.all([redisCli(osprey.port, lines), redisCli(redis.port, lines)]);
    const id = (out: string) => out.replace(/"id" => \(integer\) \d+/, '"id" => <id>');
    expect(id(mine)).toBe(id(theirs));
    expect(mine).toContain('"proto" => (integer) 3');
  });

  test("SELECT of any database but 0 is out of range: Osprey has one keyspace", async () => {
    expect(await redisCli(osprey.port, ["SELECT 1"])).toBe("(error) ERR DB index is out of range\n");
  });

  test("INFO prints the server, clients, memory, persistence, stats and keyspace sections", async () => {
    const out = await redisCli(osprey.port, ["FLUSHALL", "SET k 1 EX 100", "INFO", "INFO keyspace"]);
    for (const section of ["Server", "Clients", "Memory", "Persistence", "Stats", "Keyspace"]) expect(out).toContain(`# ${section}`);
    expect(out).toContain("redis_version:");
    expect(out).toContain("loading:0");
    expect(out).toContain("connected_clients:");
    expect(out).toMatch(/# Keyspace\r?\ndb0:keys=1,expires=1,avg_ttl=0/);
  });

  test("COMMAND COUNT, COMMAND INFO and COMMAND DOCS answer for the commands Osprey has", async () => {
    const out = await redisCli(osprey.port, ["COMMAND COUNT", "COMMAND INFO get", "COMMAND DOCS set"]);
    expect(out).toMatch(/^\(integer\) \d+\n/);
    expect(out).toContain('1)  1) "get"\n    2) (integer) 2\n');
    expect(out).toContain('1) "set"\n2) 1) "summary"');
  });

  test("BGSAVE starts an Osprey snapshot and LASTSAVE moves to its time", async () => {
    const before = Number((await redisCli(osprey.port, ["LASTSAVE"])).match(/\(integer\) (\d+)/)![1]);
    expect(await redisCli(osprey.port, ["SET saved 1", "BGSAVE"])).toBe("OK\nBackground saving started\n");
    const client = await RawClient.connect(osprey.port);
    const deadline = Date.now() + 10000;
    while ((await client.stats()).snapshots_total === "0" && Date.now() < deadline) await Bun.sleep(20);
    const after = Number((await redisCli(osprey.port, ["LASTSAVE"])).match(/\(integer\) (\d+)/)![1]);
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);
    expect((await client.stats()).snapshots_total).toBe("1");
    client.close();
  });

  test("BGSAVE is refused inside MULTI and aborts it; FLUSHALL is queued and runs in the EXEC", async () => {
    const out = await redisCli(osprey.port, ["SET keep 1", "MULTI", "FLUSHALL", "BGSAVE", "SET other 2", "EXEC", "GET keep"]);
    expect(out).toBe('OK\nOK\nQUEUED\n(error) ERR Command not allowed inside a transaction\nQUEUED\n(error) EXECABORT Transaction discarded because of previous errors.\n"1"\n');
    expect(await redisCli(osprey.port, ["MULTI", "FLUSHALL", "SET other 2", "EXEC", "GET keep", "GET other"])).toBe('OK\nQUEUED\nQUEUED\n1) OK\n2) OK\n(nil)\n"2"\n');
  });

  test("an Osprey-protocol client and a Redis client share one keyspace", async () => {
    await redisCli(osprey.port, ["FLUSHALL", "SET shared 'from redis'"]);
    const client = await RawClient.connect(osprey.port);
    expect(await client.request("GET shared\r\n")).toBe("VALUE 10 1 -1\r\nfrom redis\r\n");
    client.close();
  });
});
