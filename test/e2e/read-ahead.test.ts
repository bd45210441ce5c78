// In a keyspace of readAheadEntriesMin keys or more, a pipelined read's keys are looked up together
// before its requests run (Store.readAhead), and small reads of many clients are held until the
// event loop's poll is done, then run in order after their first keys were looked up together
// (net/reads.ts). The answers must be those of the requests run one by one: writes and deletes inside the pipeline are seen by the reads after them, missing keys stay
// missing, large values are read from their own buffers. Both protocols, against a model.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readAheadEntriesMin } from "../../src/constants.ts";
import { RawClient } from "../support/client.ts";
import { rng } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const keysLoaded = readAheadEntriesMin + 4096;
/** Values past the slab's largest class live in buffers of their own (engine/large.ts). */
const largeKey = "large";
const largeValue = "L".repeat(70 * 1024);

let server: RunningServer;
const model = new Map<string, string>();

const keyOf = (i: number) => `k:${i}`;
const valueOf = (i: number) => `v:${i}:${"x".repeat(i % 97)}`;

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, "latin1")}\r\n${a}\r\n`).join("")}`;
}

/** Reads one RESP reply as text: a line, a bulk's bytes, or an array's elements joined by "|". */
async function respReply(c: RawClient): Promise<string> {
  const line = await c.line();
  if (line.startsWith("$") && line !== "$-1") return (await c.bytes(Number(line.slice(1)) + 2)).subarray(0, -2).toString("latin1");
  if (line.startsWith("*")) {
    const parts: string[] = [];
    for (let i = 0; i < Number(line.slice(1)); i++) parts.push(await respReply(c));
    return parts.join("|");
  }
  return line;
}

