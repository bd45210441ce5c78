// Pub/Sub against a real redis-server 7.0, byte for byte: two connections per server (a subscriber
// and a publisher) run the same steps in RESP2 and RESP3; each step names how many frames each
// connection then reads. Subscribed-mode refusals, PING's shape, confirmations, messages and
// pattern messages, PUBSUB's counts, push frames interleaved with replies, keyspace events.

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

/** One step: connection `c` (0 subscriber, 1 publisher) sends `req`, then each connection reads its count of frames. */
interface Step {
  readonly c: 0 | 1;
  readonly req: string[];
  readonly read: readonly [number, number];
  /** Waits this long before sending (a key's expiry passing). */
  readonly sleepMs?: number;
}

const step = (c: 0 | 1, req: string, read: [number, number], sleepMs?: number): Step => ({ c, req: req.split(" "), read, sleepMs });

async function transcript(port: number, version: 2 | 3, steps: readonly Step[]): Promise<string[]> {
  const clients = [await RawClient.connect(port), await RawClient.connect(port)] as const;
  const out: string[] = [];
  try {
    for (const c of clients) {
      await c.send(resp("HELLO", String(version)));
      await readReply(c); // the server's own description differs by nature
      await c.send(resp("FLUSHALL"));
      await readReply(c);
    }
    for (const s of steps) {
      if (s.sleepMs !== undefined) await Bun.sleep(s.sleepMs);
      await clients[s.c].send(resp(...s.req));
      for (const i of [0, 1] as const) for (let n = 0; n < s.read[i]; n++) out.push(`${i} ${s.req.join(" ")} → ${await readReply(clients[i])}`);
    }
  } finally {
    for (const c of clients) c.close();
  }
  return out;
}

async function compare(version: 2 | 3, steps: readonly Step[]): Promise<void> {
  const [mine, theirs] = await Promise.all([transcript(osprey.port, version, steps), transcript(redis.port, version, steps)]);
  expect(mine).toEqual(theirs);
}

const subscribedMode: Step[] = [
  step(0, "SUBSCRIBE news sports", [2, 0]),
  step(0, "SUBSCRIBE news", [1, 0]),
  step(0, "PSUBSCRIBE n* [st]ports", [2, 0]),
  step(1, "PUBLISH news hello", [2, 1]),
  step(1, "PUBLISH sports goal", [2, 1]),
  step(1, "PUBLISH nowhere x", [1, 1]),
  step(1, "PUBLISH elsewhere x", [0, 1]),
  step(1, "PUBSUB NUMSUB news sports none", [0, 1]),
  step(1, "PUBSUB NUMSUB", [0, 1]),
  step(1, "PUBSUB NUMPAT", [0, 1]),
  step(1, "PUBSUB CHANNELS s*", [0, 1]),
  step(1, "PUBSUB CHANNELS x*", [0, 1]),
  step(1, "PUBSUB NOPE", [0, 1]),
  step(1, "PUBSUB NUMPAT extra", [0, 1]),
  step(1, "PUBSUB CHANNELS a b", [0, 1]),
  step(1, "PUBLISH onlyone", [0, 1]),
  step(0, "SUBSCRIBE", [1, 0]),
  step(0, "GET k", [1, 0]),
  step(0, "PING", [1, 0]),
  step(0, "PING hi", [1, 0]),
  step(0, "PUBLISH news x", [1, 0]),
  step(0, "UNSUBSCRIBE news nonmember", [2, 0]),
  step(1, "PUBLISH news again", [1, 1]),
  step(0, "PUNSUBSCRIBE", [2, 0]),
  step(0, "UNSUBSCRIBE", [1, 0]),
  step(0, "UNSUBSCRIBE", [1, 0]),
  step(0, "PUNSUBSCRIBE", [1, 0]),
  step(0, "PING", [1, 0]),
  step(0, "GET k", [1, 0]),
  step(0, "SUBSCRIBE again", [1, 0]),
  step(0, "RESET", [1, 0]),
  step(1, "PUBLISH again x", [0, 1]),
  step(0, "MULTI", [1, 0]),
  step(0, "SUBSCRIBE t1 t2", [1, 0]),
  step(0, "EXEC", [2, 0]), // the array of one reply holds the first frame; the second follows it
  step(1, "PUBLISH t2 inside", [1, 1]),
];

