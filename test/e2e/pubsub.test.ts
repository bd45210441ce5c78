// Pub/Sub end to end with real clients against a real Osprey: ioredis (RESP3 and RESP2), Bun's
// RedisClient, node-redis and redis-cli subscribe, receive messages and pattern messages in order;
// a subscriber that stops reading is disconnected at pubsub_output_bytes_max while PUBLISH keeps
// serving the others.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { RedisClient } from "bun";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";

let server: RunningServer;
const opened: Redis[] = [];

function io(protocol: 2 | 3 = 3): Redis {
  const r = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null, protocol } as never);
  opened.push(r);
  return r;
}

/** Resolves once `n` items were pushed into `into`, or rejects after `ms`. */
async function collected<T>(into: T[], n: number, ms = 10_000): Promise<T[]> {
  const deadline = Date.now() + ms;
  while (into.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${into.length} of ${n} messages arrived`);
    await Bun.sleep(5);
  }
  return into;
}

beforeAll(async () => {
  server = await startServer({ pubsub_output_bytes_max: 256 * 1024, notify_keyspace_events: "Eg$x" });
});

afterAll(async () => {
  for (const r of opened) r.disconnect();
  await server?.stop();
});

describe("Pub/Sub with real clients", () => {
  for (const protocol of [3, 2] as const) {
    test(`ioredis (RESP${protocol}) receives messages and pattern messages in publish order`, async () => {
      const sub = io(protocol);
      const pub = io();
      const got: string[] = [];
      sub.on("message", (channel: string, message: string) => got.push(`${channel}:${message}`));
      sub.on("pmessage", (pattern: string, channel: string, message: string) => got.push(`${pattern}|${channel}:${message}`));
      expect(await sub.subscribe(`io${protocol}.a`, `io${protocol}.b`)).toBe(2);
      expect(await sub.psubscribe(`io${protocol}.p*`)).toBe(3);
      expect(await pub.publish(`io${protocol}.a`, "1")).toBe(1);
      expect(await pub.publish(`io${protocol}.pq`, "2")).toBe(1);
      expect(await pub.publish(`io${protocol}.b`, "3")).toBe(1);
      expect(await pub.publish(`io${protocol}.none`, "4")).toBe(0);
      expect(await collected(got, 3)).toEqual([`io${protocol}.a:1`, `io${protocol}.p*|io${protocol}.pq:2`, `io${protocol}.b:3`]);
      expect(await pub.pubsub("NUMSUB", `io${protocol}.a`)).toEqual([`io${protocol}.a`, 1]);
      // By name: ioredis 5 in RESP3 never resolves an UNSUBSCRIBE without arguments (with redis-server too).
      expect(await sub.unsubscribe(`io${protocol}.a`, `io${protocol}.b`)).toBe(1);
      expect(await sub.punsubscribe(`io${protocol}.p*`)).toBe(0);
      expect(await pub.publish(`io${protocol}.a`, "5")).toBe(0);
    });
  }

  test("the text protocol's STATS counts channels, patterns and messages delivered", async () => {
    const sub = io();
    const pub = io();
    await sub.subscribe("stats.a", "stats.b");
    await sub.psubscribe("stats.*");
    const text = await RawClient.connect(server.port);
    try {
      const before = await text.stats();
      expect(await pub.publish("stats.a", "x")).toBe(2);
      const after = await text.stats();
      expect(Number(after.pubsub_channels)).toBeGreaterThanOrEqual(2);
      expect(Number(after.pubsub_patterns)).toBeGreaterThanOrEqual(1);
      expect(Number(after.pubsub_messages_total) - Number(before.pubsub_messages_total)).toBe(2);
    } finally {
      text.close();
      await sub.unsubscribe("stats.a", "stats.b");
      await sub.punsubscribe("stats.*");
    }
  });

  test("Bun's RedisClient subscribes and receives messages in order", async () => {
    const sub = new RedisClient(`redis://127.0.0.1:${server.port}`);
    const pub = new RedisClient(`redis://127.0.0.1:${server.port}`);
    try {
      const got: string[] = [];
      await sub.subscribe("bun.ch", (message, channel) => got.push(`${channel}:${message}`));
      for (let i = 0; i < 100; i++) await pub.publish("bun.ch", String(i));
      expect(await collected(got, 100)).toEqual(Array.from({ length: 100 }, (_, i) => `bun.ch:${i}`));
    } finally {
      sub.close();
      pub.close();
    }
  });

  test("node-redis subscribes and receives messages in order", async () => {
    const pub = createClient({ socket: { host: "127.0.0.1", port: server.port } });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    try {
      const got: string[] = [];
      await sub.subscribe("nr.ch", (message, channel) => got.push(`${channel}:${message}`));
      for (let i = 0; i < 50; i++) await pub.publish("nr.ch", String(i));
      expect(await collected(got, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `nr.ch:${i}`));
    } finally {
      await Promise.all([pub.quit(), sub.quit()]);
    }
  });

  test("redis-cli SUBSCRIBE prints each message redis-cli PUBLISH sends", async () => {
    const cli = Bun.spawn(["redis-cli", "-h", "127.0.0.1", "-p", String(server.port), "SUBSCRIBE", "cli.ch"], { stdout: "pipe", stderr: "pipe" });
    const pub = io();
    try {
      // Wait until the subscription exists before publishing.
      for (let i = 0; (await pub.pubsub("NUMSUB", "cli.ch"))[1] !== 1; i++) {
        if (i > 400) throw new Error("redis-cli never subscribed");
        await Bun.sleep(25);
      }
      for (const m of ["one", "two", "three"]) await pub.call("PUBLISH", "cli.ch", m);
      const reader = cli.stdout.getReader();
      let text = "";
      while ((text.match(/message/g) ?? []).length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text.split("\n").filter((l) => l !== "")).toEqual(["subscribe", "cli.ch", "1", "message", "cli.ch", "one", "message", "cli.ch", "two", "message", "cli.ch", "three"]);
    } finally {
      cli.kill();
      await cli.exited;
    }
  });

  test("keyspace events from osprey.toml reach an ioredis subscriber in order: set, del, and expired from active expiry", async () => {
    const sub = io();
    const writer = io();
    const got: string[] = [];
    sub.on("pmessage", (_pattern: string, channel: string, message: string) => got.push(`${channel} ${message}`));
    await sub.psubscribe("__keyevent@0__:*");
    await writer.set("ev:a", "1");
    await writer.del("ev:a");
    await writer.set("ev:t", "1", "PX", 50); // nobody reads it again: the sweeper expires it
    expect(await collected(got, 5)).toEqual([
      "__keyevent@0__:set ev:a",
      "__keyevent@0__:del ev:a",
      "__keyevent@0__:set ev:t",
      "__keyevent@0__:expire ev:t",
      "__keyevent@0__:expired ev:t",
    ]);
    await writer.config("SET", "notify-keyspace-events", "");
    await writer.set("ev:quiet", "1");
    expect(await writer.publish("__keyevent@0__:marker", "end")).toBe(1);
    expect(await collected(got, 6)).toEqual(expect.arrayContaining(["__keyevent@0__:marker end"]));
    expect(got).toHaveLength(6);
  });

  test("a subscriber that stops reading is disconnected at pubsub_output_bytes_max while the others keep receiving", async () => {
    const slow = await RawClient.connect(server.port);
    const fast = await RawClient.connect(server.port);
    for (const c of [slow, fast]) {
      await c.send(resp("SUBSCRIBE", "flood"));
      await readReply(c);
    }
    slow.pause();
    const pub = await RawClient.connect(server.port);
    const message = "m".repeat(1024);
    // 32 MiB in all: far past the 256 KiB limit plus what the kernel's socket buffers absorb.
    const rounds = 32;
    const perRound = 1024;
    const batch = Buffer.concat(Array.from({ length: perRound }, () => resp("PUBLISH", "flood", message)));
    let receivers = 0;
    let received = 0;
    const frame = `*3\r\n$7\r\nmessage\r\n$5\r\nflood\r\n$1024\r\n${message}\r\n`;
    for (let round = 0; round < rounds; round++) {
      await pub.send(batch);
      for (let i = 0; i < perRound; i++) receivers += Number((await pub.line()).slice(1));
      for (let i = 0; i < perRound; i++, received++) expect((await fast.bytes(frame.length)).toString("latin1")).toBe(frame);
    }
    // What the kernel holds for it arrives once it reads again, then the close.
    slow.resume();
    await slow.waitClosed();
    expect(received).toBe(rounds * perRound);
    // Every message reached the fast subscriber; the slow one counted only until it was dropped.
    expect(receivers).toBeGreaterThanOrEqual(rounds * perRound);
    expect(receivers).toBeLessThan(2 * rounds * perRound);
    await pub.send(resp("PUBSUB", "NUMSUB", "flood"));
    expect(await readReply(pub)).toBe("*2\r\n$5\r\nflood\r\n:1\r\n");
    await server.waitForLog(/client disconnected: more than 262144 bytes of pub\/sub output unsent/);
    for (const c of [slow, fast, pub]) c.close();
  }, 60_000);
});