beforeAll(async () => {
  server = await startServer({ sync_policy: "os" });
  const c = await RawClient.connect(server.port);
  // MSETs of 1,000 pairs: the keyspace past the threshold in a few dozen requests.
  for (let from = 0; from < keysLoaded; from += 1000) {
    const args = ["MSET"];
    for (let i = from; i < Math.min(from + 1000, keysLoaded); i++) {
      args.push(keyOf(i), valueOf(i));
      model.set(keyOf(i), valueOf(i));
    }
    expect(await c.request(resp(args))).toBe("+OK");
  }
  expect(await c.request(resp(["SET", largeKey, largeValue]))).toBe("+OK");
  model.set(largeKey, largeValue);
  expect(await c.request(resp(["DBSIZE"]))).toBe(`:${keysLoaded + 1}`);
  c.close();
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** A random pipeline over the model: reads of held and missing keys, writes, deletes, the large key. */
function pipeline(seed: number, length: number): string[][] {
  const random = rng(seed);
  const out: string[][] = [];
  const held = () => (random() < 0.05 ? largeKey : keyOf(Math.floor(random() * keysLoaded)));
  for (let i = 0; i < length; i++) {
    const r = random();
    if (r < 0.6) out.push(["GET", held()]);
    else if (r < 0.7) out.push(["GET", `missing:${seed}:${i}`]);
    else if (r < 0.85) out.push(["SET", held(), `new:${seed}:${i}`]);
    else if (r < 0.92) out.push(["DEL", held()]);
    else if (r < 0.96) out.push(["MGET", ...Array.from({ length: 1 + Math.floor(random() * 70) }, (_, j) => (j % 5 === 4 ? `missing:${seed}:${i}:${j}` : held()))]);
    else out.push(["PING"]);
  }
  // Each write read back right after it, inside the same pipeline.
  for (let i = out.length - 1; i >= 0; i--) if (out[i]![0] === "SET" || out[i]![0] === "DEL") out.splice(i + 1, 0, ["GET", out[i]![1]!]);
  return out;
}

/** What each request answers, run one by one against the model (which it updates), in `proto`'s words; a text MGET's replies joined by "|". */
function expected(reqs: string[][], proto: "resp" | "text"): string[] {
  return reqs.map(([name, key, value, ...more]) => {
    if (name === "PING") return proto === "resp" ? "+PONG" : "PONG";
    if (name === "GET") {
      const v = model.get(key!);
      if (proto === "resp") return v ?? "$-1";
      return v === undefined ? "NOT_FOUND" : v;
    }
    if (name === "MGET") {
      const keys = [key!, ...(value === undefined ? [] : [value]), ...more];
      return keys.map((k) => model.get(k) ?? (proto === "resp" ? "$-1" : `NOT_FOUND ${k}`)).join("|");
    }
    if (name === "SET") {
      model.set(key!, value!);
      return proto === "resp" ? "+OK" : "OK";
    }
    const had = model.delete(key!);
    return proto === "resp" ? `:${had ? 1 : 0}` : `DELETED ${had ? 1 : 0}`;
  });
}

describe("pipelined requests in a keyspace past readAheadEntriesMin answer as if run one by one", () => {
  test("RESP", async () => {
    const c = await RawClient.connect(server.port);
    for (let seed = 1; seed <= 20; seed++) {
      const reqs = pipeline(seed, 60);
      const want = expected(reqs, "resp");
      // In one write, and again cut in pieces so that reads end inside requests.
      if (seed % 2 === 0) await c.send(reqs.map(resp).join(""));
      else await c.sendInPieces(reqs.map(resp).join(""), 97);
      const got: string[] = [];
      for (let i = 0; i < reqs.length; i++) got.push(await respReply(c));
      expect(got).toEqual(want);
    }
    c.close();
  }, 60_000);

  test("text", async () => {
    const c = await RawClient.connect(server.port);
    const encode = (req: string[]) => (req[0] === "SET" ? `SET ${req[1]} ${req[2]!.length}\r\n${req[2]}\r\n` : `${req.join(" ")}\r\n`);
    for (let seed = 101; seed <= 120; seed++) {
      const reqs = pipeline(seed, 60);
      const want = expected(reqs, "text");
      if (seed % 2 === 0) await c.send(reqs.map(encode).join(""));
      else await c.sendInPieces(reqs.map(encode).join(""), 97);
      const got: string[] = [];
      for (const req of reqs) {
        const parts: string[] = [];
        for (let k = 0; k < (req[0] === "MGET" ? req.length - 1 : 1); k++) {
          const reply = await c.reply();
          // A value comes as its VALUE line and bytes; the version and expiry are not the model's.
          parts.push(reply.startsWith("VALUE ") ? reply.slice(reply.indexOf("\r\n") + 2, -2) : reply.replace(/^OK \d+$/, "OK"));
        }
        got.push(parts.join("|"));
      }
      expect(got).toEqual(want);
    }
    c.close();
  }, 60_000);
});

describe("many clients without pipelining in a keyspace past readAheadEntriesMin", () => {
  test("each client's requests are answered in order, as if it were alone (both protocols)", async () => {
    const clients = 40;
    const requests = 150;
    const run = async (n: number) => {
      const proto = n % 2 === 0 ? "resp" : "text";
      const c = await RawClient.connect(server.port);
      const random = rng(1000 + n);
      // Each client its own keys, so its own model tells what every reply must be.
      const mine = new Map<string, string>();
      const key = () => `c${n}:${Math.floor(random() * 20)}`;
      for (let i = 0; i < requests; i++) {
        const k = key();
        const r = random();
        let want: string;
        let got: string;
        if (r < 0.5) {
          const v = mine.get(k);
          if (proto === "resp") {
            await c.send(resp(["GET", k]));
            got = await respReply(c);
            want = v ?? "$-1";
          } else {
            await c.send(`GET ${k}\r\n`);
            const reply = await c.reply();
            got = reply.startsWith("VALUE ") ? reply.slice(reply.indexOf("\r\n") + 2, -2) : reply;
            want = v ?? "NOT_FOUND";
          }
        } else if (r < 0.85) {
          const v = `${n}:${i}:${"y".repeat(i % 50)}`;
          mine.set(k, v);
          got = proto === "resp" ? await c.request(resp(["SET", k, v])) : (await c.request(`SET ${k} ${v.length}\r\n${v}\r\n`)).replace(/^OK \d+$/, "OK");
          want = proto === "resp" ? "+OK" : "OK";
        } else {
          const had = mine.delete(k);
          got = await c.request(proto === "resp" ? resp(["DEL", k]) : `DEL ${k}\r\n`);
          want = proto === "resp" ? `:${had ? 1 : 0}` : `DELETED ${had ? 1 : 0}`;
        }
        expect(got).toBe(want);
      }
      c.close();
    };
    await Promise.all(Array.from({ length: clients }, (_, n) => run(n)));
  }, 60_000);

  test("a request sent just before the client closes still runs", async () => {
    for (let i = 0; i < 20; i++) {
      // Several clients at once, so that their reads and closes share polls of the event loop.
      await Promise.all(
        Array.from({ length: 5 }, async (_, j) => {
          const c = await RawClient.connect(server.port);
          await c.send(resp(["SET", `closing:${i}:${j}`, `v${i}:${j}`]));
          c.close();
          await c.waitClosed();
        }),
      );
    }
    const c = await RawClient.connect(server.port);
    for (let i = 0; i < 20; i++)
      for (let j = 0; j < 5; j++) {
        await c.send(resp(["GET", `closing:${i}:${j}`]));
        expect(await respReply(c)).toBe(`v${i}:${j}`);
      }
    c.close();
  }, 60_000);
});