describe("Pub/Sub replies equal redis-server's", () => {
  test("RESP2: subscribed mode, messages, pattern messages and PUBSUB", async () => {
    await compare(2, subscribedMode);
  });

  test("RESP3: push frames, and commands run while subscribed", async () => {
    await compare(3, [
      ...subscribedMode,
      step(0, "SUBSCRIBE mine", [1, 0]),
      step(0, "SET k v", [1, 0]),
      step(0, "GET k", [1, 0]),
      step(0, "PUBLISH mine self", [2, 0]),
      step(1, "PUBLISH mine other", [1, 1]),
      step(0, "PING", [1, 0]),
    ]);
  });

  test("RESP3 under CLIENT REPLY OFF: confirmations and messages still come, other replies do not", async () => {
    await compare(3, [
      step(0, "CLIENT REPLY OFF", [0, 0]),
      step(0, "SUBSCRIBE quiet", [1, 0]),
      step(0, "GET k", [0, 0]),
      step(1, "PUBLISH quiet hi", [1, 1]),
      step(0, "UNSUBSCRIBE quiet", [1, 0]),
      step(0, "CLIENT REPLY ON", [1, 0]),
    ]);
  });
});

/** Each event is two pattern messages: on __keyspace@0__:<key>, then on __keyevent@0__:<event>. */
const keyspaceEvents: Step[] = [
  step(0, "PSUBSCRIBE __key*__:*", [1, 0]),
  step(1, "CONFIG GET notify-keyspace-events", [0, 1]),
  step(1, "SET k v", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events Q", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events KEA", [0, 1]),
  step(1, "CONFIG GET notify-keyspace-events", [0, 1]),
  step(1, "SET k v", [2, 1]),
  step(1, "SET k v EX 100", [4, 1]),
  step(1, "SET k v NX", [0, 1]),
  step(1, "SETEX k 100 v", [4, 1]),
  step(1, "INCR n", [2, 1]),
  step(1, "DECRBY n 5", [2, 1]),
  step(1, "INCRBYFLOAT f 1.5", [2, 1]),
  step(1, "APPEND k x", [2, 1]),
  step(1, "SETRANGE k 0 y", [2, 1]),
  step(1, "SETBIT bits 1 1", [2, 1]),
  step(1, "EXPIRE k 100", [2, 1]),
  step(1, "PERSIST k", [2, 1]),
  step(1, "PERSIST k", [0, 1]),
  step(1, "RENAME k k2", [4, 1]),
  step(1, "COPY k2 k3", [2, 1]),
  step(1, "DEL k2 k3 nokey", [4, 1]),
  step(1, "MSET a 1 b 2", [4, 1]),
  step(1, "GETDEL a", [2, 1]),
  step(1, "GETEX b EX 100", [2, 1]),
  step(1, "GETEX b PERSIST", [2, 1]),
  step(1, "EXPIRE b 0", [2, 1]),
  step(1, "SET gone 1 PX 1", [4, 1]),
  step(1, "GET gone", [2, 1], 50),
  step(1, "CONFIG SET notify-keyspace-events gKE", [0, 1]),
  step(1, "SET k v", [0, 1]),
  step(1, "DEL k", [2, 1]),
  step(1, "CONFIG SET notify-keyspace-events Kx notify-keyspace-events E", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events E$", [0, 1]),
  step(1, "CONFIG GET notify-keyspace-events", [0, 1]),
  step(1, "SET k v", [1, 1]),
  step(1, "CONFIG SET notify-keyspace-events AnKE", [0, 1]),
  step(1, "CONFIG GET notify-keyspace-events", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events x appendonly", [0, 1]),
  step(1, "CONFIG SET nosuch 1", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events ''", [0, 1]),
  step(1, "CONFIG SET notify-keyspace-events Kg", [0, 1]),
  step(1, "DEL n", [1, 1]),
  // An eviction: with only `e` on, the DEL and SET raise nothing; the limit then evicts the one key.
  step(1, "CONFIG SET notify-keyspace-events KEe", [0, 1]),
  step(1, "DEL f bits b k k2 k3 gone", [0, 1]),
  step(1, "SET victim v", [0, 1]),
  step(1, "CONFIG SET maxmemory-policy allkeys-lru", [0, 1]),
  step(1, "CONFIG SET maxmemory 1", [2, 1]),
  step(1, "CONFIG SET maxmemory 0", [0, 1]),
  step(1, "CONFIG SET maxmemory-policy noeviction", [0, 1]),
  step(1, "EXISTS victim", [0, 1]),
  // `n`: one event per key added, none for a write over a live key.
  step(1, "CONFIG SET notify-keyspace-events KEn", [0, 1]),
  step(1, "SET fresh 1", [2, 1]),
  step(1, "SET fresh 2", [0, 1]),
  step(1, "INCR counter", [2, 1]),
  step(1, "APPEND tail x", [2, 1]),
  step(1, "MSET m1 1 m2 2 fresh 3", [4, 1]),
  step(1, "RENAME m1 m3", [2, 1]),
  step(1, "COPY m2 m4", [2, 1]),
  step(1, "SETNX fresh 4", [0, 1]),
];

describe("keyspace notifications equal redis-server's", () => {
  for (const version of [2, 3] as const) {
    test(`RESP${version}: set, expire, incrby, append, setrange, setbit, persist, rename, copy, del, expired, evicted, new, and CONFIG SET notify-keyspace-events`, async () => {
      await compare(version, keyspaceEvents);
    });
  }
});
